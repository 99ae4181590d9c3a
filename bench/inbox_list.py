"""Inbox list benchmark: the first page of 20 out of 100,000 tickets, filtered by status and
assignee, through the real HTTP API.

    python bench/inbox_list.py [--tickets 100000] [--requests 300] [--json]

Starts the embedded servers (MongoDB/Kafka/Redis protocols) in a temporary directory, runs the
web app in this process on a free port, signs up an org, creates agents (invite + accept) and
WhatsApp channels through the API, then bulk-inserts customers and tickets straight into
MongoDB with `insert_many`, in exactly the shape Beanie stores them (camelCase fields, string
`_id`, `openKey` only on OPEN/PENDING tickets, no `assigneeId` when unassigned). The indexes
already exist at that point: `init_beanie` creates them when the app starts.

Then, for each list query, it warms up and times `--requests` sequential GETs over one
keep-alive connection (p50/p95/p99/max and requests/s). Sequential requests mean the client
and the in-process server never compete for the loop: each request's time is the server's
work plus one local round-trip. The target of issue 3 is p99 under 50 ms for
`status=OPEN&assigneeId=<agent>`. That query runs twice more while tickets change, so the
counts have changes to fold in and the pages move: once with `--writes-per-second` (10)
changes made as the worker makes them, from another MongoDB connection (a new message: the
ticket's activity moves, a PENDING one reopens, every other one changes hands); once with
`--assigns-per-second` (1) assigns through the API, handled by the same process and event
loop as the list (so each list request may wait for an assign's work).

Last, a breakdown replays the MongoDB work of one list request with PyMongo against the same
server and prints each one's median and the plan MongoDB reports for it, so a miss can be
pinned on the part that causes it: the auth look-up; the count's check for tickets changed
since it last looked (inbox/conversations/ticket_counts.py); the page query in the activity window
the list settled on (inbox/conversations/ticket_list.py); the three look-ups that build the views.
For comparison it also times what the list did before windows and kept counts: the plain
sorted query and `count_documents` (not for the unfiltered list, where each takes many
seconds: `--plain-unfiltered` times them anyway).

Rate limits are switched off (`rate_limit_enabled=False`); bcrypt is cut to 4 rounds so that
creating the agents takes no time; neither is on the measured path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from _common import Api as BaseApi
from _common import log, pct
from aiohttp import web
from pymongo import AsyncMongoClient

from app.embedded import EmbeddedServers
from inbox.accounts.documents import User
from inbox.channels.documents import Channel
from inbox.config import Settings
from inbox.conversations import ticket_counts, ticket_list
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Ticket
from inbox.conversations.views import ticket_view
from inbox.crm.customer_documents import Customer
from web import keys
from web.app import create_app
from web.auth import authenticated, current_user
from web.conversations.schemas import TicketQuery
from web.pagination import page_of, paged_response
from web.parsing import query

PASSWORD = "bench-password-1"
TARGET_P99_MS = 50.0
DAYS = 90
# Ticket mix: most history is closed; an agent's open queue is a few percent of all tickets.
STATUS_WEIGHTS = {"OPEN": 0.15, "PENDING": 0.05, "CLOSED": 0.80}
PRIORITY_WEIGHTS = {"LOW": 0.3, "MEDIUM": 0.5, "HIGH": 0.2}
UNASSIGNED_SHARE = 0.2


def ms_now() -> datetime:
    # Mongo keeps milliseconds; the app's own documents are trimmed the same way.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# ------------------------------------------------------------------------------ API set-up


@dataclass
class Api(BaseApi):
    async def expect(self, method: str, path: str, body: Any, status: int) -> Any:
        got, data = await self.call(method, path, body)
        if got != status:
            raise RuntimeError(f"{method} {path}: expected {status}, got {got}: {data}")
        return data

    async def signup(self) -> None:
        data = await self.expect(
            "POST",
            "/auth/signup",
            {
                "orgName": "Bench Org",
                "name": "Bench Admin",
                "email": f"admin-{uuid.uuid4().hex[:10]}@example.com",
                "password": PASSWORD,
            },
            201,
        )
        self.token, self.org_id = data["accessToken"], data["user"]["orgId"]

    async def agent(self, n: int) -> str:
        """Invite an agent and accept the invite, as a new team member would."""
        invite = await self.expect(
            "POST",
            f"/orgs/{self.org_id}/users/invites",
            {"email": f"agent-{n}-{uuid.uuid4().hex[:8]}@example.com", "role": "AGENT"},
            201,
        )
        accepted = await Api(self.base, self.http).expect(
            "POST",
            "/auth/accept-invite",
            {"token": invite["token"], "name": f"Agent {n:02d}", "password": PASSWORD},
            201,
        )
        return str(accepted["user"]["id"])

    async def channel(self, n: int) -> str:
        config = {
            "phoneNumberId": f"10654035224{n:04d}",
            "businessAccountId": "102290129340398",
            "accessToken": "bench-token",
            "appSecret": "bench-app-secret",
            "webhookVerifyToken": "bench-verify",
            # Nothing is sent in this benchmark; a dead local port keeps it that way.
            "apiBaseUrl": "http://127.0.0.1:9/v21.0",
        }
        data = await self.expect(
            "POST",
            f"/orgs/{self.org_id}/channels",
            {"type": "WHATSAPP", "name": f"WhatsApp {n}", "config": config},
            201,
        )
        return str(data["id"])


# ------------------------------------------------------------------------------- bulk data


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def customer_docs(
    org_id: str, channels: list[str], count: int, now: datetime
) -> list[dict[str, Any]]:
    docs = []
    for i in range(count):
        created = now - timedelta(days=DAYS, seconds=count - i)
        docs.append(
            {
                "_id": str(uuid.uuid4()),
                "orgId": org_id,
                "platform": "WHATSAPP",
                "externalId": f"4915{i:09d}",
                "name": f"Customer {i}",
                "avatar": None,
                "channelIds": [channels[i % len(channels)]],
                "lastMessageAt": None,
                "lastMessage": None,
                "isActive": True,
                "metadata": {},
                "createdAt": created,
                "updatedAt": created,
            }
        )
    return docs


def ticket_docs(
    org_id: str,
    customers: list[dict[str, Any]],
    agents: list[str],
    count: int,
    now: datetime,
    rng: random.Random,
) -> list[dict[str, Any]]:
    """`count` tickets; a customer's first ticket may be open, its later ones are closed, so
    `openKey` (unique, one open ticket per conversation) never collides."""
    # Open share of first tickets, chosen so the overall mix matches STATUS_WEIGHTS.
    rounds = max(1, -(-count // len(customers)))
    first = {s: (w * rounds if s != "CLOSED" else 0.0) for s, w in STATUS_WEIGHTS.items()}
    first["CLOSED"] = max(0.0, 1.0 - first["OPEN"] - first["PENDING"])
    docs = []
    for k in range(count):
        customer = customers[k % len(customers)]
        channel_id = customer["channelIds"][0]
        status = pick(rng, first) if k < len(customers) else "CLOSED"
        activity = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        created = activity - timedelta(seconds=rng.uniform(0, 3 * 86400))
        doc: dict[str, Any] = {
            "_id": str(uuid.uuid4()),
            "orgId": org_id,
            "channelId": channel_id,
            "customerId": customer["_id"],
            "externalThreadId": customer["externalId"],
            "subject": f"Question {k} about order #{rng.randint(10_000, 99_999)}",
            "status": status,
            "priority": pick(rng, PRIORITY_WEIGHTS),
            "lastMessageAt": activity,
            "lastMessagePreview": "Hello, where is my parcel?",
            "lastActivityAt": activity,
            "firstInboundAt": created,
            "createdAt": created,
            "updatedAt": activity,
        }
        if rng.random() >= UNASSIGNED_SHARE:
            doc["assigneeId"] = rng.choice(agents)
            doc["firstResponseAt"] = created + timedelta(minutes=rng.uniform(1, 240))
        if status == "CLOSED":
            doc["closedAt"] = activity
        else:
            doc["openKey"] = f"{channel_id}:{customer['externalId']}"
        # Round to what Mongo stores, as Beanie's documents are.
        for key, value in doc.items():
            if isinstance(value, datetime):
                doc[key] = value.replace(microsecond=value.microsecond // 1000 * 1000)
        docs.append(doc)
    return docs


async def insert_batched(coll: Any, docs: list[dict[str, Any]], batch: int, what: str) -> float:
    started = time.perf_counter()
    for i in range(0, len(docs), batch):
        await coll.insert_many(docs[i : i + batch], ordered=False)
        log(f"  {what}: {min(i + batch, len(docs))}/{len(docs)}")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- measurement


@dataclass
class Scenario:
    name: str
    query: str
    target_ms: float | None = None
    samples_ms: list[float] = field(default_factory=list)
    total_count: int = 0
    page_size: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        s = sorted(self.samples_ms)
        out: dict[str, Any] = {
            "name": self.name,
            "query": self.query,
            "requests": len(s),
            "xTotalCount": self.total_count,
            "pageSize": self.page_size,
            "p50Ms": round(pct(s, 50), 2),
            "p95Ms": round(pct(s, 95), 2),
            "p99Ms": round(pct(s, 99), 2),
            "maxMs": round(s[-1], 2) if s else None,
            "meanMs": round(statistics.fmean(s), 2) if s else None,
            "reqPerS": round(len(s) / self.seconds, 1) if self.seconds else None,
        }
        if self.target_ms is not None:
            out["targetP99Ms"] = self.target_ms
            out["met"] = bool(s) and pct(s, 99) < self.target_ms
        return out


async def measure(
    api: Api,
    targets: list[tuple[Scenario, str]],
    queries: list[str],
    requests: int,
    warmup: int,
    max_seconds: float,
) -> None:
    """`requests` timed GETs per (scenario, path), fewer if they take longer than
    `max_seconds` in all (an unfiltered list over 100,000 tickets took seconds each on the
    embedded MongoDB). With several paths the requests alternate between them, so each sees
    the same moment's load."""
    headers = {"Authorization": f"Bearer {api.token}"}

    async def one(scenario: Scenario, path: str, q: str) -> float:
        url = f"{api.base}{path.format(org=api.org_id)}?{q}"
        t0 = time.perf_counter()
        async with api.http.get(url, headers=headers) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"GET {path}?{q}: {resp.status} {body[:300]!r}")
            scenario.total_count = int(resp.headers["X-Total-Count"])
        elapsed = (time.perf_counter() - t0) * 1000
        scenario.page_size = len(json.loads(body))
        return elapsed

    warm_started = time.perf_counter()
    for i in range(warmup):
        for scenario, path in targets:
            await one(scenario, path, queries[i % len(queries)])
        if time.perf_counter() - warm_started > max_seconds / 6:
            break
    started = time.perf_counter()
    for i in range(requests):
        for scenario, path in targets:
            scenario.samples_ms.append(await one(scenario, path, queries[i % len(queries)]))
        if time.perf_counter() - started > max_seconds and i >= 4:
            break
    for scenario, _ in targets:
        scenario.seconds = sum(scenario.samples_ms) / 1000


