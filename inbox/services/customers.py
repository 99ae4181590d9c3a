"""Customers: the people behind the conversations, and the org's overview of them.

Every figure is an aggregation or a count in MongoDB; nothing here loads all customers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from inbox.documents import ChannelType, Customer, Ticket, utcnow
from inbox.errors import NotFound
from inbox.services import tickets as ticket_service
from inbox.views import CustomerDashboardView, PlatformCountsView, TicketView

RECENT_CONVERSATIONS = 10


@dataclass(frozen=True)
class CustomerFilters:
    platform: ChannelType | None = None
    search: str | None = None  # part of the name, any case


async def list_customers(
    org_id: str, filters: CustomerFilters, skip: int, limit: int
) -> tuple[list[Customer], int]:
    query: dict[str, Any] = {"orgId": org_id}
    if filters.platform:
        query["platform"] = filters.platform.value
    if filters.search:
        # Escaped: the search box is text, not a pattern (and no ReDoS through it).
        query["name"] = {"$regex": re.escape(filters.search), "$options": "i"}
    found = Customer.find(query)
    total = await found.count()
    # Most recently heard from first; customers never heard from (created by hand) last.
    page = (
        await found.sort(-Customer.last_message_at, -Customer.created_at, +Customer.id)
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    return page, total


async def get(org_id: str, customer_id: str) -> Customer:
    customer = await Customer.find_one(Customer.org_id == org_id, Customer.id == customer_id)
    if customer is None:
        raise NotFound("Customer not found")
    return customer


async def tickets_of(
    org_id: str, customer_id: str, skip: int, limit: int
) -> tuple[list[TicketView], int]:
    customer = await get(org_id, customer_id)
    tickets, total = await ticket_service.list_tickets(
        org_id, ticket_service.TicketFilters(customer_id=customer.id), skip, limit
    )
    return await ticket_service.views(tickets), total


def _zero_per_platform() -> dict[str, int]:
    return {t.value: 0 for t in ChannelType}


async def platform_counts(org_id: str) -> PlatformCountsView:
    """Customers per platform, every platform present (zero when none)."""
    pipeline = [
        {"$match": {"orgId": org_id}},
        {"$group": {"_id": "$platform", "count": {"$sum": 1}}},
    ]
    counts = _zero_per_platform()
    for row in await (await Customer.get_pymongo_collection().aggregate(pipeline)).to_list():
        counts[row["_id"]] = row["count"]
    return PlatformCountsView(**counts)


async def dashboard(org_id: str) -> CustomerDashboardView:
    """Totals, active, new in the last 7 and 30 days, per platform (one aggregation pass),
    and the most recent conversations with their customer and last message."""
    now = utcnow()
    week, month = now - timedelta(days=7), now - timedelta(days=30)

    def since(moment: Any) -> dict[str, Any]:
        return {"$sum": {"$cond": [{"$gte": ["$createdAt", moment]}, 1, 0]}}

    pipeline = [
        {"$match": {"orgId": org_id}},
        {
            "$group": {
                "_id": "$platform",
                "total": {"$sum": 1},
                "active": {"$sum": {"$cond": ["$isActive", 1, 0]}},
                "new7": since(week),
                "new30": since(month),
            }
        },
    ]
    rows = await (await Customer.get_pymongo_collection().aggregate(pipeline)).to_list()
    by_platform = _zero_per_platform()
    for row in rows:
        by_platform[row["_id"]] = row["total"]
    recent = (
        await Ticket.find(Ticket.org_id == org_id)
        .sort(-Ticket.last_activity_at, -Ticket.id)
        .limit(RECENT_CONVERSATIONS)
        .to_list()
    )
    return CustomerDashboardView(
        total_customers=sum(r["total"] for r in rows),
        active_customers=sum(r["active"] for r in rows),
        new_last7_days=sum(r["new7"] for r in rows),
        new_last30_days=sum(r["new30"] for r in rows),
        by_platform=PlatformCountsView(**by_platform),
        recent_conversations=await ticket_service.views(recent),
    )
