"""Webhook benchmark: intake rate, threading throughput and webhook-to-websocket latency.

    python bench/webhooks.py --start            # launches `inbox up` on a free port, then stops it
    python bench/webhooks.py --url http://127.0.0.1:8080   # an inbox that is already running

One run measures, against a fresh org with one WHATSAPP channel:

1. bare aiohttp: a one-handler aiohttp server (reads the body, answers {"ok": true}) driven by
   the same load generator, bodies and concurrency as (2): the ceiling for (2) on this machine;
2. webhook acceptance: N signed WhatsApp text webhooks, C at a time, 200s per second;
3. threading throughput: messages per second from the first webhook sent until the N-th
   `message.created` arrives on the org's websocket, then an API count of stored messages;
4. latency: M webhooks at a steady rate, time from sending each one until its
   `message.created` arrives on the websocket (p50/p95/p99/max).

Bodies and signatures are built before any timing. The load generator of (1) and (2) runs in
its own process, so it never shares an event loop with the websocket reader. Between (3) and
(4) the benchmark waits until no ticket/message event has arrived for `--drain-quiet`
seconds, so leftovers of (3) do not land in (4); duplicates that still do are counted.

With `--start`, the product's per-minute rate limits are raised out of reach through its
environment (see LIFTED_LIMITS; `--keep-rate-limits` keeps them): the limiter still runs on
every request, it just does not refuse. Against `--url`, 429s on webhooks are reported as
refusals and API calls wait for `Retry-After`.

Progress goes to stderr; the table (or `--json`) to stdout. Exit status: 0 when every check
passed, 1 when a check failed (refusals, messages lost, doubled or not stored), 2 when the
benchmark could not run, 130 when interrupted. A started `inbox up` is always stopped
(SIGINT, then waited for); its data dir is removed after a clean run and kept otherwise
(`--keep-data` keeps it always) so its logs/ can be read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from _common import free_port, log
from aiohttp import web

from connectors.signature import sign

APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
DISPLAY_PHONE_NUMBER = "15550783881"
PASSWORD = "bench-password-1"
LIFTED_LIMITS = {
    "RATE_LIMIT_WEBHOOK_PER_MINUTE": "1000000000",
    "RATE_LIMIT_API_PER_MINUTE": "1000000000",
    "RATE_LIMIT_AUTH_PER_MINUTE": "1000000",
}

Request = tuple[bytes, dict[str, str]]


# ------------------------------------------------------------------------------- payloads


def meta_body(payload: dict[str, Any]) -> bytes:
    """The bytes as Meta sends them (compact, ASCII-escaped, "/" escaped), as the fakes do."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode()


def whatsapp_text(wa_id: str, name: str, msg_id: str, text: str, ts: int) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": DISPLAY_PHONE_NUMBER,
            "phone_number_id": PHONE_NUMBER_ID,
        },
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": msg_id,
                "timestamp": str(ts),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }


def signed_request(payload: dict[str, Any]) -> Request:
    body = meta_body(payload)
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, body)}


def wa_ids(run: str, customers: int) -> list[str]:
    # Phone-number-like and different per run, so runs are told apart in a shared install.
    base = int(uuid.UUID(run).int % 10**8) * 1000
    return [str(10**11 + base + i) for i in range(customers)]


def build_requests(
    run: str, phase: str, count: int, customers: list[str]
) -> list[tuple[str, Request]]:
    """(external message id, signed request) for `count` messages spread round-robin."""
    now = int(time.time())
    out = []
    for i in range(count):
        wa_id = customers[i % len(customers)]
        msg_id = f"wamid.bench.{run}.{phase}.{i}"
        payload = whatsapp_text(wa_id, f"Customer {wa_id}", msg_id, f"bench {phase} #{i}", now)
        out.append((msg_id, signed_request(payload)))
    return out


# ------------------------------------------------------------------ load generator process


def _noop() -> None:
    """Warms the load-generator process up (interpreter start, imports) before any timing."""


def drive(url: str, requests: list[Request], concurrency: int) -> dict[str, Any]:
    """POST every request, `concurrency` at a time; runs in the load-generator process."""
    return asyncio.run(_drive(url, requests, concurrency))


