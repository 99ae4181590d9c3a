"""Dashboard benchmark: every dashboard endpoint over 100,000 orders and 20,000 customers.

    python bench/dashboard.py [--orders 100000] [--customers 20000] [--requests 100] [--json]

Starts the embedded servers (MongoDB/Kafka/Redis protocols) in a temporary directory, runs the
web app in this process on a free port and signs up an org through the API. Then it inserts,
straight into MongoDB with `insert_many` in batches and in exactly the shape Beanie stores
them: `--products` products, `--customers` customers created over the last two years,
`--orders` orders spread evenly over the last 365 days (1 to 3 lines each, about 10 %
cancelled, online and offline mixed) with each customer's `totalOrders`/`totalRevenue`/
`lastOrderDate` matching their orders, a few segments, and campaigns with recipients (sent,
failed, pending; the campaigns' counters match them) for the CRM overview. The dashboards'
sales and product rollups are then rebuilt from the orders (`inbox.analytics.rollups.rebuild`,
timed as `insertSeconds.rollups`) and the customer rollups from the customers
(`customer_rollups.rebuild`, timed as `insertSeconds.customerRollups`), as for any data that
did not go through the services. The indexes exist already:
`init_beanie` creates them when the app starts.

For each endpoint and period it warms up, then times `--requests` sequential GETs over one
keep-alive connection (fewer when one scenario would take longer than `--max-seconds`), and
prints p50/p95/p99/max. Sequential requests mean the client and the in-process server never
compete for the loop. The target of issue 4 is p99 under 300 ms for every dashboard endpoint.

Last, a breakdown calls the service functions directly (no HTTP) and asks the server to
explain the metrics' orders `$match` (index, keys and documents examined, server time), so a
miss can be pinned on the part that causes it.

Rate limits are switched off, bcrypt is cut to 4 rounds (sign-up only) and the access token
lasts a day (a run can take longer than 15 minutes); none of this is on the measured path.
Other processes on the machine move these figures a lot: the load average at the start and the
end is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shlex
import statistics
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
from _common import load, log, pct
from aiohttp import web
from pymongo import AsyncMongoClient

from app.embedded import EmbeddedServers
from inbox.analytics import rollups
from inbox.config import Settings
from inbox.crm import customer_rollups
from web.app import create_app

PASSWORD = "bench-password-1"
TARGET_P99_MS = 300.0
STATUS_WEIGHTS = {"pending": 0.1, "processing": 0.1, "completed": 0.3, "delivered": 0.4}
STATUS_WEIGHTS["cancelled"] = 0.1


def ms(moment: datetime) -> datetime:
    # Mongo keeps milliseconds; the app's own documents are trimmed the same way.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# ------------------------------------------------------------------------------- data


def product_docs(org_id: str, count: int, now: datetime, rng: random.Random) -> list[dict]:
    """Through the Product model, so derived fields (e.g. the SKU's unique key) are as stored."""
    from inbox.commerce.documents import Product

    created = ms(now - timedelta(days=400))
    return [
        Product(
            org_id=org_id,
            name=f"Product {i:03d}",
            slug=f"product-{i:03d}",
            sku=f"SKU-{i:05d}",
            price=round(rng.uniform(2, 250), 2),
            stock_quantity=1000,
            created_at=created,
            updated_at=created,
        ).model_dump(by_alias=True)
        for i in range(count)
    ]


def customer_docs(org_id: str, count: int, now: datetime, rng: random.Random) -> list[dict]:
    cities = ["Lagos", "Abuja", "Accra", "Nairobi", "Cape Town", "Johannesburg", None]
    docs = []
    for i in range(count):
        created = ms(now - timedelta(seconds=rng.uniform(0, 730 * 86400)))
        docs.append(
            {
                "_id": str(uuid.uuid4()),
                "orgId": org_id,
                "name": f"Customer {i}",
                "platform": "WHATSAPP",
                "externalId": f"2348{i:09d}",
                "identities": [{"platform": "WHATSAPP", "externalId": f"2348{i:09d}"}],
                "avatar": None,
                "channelIds": [],
                "lastMessageAt": None,
                "lastMessage": None,
                "isActive": True,
                "metadata": {},
                "email": f"customer{i}@example.com",
                "phone": f"+2348{i:09d}",
                "tags": rng.sample(["vip", "wholesale", "new", "repeat"], rng.randint(0, 2)),
                "notes": None,
                "status": rng.choices(["active", "inactive", "blocked"], [90, 8, 2])[0],
                "city": rng.choice(cities),
                "birthday": None,
                "anniversary": None,
                "totalOrders": 0,
                "totalRevenue": 0.0,
                "lastOrderDate": None,
                "createdAt": created,
                "updatedAt": created,
            }
        )
    return docs


def order_docs(
    org_id: str,
    customers: list[dict],
    products: list[dict],
    count: int,
    now: datetime,
    rng: random.Random,
) -> list[dict]:
    """`count` orders over the last 365 days; customer totals follow the kept ones."""
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    # Some products sell far more than others, as in any shop.
    popularity = [1.0 / (rank + 1) ** 0.8 for rank in range(len(products))]
    docs = []
    for n in range(count):
        created = ms(now - timedelta(seconds=rng.uniform(0, 365 * 86400)))
        customer = rng.choice(customers)
        lines = []
        for product in rng.choices(products, popularity, k=rng.randint(1, 3)):
            quantity = rng.randint(1, 4)
            lines.append(
                {
                    "productId": product["_id"],
                    "name": product["name"],
                    "sku": product["sku"],
                    "quantity": quantity,
                    "unitPrice": product["price"],
                    "total": round(product["price"] * quantity, 2),
                }
            )
        total = round(sum(line["total"] for line in lines), 2)
        status = rng.choices(statuses, weights)[0]
        docs.append(
            {
                "_id": str(uuid.uuid4()),
                "orgId": org_id,
                "orderNumber": f"ORD-{created.year}-{n + 1:06d}",
                "customerId": customer["_id"],
                "items": lines,
                "subtotal": total,
                "discount": 0.0,
                "couponCode": None,
                "shipping": 0.0,
                "tax": 0.0,
                "total": total,
                "status": status,
                "paymentStatus": "paid" if status != "pending" else "unpaid",
                "paymentMethod": "card",
                "orderType": "online" if rng.random() < 0.6 else "offline",
                "shippingAddress": None,
                "notes": None,
                "deliveredAt": created + timedelta(days=2) if status == "delivered" else None,
                "cancelledAt": created + timedelta(hours=1) if status == "cancelled" else None,
                "createdAt": created,
                "updatedAt": created,
            }
        )
        if status != "cancelled":
            customer["totalOrders"] += 1
            customer["totalRevenue"] = round(customer["totalRevenue"] + total, 2)
            if customer["lastOrderDate"] is None or created > customer["lastOrderDate"]:
                customer["lastOrderDate"] = created
    return docs


def campaign_docs(
    org_id: str, user_id: str, count: int, recipients: int, now: datetime, rng: random.Random
) -> tuple[list[dict], list[dict]]:
    campaigns, people = [], []
    for c in range(count):
        created = ms(now - timedelta(days=count - c))
        cid = str(uuid.uuid4())
        campaigns.append(
            {
                "_id": cid,
                "orgId": org_id,
                "channelId": "bench-channel",
                "name": f"Campaign {c}",
                "messageTemplate": "Hello {{ customer.name }}",
                "status": "COMPLETED",
                "scheduledAt": None,
                "startedAt": created,
                "completedAt": created,
                "createdBy": user_id,
                "progressAt": created,
                "createdAt": created,
                "updatedAt": created,
            }
        )
        counts = campaigns[-1]
        counts |= {"recipientCount": recipients, "sentCount": 0, "failedCount": 0}
        for r in range(recipients):
            status = rng.choices(["SENT", "FAILED", "PENDING"], [90, 7, 3])[0]
            if status != "PENDING":  # the counters the campaign sender keeps
                counts["sentCount" if status == "SENT" else "failedCount"] += 1
            people.append(
                {
                    "_id": str(uuid.uuid4()),
                    "orgId": org_id,
                    "campaignId": cid,
                    "channelId": "bench-channel",
                    "recipientContact": f"2348{r:09d}",
                    "position": r,
                    "status": status,
                    "createdAt": created,
                    "updatedAt": created,
                }
            )
    return campaigns, people


async def insert_batched(coll: Any, docs: list[dict], batch: int, what: str) -> float:
    started = time.perf_counter()
    for i in range(0, len(docs), batch):
        await coll.insert_many(docs[i : i + batch], ordered=False)
        log(f"  {what}: {min(i + batch, len(docs))}/{len(docs)}")
    return time.perf_counter() - started


# --------------------------------------------------------------------------- API + timing


@dataclass
class Api(BaseApi):
    user_id: str = ""

    async def signup(self) -> None:
        status, data = await self.call(
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
        self.token, self.org_id = data["accessToken"], data["user"]["orgId"]
        self.user_id = data["user"]["id"]


@dataclass
class Scenario:
    name: str
    path: str  # under /orgs/{orgId}/
    samples_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    digest: str = ""

    def summary(self) -> dict[str, Any]:
        s = sorted(self.samples_ms)
        return {
            "name": self.name,
            "path": self.path,
            "requests": len(s),
            "p50Ms": round(pct(s, 50), 1),
            "p95Ms": round(pct(s, 95), 1),
            "p99Ms": round(pct(s, 99), 1),
            "maxMs": round(s[-1], 1) if s else None,
            "meanMs": round(statistics.fmean(s), 1) if s else None,
            "targetP99Ms": TARGET_P99_MS,
            "met": bool(s) and pct(s, 99) < TARGET_P99_MS,
            "answer": self.digest,
        }


def digest(path: str, body: Any) -> str:
    """A few figures of the answer, to show the endpoint computed something real."""
    if "metrics" in path:
        return ", ".join(
            f"{k} {body[k]['value']} ({body[k]['change']:+}%)"
            for k in ("totalSales", "totalOrders", "productsSold", "newCustomers")
        )
    if "revenue" in path:
        return (
            f"{len(body['labels'])} labels, "
            f"online {body['totalOnline']}, offline {body['totalOffline']}"
        )
    if "top-products" in path:
        return (
            f"{len(body)} products, #1 {body[0]['name']} {body[0]['sales']} units"
            if body
            else "none"
        )
    if "stats" in path:
        o = body["overview"]
        return (
            f"{o['totalCustomers']} customers, {o['totalOrders']} orders, "
            f"{o['messagesSent']} sent, {o['successRate']}%"
        )
    if "segmentation" in path:
        return f"{body['withOrders']['count']} with orders, conversion {body['conversionRate']}%"
    return ""


async def measure(
    api: Api, scenario: Scenario, requests: int, warmup: int, max_seconds: float
) -> None:
    headers = {"Authorization": f"Bearer {api.token}"}
    url = f"{api.base}/orgs/{api.org_id}/{scenario.path}"

    async def one() -> float:
        t0 = time.perf_counter()
        async with api.http.get(url, headers=headers) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"GET {scenario.path}: {resp.status} {body[:300]!r}")
        elapsed = (time.perf_counter() - t0) * 1000
        scenario.digest = digest(scenario.path, json.loads(body))
        return elapsed

    warm_started = time.perf_counter()
    for _ in range(warmup):
        await one()
        if time.perf_counter() - warm_started > max_seconds / 6:
            break
    started = time.perf_counter()
    for _ in range(requests):
        scenario.samples_ms.append(await one())
        if time.perf_counter() - started > max_seconds and len(scenario.samples_ms) >= 5:
            break
    scenario.seconds = time.perf_counter() - started


async def timed(fn: Callable[[], Awaitable[Any]], runs: int, budget_s: float = 15.0) -> float:
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
    stages = explained.get("stages") or [explained]
    cursor = stages[0].get("$cursor", stages[0])
    stage = cursor.get("queryPlanner", {}).get("winningPlan", {})
    stage = stage.get("queryPlan", stage)
    names = []
    while isinstance(stage, dict) and stage:
        name = str(stage.get("stage", "?"))
        if stage.get("indexName"):
            name += f"[{stage['indexName']}]"
        names.append(name)
        stage = stage.get("inputStage") or (stage.get("inputStages") or [{}])[0]
    stats = cursor.get("executionStats", {})
    return (
        " <- ".join(names)
        + f" keysExamined={stats.get('totalKeysExamined')}"
        + f" docsExamined={stats.get('totalDocsExamined')}"
    )


# ----------------------------------------------------------------------------------- run


def scenarios(today: datetime) -> list[Scenario]:
    """Rolling metrics windows; calendar revenue charts for whole past periods (yesterday,
    last week, last month; the year so far), so each chart reads a full period of orders."""
    last_month = today.date().replace(day=1) - timedelta(days=1)
    dates = {
        "day": (today - timedelta(days=1)).date(),
        "week": (today - timedelta(days=7)).date(),
        "month": last_month,
        "year": today.date(),
    }
    out = [
        Scenario(f"metrics {p}", f"dashboard/metrics?period={p}")
        for p in ("day", "week", "month", "year")
    ]
    out += [
        Scenario(f"revenue {p}", f"dashboard/revenue?period={p}&date={d.isoformat()}")
        for p, d in dates.items()
    ]
    out += [
        Scenario("top-products month", "dashboard/top-products?period=month"),
        Scenario("top-products all time", "dashboard/top-products"),
        Scenario("stats", "dashboard/stats"),
        Scenario("customers/segmentation", "customers/segmentation"),
    ]
    return out


async def breakdown(mongo: AsyncMongoClient, db_name: str, org_id: str, runs: int) -> dict:
    """Service functions called directly (no HTTP), and the plan of the metrics' orders
    `$match` as the server reports it (index, keys and documents examined, server time)."""
    from zoneinfo import ZoneInfo

    from inbox.analytics import dashboard as svc

    now = datetime.now(UTC)
    db = mongo[db_name]
    out: dict[str, Any] = {}
    for span in svc.Span:
        window = svc.Window.rolling(span)
        both = {"$gte": window.previous.start, "$lt": window.end}
        match = {"orgId": org_id, "createdAt": both}
        explained = await db.command(
            {
                "explain": {"aggregate": "orders", "pipeline": [{"$match": match}], "cursor": {}},
                "verbosity": "executionStats",
            }
        )
        stages = explained.get("stages") or [explained]
        stats = stages[0].get("$cursor", stages[0]).get("executionStats", {})
        out[f"metrics {span.value}"] = {
            "serviceMs": round(await timed(lambda w=window: svc.metrics(org_id, w), runs), 1),
            "matchServerMs": stats.get("executionTimeMillis"),
            "ordersMatched": stats.get("nReturned"),
            "plan": plan_summary(explained),
        }
    out["top-products all time"] = {
        "serviceMs": round(await timed(lambda: svc.top_products(org_id, None, 10), runs), 1)
    }
    out["customer totals (stats)"] = {
        "serviceMs": round(await timed(lambda: customer_rollups.totals(org_id), runs), 1)
    }
    out["segmentation"] = {
        "serviceMs": round(await timed(lambda: svc.segmentation(org_id), runs), 1)
    }
    out["revenue year"] = {
        "serviceMs": round(
            await timed(
                lambda: svc.revenue(org_id, svc.Span.YEAR, now.date(), ZoneInfo("UTC")), runs
            ),
            1,
        )
    }
    return out


async def run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    load_start = load()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(base, http)
            await api.signup()
            rng = random.Random(args.seed)
            now = ms(datetime.now(UTC))
            products = product_docs(api.org_id, args.products, now, rng)
            customers = customer_docs(api.org_id, args.customers, now, rng)
            orders = order_docs(api.org_id, customers, products, args.orders, now, rng)
            campaigns, recipients = campaign_docs(
                api.org_id, api.user_id, args.campaigns, args.recipients, now, rng
            )
            db = mongo[settings.mongodb_db]
            log(
                f"inserting {len(products)} products, {len(customers)} customers, "
                f"{len(orders)} orders, {len(recipients)} campaign recipients"
            )
            seconds = {
                "products": await insert_batched(db["products"], products, args.batch, "products"),
                "customers": await insert_batched(
                    db["customers"], customers, args.batch, "customers"
                ),
                "orders": await insert_batched(db["orders"], orders, args.batch, "orders"),
                "campaigns": await insert_batched(db["campaigns"], campaigns, args.batch, "c"),
                "recipients": await insert_batched(
                    db["campaign_recipients"], recipients, args.batch, "recipients"
                ),
            }
            # Orders inserted straight into MongoDB reach the dashboards' rollups as imports
            # do: rebuilt from the orders (the order service keeps them in step otherwise).
            log("building the sales and product rollups from the orders")
            started = time.perf_counter()
            await rollups.rebuild(api.org_id, db)
            seconds["rollups"] = time.perf_counter() - started
            log("counting the customers into the customer rollups")
            started = time.perf_counter()
            await customer_rollups.rebuild(api.org_id, db)
            seconds["customerRollups"] = time.perf_counter() - started
            for name, conditions in [
                ("Big spenders", [{"field": "totalSpend", "operator": "gte", "value": 2000}]),
                (
                    "Lagos VIPs",
                    [
                        {"field": "city", "operator": "eq", "value": "Lagos"},
                        {"field": "tags", "operator": "eq", "value": "vip"},
                    ],
                ),
            ]:
                status, body = await api.call(
                    "POST",
                    f"/orgs/{api.org_id}/segments",
                    {"name": name, "conditions": conditions},
                )
                if status != 201:
                    raise RuntimeError(f"segment: {status} {body}")
            results = []
            for scenario in scenarios(now):
                log(f"measuring {scenario.name}: up to {args.requests} requests")
                await measure(api, scenario, args.requests, args.warmup, args.max_seconds)
                results.append(scenario.summary())
                log(
                    f"  n {results[-1]['requests']}, p50 {results[-1]['p50Ms']} ms, "
                    f"p95 {results[-1]['p95Ms']} ms, p99 {results[-1]['p99Ms']} ms, "
                    f"max {results[-1]['maxMs']} ms; {results[-1]['answer']}"
                )
            parts: dict[str, Any] = {}
            if args.breakdown_runs:
                log("breakdown of the MongoDB work")
                # A fresh client: the seeding one has sat idle through the measurements.
                fresh: AsyncMongoClient = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
                try:
                    parts = await breakdown(
                        fresh, settings.mongodb_db, api.org_id, args.breakdown_runs
                    )
                except Exception as exc:  # noqa: BLE001 - the figures above still stand
                    parts = {"error": {"serviceMs": None, "message": repr(exc)[:300]}}
                finally:
                    await fresh.close()
    finally:
        await mongo.close()
        await runner.cleanup()
    cancelled = sum(1 for o in orders if o["status"] == "cancelled")
    return {
        "data": {
            "orders": len(orders),
            "cancelled": cancelled,
            "customers": len(customers),
            "products": len(products),
            "campaignRecipients": len(recipients),
            "insertSeconds": {k: round(v, 1) for k, v in seconds.items()},
        },
        "loadAverage": {"start": load_start, "end": load()},
        "scenarios": results,
        "breakdown": parts,
    }


def print_report(report: dict[str, Any], command: str) -> None:
    d = report["data"]
    print(f"command: {command}")
    print(
        f"data: {d['orders']} orders ({d['cancelled']} cancelled) over 365 days, "
        f"{d['customers']} customers, {d['products']} products, "
        f"{d['campaignRecipients']} campaign recipients; orders inserted in "
        f"{d['insertSeconds']['orders']} s"
    )
    print(
        f"load average: {report['loadAverage']['start']} at start, "
        f"{report['loadAverage']['end']} at end (2 CPUs)"
    )
    print()
    print(
        f"{'GET /orgs/{orgId}/...':<44}{'n':>5}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}  "
        f"p99<{TARGET_P99_MS:.0f}ms"
    )
    for s in report["scenarios"]:
        print(
            f"{s['path']:<44}{s['requests']:>5}{s['p50Ms']:>9.1f}{s['p95Ms']:>9.1f}"
            f"{s['p99Ms']:>9.1f}{s['maxMs']:>9.1f}  {'MET' if s['met'] else 'MISSED'}"
        )
    print("(milliseconds per request, sequential, one keep-alive connection)")
    print()
    for s in report["scenarios"]:
        print(f"  {s['name']}: {s['answer']}")
    if report["breakdown"]:
        print()
        print("where the time goes (median ms, service functions called directly):")
        for name, part in report["breakdown"].items():
            if "message" in part:
                print(f"  breakdown failed: {part['message']}")
                continue
            extra = ""
            if "plan" in part:
                extra = (
                    f"; its orders $match: {part['ordersMatched']} orders in "
                    f"{part['matchServerMs']} ms on the server, plan {part['plan']}"
                )
            print(f"  {name}: {part['serviceMs']} ms{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--campaigns", type=int, default=5)
    parser.add_argument("--recipients", type=int, default=2_000, help="per campaign")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--max-seconds", type=float, default=30.0, help="time budget per scenario (>= 5 requests)"
    )
    parser.add_argument("--batch", type=int, default=5_000, help="insert_many batch size")
    parser.add_argument("--breakdown-runs", type=int, default=5, help="0 skips the breakdown")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    command = shlex.join(["python", "bench/dashboard.py", *sys.argv[1:]])

    with (
        tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp,
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
            # A loaded machine can stretch the run past the default 15 minutes.
            access_token_ttl_seconds=24 * 3600,
        )
        report = asyncio.run(run(settings, args))
    report["command"] = command
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report, command)


if __name__ == "__main__":
    main()
