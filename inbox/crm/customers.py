"""Customers: one document per person, whichever platforms they wrote from, whether they were
created by hand, imported, or placed an order.

Every figure is an aggregation or a count in MongoDB; nothing here loads all customers.
Creating, deleting and merging customers moves the dashboards' customer counts
(`customer_rollups`) in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pymongo.asynchronous.client_session import AsyncClientSession

from connectors.base import ChannelType
from inbox import events
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.caches import Caches
from inbox.commerce import orders as order_service
from inbox.commerce.documents import Order
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Message, Ticket, TicketStatus
from inbox.conversations.views import TicketView
from inbox.crm import customer_rollups, identities
from inbox.crm.customer_documents import Customer, CustomerStatus
from inbox.crm.customer_views import (
    CustomerDashboardView,
    CustomerView,
    PlatformCountsView,
    customer_view,
)
from inbox.crm.views import CustomerDetailView
from inbox.document_base import utcnow
from inbox.errors import Conflict, NotFound, ValidationFailed
from inbox.ports import EventPublisher
from inbox.queries import find_one_and_delete, get_in_org, in_transaction

RECENT_CONVERSATIONS = 10
RECENT_ON_DETAIL = 5

SortField = Literal["lastMessageAt", "createdAt", "name", "totalRevenue", "totalOrders"]


@dataclass(frozen=True)
class CustomerFilters:
    platform: ChannelType | None = None
    search: str | None = None  # part of the name, e-mail or phone, any case
    orders: Literal["all", "with_orders", "without_orders"] = "all"
    status: CustomerStatus | None = None
    tag: str | None = None
    sort_by: SortField = "lastMessageAt"
    sort_order: Literal["asc", "desc"] | None = None  # default: desc, but asc for name


def _query(org_id: str, filters: CustomerFilters) -> dict[str, Any]:
    query: dict[str, Any] = {"orgId": org_id}
    either: list[list[dict[str, Any]]] = []
    if filters.platform:
        # Any identity on the platform, not only the one the customer first wrote from.
        p = filters.platform.value
        either.append([{"platform": p}, {"identities.platform": p}])
    if filters.search:
        # Escaped: the search box is text, not a pattern (and no ReDoS through it).
        pattern = {"$regex": re.escape(filters.search.strip()), "$options": "i"}
        either.append([{"name": pattern}, {"email": pattern}, {"phone": pattern}])
    if either:
        query["$and"] = [{"$or": alternatives} for alternatives in either]
    if filters.orders == "with_orders":
        query["totalOrders"] = {"$gt": 0}
    elif filters.orders == "without_orders":
        query["totalOrders"] = {"$not": {"$gt": 0}}  # also customers stored before orders
    if filters.status:
        query["status"] = filters.status.value
    if filters.tag:
        query["tags"] = filters.tag
    return query


async def list_customers(
    org_id: str, filters: CustomerFilters, skip: int, limit: int
) -> tuple[list[CustomerView], int]:
    found = Customer.find(_query(org_id, filters))
    total = await found.count()
    order = filters.sort_order or ("asc" if filters.sort_by == "name" else "desc")
    direction = 1 if order == "asc" else -1
    sort: list[tuple[str, int]] = [(filters.sort_by, direction)]
    if filters.sort_by == "lastMessageAt":
        # Customers never heard from (created by hand) after those heard from, newest first.
        sort.append(("createdAt", direction))
    sort.append(("_id", 1))
    page = await found.sort(sort).skip(skip).limit(limit).to_list()
    return [customer_view(c) for c in page], total


async def get(org_id: str, customer_id: str) -> Customer:
    return await get_in_org(Customer, org_id, customer_id, "Customer")


async def detail(org_id: str, customer_id: str, *, caches: Caches) -> CustomerDetailView:
    """The customer with their latest tickets and orders, for the agent's side panel."""
    customer = await get(org_id, customer_id)
    tickets, _ = await ticket_service.list_tickets(
        caches, org_id, ticket_service.TicketFilters(customer_id=customer.id), 0, RECENT_ON_DETAIL
    )
    return CustomerDetailView(
        **customer_view(customer).model_dump(),
        recent_tickets=await ticket_service.views(tickets),
        recent_orders=await order_service.recent_orders(org_id, customer.id, RECENT_ON_DETAIL),
    )