async def _drive(url: str, requests: list[Request], concurrency: int) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    bodies: dict[int, str] = {}
    it = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            for body, headers in it:  # one shared iterator: each request is sent once
                try:
                    async with http.post(url, data=body, headers=headers) as resp:
                        text = await resp.read()
                        statuses[resp.status] += 1
                        if resp.status != 200 and resp.status not in bodies:
                            bodies[resp.status] = text[:300].decode(errors="replace")
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1

        t_first = time.time()
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    ok = statuses.get(200, 0)
    return {
        "requests": len(requests),
        "ok": ok,
        "non200": sum(n for s, n in statuses.items() if s != 200),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
        "errorBodies": {str(k): v for k, v in bodies.items()},
        "seconds": elapsed,
        "rps": ok / elapsed if elapsed else 0.0,
        "tFirst": t_first,
        "tEnd": t_first + elapsed,
    }


# ------------------------------------------------------------------------- bare server


def _bare_server(conn: Connection) -> None:
    """A trivial aiohttp app in its own process, like the product's web process."""

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/webhook/{channelId}", handle)
        runner = web.AppRunner(app, access_log=None)  # the product runs without access log
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        conn.send(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


# ---------------------------------------------------------------------- `inbox up` process


class InboxProcess:
    """`inbox up` in its own session, stopped with SIGINT (its documented Ctrl-C path)."""

    def __init__(self, port: int, data_dir: Path, env: dict[str, str]):
        self.port = port
        self.data_dir = data_dir
        self.env = env
        self.argv = [
            sys.executable,
            "-m",
            "app.cli",
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ]
        self.command = shlex.join(
            [f"{k}={v}" for k, v in env.items()]
            + ["inbox", "up", "--port", str(port), "--data-dir", str(data_dir)]
        )
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._up = threading.Event()

    def start(self, timeout: float = 180.0) -> str:
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **self.env},
            # Own session: a Ctrl-C in the terminal reaches only us; we then stop it cleanly.
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._up.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("`inbox up` did not come up:\n" + "".join(self.output[-40:]))
        return f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if "Inbox is up" in line:
                self._up.set()

    def stop(self, timeout: float = 60.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log("`inbox up` ignored SIGINT; sending SIGTERM")
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        return self.proc.returncode


# ------------------------------------------------------------------------------ API client


@dataclass
class Api:
    base: str
    http: aiohttp.ClientSession
    token: str = ""
    refresh_token: str = ""
    org_id: str = ""

    rate_limited: int = 0  # 429s met (and waited out) on API calls

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, Any]:
        for attempt in range(20):
            status, data, headers = await self._call(method, path, body)
            if status == 429:
                # A server with its default rate limits: wait as told rather than fail.
                self.rate_limited += 1
                wait = float(headers.get("Retry-After") or 1.0)
                log(f"    {method} {path.split('?')[0]}: 429, retrying in {wait:g}s")
                await asyncio.sleep(min(max(wait, 0.1), 60.0))
            elif status == 401 and self.refresh_token and attempt == 0 and "/auth/" not in path:
                await self.refresh()  # a long run outlives the access token
            else:
                break
        return status, data, headers

    async def _call(self, method: str, path: str, body: Any) -> tuple[int, Any, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.http.request(method, self.base + path, json=body, headers=headers) as resp:
            text = await resp.text()
            try:
                data = json.loads(text) if text else None
            except ValueError:
                data = text
            return resp.status, data, resp.headers

    async def signup(self) -> None:
        email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
        status, body, _ = await self.call(
            "POST",
            "/auth/signup",
            {"orgName": "Bench Org", "name": "Bench Admin", "email": email, "password": PASSWORD},
        )
        if status != 201:
            raise RuntimeError(f"signup failed: {status} {body}")
        self.token, self.refresh_token = body["accessToken"], body["refreshToken"]
        self.org_id = body["user"]["orgId"]

    async def refresh(self) -> None:
        status, body, _ = await self._call(
            "POST", "/auth/refresh", {"refreshToken": self.refresh_token}
        )
        if status != 200:
            raise RuntimeError(f"token refresh failed: {status} {body}")
        self.token, self.refresh_token = body["accessToken"], body["refreshToken"]

    async def whatsapp_channel(self) -> str:
        config = {
            "phoneNumberId": PHONE_NUMBER_ID,
            "businessAccountId": WABA_ID,
            "accessToken": "bench-token",
            "appSecret": APP_SECRET,
            "webhookVerifyToken": "bench-verify",
            # Nothing is sent out in this benchmark; a dead local port keeps it that way.
            "apiBaseUrl": "http://127.0.0.1:9/v21.0",
        }
        status, body, _ = await self.call(
            "POST",
            f"/orgs/{self.org_id}/channels",
            {"type": "WHATSAPP", "name": "Bench WhatsApp", "config": config},
        )
        if status != 201:
            raise RuntimeError(f"channel creation failed: {status} {body}")
        return str(body["id"])

    async def stored_counts(self) -> dict[str, int]:
        """Tickets of the org and the sum of their messages' X-Total-Count."""
        tickets: list[dict[str, Any]] = []
        page = 1
        while True:
            status, body, headers = await self.call(
                "GET", f"/orgs/{self.org_id}/tickets?limit=100&page={page}"
            )
            if status != 200:
                raise RuntimeError(f"listing tickets failed: {status} {body}")
            tickets.extend(body)
            if not body or len(tickets) >= int(headers.get("X-Total-Count", 0)):
                break
            page += 1
        sem = asyncio.Semaphore(8)

        async def count(ticket_id: str) -> int:
            async with sem:
                status, body, headers = await self.call(
                    "GET", f"/orgs/{self.org_id}/tickets/{ticket_id}/messages?limit=1"
                )
            if status != 200:
                raise RuntimeError(f"listing messages failed: {status} {body}")
            return int(headers["X-Total-Count"])

        totals = await asyncio.gather(*(count(t["id"]) for t in tickets))
        return {"tickets": len(tickets), "messages": sum(totals)}


# ------------------------------------------------------------------------ websocket reader


@dataclass
class Watcher:
    """Follows the org's websocket, reconnecting with `since` so no event is missed."""

    api: Api
    first_seen: dict[str, float] = field(default_factory=dict)  # externalMessageId -> time
    duplicates: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    last_id: str = ""
    last_event: float = 0.0  # time.time() of the newest ticket/message event
    max_gap: float = 0.0  # longest silence between two such events since the last reset
    t_reset: float = field(default_factory=time.time)  # when last_event/max_gap were reset
    on_message: Callable[[str, dict[str, Any]], None] | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while True:
            query = f"token={self.api.token}" + (f"&since={self.last_id}" if self.last_id else "")
            try:
                async with self.api.http.ws_connect(f"{self.api.base}/ws?{query}") as ws:
                    self.connected.set()
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            self._handle(msg.data)
                        elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                            break
                    code = ws.close_code
            except (aiohttp.ClientError, TimeoutError) as exc:
                log(f"websocket error: {exc!r}; reconnecting")
                code = None
                await asyncio.sleep(0.5)
            self.reconnects += 1
            log(f"websocket closed (code {code}); reconnecting since {self.last_id or 'now'}")
            if code in (4001, 401):  # token expired: a long run outlives the access token
                try:
                    await self.api.refresh()
                except (RuntimeError, aiohttp.ClientError) as exc:
                    log(f"token refresh failed: {exc!r}")
                    await asyncio.sleep(1.0)

    def _handle(self, raw: str) -> None:
        now = time.time()
        try:
            frame = json.loads(raw)
        except ValueError:
            return
        event = frame.get("event")
        if not event or event == "pong":
            return
        self.events[event] += 1
        if event.startswith(("ticket.", "message.")):
            # Threading activity; presence and the like do not count.
            if self.last_event:
                self.max_gap = max(self.max_gap, now - self.last_event)
            self.last_event = now
        if frame.get("id"):
            self.last_id = frame["id"]
        if event == "message.created":
            data = frame.get("data") or {}
            ext = data.get("externalMessageId") or ""
            if ext in self.first_seen:
                self.duplicates[ext] += 1
            else:
                self.first_seen[ext] = now
                if self.on_message:
                    self.on_message(ext, data)
            self.changed.set()

    def seen_with_prefix(self, prefix: str) -> int:
        return sum(1 for k in self.first_seen if k.startswith(prefix))

    async def quiet(self, seconds: float, overall: float) -> float | None:
        """Until no event has arrived for long enough: the worker has nothing left in flight.

        "Long enough" is `seconds`, or twice the longest pause seen while it was busy if that
        is longer: a worker that pauses 20 s between batches is not done after 10 s of quiet.
        Returns the quiet period used, None when `overall` ran out first.
        """
        deadline = time.monotonic() + overall
        log(f"    waiting for {max(seconds, 2 * self.max_gap):.0f}s without ticket/message events")
        while time.monotonic() < deadline:
            needed = min(max(seconds, 2 * self.max_gap), 180.0)
            idle = time.time() - self.last_event
            if idle >= needed:
                return needed
            await asyncio.sleep(needed - idle + 0.05)
        return None

    async def wait_for(self, prefix: str, count: int, stall_timeout: float, overall: float) -> bool:
        """Until `count` messages with this id prefix are seen.

        False after `stall_timeout` seconds without any ticket/message event (a worker busy
        re-threading redelivered records is slow, not stalled) or `overall` seconds in all.
        """
        start = time.monotonic()
        next_report = start + 5.0
        while True:
            now_seen = self.seen_with_prefix(prefix)
            if now_seen >= count:
                return True
            if time.monotonic() >= next_report:
                dups = sum(self.duplicates.values())
                log(f"    {now_seen}/{count} message.created seen (+{dups} duplicates so far)")
                next_report += 5.0
            idle = time.time() - max(self.last_event, self.t_reset)
            if idle > stall_timeout or time.monotonic() - start > overall:
                log(f"    giving up: {now_seen}/{count} seen, {idle:.0f}s without events")
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=1.0)


