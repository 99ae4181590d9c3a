"""Websocket fan-out benchmark: one org event delivered to 1,000 connected agents.

    python bench/ws_fanout.py [--clients 1000] [--agents 1000] [--events 50] [--json]

Starts the embedded servers (MongoDB/Kafka/Redis protocols) in a temporary directory and the
web app as a separate `inbox web` process. A separate process, not an in-process app runner,
because otherwise the server's fan-out and the 1,000 clients' reads would share one event loop
and one core, and every delivery time would include the other side's work; as processes, each
side has its own loop and the OS can run them on both cores.

Then it signs up an org, opens `--clients` websockets on `GET /ws?token=...` from this process
and waits until each has received its first `ready` frame. `--agents` distinct agents share
the sockets round-robin (`--agents 1` puts every socket on the sign-up admin's token). Agents
are inserted straight into MongoDB and their access tokens minted with the deployment's JWT
secret, because a thousand invite + accept round trips would mostly measure bcrypt; the web
process still looks every token's user up in the database, as for any agent.

Every websocket also joins presence (web/realtime/presence.py), and each join makes every web
process push the org's full online list to every socket of the org as `presence.update`. The
benchmark counts those frames and bytes while connecting, and waits until none has arrived for
`--settle` seconds before measuring, so the storm is not part of the fan-out figures.

Measuring: `--events` events are published into the org's event log exactly as the stream
worker publishes (`RedisEventLog(redis, retention).publish(org_id, "bench.ping", ...)`),
`--interval` seconds apart, each carrying `sentAt` (time.time()). Every client records
receive time - sentAt for each; p50/p95/p99/max over all deliveries, the time until the last
client had each event, and deliveries missing or doubled are printed. The target of issue 3
is p99 under 250 ms. CPU seconds of the web process and of this process during the
measurement show which side was busy.

Rate limits are switched off and bcrypt is cut to 4 rounds (sign-up only); neither is on the
measured path. The web process and the embedded servers are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from _common import log, pct
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from adapters.event_log import RedisEventLog
from app.embedded import EmbeddedServers, free_port
from inbox.config import Settings
from inbox.security import hash_password, issue_access_token

PASSWORD = "bench-password-1"
TARGET_P99_MS = 250.0
EVENT = "bench.ping"
# How the server frames an ephemeral presence event (json.dumps of id, event, data in that
# order): recognising it by prefix spares parsing a thousand large lists per update.
PRESENCE_PREFIX = '{"id": null, "event": "presence.update"'
PING_MARK = f'"event": "{EVENT}"'


def raise_open_files(need: int) -> int:
    """Raise this process's (and so its children's) open-files limit to fit `need` sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -------------------------------------------------------------------------- web process