LIST = "/orgs/{org}/tickets"
BEFORE = "/bench/orgs/{org}/tickets-before"


@authenticated()
async def list_before(request: web.Request) -> web.Response:
    """The list as it was before recent-activity windows and kept counts (commit 8f4ce03),
    for an A/B in the same run: the plain sorted query, `count()`, whole documents for the
    views."""
    page = page_of(request)
    q = query(request, TicketQuery)
    conditions = ticket_service.list_filters(
        ticket_service.TicketFilters(
            status=q.status,
            assignee_id=q.assignee_id,
            channel_id=q.channel_id,
            priority=q.priority,
            customer_id=q.customer_id,
        )
    )
    found = Ticket.find({"orgId": current_user(request).org_id, **conditions})
    total = await found.count()
    tickets = (
        await found.sort(-Ticket.last_activity_at, -Ticket.id)
        .skip(page.skip)
        .limit(page.limit)
        .to_list()
    )
    channel_ids = list({t.channel_id for t in tickets})
    customer_ids = list({t.customer_id for t in tickets if t.customer_id})
    user_ids = list({t.assignee_id for t in tickets if t.assignee_id})
    chans = {c.id: c for c in await Channel.find({"_id": {"$in": channel_ids}}).to_list()}
    custs = {c.id: c for c in await Customer.find({"_id": {"$in": customer_ids}}).to_list()}
    users = {u.id: u for u in await User.find({"_id": {"$in": user_ids}}).to_list()}
    items = [
        ticket_view(
            t,
            chans.get(t.channel_id),
            custs.get(t.customer_id or ""),
            users.get(t.assignee_id or ""),
        ).dump()
        for t in tickets
    ]
    return paged_response(request, items, total, page)