# ------------------------------------------------------------------------------- the phases


def timeline(times: list[float], t0: float, step: float) -> list[float]:
    """Messages per second in consecutive `step`-second windows from t0."""
    if not times:
        return []
    buckets = [0] * (int((max(times) - t0) // step) + 1)
    for t in times:
        buckets[max(0, int((t - t0) // step))] += 1
    # The last window is usually partial: divide by the part of it that elapsed.
    last = max(1.0, (max(times) - t0) - step * (len(buckets) - 1))
    return [b / step for b in buckets[:-1]] + [buckets[-1] / last]


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


async def run_bench(args: argparse.Namespace, base: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with a running loop
    results: dict[str, Any] = {
        "url": base,
        "n": args.n,
        "concurrency": args.concurrency,
        "customers": args.customers,
        "cpus": os.cpu_count(),
        "git": git_state(),
        "loadavgAtStart": os.getloadavg()[0],
    }
    run = str(uuid.uuid4())
    customers = wa_ids(run, args.customers)

    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        await loop.run_in_executor(pool, _noop)

        async with aiohttp.ClientSession() as http:
            api = Api(base, http)
            await api.signup()
            channel_id = await api.whatsapp_channel()
            webhook_url = f"{base}/webhook/{channel_id}"
            log(f"org {api.org_id}, channel {channel_id}")
            results["orgId"], results["channelId"] = api.org_id, channel_id

            # Built and signed before any timing; the same bodies feed (1) and (2).
            throughput = build_requests(run, "t", args.n, customers)
            bodies = [req for _, req in throughput]

            # (1) bare aiohttp
            parent, child = ctx.Pipe()
            bare = ctx.Process(target=_bare_server, args=(child,), daemon=True)
            bare.start()
            try:
                bare_port = await loop.run_in_executor(None, parent.recv)
                bare_url = f"http://127.0.0.1:{bare_port}/webhook/{channel_id}"
                log(f"(1) bare aiohttp: {args.n} posts, concurrency {args.concurrency}")
                results["bare"] = await loop.run_in_executor(
                    pool, drive, bare_url, bodies, args.concurrency
                )
            finally:
                bare.terminate()
                bare.join(5)

            # (2)+(3): the websocket is open before the first webhook leaves.
            watcher = Watcher(api)
            ws_task = asyncio.create_task(watcher.run())
            try:
                await asyncio.wait_for(watcher.connected.wait(), 10)
                await asyncio.sleep(0.3)  # let the hub register the subscription
                log(f"(2) webhooks: {args.n} posts, concurrency {args.concurrency}")
                watcher.last_event, watcher.max_gap, watcher.t_reset = 0.0, 0.0, time.time()
                acc = await loop.run_in_executor(pool, drive, webhook_url, bodies, args.concurrency)
                results["accept"] = acc
                results["acceptOverBare"] = acc["rps"] / results["bare"]["rps"]
                log(
                    f"    accepted {acc['ok']}/{args.n} in {acc['seconds']:.2f}s; "
                    "waiting for threading"
                )
                prefix_t = f"wamid.bench.{run}.t."
                done = await watcher.wait_for(
                    prefix_t, acc["ok"], args.stall_timeout, args.max_wait
                )
                seen = {k: v for k, v in watcher.first_seen.items() if k.startswith(prefix_t)}
                t_last = max(seen.values()) if seen else acc["tFirst"]
                threaded: dict[str, Any] = {
                    "complete": done,
                    "messages": len(seen),
                    "seconds": t_last - acc["tFirst"],
                    "mps": len(seen) / (t_last - acc["tFirst"]) if seen else 0.0,
                    "lagAfterLastAccept": t_last - acc["tEnd"],
                    "timeline10s": timeline(list(seen.values()), acc["tFirst"], 10.0),
                }
                log(f"    threaded {len(seen)} in {threaded['seconds']:.2f}s; draining")
                # Drained = the websocket has been silent for a while: whatever the worker
                # still had queued (e.g. redelivered records) would otherwise skew (4).
                quiet = await watcher.quiet(args.drain_quiet, args.max_wait)
                threaded["drained"] = quiet is not None
                threaded["drainQuietSeconds"] = quiet
                # From the last new message until events stopped (or until we gave up).
                threaded["drainSeconds"] = time.time() - (quiet or 0.0) - t_last
                threaded["duplicateEvents"] = sum(watcher.duplicates[k] for k in seen)
                threaded["stored"] = await api.stored_counts()
                results["threading"] = threaded
                log(
                    f"    {'drained' if quiet else 'NOT drained'} "
                    f"{threaded['drainSeconds']:.1f}s after the last new message; "
                    f"stored {threaded['stored']}"
                )
                dups_before = threaded["duplicateEvents"]

                # (4) latency at a steady rate, after (3) has drained.
                results["latency"] = await latency_phase(
                    args, api, watcher, webhook_url, run, customers
                )
                # Duplicates of (3)'s messages that arrived during (4) mean (4) was disturbed.
                results["latency"]["duplicatesOfPhase3During"] = (
                    sum(watcher.duplicates[k] for k in seen) - dups_before
                )
                # Then settle, so stragglers that came after a wait gave up still count as
                # delivered (late, not lost), and late duplicates are counted too.
                await watcher.quiet(args.drain_quiet, min(args.max_wait, args.stall_timeout))
                threaded["duplicateEvents"] = sum(watcher.duplicates[k] for k in seen)
                threaded["messagesEventually"] = watcher.seen_with_prefix(prefix_t)
                lat_prefix = f"wamid.bench.{run}.l."
                results["latency"]["receivedEventually"] = watcher.seen_with_prefix(lat_prefix)
                results["latency"]["duplicateEvents"] = sum(
                    n for k, n in watcher.duplicates.items() if k.startswith(lat_prefix)
                )
                results["final"] = await api.stored_counts()
                results["wsEvents"] = dict(watcher.events)
                total = acc["ok"] + results["latency"]["ok"]
                results["wsEventsExpected"] = {
                    "ticket.created": args.customers,
                    "message.created": total,
                    # At most: the worker sends one per ticket per stream batch, however
                    # many of the ticket's messages the batch carried.
                    "ticket.updated": total - args.customers,
                }
                results["wsReconnects"] = watcher.reconnects
                results["api429s"] = api.rate_limited
            finally:
                ws_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ws_task
    results["checks"] = checks(args, results)
    return results


async def latency_phase(
    args: argparse.Namespace, api: Api, watcher: Watcher, url: str, run: str, customers: list[str]
) -> dict[str, Any]:
    m, rate = args.latency_count, args.rate
    log(f"(4) latency: {m} webhooks at {rate:g}/s")
    sent: dict[str, float] = {}
    latencies: dict[str, float] = {}
    statuses: Counter[int] = Counter()
    answered: list[float] = []
    sent_wall: dict[str, float] = {}
    pickup: dict[str, float] = {}
    prefix = f"wamid.bench.{run}.l."
    now = int(time.time())
    reqs = []
    for i in range(m):
        wa_id = customers[i % len(customers)]
        msg_id = f"{prefix}{i}"
        reqs.append((msg_id, wa_id))

    def on_message(ext: str, data: dict[str, Any]) -> None:
        if ext in sent and ext not in latencies:
            latencies[ext] = time.perf_counter() - sent[ext]
            # The worker stamps createdAt when it starts threading the message: it splits the
            # latency into "waiting to be picked up" and "threading + fan-out to the socket".
            with contextlib.suppress(KeyError, TypeError, ValueError):
                created = datetime.fromisoformat(data["createdAt"]).timestamp()
                pickup[ext] = created - sent_wall[ext]

    watcher.on_message = on_message
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def post(msg_id: str, wa_id: str) -> None:
            # The send time goes into the text too, so a stored message tells its own story.
            sent_at = time.time()
            body, headers = signed_request(
                whatsapp_text(
                    wa_id, f"Customer {wa_id}", msg_id, f"bench latency sentAt={sent_at:.6f}", now
                )
            )
            sent[msg_id] = time.perf_counter()
            sent_wall[msg_id] = time.time()
            try:
                async with http.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] += 1
                    # The webhook's own response time: the part of the latency the intake owns.
                    answered.append(time.perf_counter() - sent[msg_id])
            except (aiohttp.ClientError, TimeoutError):
                statuses[-1] += 1

        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1
        tasks = []
        first_send = last_send = start
        for i, (msg_id, wa_id) in enumerate(reqs):
            # Absolute targets: a slow iteration does not push every later send back.
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            last_send = loop.time()
            if i == 0:
                first_send = last_send
            tasks.append(asyncio.create_task(post(msg_id, wa_id)))
        await asyncio.gather(*tasks)
        send_seconds = last_send - first_send
        ok = statuses.get(200, 0)
        complete = await watcher.wait_for(prefix, ok, args.stall_timeout, args.max_wait)
    watcher.on_message = None
    values = [v * 1000 for v in latencies.values()]
    return {
        "sent": m,
        "rate": rate,
        "achievedRate": (m - 1) / send_seconds if send_seconds else 0.0,
        "ok": ok,
        "non200": m - ok,
        "received": len(latencies),
        "complete": complete,
        "p50Ms": pct(values, 50),
        "p95Ms": pct(values, 95),
        "p99Ms": pct(values, 99),
        "maxMs": max(values) if values else float("nan"),
        "meanMs": sum(values) / len(values) if values else float("nan"),
        "duplicateEvents": sum(watcher.duplicates[k] for k in latencies),
        "pickupP50Ms": pct([v * 1000 for v in pickup.values()], 50),
        "pickupP95Ms": pct([v * 1000 for v in pickup.values()], 95),
        "acceptP50Ms": pct([v * 1000 for v in answered], 50),
        "acceptP99Ms": pct([v * 1000 for v in answered], 99),
    }


def checks(args: argparse.Namespace, r: dict[str, Any]) -> dict[str, bool]:
    """Expectations count only accepted webhooks, so a refusal is reported once, not thrice."""
    a, t, lat = r["accept"], r["threading"], r["latency"]
    total = a["ok"] + lat["ok"]
    return {
        "bare server answered all 200": r["bare"]["ok"] == args.n,
        "every webhook answered 200": a["ok"] == args.n and lat["ok"] == lat["sent"],
        "every accepted message.created seen on the websocket": t["messagesEventually"] == a["ok"]
        and lat["receivedEventually"] == lat["ok"],
        "no message.created twice": t["duplicateEvents"] == 0 and lat["duplicateEvents"] == 0,
        "accepted messages all stored after (3)": t["stored"]["messages"] == a["ok"],
        f"{args.customers} tickets": r["final"]["tickets"] == args.customers,
        f"{total} messages stored at the end": r["final"]["messages"] == total,
    }


def git_state() -> str:
    """The commit measured, and whether the working tree differed from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


# ---------------------------------------------------------------------------------- output


def table(r: dict[str, Any], command: str, inbox_command: str | None) -> str:
    b, a, t, lat = r["bare"], r["accept"], r["threading"], r["latency"]

    def ms(v: float) -> str:
        return "n/a" if math.isnan(v) else f"{v:.0f} ms"

    rows = [
        (
            "(1) bare aiohttp",
            f"{b['rps']:,.0f} req/s",
            f"{b['ok']}/{b['requests']} ok in {b['seconds']:.2f}s",
        ),
        (
            "(2) webhook acceptance",
            f"{a['rps']:,.0f} req/s",
            f"{a['ok']}/{a['requests']} ok, {a['non200']} non-200, "
            f"{sum(a['errors'].values())} errors, in {a['seconds']:.2f}s",
        ),
        ("    acceptance / bare", f"{r['acceptOverBare']:.1%}", ""),
        (
            "(3) threading throughput",
            f"{t['mps']:,.1f} msg/s",
            f"{t['messages']} new messages on the ws {t['seconds']:.1f}s after the first send, "
            f"{t['lagAfterLastAccept']:.1f}s after the last accept"
            + (
                f" (gave up waiting; {t['messagesEventually']} seen in the end)"
                if not t["complete"]
                else ""
            ),
        ),
        ("    msg/s per 10 s", "", " ".join(f"{x:.0f}" for x in t["timeline10s"])),
        (
            "    drained",
            f"{t['drainSeconds']:.1f} s" if t["drained"] else "NOT",
            (
                f"after the last new message (then {t['drainQuietSeconds']:.0f} s without events)"
                if t["drained"]
                else f"events still coming {t['drainSeconds']:.0f} s after the last new message; "
                "(4) started anyway"
            )
            + f"; {t['duplicateEvents']} duplicate message.created",
        ),
        (
            "    stored via API",
            f"{t['stored']['messages']} msgs",
            f"in {t['stored']['tickets']} tickets",
        ),
        (
            "(4) webhook->ws latency",
            f"p50 {ms(lat['p50Ms'])}",
            f"p95 {ms(lat['p95Ms'])}, p99 {ms(lat['p99Ms'])}, max {ms(lat['maxMs'])}, "
            f"mean {ms(lat['meanMs'])}",
        ),
        (
            "    sent at",
            f"{lat['achievedRate']:.1f} msg/s",
            f"{lat['received']}/{lat['sent']} seen in time ({lat['receivedEventually']} in the "
            f"end), {lat['non200']} non-200 "
            f"(webhook answered in p50 {ms(lat['acceptP50Ms'])}, p99 {ms(lat['acceptP99Ms'])}; "
            f"threading began p50 {ms(lat['pickupP50Ms'])}, p95 {ms(lat['pickupP95Ms'])} "
            "after the send), "
            f"{lat['duplicateEvents']} duplicates; {lat['duplicatesOfPhase3During']} "
            "duplicates of (3) arrived meanwhile",
        ),
        ("final store", f"{r['final']['messages']} msgs", f"in {r['final']['tickets']} tickets"),
        (
            "ws events",
            "",
            ", ".join(
                f"{k} {r['wsEvents'].get(k, 0)}/{'<=' if k == 'ticket.updated' else ''}{v}"
                for k, v in r["wsEventsExpected"].items()
            )
            + " (seen/expected)",
        ),
    ]
    w0 = max(len(x[0]) for x in rows)
    w1 = max(len(x[1]) for x in rows)
    lines = [
        f"Webhook benchmark: N={r['n']} C={r['concurrency']} customers={r['customers']} "
        f"M={lat['sent']} at {lat['rate']:g}/s, against {r['url']}",
        f"  {r['cpus']} CPUs, load average {r['loadavgAtStart']:.2f} at start, "
        f"code {r['git']}, websocket reconnects {r['wsReconnects']}, API 429s {r['api429s']}",
        "",
    ]
    lines += [f"  {x:<{w0}}  {y:>{w1}}  {z}".rstrip() for x, y, z in rows]
    lines.append("")
    for name, ok in r["checks"].items():
        lines.append(f"  [{'ok' if ok else 'FAIL'}] {name}")
    if a["non200"] or a["errors"]:
        lines.append(f"  webhook statuses {a['statuses']} errors {a['errors']} {a['errorBodies']}")
    lines += ["", f"  command: {command}"]
    if inbox_command:
        lines.append(f"  server:  {inbox_command}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--url", default="http://127.0.0.1:8080", help="a running inbox (without --start)"
    )
    p.add_argument("--start", action="store_true", help="launch `inbox up` on a free port")
    p.add_argument("--data-dir", help="with --start: data dir (default: a new temporary one)")
    p.add_argument("--keep-data", action="store_true", help="with --start: keep the data dir")
    p.add_argument("-n", "--n", type=int, default=3000, help="webhooks for (1)-(3)")
    p.add_argument("-c", "--concurrency", type=int, default=32)
    p.add_argument("--customers", type=int, default=200, help="distinct WhatsApp senders")
    p.add_argument("-m", "--latency-count", type=int, default=500, help="webhooks for (4)")
    p.add_argument("--rate", type=float, default=50.0, help="webhooks per second in (4)")
    p.add_argument(
        "--stall-timeout",
        type=float,
        default=120.0,
        help="give up waiting for threading after this long without any ticket/message event",
    )
    p.add_argument(
        "--drain-quiet",
        type=float,
        default=10.0,
        help="before (4), wait until the websocket has been silent this long",
    )
    p.add_argument("--max-wait", type=float, default=600.0, help="cap on each wait for threading")
    p.add_argument(
        "--keep-rate-limits",
        action="store_true",
        help="with --start: keep the product's default rate limits (else raised out of reach)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    if min(args.n, args.concurrency, args.customers, args.latency_count) < 1 or args.rate <= 0:
        p.error("counts, concurrency and rate must be positive")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(argv)
    # SIGTERM takes the same clean path as Ctrl-C, so a started inbox is always stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    inbox: InboxProcess | None = None
    tmp: Path | None = None
    ok = False
    try:
        base = args.url.rstrip("/")
        if args.start:
            if args.data_dir:
                data_dir = Path(args.data_dir)
            else:
                data_dir = tmp = Path(tempfile.mkdtemp(prefix="inbox-bench-"))
            # The product's default per-minute limits (webhooks per channel, API calls per
            # user) would turn this benchmark into a measurement of the limiter's 429s. They
            # are raised, not disabled, so the limiter's own cost stays in the figures.
            env = {} if args.keep_rate_limits else dict(LIFTED_LIMITS)
            inbox = InboxProcess(free_port(), data_dir, env)
            log(f"starting: {inbox.command}")
            t0 = time.monotonic()
            base = inbox.start()
            log(f"inbox up at {base} after {time.monotonic() - t0:.1f}s")
        results = asyncio.run(run_bench(args, base))
        results["command"] = command
        results["serverCommand"] = inbox.command if inbox else None
        if inbox:
            results["dataDir"] = str(inbox.data_dir)
        ok = all(results["checks"].values())
        if args.json:
            print(json.dumps(results, indent=2, default=str))
        else:
            print(table(results, command, inbox.command if inbox else None))
        return 0 if ok else 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - report, stop the server, exit non-zero
        log(f"benchmark failed: {exc!r}")
        return 2
    finally:
        if inbox:
            log("stopping inbox (SIGINT)")
            code = inbox.stop()
            log(f"inbox exited with {code}")
            if code not in (0, None):
                log("inbox output tail:\n" + "".join(inbox.output[-20:]))
        if tmp is not None:
            if ok and not args.keep_data:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                log(f"data dir kept: {tmp} (logs in {tmp / 'logs'})")


if __name__ == "__main__":
    sys.exit(main())
