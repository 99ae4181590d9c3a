"""Customer rollups: the dashboards' customer figures without reading every customer.

Per (org, UTC hour) and (org, UTC day): `created`, the customers created then that still
exist. Per org (`<orgId>:totals`): `customers`, `withOrders` (customers whose totalOrders is
above zero), the sums of their `totalOrders` and `totalRevenue`, and `maxRevenue`, the highest
revenue a customer has reached (an upper bound: a cancellation does not lower it), where the
segmentation's top spenders start looking. New customers of a
period, the segmentation and the CRM overview read these instead of aggregating over every
customer (on the embedded server, 20,000 customers took 3-5 s to count).

Writes happen in the same transaction as the change they count: a customer created
(`customer_added`: the CRM's create and the stream worker's first sight of an identity),
deleted or merged away (`customer_removed`), an order placed or cancelled (`orders_changed`,
from the order service, with whether it was the customer's first order or their last one
left). Customers that never went through the services (imports, tests, the benchmark's
seeding, data directories from before these rollups) are counted by `rebuild`, which the
startup migration runs for every org with customers but no totals.

Reads cover a window as the sales rollups do (`rollups.cover`): whole days, whole hours at
the edges, and the customers themselves for the partial hours at the very ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from inbox.analytics.documents import CustomerRollup
from inbox.analytics.rollups import DAY, HOUR, cover, day_id, floor, hour_id
from inbox.crm.customer_documents import Customer
from inbox.queries import duplicates_of

COLLECTION = "customer_rollups"
# Each customer counts in its UTC hour and its UTC day: (length, `unit`, id of the bucket).
_BUCKETS = ((HOUR, "hour", hour_id), (DAY, "day", day_id))
VERSION = 2  # of what `rebuild` writes; the startup migration rebuilds orgs built before


@dataclass(frozen=True)
class CustomerTotals:
    customers: int
    with_orders: int
    orders: int
    revenue: float
    max_revenue: float = 0.0


def totals_id(org_id: str) -> str:
    return f"{org_id}:totals"


def _rollups(db: AsyncDatabase | None = None) -> AsyncCollection:
    return db[COLLECTION] if db is not None else CustomerRollup.get_pymongo_collection()


def _customers(db: AsyncDatabase | None = None) -> AsyncCollection:
    return db["customers"] if db is not None else Customer.get_pymongo_collection()


# ---------------------------------------------------------------------------------- writes


async def _add_to_totals(
    org_id: str,
    inc: dict[str, Any],
    session: AsyncClientSession | None,
    customer_revenue: float | None = None,
) -> None:
    update: dict[str, Any] = {
        "$inc": inc,
        "$setOnInsert": {"orgId": org_id, "unit": "totals", "version": VERSION},
    }
    if customer_revenue is not None:
        update["$max"] = {"maxRevenue": customer_revenue}
    await _rollups().update_one({"_id": totals_id(org_id)}, update, upsert=True, session=session)


async def _count_created(
    org_id: str, created_at: datetime, count: int, session: AsyncClientSession | None
) -> None:
    for unit, name, key in _BUCKETS:
        start = floor(created_at, unit)
        await _rollups().update_one(
            {"_id": key(org_id, start)},
            {
                "$inc": {"created": count},
                "$setOnInsert": {"orgId": org_id, "unit": name, "at": start},
            },
            upsert=True,
            session=session,
        )


async def customer_added(
    org_id: str, created_at: datetime, session: AsyncClientSession | None, *, count: int = 1
) -> None:
    """`count` customers created at `created_at` (no orders yet) now exist."""
    await _count_created(org_id, created_at, count, session)
    await _add_to_totals(org_id, {"customers": count}, session)


async def customer_removed(
    customer: Customer, session: AsyncClientSession | None, *, orders_moved: bool = False
) -> None:
    """`customer` no longer exists: deleted, or merged into another (`orders_moved`: their
    orders and revenue now count on the customer they were merged into)."""
    inc: dict[str, Any] = {"customers": -1}
    if customer.total_orders > 0:
        inc["withOrders"] = -1
    if not orders_moved:
        inc |= {"orders": -customer.total_orders, "revenue": -customer.total_revenue}
    await _count_created(customer.org_id, customer.created_at, -1, session)
    await _add_to_totals(customer.org_id, inc, session)


async def orders_changed(
    org_id: str,
    orders: int,
    revenue: float,
    buyers: int,
    session: AsyncClientSession | None,
    *,
    customer_revenue: float | None = None,
) -> None:
    """Customers' order totals moved by `orders` and `revenue`; `buyers` customers started
    (1) or stopped (-1) having orders; a customer's revenue became `customer_revenue`."""
    inc: dict[str, Any] = {"orders": orders, "revenue": revenue}
    if buyers:
        inc["withOrders"] = buyers
    await _add_to_totals(org_id, inc, session, customer_revenue)