# --- the CRM side: customers created and edited by people ------------------------------


@dataclass
class CustomerFields:
    """What a person may set on a customer; None leaves a field as it is on update."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] | None = None
    notes: str | None = None
    status: CustomerStatus | None = None
    city: str | None = None
    birthday: datetime | None = None
    anniversary: datetime | None = None
    avatar: str | None = None
    metadata: dict[str, Any] | None = None


def _normalised_contacts(fields: CustomerFields) -> tuple[str | None, str | None]:
    details: dict[str, str] = {}
    email = phone = None
    if fields.email:
        try:
            email = identities.normalise_email(fields.email)
        except ValueError as exc:
            details["email"] = str(exc)
    if fields.phone:
        try:
            phone = identities.normalise_phone(fields.phone)
        except ValueError as exc:
            details["phone"] = str(exc)
    if details:
        raise ValidationFailed("Invalid contact details", details=details)
    return email, phone


def _tags(tags: list[str]) -> list[str]:
    # Trimmed, blank ones dropped, first spelling of each kept in order.
    return list(dict.fromkeys(t.strip() for t in tags if t.strip()))


async def create(
    publisher: EventPublisher, actor: User, fields: CustomerFields, *, caches: Caches
) -> CustomerView:
    if not fields.name or not fields.name.strip():
        raise ValidationFailed("A customer needs a name", details={"name": "required"})
    email, phone = _normalised_contacts(fields)
    customer = Customer(
        org_id=actor.org_id,
        name=fields.name.strip(),
        email=email,
        phone=phone,
        tags=_tags(fields.tags or []),
        notes=fields.notes,
        status=fields.status or CustomerStatus.ACTIVE,
        city=fields.city,
        birthday=fields.birthday,
        anniversary=fields.anniversary,
        avatar=fields.avatar,
        metadata=fields.metadata or {},
        identities=identities.contact_identities(email, phone),
    )
    # Claims first: a duplicate e-mail or phone is a 409 before anything is written.
    await identities.claim(customer, customer.identities, owners=caches.identity_owners)

    async def insert(session: AsyncClientSession) -> None:
        await customer.insert(session=session)
        await customer_rollups.customer_added(customer.org_id, customer.created_at, session)

    try:
        await in_transaction(Customer.get_pymongo_collection(), insert)
    except BaseException:
        await identities.release(
            customer.org_id, customer.id, customer.identities, owners=caches.identity_owners
        )
        raise
    await audit.record(actor, "customer.create", "customer", customer.id, _summary(customer))
    view = customer_view(customer)
    await publisher.publish(customer.org_id, events.CUSTOMER_CREATED, view.dump())
    return view


async def update(
    publisher: EventPublisher,
    actor: User,
    customer_id: str,
    fields: CustomerFields,
    given: set[str],
    *,
    caches: Caches,
) -> CustomerView:
    """Change the fields named in `given` (None there clears e-mail, phone, notes ...)."""
    customer = await get(actor.org_id, customer_id)
    if "name" in given and not (fields.name or "").strip():
        raise ValidationFailed("A customer needs a name", details={"name": "required"})
    email, phone = _normalised_contacts(fields)
    changes: dict[str, Any] = {}
    for name in given:
        value = getattr(fields, name)
        if name == "email":
            value = email
        elif name == "phone":
            value = phone
        elif name == "tags":
            value = _tags(value or [])
        elif name == "name":
            value = value.strip()
        elif name == "metadata":
            value = value or {}
        elif name == "status" and value is None:
            raise ValidationFailed("Status cannot be empty", details={"status": "required"})
        changes[name] = value

    old_contacts = identities.contact_identities(customer.email, customer.phone)
    new_contacts = identities.contact_identities(
        changes.get("email", customer.email), changes.get("phone", customer.phone)
    )
    gained = [i for i in new_contacts if i not in customer.identities]
    lost = [i for i in old_contacts if i not in new_contacts]
    await identities.claim(customer, gained, owners=caches.identity_owners)
    for field, value in changes.items():
        setattr(customer, field, value)
    customer.identities = [i for i in customer.identities if i not in lost] + gained
    customer.updated_at = utcnow()
    await customer.save()
    await identities.release(customer.org_id, customer.id, lost, owners=caches.identity_owners)
    await audit.record(
        actor, "customer.update", "customer", customer.id, {"fields": sorted(changes)}
    )
    view = customer_view(customer)
    await publisher.publish(customer.org_id, events.CUSTOMER_UPDATED, view.dump())
    return view


async def delete(
    publisher: EventPublisher, actor: User, customer_id: str, *, caches: Caches
) -> None:
    """Erase a customer and their closed conversations. Refused while they have orders (an
    accounting record: set the status to inactive instead) or an open ticket (close it)."""
    customer = await get(actor.org_id, customer_id)
    if await Order.find(Order.org_id == actor.org_id, Order.customer_id == customer.id).count():
        raise Conflict(
            "This customer has orders; set the status to inactive instead",
            code="CUSTOMER_HAS_ORDERS",
            details={"customerId": "has orders"},
        )
    open_ticket = await Ticket.find_one(
        Ticket.org_id == actor.org_id,
        Ticket.customer_id == customer.id,
        {"status": {"$in": [TicketStatus.OPEN.value, TicketStatus.PENDING.value]}},
    )
    if open_ticket is not None:
        raise Conflict(
            "This customer has an open ticket; close it first",
            code="CUSTOMER_HAS_OPEN_TICKET",
            details={"ticketId": open_ticket.id},
        )
    ticket_ids = [
        t["_id"]
        async for t in Ticket.get_pymongo_collection().find(
            {"orgId": actor.org_id, "customerId": customer.id}, {"_id": 1}
        )
    ]

    # The customer first, so nothing half-deleted stays reachable; then what hung off them.
    async def remove(session: AsyncClientSession) -> None:
        found = await find_one_and_delete(
            Customer.get_pymongo_collection(),
            {"_id": customer.id, "orgId": actor.org_id},
            session=session,
        )
        if found is not None:
            await customer_rollups.customer_removed(Customer.model_validate(found), session)

    await in_transaction(Customer.get_pymongo_collection(), remove)
    await identities.release(
        customer.org_id, customer.id, customer.identities, owners=caches.identity_owners
    )
    if ticket_ids:
        await Message.get_pymongo_collection().delete_many(
            {"orgId": actor.org_id, "ticketId": {"$in": ticket_ids}}
        )
        await Ticket.get_pymongo_collection().delete_many(
            {"orgId": actor.org_id, "_id": {"$in": ticket_ids}}
        )
        # Deletions leave nothing for the counts to see (other processes recount within
        # minutes).
        caches.ticket_counts.forget(actor.org_id)
    await audit.record(
        actor,
        "customer.delete",
        "customer",
        customer.id,
        {"name": customer.name, "tickets": len(ticket_ids)},
    )
    await publisher.publish(customer.org_id, events.CUSTOMER_DELETED, {"id": customer.id})


async def merge(
    publisher: EventPublisher, actor: User, customer_id: str, other_id: str
) -> CustomerView:
    """Fold `other` into the customer: identities, tickets, orders and totals move over,
    blanks are filled from the other, and the other is deleted. One transaction."""
    customer = await get(actor.org_id, customer_id)
    if customer_id == other_id:
        raise ValidationFailed(
            "A customer cannot be merged with itself", details={"otherId": "same customer"}
        )
    try:
        other = await get(actor.org_id, other_id)
    except NotFound:
        raise ValidationFailed(
            "Unknown customer to merge", details={"otherId": "no such customer"}
        ) from None

    merged_identities = customer.identities + [
        i for i in other.identities if i not in customer.identities
    ]
    changes: dict[str, Any] = {
        "identities": [i.model_dump(by_alias=True, mode="json") for i in merged_identities],
        "channelIds": list(dict.fromkeys(customer.channel_ids + other.channel_ids)),
        "tags": list(dict.fromkeys(customer.tags + other.tags)),
        "metadata": {**other.metadata, **customer.metadata},
        "updatedAt": utcnow(),
    }
    for field in (
        "email",
        "phone",
        "notes",
        "city",
        "birthday",
        "anniversary",
        "avatar",
        "platform",
        "external_id",
    ):
        if getattr(customer, field) is None and getattr(other, field) is not None:
            value = getattr(other, field)
            changes[_camel(field)] = value.value if field == "platform" else value
    if customer.name in ("", customer.external_id) and other.name not in ("", other.external_id):
        changes["name"] = other.name
    if other.last_order_date and (
        customer.last_order_date is None or other.last_order_date > customer.last_order_date
    ):
        changes["lastOrderDate"] = other.last_order_date
    if other.last_message_at and (
        customer.last_message_at is None or other.last_message_at > customer.last_message_at
    ):
        changes["lastMessageAt"] = other.last_message_at
        changes["lastMessage"] = other.last_message

    coll = Customer.get_pymongo_collection()

    async def fold(session: AsyncClientSession) -> None:
        # Order totals as they are inside the transaction: an order placed meanwhile for
        # either customer conflicts with these writes and one of the two is retried.
        mine = await coll.find_one({"_id": customer.id, "orgId": actor.org_id}, session=session)
        theirs = await coll.find_one({"_id": other.id, "orgId": actor.org_id}, session=session)
        if mine is None or theirs is None:
            raise NotFound("Customer not found")
        kept, gone = Customer.model_validate(mine), Customer.model_validate(theirs)
        totals = {
            "totalOrders": kept.total_orders + gone.total_orders,
            "totalRevenue": round(kept.total_revenue + gone.total_revenue, 2),
        }
        scope = {"orgId": actor.org_id, "customerId": other.id}
        await Ticket.get_pymongo_collection().update_many(
            scope, {"$set": {"customerId": customer.id}}, session=session
        )
        await Order.get_pymongo_collection().update_many(
            scope, {"$set": {"customerId": customer.id}}, session=session
        )
        await identities.move_all(actor.org_id, other.id, customer.id, session=session)
        await coll.update_one(
            {"_id": customer.id, "orgId": actor.org_id},
            {"$set": changes | totals},
            session=session,
        )
        await coll.delete_one({"_id": other.id, "orgId": actor.org_id}, session=session)
        await customer_rollups.customer_removed(gone, session, orders_moved=True)
        buyers = 1 if gone.total_orders > 0 and kept.total_orders <= 0 else 0
        await customer_rollups.orders_changed(
            actor.org_id, 0, 0.0, buyers, session, customer_revenue=totals["totalRevenue"]
        )

    await in_transaction(coll, fold)
    merged = await get(actor.org_id, customer.id)
    await audit.record(
        actor,
        "customer.merge",
        "customer",
        customer.id,
        {"otherId": other.id, "otherName": other.name},
    )
    await publisher.publish(
        actor.org_id, events.CUSTOMER_DELETED, {"id": other.id, "mergedInto": customer.id}
    )
    view = customer_view(merged)
    await publisher.publish(actor.org_id, events.CUSTOMER_UPDATED, view.dump())
    return view


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _summary(customer: Customer) -> dict[str, Any]:
    # Audit metadata: who, not the whole record.
    return {
        "name": customer.name,
        "hasEmail": bool(customer.email),
        "hasPhone": bool(customer.phone),
    }


async def tickets_of(
    org_id: str, customer_id: str, skip: int, limit: int, *, caches: Caches
) -> tuple[list[TicketView], int]:
    customer = await get(org_id, customer_id)
    tickets, total = await ticket_service.list_tickets(
        caches, org_id, ticket_service.TicketFilters(customer_id=customer.id), skip, limit
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
        if row["_id"] in counts:  # customers created by hand have no platform
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
        if row["_id"] in by_platform:
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
