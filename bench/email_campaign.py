"""E-mail campaign benchmark: a 10,000-recipient EMAIL campaign through a local SMTP server.

    python bench/email_campaign.py [--customers 10000] [--audience all|segment] [--json]
    python bench/email_campaign.py --profile worker.speedscope.json   # py-spy on the worker

Starts the embedded servers (MongoDB/Kafka/Redis protocols) in a temporary directory, the web
app in this process on a free port, a real `inbox worker` process and a local SMTP server
(aiosmtpd, in its own thread) that counts what it receives. It signs up an org, creates an
EMAIL channel pointing at that server, then inserts `--customers` customers with e-mail
addresses straight into MongoDB with `insert_many` (with their identity claims, as the
customer service stores them). The campaign's audience is `recipientType: all` (or, with
`--audience segment`, a saved segment matching every customer); its subject and HTML body are
rendered per customer, with click tracking and an open pixel.

It times from the `start` request to the last e-mail the SMTP server accepted and prints
e-mails per second, the campaign's final counts (recipients, sent, failed, skipped), how long
the audience took to become recipients, and duplicates (an address that got two e-mails;
there must be none). The target of issue 4 is at least 200 e-mails/s.

`--profile FILE` runs `py-spy record` on the worker for the sending, `--profile-mongo FILE` on
the embedded MongoDB-protocol server (pip install py-spy; open the files in speedscope).
Rate limits are switched off and bcrypt cut to 4 rounds (sign-up only). Other processes on
the machine move these figures a lot: the load average at the start and end is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from _common import Api as BaseApi
from _common import free_port, load, log
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from pymongo import AsyncMongoClient

from app.embedded import EmbeddedServers
from inbox.config import Settings
from web.app import create_app

PASSWORD = "bench-password-1"
TARGET = 200.0
SUBJECT = "{{ customer.name }}, our spring sale starts today"
BODY = (
    "<html><body><p>Hello {{ customer.name }},</p>"
    "<p>As one of {{ company_name }}'s customers in {{ customer.city }}, you get early access "
    'to our <a href="https://shop.example/sale?src=mail">spring sale</a>.</p>'
    '<p><a href="https://shop.example/unsubscribe">Unsubscribe</a></p></body></html>'
)
CITIES = ["Lagos", "Abuja", "Accra", "Nairobi", "Cape Town", "Kigali"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (and its reaped children) used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def git_state() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True)
        return rev + (" (uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# ------------------------------------------------------------------------------ SMTP sink


@dataclass
class Sink:
    """Counts accepted e-mails per recipient and when the first and last arrived."""

    count: int = 0
    first: float | None = None
    last: float | None = None
    recipients: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTPServer, session: Session, envelope: Envelope
    ) -> str:
        now = time.time()
        with self.lock:
            self.count += 1
            self.first = self.first or now
            self.last = now
            for rcpt in envelope.rcpt_tos:
                self.recipients[rcpt.lower()] += 1
        return "250 OK"


# ------------------------------------------------------------------------------ worker


class Worker:
    """`inbox worker` in its own process, as deployed."""

    def __init__(self, settings: Settings, log_path: Path):
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, **self.settings.to_env(), "LOG_LEVEL": "WARNING"}
        out = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------------------ API


@dataclass
class Api(BaseApi):
    async def ok(self, method: str, path: str, body: Any = None, want: int = 200) -> Any:
        status, data = await self.call(method, f"/orgs/{self.org_id}{path}", body)
        if status != want:
            raise RuntimeError(f"{method} {path}: {status} {data}")
        return data


async def wait_healthy(api: Api, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        status, body = await api.call("GET", "/health")
        if status == 200:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the worker never became healthy: {body}")


def start_profiler(pid: int, output: str) -> subprocess.Popen[bytes]:
    """py-spy sampling a process until it gets SIGINT (it writes `output` then)."""
    return subprocess.Popen(
        ["py-spy", "record", "-p", str(pid), "-o", output,
         "--format", "speedscope", "--rate", "50", "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def customer_docs(org_id: str, run: str, count: int) -> tuple[list[dict], list[dict]]:
    """Customers as the customer service stores them, and their identity claims."""
    from connectors.base import ChannelType
    from inbox.crm.customer_documents import Customer, CustomerIdentity, Identity

    customers, claims = [], []
    for i in range(count):
        email = f"customer{i}.{run}@example.com"
        customer = Customer(
            org_id=org_id,
            name=f"Customer {i}",
            email=email,
            city=CITIES[i % len(CITIES)],
            identities=[Identity(platform=ChannelType.EMAIL, external_id=email)],
        )
        customers.append(customer.model_dump(by_alias=True))
        claims.append(
            CustomerIdentity(
                id=CustomerIdentity.key(org_id, ChannelType.EMAIL, email),
                org_id=org_id,
                customer_id=customer.id,
                platform=ChannelType.EMAIL,
                external_id=email,
            ).model_dump(by_alias=True)
        )
    return customers, claims


async def run(
    settings: Settings, args: argparse.Namespace, data_dir: Path, servers: dict[str, int]
) -> dict[str, Any]:
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    worker = Worker(settings, data_dir / "logs" / "worker.log")
    worker.start()
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    profilers: list[subprocess.Popen[bytes]] = []
    report: dict[str, Any] = {"loadStart": load(), "commit": git_state()}
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(base, http)
            log("waiting for the worker")
            await wait_healthy(api, timeout=180)
            status, data = await api.call(
                "POST",
                "/auth/signup",
                {
                    "orgName": "Bench Shop",
                    "name": "Bench Admin",
                    "email": f"admin-{uuid.uuid4().hex[:10]}@example.com",
                    "password": PASSWORD,
                },
            )
            if status != 201:
                raise RuntimeError(f"signup: {status} {data}")
            api.token, api.org_id = data["accessToken"], data["user"]["orgId"]
            channel = await api.ok(
                "POST",
                "/channels",
                {
                    "type": "EMAIL",
                    "name": "Newsletter",
                    "config": {
                        "host": "127.0.0.1",
                        "port": smtp.port,
                        "security": "none",
                        "fromAddress": "news@shop.example",
                        "fromName": "Bench Shop",
                    },
                },
                want=201,
            )
            run_id = uuid.uuid4().hex[:6]
            customers, claims = customer_docs(api.org_id, run_id, args.customers)
            db = mongo[settings.mongodb_db]
            started = time.perf_counter()
            for i in range(0, len(customers), args.batch):
                await db["customers"].insert_many(customers[i : i + args.batch], ordered=False)
                await db["customer_identities"].insert_many(
                    claims[i : i + args.batch], ordered=False
                )
            report["seedSeconds"] = round(time.perf_counter() - started, 1)
            log(f"inserted {len(customers)} customers in {report['seedSeconds']} s")

            audience: dict[str, Any] = {"recipientType": "all"}
            if args.audience == "segment":
                segment = await api.ok(
                    "POST",
                    "/segments",
                    {
                        "name": "Everyone with an e-mail",
                        "conditions": [{"field": "email", "operator": "contains", "value": "@"}],
                    },
                    want=201,
                )
                audience = {"segmentId": segment["id"]}
            campaign = await api.ok(
                "POST",
                "/campaigns",
                {
                    "channelId": channel["id"],
                    "name": "Spring sale",
                    "subject": SUBJECT,
                    "messageTemplate": BODY,
                    **audience,
                },
                want=201,
            )
            assert worker.proc is not None
            if args.profile:
                profilers.append(start_profiler(worker.proc.pid, args.profile))
            if args.profile_mongo:
                profilers.append(start_profiler(servers["mongo"], args.profile_mongo))
            if profilers:
                await asyncio.sleep(1.0)
            log(f"starting the campaign ({args.customers} customers, audience {audience})")
            load_at_start = load()
            pids = {**servers, "worker": worker.proc.pid, "bench (web + SMTP)": os.getpid()}
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            t0 = time.time()
            await api.ok("POST", f"/campaigns/{campaign['id']}/start")
            last_count, last_change = 0, time.monotonic()
            while sink.count < args.customers:
                await asyncio.sleep(0.25)
                if sink.count != last_count:
                    last_count, last_change = sink.count, time.monotonic()
                    if int(time.time() * 4) % 20 == 0:
                        log(f"  {sink.count} e-mails received")
                elif time.monotonic() - last_change > args.stall_seconds:
                    log(f"no e-mail for {args.stall_seconds} s: stopping at {sink.count}")
                    break
            t_last = sink.last or time.time()
            cpu = {
                name: round(cpu_seconds(pid) - cpu_before[name], 1) for name, pid in pids.items()
            }
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)

            async def completed() -> dict[str, Any]:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    found = await api.ok("GET", f"/campaigns/{campaign['id']}")
                    if found["status"] == "COMPLETED":
                        return found
                    await asyncio.sleep(0.5)
                return found

            final = await completed()
            stats = await api.ok("GET", f"/campaigns/{campaign['id']}/stats")
    finally:
        for profiler in profilers:
            if profiler.poll() is None:
                profiler.kill()
        await mongo.close()
        worker.stop()
        await runner.cleanup()
        smtp.stop()
    elapsed = t_last - t0
    started_at = datetime.fromisoformat(final["startedAt"])
    resolved_at = final.get("audienceResolvedAt")
    report.update(
        {
            "customers": args.customers,
            "audience": args.audience,
            "received": sink.count,
            "duplicates": sum(n - 1 for n in sink.recipients.values() if n > 1),
            "seconds": round(elapsed, 2),
            "emailsPerSecond": round(sink.count / elapsed, 1) if elapsed > 0 else 0.0,
            "firstEmailAfterSeconds": round((sink.first or t0) - t0, 2),
            "audienceSeconds": round(
                (datetime.fromisoformat(resolved_at) - started_at).total_seconds(), 2
            )
            if resolved_at
            else None,
            "campaign": {
                "status": final["status"],
                "recipientCount": final["recipientCount"],
                "sentCount": final["sentCount"],
                "failedCount": final["failedCount"],
                "skippedCount": final["skippedCount"],
            },
            "stats": stats,
            "cpuSeconds": cpu,
            "loadAtStart": load_at_start,
            "loadEnd": load(),
            "target": TARGET,
        }
    )
    return report


def print_report(r: dict[str, Any], command: str) -> None:
    ok = r["emailsPerSecond"] >= TARGET
    c = r["campaign"]
    print(f"command: {command}")
    print(f"commit: {r['commit']}; load average at start {r['loadAtStart']}, end {r['loadEnd']}")
    print(f"customers seeded: {r['customers']} (insert_many, {r['seedSeconds']} s)")
    print(
        f"e-mails received: {r['received']} in {r['seconds']} s from start to the last one "
        f"-> {r['emailsPerSecond']} e-mails/s (target >= {TARGET:.0f}: {'met' if ok else 'MISSED'})"
    )
    print(
        f"first e-mail after {r['firstEmailAfterSeconds']} s; audience resolved "
        f"{r['audienceSeconds']} s after the start; duplicates: {r['duplicates']}"
    )
    print(
        f"campaign: {c['status']}, recipients {c['recipientCount']}, sent {c['sentCount']}, "
        f"failed {c['failedCount']}, skipped {c['skippedCount']}"
    )
    used = ", ".join(f"{name} {secs} s" for name, secs in r["cpuSeconds"].items())
    print(f"CPU used from start to the last e-mail ({r['seconds']} s): {used}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--audience", choices=["all", "segment"], default="all")
    parser.add_argument("--batch", type=int, default=1000, help="insert_many batch size")
    parser.add_argument(
        "--rate", type=float, default=None, help="CAMPAIGN_EMAIL_RATE_PER_SECOND (default: its)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="CAMPAIGN_SEND_CONCURRENCY (default: its)"
    )
    parser.add_argument("--stall-seconds", type=float, default=60.0)
    parser.add_argument("--profile", help="py-spy speedscope output for the worker")
    parser.add_argument(
        "--profile-mongo", help="py-spy speedscope output for the embedded MongoDB server"
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the data dir and logs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    command = shlex.join(["python", "bench/email_campaign.py", *sys.argv[1:]])

    data_dir = Path(tempfile.mkdtemp(prefix="bench-email-"))
    clean = False
    try:
        servers = EmbeddedServers(data_dir)
        with servers as urls:
            run_id = uuid.uuid4().hex[:8]
            overrides: dict[str, Any] = {}
            if args.rate is not None:
                overrides["campaign_email_rate_per_second"] = args.rate
            if args.concurrency is not None:
                overrides["campaign_send_concurrency"] = args.concurrency
            settings = Settings.from_env(
                mongodb_uri=urls.mongodb_uri,
                kafka_bootstrap=urls.kafka_bootstrap,
                redis_url=urls.redis_url,
                mongodb_db=f"bench_{run_id}",
                topic_prefix=f"bench{run_id}",
                kafka_group_id=f"bench-{run_id}",
                rate_limit_enabled=False,
                bcrypt_rounds=4,
                access_token_ttl_seconds=24 * 3600,
                public_url="http://127.0.0.1:8080",
                media_dir=str(data_dir / "media"),
                **overrides,
            )
            report = asyncio.run(run(settings, args, data_dir, servers.pids))
        report["command"] = command
        if args.json:
            print(json.dumps(report, indent=2, default=str))
        else:
            print_report(report, command)
        clean = report["duplicates"] == 0 and report["received"] == args.customers
        return 0 if clean else 1
    finally:
        if clean and not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            log(f"data and logs kept in {data_dir}")


if __name__ == "__main__":
    sys.exit(main())