# ------------------------------------------------------------------------------- rebuilding


async def rebuild(org_id: str, db: AsyncDatabase | None = None) -> None:
    """Count the org's customers again (two aggregations) and replace its rollups. Meant for
    when customers are not being written (startup, after bulk imports); two rebuilds at once
    end with the same documents."""
    customers = _customers(db)
    per_hour = [
        {"$match": {"orgId": org_id}},
        {
            "$group": {
                "_id": {"$dateToString": {"format": "%Y-%m-%dT%H", "date": "$createdAt"}},
                "n": {"$sum": 1},
            }
        },
    ]
    sums = [
        {"$match": {"orgId": org_id}},
        {
            "$group": {
                "_id": None,
                "customers": {"$sum": 1},
                "withOrders": {"$sum": {"$cond": [{"$gt": ["$totalOrders", 0]}, 1, 0]}},
                "orders": {"$sum": "$totalOrders"},
                "revenue": {"$sum": "$totalRevenue"},
                "maxRevenue": {"$max": "$totalRevenue"},
            }
        },
    ]
    hours = [row async for row in await customers.aggregate(per_hour) if row["_id"]]
    found = [row async for row in await customers.aggregate(sums)]
    docs: dict[str, dict[str, Any]] = {}
    for row in hours:
        hour = datetime.strptime(row["_id"], "%Y-%m-%dT%H").replace(tzinfo=UTC)
        for unit, name, key in _BUCKETS:
            start = floor(hour, unit)
            doc = docs.setdefault(
                key(org_id, start),
                {"_id": key(org_id, start), "orgId": org_id, "unit": name, "at": start},
            )
            doc["created"] = doc.get("created", 0) + int(row["n"])
    row = found[0] if found else {}
    docs[totals_id(org_id)] = {
        "_id": totals_id(org_id),
        "orgId": org_id,
        "unit": "totals",
        "customers": int(row.get("customers", 0)),
        "withOrders": int(row.get("withOrders", 0)),
        "orders": int(row.get("orders", 0)),
        "revenue": float(row.get("revenue", 0.0) or 0.0),
        "maxRevenue": float(row.get("maxRevenue", 0.0) or 0.0),
        "version": VERSION,
    }
    # Delete and insert (an upsert per document costs the embedded server about 10 ms: two
    # minutes for two years of hours). Two rebuilds at once insert the same documents: the
    # second copy of each is refused as a duplicate and ignored.
    rollups = _rollups(db)
    await rollups.delete_many({"orgId": org_id})
    batch = list(docs.values())
    for i in range(0, len(batch), 5_000):
        try:
            await rollups.insert_many(batch[i : i + 5_000], ordered=False)
        except BulkWriteError as exc:
            duplicates_of(exc)  # written meanwhile by a concurrent rebuild: the same counts


async def migrate(db: AsyncDatabase) -> None:
    """Count the customers of every org that has some but no current totals (data
    directories from before these rollups)."""
    async for org in db["organisations"].find({}, {"_id": 1}):
        org_id = org["_id"]
        built = await db[COLLECTION].find_one({"_id": totals_id(org_id)}, {"version": 1})
        if built is not None and built.get("version", 0) >= VERSION:
            continue
        if await db["customers"].find_one({"orgId": org_id}, {"_id": 1}) is not None:
            await rebuild(org_id, db)


# ----------------------------------------------------------------------------------- reads


async def totals(org_id: str) -> CustomerTotals:
    doc = await _rollups().find_one({"_id": totals_id(org_id)}) or {}
    return CustomerTotals(
        customers=int(doc.get("customers", 0)),
        with_orders=int(doc.get("withOrders", 0)),
        orders=int(doc.get("orders", 0)),
        revenue=round(float(doc.get("revenue", 0.0)) + 0.0, 2),
        max_revenue=float(doc.get("maxRevenue", 0.0)),
    )


async def _created_raw(org_id: str, start: datetime, end: datetime) -> int:
    return await _customers().count_documents(
        {"orgId": org_id, "createdAt": {"$gte": start, "$lt": end}}
    )


async def _created_in(org_id: str, unit: str, start: datetime, end: datetime) -> int:
    query = {"orgId": org_id, "unit": unit, "at": {"$gte": start, "$lt": end}}
    return sum([int(doc.get("created", 0)) async for doc in _rollups().find(query, {"created": 1})])


async def created(org_id: str, start: datetime, end: datetime) -> int:
    """How many of the org's customers were created in [start, end)."""
    if start >= end:
        return 0
    raw, hours, days = cover(start, end)
    parts = [_created_raw(org_id, a, b) for a, b in raw]
    parts += [_created_in(org_id, "hour", a, b) for a, b in hours]
    if days is not None:
        parts.append(_created_in(org_id, "day", *days))
    return sum(await asyncio.gather(*parts))