class WebProcess:
    """`inbox web` on a free port; SIGINT then wait, SIGKILL if it will not stop."""

    def __init__(self, settings: Settings, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **settings.to_env(), "LOG_LEVEL": "WARNING"}
        self.log_path = log_path
        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app.cli",
                    "web",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=env,
                stdout=out,
                stderr=out,
                start_new_session=True,  # a Ctrl-C in the terminal reaches only us
            )

    async def wait_up(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"inbox web exited; see {self.log_path}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    # 503 is fine: no worker runs here, and none is needed to fan out.
                    async with http.get(f"{self.url}/health") as resp:
                        await resp.read()
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"inbox web did not answer within {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -------------------------------------------------------------------------------- clients


@dataclass
class Tally:
    """What all clients saw, kept in one place so reading a frame costs little."""

    ready: int = 0
    all_ready: asyncio.Event = field(default_factory=asyncio.Event)
    presence_frames: int = 0
    presence_bytes: int = 0
    last_presence: float = 0.0  # time.monotonic() of the newest presence.update
    last_presence_frame: str = ""  # parsed once after settling, not on every frame
    # event number -> receive time - sentAt (ms), one entry per delivery
    delays: dict[int, list[float]] = field(default_factory=dict)
    other_frames: int = 0
    closed: int = 0
    errors: list[str] = field(default_factory=list)


async def client(
    http: aiohttp.ClientSession,
    url: str,
    tally: Tally,
    total: int,
    gate: asyncio.Semaphore,
    stop: asyncio.Event,
) -> None:
    seen: set[int] = set()
    async with gate:
        try:
            ws = await http.ws_connect(url, heartbeat=None, max_msg_size=0)
        except (aiohttp.ClientError, OSError) as exc:
            tally.errors.append(f"connect: {exc!r}")
            return
    ready = False
    try:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data: str = msg.data
            if data.startswith(PRESENCE_PREFIX):
                tally.presence_frames += 1
                tally.presence_bytes += len(data)
                tally.last_presence = time.monotonic()
                tally.last_presence_frame = data
            elif PING_MARK in data:
                received = time.time()
                frame = json.loads(data)
                n = int(frame["data"]["n"])
                if n in seen:
                    tally.other_frames += 1  # a double delivery: counted, not timed
                    continue
                seen.add(n)
                tally.delays.setdefault(n, []).append(
                    (received - float(frame["data"]["sentAt"])) * 1000
                )
            elif not ready and '"event": "ready"' in data:
                ready = True
                tally.ready += 1
                if tally.ready == total:
                    tally.all_ready.set()
            else:
                tally.other_frames += 1
            if stop.is_set():
                break
    except (aiohttp.ClientError, OSError) as exc:
        tally.errors.append(f"read: {exc!r}")
    finally:
        if not stop.is_set():
            tally.closed += 1
        await ws.close()


# ------------------------------------------------------------------------------ set-up


async def signup(base: str) -> tuple[str, str, str]:
    async with aiohttp.ClientSession() as http:
        body = {
            "orgName": "Bench Org",
            "name": "Bench Admin",
            "email": f"admin-{uuid.uuid4().hex[:10]}@example.com",
            "password": PASSWORD,
        }
        async with http.post(f"{base}/auth/signup", json=body) as resp:
            data = await resp.json()
            if resp.status != 201:
                raise RuntimeError(f"signup failed: {resp.status} {data}")
    return data["accessToken"], data["user"]["orgId"], data["user"]["id"]


async def agent_tokens(settings: Settings, org_id: str, count: int) -> list[str]:
    """`count` active AGENT users of the org, inserted directly, with access tokens."""
    password_hash = await hash_password(PASSWORD, settings.bcrypt_rounds)
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    users = [
        {
            "_id": str(uuid.uuid4()),
            "orgId": org_id,
            "name": f"Agent {i:04d}",
            "email": f"agent-{i}-{uuid.uuid4().hex[:8]}@example.com",
            "passwordHash": password_hash,
            "role": "AGENT",
            "isActive": True,
            "createdAt": now,
            "updatedAt": now,
        }
        for i in range(count)
    ]
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    try:
        await mongo[settings.mongodb_db]["users"].insert_many(users, ordered=False)
    finally:
        await mongo.close()
    return [
        issue_access_token(
            user_id=u["_id"],
            org_id=org_id,
            role="AGENT",
            secret=settings.jwt_secret,
            ttl_seconds=settings.access_token_ttl_seconds,
        )
        for u in users
    ]


# ------------------------------------------------------------------------------------ run


async def run(settings: Settings, web: WebProcess, args: argparse.Namespace) -> dict[str, Any]:
    await web.wait_up()
    admin_token, org_id, _ = await signup(web.url)
    tokens = [admin_token]
    if args.agents > 1:
        log(f"creating {args.agents} agents")
        tokens = await agent_tokens(settings, org_id, args.agents)

    tally = Tally()
    stop = asyncio.Event()
    gate = asyncio.Semaphore(args.connect_concurrency)
    connector = aiohttp.TCPConnector(limit=0)  # the default 100 would cap open sockets
    ws_url = f"{web.url.replace('http', 'ws', 1)}/ws?token="
    async with aiohttp.ClientSession(connector=connector) as http:
        log(f"connecting {args.clients} websockets ({args.connect_concurrency} at a time)")
        server_cpu0, own_cpu0 = cpu_seconds(web.proc.pid), time.process_time()
        t0 = time.monotonic()
        tasks = [
            asyncio.create_task(
                client(http, ws_url + tokens[i % len(tokens)], tally, args.clients, gate, stop)
            )
            for i in range(args.clients)
        ]
        try:
            await asyncio.wait_for(tally.all_ready.wait(), timeout=args.connect_timeout)
        except TimeoutError as exc:
            raise RuntimeError(
                f"only {tally.ready}/{args.clients} clients ready after {args.connect_timeout} s;"
                f" errors: {tally.errors[:3]}"
            ) from exc
        connect_s = time.monotonic() - t0
        frames_at_ready = tally.presence_frames
        log(f"all {args.clients} ready after {connect_s:.1f} s; waiting for presence to settle")
        while True:
            await asyncio.sleep(0.25)
            quiet = time.monotonic() - max(tally.last_presence, t0)
            if quiet >= args.settle or time.monotonic() - t0 > args.connect_timeout:
                break
        settled_s = max(tally.last_presence, t0) - t0
        connect = {
            "clients": args.clients,
            "agents": len(tokens),
            "allReadySeconds": round(connect_s, 2),
            "presenceSettledSeconds": round(settled_s, 2),
            "presenceFrames": tally.presence_frames,
            "presenceFramesAfterAllReady": tally.presence_frames - frames_at_ready,
            "presenceMegabytes": round(tally.presence_bytes / 1e6, 1),
            "presenceFramesPerClient": round(tally.presence_frames / args.clients, 1),
            "presenceUsersInList": (
                len(json.loads(tally.last_presence_frame)["data"]["users"])
                if tally.last_presence_frame
                else None
            ),
            "presenceFrameBytes": len(tally.last_presence_frame),
            "serverCpuSeconds": round(cpu_seconds(web.proc.pid) - server_cpu0, 1),
            "clientCpuSeconds": round(time.process_time() - own_cpu0, 1),
        }

        log(f"publishing {args.events} events {args.interval * 1000:.0f} ms apart")
        redis = Redis.from_url(settings.redis_url)
        event_log = RedisEventLog(redis, settings.events_retention)
        presence_before = tally.presence_frames
        server_cpu0, own_cpu0 = cpu_seconds(web.proc.pid), time.process_time()
        t_pub = time.monotonic()
        try:
            for i in range(args.events):
                await event_log.publish(org_id, EVENT, {"sentAt": time.time(), "n": i})
                await asyncio.sleep(args.interval)
            expected = args.clients * args.events
            deadline = time.monotonic() + args.drain
            while time.monotonic() < deadline:
                if sum(len(v) for v in tally.delays.values()) >= expected:
                    break
                await asyncio.sleep(0.1)
        finally:
            await redis.aclose()
        measure_s = time.monotonic() - t_pub
        server_cpu = cpu_seconds(web.proc.pid) - server_cpu0
        own_cpu = time.process_time() - own_cpu0
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    delays = sorted(d for v in tally.delays.values() for d in v)
    last_per_event = sorted(max(v) for v in tally.delays.values())
    # An event whose first delivery is already late was held up before the fan-out began
    # (a pause in the web process or the Redis read); a late last delivery alone is fan-out.
    first_per_event = sorted(min(v) for v in tally.delays.values())
    received = len(delays)
    expected = args.clients * args.events
    return {
        "connect": connect,
        "fanout": {
            "events": args.events,
            "intervalMs": round(args.interval * 1000),
            "deliveries": received,
            "expected": expected,
            "missing": expected - received,
            "doubledOrOther": tally.other_frames,
            "presenceFramesDuringMeasure": tally.presence_frames - presence_before,
            "closedEarly": tally.closed,
            "p50Ms": round(pct(delays, 50), 1),
            "p95Ms": round(pct(delays, 95), 1),
            "p99Ms": round(pct(delays, 99), 1),
            "maxMs": round(delays[-1], 1) if delays else None,
            "meanMs": round(statistics.fmean(delays), 1) if delays else None,
            "lastClientP50Ms": round(pct(last_per_event, 50), 1),
            "lastClientMaxMs": round(last_per_event[-1], 1) if last_per_event else None,
            "firstClientP50Ms": round(pct(first_per_event, 50), 1),
            "firstClientMaxMs": round(first_per_event[-1], 1) if first_per_event else None,
            "targetP99Ms": TARGET_P99_MS,
            "met": bool(delays) and received == expected and pct(delays, 99) < TARGET_P99_MS,
            "serverCpuSeconds": round(server_cpu, 1),
            "clientCpuSeconds": round(own_cpu, 1),
            "wallSeconds": round(measure_s, 1),
        },
        "errors": tally.errors[:10],
    }


def print_report(report: dict[str, Any]) -> None:
    c, f = report["connect"], report["fanout"]
    print(f"command: {report['command']}")
    print(
        f"connect: {c['clients']} websockets of {c['agents']} agent(s) all ready in "
        f"{c['allReadySeconds']} s; presence settled {c['presenceSettledSeconds']} s after the "
        f"first connect"
    )
    print(
        f"  presence.update while connecting: {c['presenceFrames']} frames "
        f"({c['presenceFramesPerClient']} per client, {c['presenceFramesAfterAllReady']} after "
        f"all were ready), {c['presenceMegabytes']} MB; the last listed "
        f"{c['presenceUsersInList']} users in {c['presenceFrameBytes']} bytes; "
        f"CPU s: web {c['serverCpuSeconds']}, clients {c['clientCpuSeconds']}"
    )
    verdict = "MET" if f["met"] else "MISSED"
    print(
        f"fan-out: {f['events']} events x {c['clients']} clients, {f['intervalMs']} ms apart: "
        f"{f['deliveries']}/{f['expected']} delivered, {f['missing']} missing, "
        f"{f['doubledOrOther']} doubled/other"
    )
    print(
        f"  delivery ms: p50 {f['p50Ms']}  p95 {f['p95Ms']}  p99 {f['p99Ms']}  max {f['maxMs']}"
        f"  (mean {f['meanMs']})"
    )
    print(
        f"  per event: first client p50 {f['firstClientP50Ms']}, max {f['firstClientMaxMs']};"
        f" last client p50 {f['lastClientP50Ms']}, max {f['lastClientMaxMs']}"
    )
    print(
        f"  target p99 < {f['targetP99Ms']:.0f} ms: {verdict}; CPU s over {f['wallSeconds']} s:"
        f" web {f['serverCpuSeconds']}, clients {f['clientCpuSeconds']};"
        f" presence frames meanwhile {f['presenceFramesDuringMeasure']}"
    )
    if report["errors"]:
        print(f"errors: {report['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument(
        "--agents", type=int, default=None, help="distinct agents (default: one per client)"
    )
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between events")
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument("--connect-timeout", type=float, default=600.0)
    parser.add_argument("--settle", type=float, default=3.0, help="quiet seconds before measuring")
    parser.add_argument("--drain", type=float, default=10.0, help="wait for late deliveries")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.agents is None:
        args.agents = args.clients
    command = shlex.join(["python", "bench/ws_fanout.py", *sys.argv[1:]])
    limit = raise_open_files(args.clients * 2 + 512)
    if limit < args.clients + 256:
        raise SystemExit(f"open-files limit {limit} is too low for {args.clients} clients")
    # A SIGTERM must unwind through the `with` blocks so every process is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp, EmbeddedServers(Path(tmp)) as urls:
        run_id = uuid.uuid4().hex[:8]
        settings = Settings.from_env(
            mongodb_uri=urls.mongodb_uri,
            kafka_bootstrap=urls.kafka_bootstrap,
            redis_url=urls.redis_url,
            mongodb_db=f"bench_{run_id}",
            topic_prefix=f"bench{run_id}",
            kafka_group_id=f"bench-{run_id}",
            rate_limit_enabled=False,
            bcrypt_rounds=4,
            # Sockets close when their token expires; connecting and settling may take minutes.
            access_token_ttl_seconds=3600,
        )
        web = WebProcess(settings, Path(tmp) / "web.log")
        try:
            report = asyncio.run(run(settings, web, args))
        except RuntimeError as exc:
            tail = web.log_path.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{exc}\n--- web.log ---\n{tail}") from exc
        finally:
            web.stop()
    report = {"command": command, **report}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
