"""Sales rollups: per (org, UTC hour) and per (org, UTC day) order counts, sales and units by
order type, so the dashboards read a few hundred small documents instead of every order of a
period (the embedded server costs ~0.1 ms per document read).

Writes: `record` runs inside the order service's transactions (+1 when an order is placed, -1
when it is cancelled), so the rollups move together with the orders and stay exact under
concurrent orders (conflicting `$inc`s are retried with the transaction). Orders that never
went through the service (imports, tests, the benchmark's seeding, data directories from before
rollups) are covered by `rebuild`, which the startup migration runs for every org that has
orders but was never built.

Reads: a window [start, end) is covered by whole UTC days, then whole hours at its edges, then
the raw orders of the partial hours at its very ends (at most two hours of orders), so every
figure equals the aggregation over the orders themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from inbox.analytics.documents import ProductRollup, SalesRollup
from inbox.commerce.documents import Order, OrderStatus, OrderType

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
KINDS = (OrderType.ONLINE.value, OrderType.OFFLINE.value)
ROLLUPS = "sales_rollups"
PRODUCTS = "product_rollups"
VERSION = 2  # of what `rebuild` writes; the startup migration rebuilds orgs built before
_NOT_CANCELLED = {"$match": {"status": {"$ne": OrderStatus.CANCELLED.value}}}
_UNITS = {
    "$reduce": {
        "input": {"$ifNull": ["$items", []]},
        "initialValue": 0,
        "in": {"$add": ["$$value", "$$this.quantity"]},
    }
}


def kind_of(order_type: Any) -> str:
    """Anything not offline counts as online (as the revenue chart always did)."""
    value = getattr(order_type, "value", order_type)
    return OrderType.OFFLINE.value if value == OrderType.OFFLINE.value else OrderType.ONLINE.value


def hour_id(org_id: str, at: datetime) -> str:
    return f"{org_id}:hour:{at:%Y-%m-%dT%H}"


def day_id(org_id: str, at: datetime) -> str:
    return f"{org_id}:day:{at:%Y-%m-%d}"


def meta_id(org_id: str) -> str:
    return f"{org_id}:meta"


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def floor(t: datetime, unit: timedelta) -> datetime:
    t = _utc(t).replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if unit == DAY else t


def ceil(t: datetime, unit: timedelta) -> datetime:
    down = floor(t, unit)
    if down == _utc(t):
        return down
    try:
        return down + unit
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def month_floor(t: datetime) -> datetime:
    return floor(t, DAY).replace(day=1)


def month_ceil(t: datetime) -> datetime:
    down = month_floor(t)
    if down == _utc(t):
        return down
    if down.year == datetime.max.year and down.month == 12:
        return datetime.max.replace(tzinfo=UTC)
    return (
        down.replace(year=down.year + 1, month=1)
        if down.month == 12
        else down.replace(month=down.month + 1)
    )


def product_id(org_id: str, unit: str, at: datetime | None) -> str:
    if unit == "all" or at is None:
        return f"{org_id}:all"
    fmt = {"hour": "%Y-%m-%dT%H", "day": "%Y-%m-%d", "month": "%Y-%m"}[unit]
    return f"{org_id}:{unit}:{at.strftime(fmt)}"


def _rollups(db: AsyncDatabase | None = None) -> AsyncCollection:
    return db[ROLLUPS] if db is not None else SalesRollup.get_pymongo_collection()


def _products(db: AsyncDatabase | None = None) -> AsyncCollection:
    return db[PRODUCTS] if db is not None else ProductRollup.get_pymongo_collection()


def _periods(at: datetime) -> list[tuple[str, datetime | None]]:
    return [
        ("hour", floor(at, HOUR)),
        ("day", floor(at, DAY)),
        ("month", month_floor(at)),
        ("all", None),
    ]


# ---------------------------------------------------------------------------------- writes


async def record(order: Order, sign: int, session: AsyncClientSession) -> None:
    """Count `order` in (sign 1) or out (sign -1) of its hour and day, inside `session`'s
    transaction."""
    kind = kind_of(order.order_type)
    units = sum(i.quantity for i in order.items)
    inc = {f"{kind}Orders": sign, f"{kind}Sales": sign * order.total, f"{kind}Units": sign * units}
    at = _utc(order.created_at)
    rollups = _rollups()
    for unit, key in ((HOUR, hour_id), (DAY, day_id)):
        start = floor(at, unit)
        await rollups.update_one(
            {"_id": key(order.org_id, start)},
            {
                "$inc": inc,
                "$setOnInsert": {
                    "orgId": order.org_id,
                    "unit": "day" if unit == DAY else "hour",
                    "at": start,
                },
            },
            upsert=True,
            session=session,
        )
    await _record_products(order, sign, at, session)


async def _record_products(
    order: Order, sign: int, at: datetime, session: AsyncClientSession
) -> None:
    # One $inc per product: the same product twice in an order would be two updates of one
    # path, which MongoDB refuses.
    lines: dict[str, list[Any]] = {}
    for item in order.items:
        line = lines.setdefault(item.product_id, [0, 0.0, item.name])
        line[0] += item.quantity
        line[1] += item.total
        line[2] = item.name
    if not lines:
        return
    inc: dict[str, Any] = {}
    names: dict[str, Any] = {}
    for pid, (units, revenue, name) in lines.items():
        inc[f"products.{pid}.units"] = sign * units
        inc[f"products.{pid}.revenue"] = sign * revenue
        if sign > 0:
            names[f"products.{pid}.name"] = name
    products = _products()
    for unit, start in _periods(at):
        update: dict[str, Any] = {
            "$inc": inc,
            "$setOnInsert": {"orgId": order.org_id, "unit": unit, "at": start},
        }
        if names:
            update["$set"] = names
        await products.update_one(
            {"_id": product_id(order.org_id, unit, start)}, update, upsert=True, session=session
        )


def _zero(org_id: str, unit: str, at: datetime, key: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": key, "orgId": org_id, "unit": unit, "at": at}
    for kind in KINDS:
        doc |= {f"{kind}Orders": 0, f"{kind}Sales": 0.0, f"{kind}Units": 0}
    return doc


async def rebuild(org_id: str, db: AsyncDatabase | None = None) -> int:
    """Recompute the org's rollups from its orders (one aggregation) and mark them built.
    Meant for when no orders are being written (startup, after bulk imports). Returns the
    number of hourly rollups written."""
    orders = db["orders"] if db is not None else Order.get_pymongo_collection()
    rollups = _rollups(db)
    pipeline = [
        {"$match": {"orgId": org_id}},
        _NOT_CANCELLED,
        {
            "$group": {
                "_id": {
                    "hour": {"$dateToString": {"format": "%Y-%m-%dT%H", "date": "$createdAt"}},
                    "type": "$orderType",
                },
                "orders": {"$sum": 1},
                "sales": {"$sum": "$total"},
                "units": {"$sum": _UNITS},
            }
        },
    ]
    docs: dict[str, dict[str, Any]] = {}
    async for row in await orders.aggregate(pipeline):
        hour = datetime.strptime(row["_id"]["hour"], "%Y-%m-%dT%H").replace(tzinfo=UTC)
        kind = kind_of(row["_id"].get("type"))
        for unit, at, key in (
            ("hour", hour, hour_id(org_id, hour)),
            ("day", floor(hour, DAY), day_id(org_id, hour)),
        ):
            doc = docs.setdefault(key, _zero(org_id, unit, at, key))
            doc[f"{kind}Orders"] += int(row["orders"])
            doc[f"{kind}Sales"] += float(row["sales"] or 0.0)
            doc[f"{kind}Units"] += int(row["units"] or 0)
    product_docs = await _product_docs(org_id, orders)
    await rollups.delete_many({"orgId": org_id})
    await _products(db).delete_many({"orgId": org_id})
    batch = list(docs.values())
    for i in range(0, len(batch), 5_000):
        await rollups.insert_many(batch[i : i + 5_000], ordered=False)
    for i in range(0, len(product_docs), 1_000):
        await _products(db).insert_many(product_docs[i : i + 1_000], ordered=False)
    await rollups.insert_one(
        {"_id": meta_id(org_id), "orgId": org_id, "unit": "meta", "version": VERSION}
    )
    return sum(1 for d in batch if d["unit"] == "hour")


async def _product_docs(org_id: str, orders: AsyncCollection) -> list[dict[str, Any]]:
    pipeline = [
        {"$match": {"orgId": org_id}},
        _NOT_CANCELLED,
        {"$unwind": "$items"},
        {
            "$group": {
                "_id": {
                    "hour": {"$dateToString": {"format": "%Y-%m-%dT%H", "date": "$createdAt"}},
                    "product": "$items.productId",
                },
                "units": {"$sum": "$items.quantity"},
                "revenue": {"$sum": "$items.total"},
                "name": {"$last": "$items.name"},
            }
        },
    ]
    rows = [row async for row in await orders.aggregate(pipeline)]
    rows.sort(key=lambda row: row["_id"]["hour"])  # later hours' names win, as in `record`
    docs: dict[str, dict[str, Any]] = {}
    for row in rows:
        hour = datetime.strptime(row["_id"]["hour"], "%Y-%m-%dT%H").replace(tzinfo=UTC)
        pid = row["_id"]["product"]
        for unit, start in _periods(hour):
            key = product_id(org_id, unit, start)
            doc = docs.setdefault(
                key, {"_id": key, "orgId": org_id, "unit": unit, "at": start, "products": {}}
            )
            entry = doc["products"].setdefault(pid, {"units": 0, "revenue": 0.0})
            entry["units"] += int(row["units"] or 0)
            entry["revenue"] += float(row["revenue"] or 0.0)
            entry["name"] = row.get("name")
    return list(docs.values())


async def migrate(db: AsyncDatabase) -> None:
    """Build the rollups of every org that has orders but has never been built (data
    directories from before rollups; orgs that ordered since are rebuilt once, exactly)."""
    for org_id in await db["orders"].distinct("orgId"):
        meta = await db[ROLLUPS].find_one({"_id": meta_id(org_id)})
        if meta is None or meta.get("version", 1) < VERSION:
            await rebuild(org_id, db)


# ----------------------------------------------------------------------------------- reads


@dataclass
class Figures:
    orders: int = 0
    sales: float = 0.0
    units: int = 0

    def add(self, orders: int, sales: float, units: int) -> None:
        self.orders += orders
        self.sales += sales
        self.units += units


def _add_doc(into: dict[str, Figures], doc: dict[str, Any]) -> None:
    for kind in KINDS:
        into[kind].add(
            int(doc.get(f"{kind}Orders", 0)),
            float(doc.get(f"{kind}Sales", 0.0)),
            int(doc.get(f"{kind}Units", 0)),
        )


def _empty() -> dict[str, Figures]:
    return {kind: Figures() for kind in KINDS}


async def _raw(org_id: str, start: datetime, end: datetime) -> dict[str, Figures]:
    pipeline = [
        {"$match": {"orgId": org_id, "createdAt": {"$gte": start, "$lt": end}}},
        _NOT_CANCELLED,
        {
            "$group": {
                "_id": "$orderType",
                "orders": {"$sum": 1},
                "sales": {"$sum": "$total"},
                "units": {"$sum": _UNITS},
            }
        },
    ]
    out = _empty()
    async for row in await Order.get_pymongo_collection().aggregate(pipeline):
        out[kind_of(row["_id"])].add(int(row["orders"]), float(row["sales"]), int(row["units"]))
    return out


async def _range(org_id: str, unit: str, start: datetime, end: datetime) -> dict[str, Figures]:
    out = _empty()
    query = {"orgId": org_id, "unit": unit, "at": {"$gte": start, "$lt": end}}
    async for doc in _rollups().find(query):
        _add_doc(out, doc)
    return out


def cover(
    start: datetime, end: datetime
) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]], tuple | None]:
    """[start, end) as raw-order ranges (partial hours at the ends), hourly ranges (partial
    days) and one daily range."""
    h0, h1 = ceil(start, HOUR), floor(end, HOUR)
    if h0 >= h1:
        return [(start, end)], [], None
    raw = [r for r in ((start, h0), (h1, end)) if r[0] < r[1]]
    d0, d1 = ceil(h0, DAY), floor(h1, DAY)
    if d0 >= d1:
        return raw, [(h0, h1)], None
    hours = [r for r in ((h0, d0), (d1, h1)) if r[0] < r[1]]
    return raw, hours, (d0, d1)


async def totals(org_id: str, start: datetime, end: datetime) -> dict[str, Figures]:
    """Orders, sales and units by order type of the org's orders in [start, end), cancelled
    ones left out."""
    if start >= end:
        return _empty()
    raw, hours, days = cover(start, end)
    parts = [_raw(org_id, a, b) for a, b in raw]
    parts += [_range(org_id, "hour", a, b) for a, b in hours]
    if days is not None:
        parts.append(_range(org_id, "day", *days))
    out = _empty()
    for found in await asyncio.gather(*parts):
        for kind in KINDS:
            f = found[kind]
            out[kind].add(f.orders, f.sales, f.units)
    return out


async def series(
    org_id: str, start: datetime, end: datetime, bucket: Callable[[datetime], int]
) -> dict[tuple[int, str], float] | None:
    """Sales per (bucket(local time), order type) over [start, end), from whole UTC days
    where a day falls in one bucket and whole hours elsewhere. None when the buckets do not
    follow whole hours (time zones with a half-hour offset): the caller reads the orders."""
    if floor(start, HOUR) != _utc(start) or floor(end, HOUR) != _utc(end):
        return None
    tick = timedelta(microseconds=1)
    days: dict[datetime, int] = {}
    hours: dict[datetime, int] = {}
    t = _utc(start)
    end = _utc(end)
    while t < end:
        if t.hour == 0 and t + DAY <= end and bucket(t) == bucket(t + DAY - tick):
            days[t] = bucket(t)
            t += DAY
            continue
        if bucket(t) != bucket(t + HOUR - tick):
            return None
        hours[t] = bucket(t)
        t += HOUR
    out: dict[tuple[int, str], float] = {}

    async def daily() -> None:
        if not days:
            return
        query = {"orgId": org_id, "unit": "day", "at": {"$gte": min(days), "$lte": max(days)}}
        async for doc in _rollups().find(query):
            at = _utc(doc["at"])
            if at in days:
                for kind in KINDS:
                    key = (days[at], kind)
                    out[key] = out.get(key, 0.0) + float(doc.get(f"{kind}Sales", 0.0))

    async def hourly() -> None:
        if not hours:
            return
        ids = [hour_id(org_id, h) for h in hours]
        async for doc in _rollups().find({"_id": {"$in": ids}, "orgId": org_id}):
            at = _utc(doc["at"])
            for kind in KINDS:
                key = (hours[at], kind)
                out[key] = out.get(key, 0.0) + float(doc.get(f"{kind}Sales", 0.0))

    await asyncio.gather(daily(), hourly())
    return out


@dataclass
class ProductSales:
    units: int = 0
    revenue: float = 0.0
    name: str | None = None


def product_cover(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """[start, end) as (unit, from, to) parts: raw orders for the partial hours at the ends,
    hours for partial days, days for partial months, months."""
    h0, h1 = ceil(start, HOUR), floor(end, HOUR)
    if h0 >= h1:
        return [("raw", start, end)]
    parts = [("raw", start, h0), ("raw", h1, end)]
    d0, d1 = ceil(h0, DAY), floor(h1, DAY)
    if d0 >= d1:
        parts.append(("hour", h0, h1))
    else:
        parts += [("hour", h0, d0), ("hour", d1, h1)]
        m0, m1 = month_ceil(d0), month_floor(d1)
        if m0 >= m1:
            parts.append(("day", d0, d1))
        else:
            parts += [("day", d0, m0), ("day", m1, d1), ("month", m0, m1)]
    return [p for p in parts if p[1] < p[2]]


async def _raw_products(org_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    pipeline = [
        {"$match": {"orgId": org_id, "createdAt": {"$gte": start, "$lt": end}}},
        _NOT_CANCELLED,
        {"$unwind": "$items"},
        {
            "$group": {
                "_id": "$items.productId",
                "units": {"$sum": "$items.quantity"},
                "revenue": {"$sum": "$items.total"},
                "name": {"$last": "$items.name"},
            }
        },
    ]
    rows = [row async for row in await Order.get_pymongo_collection().aggregate(pipeline)]
    return [{"at": start, "products": {row["_id"]: row for row in rows}}]


async def _product_docs_in(
    org_id: str, unit: str, start: datetime | None, end: datetime | None
) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"orgId": org_id, "unit": unit}
    if start is not None and end is not None:
        query["at"] = {"$gte": start, "$lt": end}
    return [doc async for doc in _products().find(query, {"products": 1, "at": 1})]


async def product_sales(
    org_id: str, start: datetime | None = None, end: datetime | None = None
) -> dict[str, ProductSales]:
    """Units, revenue and the last ordered name per product in [start, end) (all time
    without a window), cancelled orders left out."""
    if start is None or end is None:
        parts = [_product_docs_in(org_id, "all", None, None)]
    elif start >= end:
        return {}
    else:
        parts = [
            _raw_products(org_id, a, b) if unit == "raw" else _product_docs_in(org_id, unit, a, b)
            for unit, a, b in product_cover(start, end)
        ]
    out: dict[str, ProductSales] = {}
    found = await asyncio.gather(*parts)
    # Oldest first, so the latest name wins.
    docs = sorted(
        (doc for docs in found for doc in docs),
        key=lambda doc: _utc(doc["at"]) if doc.get("at") else datetime.min.replace(tzinfo=UTC),
    )
    for doc in docs:
        for pid, entry in doc.get("products", {}).items():
            sales = out.setdefault(pid, ProductSales())
            sales.units += int(entry.get("units", 0))
            sales.revenue += float(entry.get("revenue", 0.0))
            if entry.get("name"):
                sales.name = entry["name"]
    return out
