"""`inbox up` as a newcomer runs it: starts everything, prints how to log in, stops clean,
and keeps its data across a restart."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil
import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class InboxUp:
    def __init__(self, data_dir: Path, port: int):
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"MONGODB_URI", "KAFKA_BOOTSTRAP", "REDIS_URL"}
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "up",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        self.output: list[str] = []

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if m := re.search(pattern, line):
                return m
        raise AssertionError("".join(self.output[-40:]))

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def interrupt(self, timeout: float = 40) -> None:
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=timeout)
        self.output.append(out)


async def test_inbox_up_serves_logs_in_stops_clean_and_keeps_data(tmp_path):
    port = free_port()
    up = InboxUp(tmp_path / "data", port)
    try:
        url = up.wait_for(r"Inbox is up: (http://\S+)").group(1)
        creds = up.wait_for(r"First-run admin: (\S+) / (\S+)")
        email, password = creds.group(1), creds.group(2)
        children = up.descendants()
        names = " ".join(" ".join(p.cmdline()) for p in children)
        assert "secantusd-py" in names and "tansu" in names and "app.cli web" in names
        assert "app.cli worker" in names
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/health") as resp:
                assert resp.status == 200
            async with http.post(
                f"{url}/auth/login", json={"email": email, "password": password}
            ) as resp:
                assert resp.status == 200
    finally:
        up.interrupt()
    assert up.proc.returncode == 0, "".join(up.output[-20:])
    await asyncio.sleep(0.5)
    assert [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []

    # Second start on the same data dir: the same admin logs in; no new credentials.
    again = InboxUp(tmp_path / "data", port)
    try:
        again.wait_for(r"Inbox is up: ")
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{url}/auth/login", json={"email": email, "password": password}
            ) as resp:
                assert resp.status == 200
    finally:
        again.interrupt()
    assert not any("First-run admin" in line for line in again.output)
