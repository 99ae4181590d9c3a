"""Helpers for tests that drive the running product: the worker process, the API caller, the
channel configs. The fixtures built from them live in tests/conftest.py, so integration and
browser tests share one web app, one worker and one fake Graph server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from connectors.signature import sign
from inbox.config import Settings
from tests.fakes.graph import FakeGraph


class WorkerProcess:
    """`inbox worker` in a subprocess; tests may kill -9 and restart it."""

    def __init__(self, settings: Settings, log_path: Path):
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            **self.settings.to_env(),
            "LOG_LEVEL": os.environ.get("WORKER_LOG_LEVEL", "WARNING"),
        }
        out = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], env=env, stdout=out, stderr=out
        )

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


async def wait_healthy(web_url: str, timeout: float) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    body: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            async with http.get(f"{web_url}/health") as resp:
                body = await resp.json()
                if resp.status == 200:
                    return body
            await asyncio.sleep(0.3)
    raise AssertionError(f"never healthy: {body}")


@dataclass
class Api:
    """A logged-in caller of the HTTP API."""

    base: str
    http: aiohttp.ClientSession
    token: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    refresh_token: str = ""

    @property
    def org_id(self) -> str:
        return self.user["orgId"]

    async def call(
        self, method: str, path: str, json_body: Any = None, token: str | None = None, **kw: Any
    ) -> tuple[int, Any, Any]:
        headers = kw.pop("headers", {})
        tok = self.token if token is None else token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        async with self.http.request(
            method, self.base + path, json=json_body, headers=headers, **kw
        ) as resp:
            text = await resp.text()
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = text
            return resp.status, body, resp.headers

    async def get(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("PUT", path, body, **kw)

    async def patch(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("PATCH", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("DELETE", path, **kw)

    async def webhook(
        self,
        channel_id: str,
        payload: Any,
        secret: str | None,
        raw: bytes | None = None,
        signature: str | None = None,
    ) -> tuple[int, Any, Any]:
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        elif secret:
            headers["X-Hub-Signature-256"] = sign(secret, body)
        async with self.http.post(
            f"{self.base}/webhook/{channel_id}", data=body, headers=headers
        ) as resp:
            text = await resp.text()
            return resp.status, (json.loads(text) if text.startswith("{") else text), resp.headers


async def signup(web_url: str, http: aiohttp.ClientSession, org: str = "Acme") -> Api:
    api = Api(web_url, http)
    email = f"admin-{uuid.uuid4().hex[:10]}@example.com"
    status, body, _ = await api.post(
        "/auth/signup",
        {"orgName": org, "name": "Ada Admin", "email": email, "password": "s3cret-pass"},
    )
    assert status == 201, body
    api.token, api.user, api.refresh_token = body["accessToken"], body["user"], body["refreshToken"]
    return api


APP_SECRET = "test-app-secret"


def whatsapp_config(graph: FakeGraph, **over: Any) -> dict[str, Any]:
    return {
        "phoneNumberId": "1000001",
        "businessAccountId": "2000002",
        "accessToken": "wa-token-secret",
        "appSecret": APP_SECRET,
        "webhookVerifyToken": "verify-me",
        "apiBaseUrl": graph.base_url,
        **over,
    }


def messenger_config(graph: FakeGraph, **over: Any) -> dict[str, Any]:
    return {
        "facebookPageId": "3000003",
        "pageAccessToken": "fb-token-secret",
        "appSecret": APP_SECRET,
        "appId": "4000004",
        "webhookVerifyToken": "verify-me",
        "apiBaseUrl": graph.base_url,
        **over,
    }


async def eventually(check: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll `check()` (async) until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