# ------------------------------------------------------------------------------ breakdown


async def timed(fn: Callable[[], Awaitable[Any]], runs: int, budget_s: float = 10.0) -> float:
    """Median milliseconds of `runs` calls after one warm-up call (fewer past `budget_s`)."""
    await fn()
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < runs and (len(samples) < 3 or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def plan_summary(explained: dict[str, Any]) -> str:
    """`IXSCAN {index} -> FETCH -> LIMIT`-style line of the winning plan, plus keys/docs."""
    planner = explained.get("queryPlanner", {})
    stage = planner.get("winningPlan", {})
    stage = stage.get("queryPlan", stage)  # SBE wraps the tree
    names = []
    while isinstance(stage, dict) and stage:
        name = str(stage.get("stage", "?"))
        if stage.get("indexName"):
            name += f"[{stage['indexName']}]"
        names.append(name)
        stage = stage.get("inputStage") or (stage.get("inputStages") or [{}])[0]
    stats = explained.get("executionStats", {})
    extra = ""
    if stats:
        extra = (
            f" keysExamined={stats.get('totalKeysExamined')}"
            f" docsExamined={stats.get('totalDocsExamined')}"
            f" returned={stats.get('nReturned')}"
        )
    return " <- ".join(names) + extra


async def explain_find(db: Any, query: dict[str, Any], sort: Any = None) -> str:
    command: dict[str, Any] = {"find": "tickets", "filter": query}
    if sort:
        command["sort"] = dict(sort)
    explained = await db.command({"explain": command, "verbosity": "executionStats"})
    return plan_summary(explained)


async def breakdown(
    windows: ticket_list.ListWindows,
    mongo: AsyncMongoClient,
    db_name: str,
    org_id: str,
    admin_id: str,
    filters: dict[str, Any],
    runs: int,
    plain: bool,
) -> dict[str, Any]:
    """The MongoDB work of one GET /orgs/{orgId}/tickets, one step at a time."""
    db = mongo[db_name]
    tickets = db["tickets"]
    sort = ticket_list.SORT
    query = {"orgId": org_id, **filters}
    # Where the list settled for this filter while it was measured (this process's memory).
    level = windows.get(ticket_list.filter_key(org_id, filters), 0)
    now = datetime.now(UTC)
    since = now - ticket_list.WINDOWS[level] if level < ticket_list.UNBOUNDED else None
    window = ticket_list.windowed_query(org_id, filters, since)[0] if since is not None else query
    recent = {"orgId": org_id, "lastActivityAt": {"$gte": now - ticket_counts.SINCE_MARGIN}}
    page = await tickets.find(window).sort(sort).limit(20).to_list()
    channel_ids = list({t["channelId"] for t in page})
    customer_ids = list({t["customerId"] for t in page if t.get("customerId")})
    user_ids = list({t["assigneeId"] for t in page if t.get("assigneeId")})

    window_name = (
        f"page: window {ticket_list.WINDOWS[level]}" if since is not None else "page: no window"
    )
    steps: dict[str, Callable[[], Awaitable[Any]]] = {
        "auth: users.find_one(_id)": lambda: db["users"].find_one({"_id": admin_id}),
        "count: changes since": lambda: tickets.find(recent, {"_id": 1, "status": 1}).to_list(),
        window_name: lambda: tickets.find(window).sort(sort).limit(20).to_list(),
        "views: channels $in": lambda: db["channels"].find({"_id": {"$in": channel_ids}}).to_list(),
        "views: customers $in": lambda: (
            db["customers"].find({"_id": {"$in": customer_ids}}).to_list()
        ),
        "views: users $in": lambda: db["users"].find({"_id": {"$in": user_ids}}).to_list(),
    }
    if plain:
        steps["before: plain find.sort.limit(20)"] = lambda: (
            tickets.find(query).sort(sort).limit(20).to_list()
        )
        steps["before: count_documents"] = lambda: tickets.count_documents(query)
    out: dict[str, Any] = {"filter": query, "windowLevel": level, "stepsMedianMs": {}}
    for name, fn in steps.items():
        out["stepsMedianMs"][name] = round(await timed(fn, runs), 2)
    plans: dict[str, str] = {}
    try:
        plans["page"] = await explain_find(db, window, sort)
        plans["count changes"] = await explain_find(db, recent)
        if plain:
            plans["before: plain page"] = await explain_find(db, query, sort)
    except Exception as exc:  # noqa: BLE001 - a server without explain still gets timings
        plans["error"] = f"explain failed: {exc}"
    out["plans"] = plans
    return out


async def write_while(
    write: Callable[[random.Random], Awaitable[Any]], rate: float, took_ms: list[float]
) -> None:
    """`write` at `rate` per second until cancelled; each one's time goes to `took_ms`."""
    rng = random.Random(7)
    started = time.perf_counter()
    while True:
        await asyncio.sleep(max(0.0, started + len(took_ms) / rate - time.perf_counter()))
        t0 = time.perf_counter()
        await write(rng)
        took_ms.append((time.perf_counter() - t0) * 1000)


# ------------------------------------------------------------------------------------ run


async def run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    app = create_app(settings)
    app.router.add_get(BEFORE.replace("{org}", "{orgId}"), list_before)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    worker_mongo: AsyncMongoClient = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(base, http)
            await api.signup()
            _, me = await api.call("GET", "/auth/me")
            admin_id = str(me["id"])
            log(f"org {api.org_id}: creating {args.agents} agents and {args.channels} channels")
            agents = [await api.agent(n) for n in range(1, args.agents + 1)]
            channels = [await api.channel(n) for n in range(1, args.channels + 1)]

            rng = random.Random(args.seed)
            now = ms_now()
            n_customers = max(1, -(-args.tickets // 3))  # three tickets per customer
            customers = customer_docs(api.org_id, channels, n_customers, now)
            tickets = ticket_docs(api.org_id, customers, agents, args.tickets, now, rng)
            db = mongo[settings.mongodb_db]
            log(f"inserting {len(customers)} customers and {len(tickets)} tickets")
            t_customers = await insert_batched(db["customers"], customers, args.batch, "customers")
            t_tickets = await insert_batched(db["tickets"], tickets, args.batch, "tickets")
            indexes = sorted((await db["tickets"].index_information()).keys())
            mix = {s: sum(1 for t in tickets if t["status"] == s) for s in STATUS_WEIGHTS}
            agent = agents[0]
            mine = sum(1 for t in tickets if t["status"] == "OPEN" and t.get("assigneeId") == agent)
            open_ids = [t["_id"] for t in tickets if t["status"] != "CLOSED"]
            n_tickets = len(tickets)
            # The web process under test would not hold the data set: drop this copy, so
            # its garbage collections do not walk 130,000 dicts during the measurements.
            del tickets, customers
            gc.collect()
            load_before = os.getloadavg()

            # Rotating over the agents keeps one agent's page from being the only one cached.
            target_queries = [f"status=OPEN&assigneeId={a}&limit=20" for a in agents]
            results = []
            target = Scenario(
                "status=OPEN & assignee (target)", "status=OPEN&assigneeId=<agent>", TARGET_P99_MS
            )
            log(f"measuring {target.name}")
            await measure(
                api, [(target, LIST)], target_queries, args.requests, args.warmup, args.max_seconds
            )
            results.append(target.summary())
            if not args.no_before:
                # The same query through the list now and as it was, alternating request by
                # request so both see the same load. (Each request right after a plain one
                # also pays for the server's clean-up after it: compare with the run above.)
                pair = [
                    (Scenario("A/B: now", "  A/B: now"), LIST),
                    (Scenario("A/B: before (plain query + count)", "  A/B: before"), BEFORE),
                ]
                log("measuring the target now and as it was, alternating")
                await measure(
                    api, pair, target_queries, args.requests, args.warmup, args.max_seconds
                )
                results += [t.summary() for t, _ in pair]
            scenarios = [
                (
                    Scenario("status=OPEN (the inbox's default)", "status=OPEN"),
                    ["status=OPEN&limit=20"],
                ),
                (
                    Scenario("status=OPEN & assignee, page 3", "…&page=3"),
                    [f"status=OPEN&assigneeId={a}&limit=20&page=3" for a in agents],
                ),
                (Scenario("unfiltered", "(none)"), ["limit=20"]),
                (
                    Scenario("assigneeId=unassigned", "assigneeId=unassigned"),
                    ["assigneeId=unassigned&limit=20"],
                ),
                (
                    Scenario("status=OPEN & unassigned", "status=OPEN&assigneeId=unassigned"),
                    ["status=OPEN&assigneeId=unassigned&limit=20"],
                ),
            ]
            for scenario, queries in scenarios:
                log(f"measuring {scenario.name}: {args.warmup} warm-up + {args.requests} requests")
                await measure(
                    api, [(scenario, LIST)], queries, args.requests, args.warmup, args.max_seconds
                )
                results.append(scenario.summary())
            # The target query again while tickets change. As the worker changes them, from
            # another connection (a new message on an open ticket: its activity moves and a
            # PENDING one reopens; every other one also changes hands, as an automation
            # would); and as agents do, through the API in this process.
            worker_db = worker_mongo[settings.mongodb_db]

            async def touch(rng: random.Random) -> None:
                now = datetime.now(UTC)
                change: dict[str, Any] = {"lastActivityAt": now, "updatedAt": now}
                change |= {"lastMessageAt": now, "lastMessagePreview": "Any news?"}
                change["status"] = "OPEN"
                if rng.random() < 0.5:
                    change["assigneeId"] = rng.choice(agents)
                ticket = {"_id": rng.choice(open_ids)}
                await worker_db["tickets"].update_one(ticket, {"$set": change})

            async def assign(rng: random.Random) -> None:
                path = f"/orgs/{api.org_id}/tickets/{rng.choice(open_ids)}/assign"
                await api.expect("POST", path, {"assigneeId": rng.choice(agents)}, 200)

            for rate, write, how in (
                (args.writes_per_second, touch, "worker writes"),
                (args.assigns_per_second, assign, "API assigns"),
            ):
                if rate <= 0:
                    continue
                scenario = Scenario(
                    f"status=OPEN & assignee, {rate:g} {how}/s",
                    f"…while {rate:g} {how}/s",
                    TARGET_P99_MS,
                )
                log(f"measuring {scenario.name}")
                took: list[float] = []
                writer = asyncio.create_task(write_while(write, rate, took))
                await measure(
                    api,
                    [(scenario, LIST)],
                    target_queries,
                    args.requests,
                    args.warmup,
                    args.max_seconds,
                )
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
                took.sort()
                writes = {"how": how, "count": len(took), "p50Ms": round(pct(took, 50), 1)}
                writes["maxMs"] = round(took[-1], 1) if took else None
                results.append({**scenario.summary(), "writes": writes})

            log("breakdown of the MongoDB work per request")
            filters: dict[str, dict[str, Any]] = {
                "status=OPEN & assignee": {"status": "OPEN", "assigneeId": agent},
                "status=OPEN": {"status": "OPEN"},
                "unfiltered": {},
                "assigneeId=unassigned": {"assigneeId": None},
            }
            parts = {
                name: await breakdown(
                    app[keys.DEPS].caches.list_windows,
                    mongo,
                    settings.mongodb_db,
                    api.org_id,
                    admin_id,
                    q,
                    args.breakdown_runs,
                    plain=bool(q) or args.plain_unfiltered,
                )
                for name, q in filters.items()
            }
    finally:
        await worker_mongo.close()
        await mongo.close()
        await runner.cleanup()
    return {
        "data": {
            "tickets": n_tickets,
            "customers": n_customers,
            "agents": len(agents),
            "channels": len(channels),
            "statusMix": mix,
            "openAssignedToFirstAgent": mine,
            "insertSeconds": {"customers": round(t_customers, 1), "tickets": round(t_tickets, 1)},
            "ticketIndexes": indexes,
        },
        # 1/5/15-minute load averages when the measurements started and ended: other work on
        # a small machine moves every figure here.
        "loadAverage": {"start": load_before, "end": os.getloadavg()},
        "commit": git_commit(),
        "scenarios": results,
        "breakdown": parts,
    }


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() + (" (uncommitted changes)" if dirty.stdout.strip() else "")


def print_report(report: dict[str, Any], command: str) -> None:
    d = report["data"]
    print(f"command: {command}")
    mix = ", ".join(f"{k} {v}" for k, v in d["statusMix"].items())
    print(
        f"data: {d['tickets']} tickets ({mix}),"
        f" {d['customers']} customers, {d['agents']} agents, {d['channels']} channels;"
        f" inserted in {d['insertSeconds']['tickets']} s"
    )
    print(f"ticket indexes: {', '.join(d['ticketIndexes'])}")
    load = report["loadAverage"]
    print(
        f"commit {report['commit']}; load average at start {load['start'][0]:.2f},"
        f" at end {load['end'][0]:.2f} ({os.cpu_count()} CPUs)"
    )
    print()
    header = f"{'GET /orgs/{orgId}/tickets?...':<38}{'total':>8}{'p50':>8}{'p95':>8}"
    print(header + f"{'p99':>8}{'max':>8}{'req/s':>8}  target")
    for s in report["scenarios"]:
        target = ""
        if "targetP99Ms" in s:
            target = f"p99<{s['targetP99Ms']:.0f} ms: {'MET' if s['met'] else 'MISSED'}"
        print(
            f"{s['query']:<38}{s['xTotalCount']:>8}{s['p50Ms']:>8.1f}{s['p95Ms']:>8.1f}"
            f"{s['p99Ms']:>8.1f}{s['maxMs']:>8.1f}{s['reqPerS']:>8.1f}  {target}"
        )
    print("(milliseconds per request, sequential, one keep-alive connection, page of 20)")
    for s in report["scenarios"]:
        if "writes" in s:
            w = s["writes"]
            print(
                f"({w['count']} {w['how']} during `{s['name']}`,"
                f" each p50 {w['p50Ms']} ms, max {w['maxMs']} ms)"
            )
    print()
    print("where the time goes (MongoDB work of one request, median ms, PyMongo direct):")
    for name, part in report["breakdown"].items():
        steps = ", ".join(f"{k} {v:.1f}" for k, v in part["stepsMedianMs"].items())
        print(f"  {name}:")
        print(f"    {steps}")
        for which, plan in part["plans"].items():
            print(f"    plan {which}: {plan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per query")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="time budget per query (>= 5 requests)"
    )
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5_000, help="insert_many batch size")
    parser.add_argument("--breakdown-runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--writes-per-second",
        type=float,
        default=10.0,
        help="ticket changes per second, as the worker makes them, during one more run of the"
        " target query (0: skip it)",
    )
    parser.add_argument(
        "--assigns-per-second",
        type=float,
        default=1.0,
        help="ticket assigns per second through the API during one more run (0: skip it)",
    )
    parser.add_argument(
        "--no-before",
        action="store_true",
        help="skip timing the list as it was (plain query and count) next to the target",
    )
    parser.add_argument(
        "--plain-unfiltered",
        action="store_true",
        help="also time the plain page and count of the unfiltered list (many seconds each)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    command = shlex.join(["python", "bench/inbox_list.py", *sys.argv[1:]])

    with (
        tempfile.TemporaryDirectory(prefix="bench-list-") as tmp,
        EmbeddedServers(Path(tmp)) as urls,
    ):
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
        )
        report = asyncio.run(run(settings, args))
    report["command"] = command
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report, command)


if __name__ == "__main__":
    main()
