"""Orders: placed for a customer from the org's products, priced here, never by the client.

Creating an order is one MongoDB transaction: each item's stock is taken by a conditional
update (`stockQuantity >= quantity`, `$inc` stock down and `salesCount` up), the coupon's use
is counted against its limit, the customer's `totalOrders`/`totalRevenue`/`lastOrderDate` move
by `$inc`/`$max`, the order number comes from a per-org, per-year counter, the order is
inserted and the dashboards' sales rollups move by `$inc` (`inbox/analytics/rollups.py`).
Anything refused (an item out of stock, the coupon used up) aborts the transaction, so the
items taken before it are given back and the counter does not move: order numbers have no gaps.
Concurrent orders that touch the same documents are retried by the driver (`with_transaction`)
on write conflicts, so stock never goes below zero and totals add up.

Status moves pending -> processing -> completed or delivered (completed -> delivered too);
cancelling is allowed while pending or processing, and gives back (in one transaction) the
stock, the products' sales counts, the coupon's use, the rollups and the customer's totals: a
customer's `totalOrders` and `totalRevenue` count the orders that are not cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from inbox import events
from inbox.accounts.documents import User
from inbox.analytics import rollups
from inbox.audit import service as audit
from inbox.commerce import coupons as coupon_service
from inbox.commerce.coupons import CouponRefused, InvalidReason, money
from inbox.commerce.documents import (
    Counter,
    Order,
    OrderItem,
    OrderStatus,
    OrderType,
    PaymentStatus,
    Product,
)
from inbox.commerce.order_views import OrderStatsView, OrderView, order_view
from inbox.crm import customer_rollups
from inbox.crm.customer_documents import Customer
from inbox.document_base import utcnow
from inbox.errors import Conflict, ValidationFailed
from inbox.ports import Deps
from inbox.queries import find_one_and_update, get_in_org, in_transaction

# Where each status may go next. Cancelling is possible until the order is completed or
# delivered; a cancelled order is final.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset(
        {OrderStatus.COMPLETED, OrderStatus.DELIVERED, OrderStatus.CANCELLED}
    ),
    OrderStatus.COMPLETED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
# Payment: paid once money arrives, refunded after; paid -> unpaid corrects a mistaken mark.
PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.UNPAID: frozenset({PaymentStatus.PAID}),
    PaymentStatus.PAID: frozenset({PaymentStatus.REFUNDED, PaymentStatus.UNPAID}),
    PaymentStatus.REFUNDED: frozenset(),
}
FULFILLED = frozenset({OrderStatus.COMPLETED, OrderStatus.DELIVERED})
MAX_ITEMS = 100


# ------------------------------------------------------------------------------- the math


@dataclass(frozen=True)
class Line:
    unit_price: Decimal
    quantity: int

    @property
    def total(self) -> Decimal:
        return money(self.unit_price * self.quantity)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    total: Decimal


def totals(lines: list[Line], discount: Decimal, shipping: Decimal) -> Totals:
    """Subtotal of the lines (each rounded to cents), less the discount (never more than the
    subtotal), plus shipping."""
    subtotal = sum((line.total for line in lines), Decimal("0.00"))
    discount = min(money(discount), subtotal)
    shipping = money(shipping)
    return Totals(subtotal, discount, shipping, subtotal - discount + shipping)


def order_number(year: int, seq: int) -> str:
    return f"ORD-{year}-{seq:06d}"


# --------------------------------------------------------------------------------- create


@dataclass(frozen=True)
class ItemRequest:
    product_id: str
    quantity: int


@dataclass(frozen=True)
class NewOrder:
    customer_id: str
    items: list[ItemRequest]
    coupon_code: str | None = None
    order_type: OrderType = OrderType.ONLINE
    payment_status: PaymentStatus = PaymentStatus.UNPAID
    payment_method: str | None = None
    shipping_address: dict[str, str] | None = None
    shipping: float = 0.0
    notes: str | None = None


def _item_field(index: int) -> str:
    return f"items.{index}.productId"


def _not_orderable(index: int, product: dict[str, Any] | None) -> ValidationFailed:
    if product is None:
        return ValidationFailed(
            "An item names an unknown product",
            code="PRODUCT_NOT_FOUND",
            details={_item_field(index): "no such product"},
        )
    return ValidationFailed(
        f"{product['name']} is not available",
        code="PRODUCT_INACTIVE",
        details={_item_field(index): f"{product['name']} is not active"},
    )


def _coupon_error(refused: CouponRefused) -> ValidationFailed | Conflict:
    message = coupon_service.reason_message(refused.reason, refused.coupon)
    details = {"couponCode": message, "reason": refused.reason.value}
    if refused.reason is InvalidReason.USAGE_LIMIT_REACHED:
        return Conflict(message, code="COUPON_USAGE_LIMIT_REACHED", details=details)
    return ValidationFailed(message, code="COUPON_INVALID", details=details)


async def _check_items(org_id: str, items: list[ItemRequest]) -> None:
    """400 naming every item whose product is unknown or inactive, before any transaction."""
    ids = list({i.product_id for i in items})
    found = {
        p["_id"]: p
        async for p in Product.get_pymongo_collection().find(
            {"orgId": org_id, "_id": {"$in": ids}}, {"name": 1, "isActive": 1}
        )
    }
    details: dict[str, str] = {}
    for index, item in enumerate(items):
        product = found.get(item.product_id)
        if product is None or not product.get("isActive", True):
            details.update(_not_orderable(index, product).details)
    if details:
        raise ValidationFailed(
            "Some items cannot be ordered", code="INVALID_ITEMS", details=details
        )


async def _take_stock(
    org_id: str, index: int, item: ItemRequest, session: AsyncClientSession
) -> dict[str, Any]:
    """Take `item.quantity` from the product's stock (counting it as sold) and return the
    product as it is now; 409 naming the product when there is not enough."""
    products = Product.get_pymongo_collection()
    taken = await find_one_and_update(
        products,
        {
            "_id": item.product_id,
            "orgId": org_id,
            "isActive": True,
            "stockQuantity": {"$gte": item.quantity},
        },
        {"$inc": {"stockQuantity": -item.quantity, "salesCount": item.quantity}},
        projection={"name": 1, "sku": 1, "price": 1},
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    if taken is not None:
        return taken
    product = await products.find_one(
        {"_id": item.product_id, "orgId": org_id},
        {"name": 1, "isActive": 1, "stockQuantity": 1},
        session=session,
    )
    if product is None or not product.get("isActive", True):
        raise _not_orderable(index, product)
    available = max(0, int(product.get("stockQuantity", 0)))
    raise Conflict(
        f"Insufficient stock for {product['name']}",
        code="INSUFFICIENT_STOCK",
        details={
            _item_field(index): f"{product['name']}: {item.quantity} ordered, {available} in stock",
            "productId": item.product_id,
            "productName": product["name"],
            "requested": item.quantity,
            "available": available,
        },
    )


async def _next_number(org_id: str, year: int, session: AsyncClientSession) -> int:
    counter = await find_one_and_update(
        Counter.get_pymongo_collection(),
        {"_id": f"{org_id}:orders:{year}"},
        {"$inc": {"seq": 1}, "$set": {"updatedAt": utcnow()}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    return int(counter["seq"])


async def create(deps: Deps, user: User, new: NewOrder) -> OrderView:
    org_id = user.org_id
    if not new.items:
        raise ValidationFailed("An order needs items", details={"items": "at least one item"})
    customer = await Customer.find_one(Customer.org_id == org_id, Customer.id == new.customer_id)
    if customer is None:
        raise ValidationFailed(
            "Unknown customer",
            code="CUSTOMER_NOT_FOUND",
            details={"customerId": "no such customer"},
        )
    await _check_items(org_id, new.items)

    async def place(session: AsyncClientSession) -> Order:
        now = utcnow()
        items: list[OrderItem] = []
        lines: list[Line] = []
        for index, item in enumerate(new.items):
            product = await _take_stock(org_id, index, item, session)
            line = Line(money(product["price"]), item.quantity)
            lines.append(line)
            items.append(
                OrderItem(
                    product_id=item.product_id,
                    name=product["name"],
                    sku=product.get("sku"),
                    quantity=item.quantity,
                    unit_price=float(line.unit_price),
                    total=float(line.total),
                )
            )
        subtotal = totals(lines, Decimal(0), Decimal(0)).subtotal
        coupon_id, coupon_code, discount = None, None, Decimal(0)
        if new.coupon_code:
            try:
                coupon, discount = await coupon_service.claim(
                    org_id, new.coupon_code, subtotal, session
                )
            except CouponRefused as refused:
                raise _coupon_error(refused) from None
            coupon_id, coupon_code = coupon.id, coupon.code
        sums = totals(lines, discount, money(new.shipping))
        # The totals as they were, read in the transaction: a concurrent order of the same
        # customer conflicts and is retried, so exactly one of them sees the first order.
        before = await find_one_and_update(
            Customer.get_pymongo_collection(),
            {"_id": customer.id, "orgId": org_id},
            {
                "$inc": {"totalOrders": 1, "totalRevenue": float(sums.total)},
                "$max": {"lastOrderDate": now},
            },
            projection={"totalOrders": 1, "totalRevenue": 1},
            session=session,
        )
        if before is None:  # deleted or merged away since we looked
            raise ValidationFailed(
                "Unknown customer",
                code="CUSTOMER_NOT_FOUND",
                details={"customerId": "no such customer"},
            )
        first = int(before.get("totalOrders", 0)) <= 0
        await customer_rollups.orders_changed(
            org_id,
            1,
            float(sums.total),
            1 if first else 0,
            session,
            customer_revenue=float(before.get("totalRevenue") or 0.0) + float(sums.total),
        )
        # Last, so the org-wide counter is held for as short a time as possible.
        seq = await _next_number(org_id, now.year, session)
        order = Order(
            org_id=org_id,
            order_number=order_number(now.year, seq),
            customer_id=customer.id,
            items=items,
            subtotal=float(sums.subtotal),
            discount=float(sums.discount),
            coupon_code=coupon_code,
            coupon_id=coupon_id,
            shipping=float(sums.shipping),
            total=float(sums.total),
            payment_status=new.payment_status,
            payment_method=new.payment_method,
            order_type=new.order_type,
            shipping_address=new.shipping_address,
            notes=new.notes,
            created_at=now,
            updated_at=now,
        )
        await order.insert(session=session)
        await rollups.record(order, 1, session)  # the dashboards' figures, in step
        return order

    order = await in_transaction(Order.get_pymongo_collection(), place)
    view = order_view(order, customer)
    await audit.record(
        user,
        "order.create",
        "order",
        order.id,
        {"orderNumber": order.order_number, "total": order.total, "items": len(order.items)},
    )
    await deps.events.publish(org_id, events.ORDER_CREATED, view.dump())
    return view


# -------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class OrderFilters:
    status: OrderStatus | None = None
    customer_id: str | None = None
    start: datetime | None = None  # createdAt >= start
    end: datetime | None = None  # createdAt <= end
    payment_status: PaymentStatus | None = None
    order_type: OrderType | None = None


def _query(org_id: str, filters: OrderFilters) -> dict[str, Any]:
    query: dict[str, Any] = {"orgId": org_id}
    if filters.status:
        query["status"] = filters.status.value
    if filters.customer_id:
        query["customerId"] = filters.customer_id
    if filters.payment_status:
        query["paymentStatus"] = filters.payment_status.value
    if filters.order_type:
        query["orderType"] = filters.order_type.value
    created: dict[str, datetime] = {}
    if filters.start:
        created["$gte"] = filters.start
    if filters.end:
        created["$lte"] = filters.end
    if created:
        query["createdAt"] = created
    return query


async def views(orders: list[Order]) -> list[OrderView]:
    """Views with each order's customer, in one query for all of them."""
    customer_ids = list({o.customer_id for o in orders})
    customers = (
        {
            c.id: c
            for c in await Customer.find(
                {"orgId": orders[0].org_id, "_id": {"$in": customer_ids}}
            ).to_list()
        }
        if orders
        else {}
    )
    return [order_view(o, customers.get(o.customer_id)) for o in orders]


async def list_orders(
    org_id: str, filters: OrderFilters, skip: int, limit: int
) -> tuple[list[OrderView], int]:
    """Newest first."""
    found = Order.find(_query(org_id, filters))
    total = await found.count()
    page = await found.sort(-Order.created_at, -Order.id).skip(skip).limit(limit).to_list()
    return await views(page), total


async def stats(org_id: str, filters: OrderFilters) -> OrderStatsView:
    """Count, revenue and average order value of the matching orders, by aggregation.
    Revenue and the average leave cancelled orders out."""
    cancelled = {"$eq": ["$status", OrderStatus.CANCELLED.value]}
    pipeline = [
        {"$match": _query(org_id, filters)},
        {
            "$group": {
                "_id": None,
                "count": {"$sum": 1},
                "cancelled": {"$sum": {"$cond": [cancelled, 1, 0]}},
                "revenue": {"$sum": {"$cond": [cancelled, 0, "$total"]}},
            }
        },
    ]
    rows = await (await Order.get_pymongo_collection().aggregate(pipeline)).to_list()
    row = rows[0] if rows else {"count": 0, "cancelled": 0, "revenue": 0}
    kept = row["count"] - row["cancelled"]
    revenue = money(row["revenue"])
    return OrderStatsView(
        total_orders=row["count"],
        cancelled_orders=row["cancelled"],
        total_revenue=float(revenue),
        average_order_value=float(money(revenue / kept)) if kept else 0.0,
    )


async def get(org_id: str, order_id: str) -> Order:
    return await get_in_org(Order, org_id, order_id, "Order")


async def view(order: Order) -> OrderView:
    return (await views([order]))[0]


async def detail(org_id: str, order_id: str) -> OrderView:
    return await view(await get(org_id, order_id))


async def recent_orders(org_id: str, customer_id: str, limit: int = 5) -> list[OrderView]:
    """A customer's latest orders, newest first (customer detail, ticket detail)."""
    found = (
        await Order.find(Order.org_id == org_id, Order.customer_id == customer_id)
        .sort(-Order.created_at, -Order.id)
        .limit(limit)
        .to_list()
    )
    return await views(found)


# ------------------------------------------------------------------------ status, payment


def _refused(kind: str, current: str, wanted: str, allowed: frozenset[Any]) -> Conflict:
    return Conflict(
        f"An order's {kind} cannot change from {current} to {wanted}",
        code="INVALID_STATUS_TRANSITION",
        details={
            "paymentStatus" if kind == "payment status" else "status": (
                f"cannot change from {current} to {wanted}"
            ),
            "current": current,
            "requested": wanted,
            "allowed": sorted(a.value for a in allowed),
        },
    )


async def _restore(order: Order, session: AsyncClientSession) -> None:
    """Give back what the order took: stock and sales counts, the coupon's use, the
    customer's totals (and their last order date becomes their latest order left)."""
    products = Product.get_pymongo_collection()
    for item in order.items:
        await products.update_one(
            {"_id": item.product_id, "orgId": order.org_id},
            {"$inc": {"stockQuantity": item.quantity, "salesCount": -item.quantity}},
            session=session,
        )
    if order.coupon_id:
        await coupon_service.release(order.org_id, order.coupon_id, session)
    await rollups.record(order, -1, session)  # cancelled orders leave the dashboards
    latest = await Order.get_pymongo_collection().find_one(
        {
            "orgId": order.org_id,
            "customerId": order.customer_id,
            "status": {"$ne": OrderStatus.CANCELLED.value},
        },
        {"createdAt": 1},
        sort=[("createdAt", -1)],
        session=session,
    )
    before = await find_one_and_update(
        Customer.get_pymongo_collection(),
        {"_id": order.customer_id, "orgId": order.org_id},
        {
            "$inc": {"totalOrders": -1, "totalRevenue": -order.total},
            "$set": {"lastOrderDate": latest["createdAt"] if latest else None},
        },
        projection={"totalOrders": 1},
        session=session,
    )
    if before is None:
        return  # the customer is gone (orders block deletion; only data outside the service)
    last = int(before.get("totalOrders", 0)) == 1
    await customer_rollups.orders_changed(
        order.org_id, -1, -order.total, -1 if last else 0, session
    )


async def change(
    deps: Deps,
    user: User,
    order_id: str,
    *,
    status: OrderStatus | None = None,
    payment_status: PaymentStatus | None = None,
) -> OrderView:
    """Move an order's status and/or payment status, if the rules allow it (409 otherwise).
    Asking for the status it already has changes nothing. The change is a compare-and-set on
    the statuses read, so two concurrent changes cannot both apply (the loser gets a 409)."""
    order = await get(user.org_id, order_id)
    old_status, old_payment = order.status, order.payment_status
    new_status = status if status is not None and status != old_status else None
    new_payment = (
        payment_status if payment_status is not None and payment_status != old_payment else None
    )
    if new_status is not None and new_status not in TRANSITIONS[old_status]:
        raise _refused("status", old_status.value, new_status.value, TRANSITIONS[old_status])
    if new_payment is not None and new_payment not in PAYMENT_TRANSITIONS[old_payment]:
        raise _refused(
            "payment status",
            old_payment.value,
            new_payment.value,
            PAYMENT_TRANSITIONS[old_payment],
        )
    if new_status is None and new_payment is None:
        return await view(order)

    now = utcnow()
    changes: dict[str, Any] = {"updatedAt": now}
    if new_status is not None:
        changes["status"] = new_status.value
        if new_status is OrderStatus.DELIVERED:
            changes["deliveredAt"] = now
        if new_status is OrderStatus.CANCELLED:
            changes["cancelledAt"] = now
    if new_payment is not None:
        changes["paymentStatus"] = new_payment.value
    current = {"status": old_status.value, "paymentStatus": old_payment.value}

    async def apply(session: AsyncClientSession | None) -> bool:
        result = await Order.get_pymongo_collection().update_one(
            {"_id": order.id, "orgId": order.org_id, **current}, {"$set": changes}, session=session
        )
        if result.modified_count == 0:
            return False
        if new_status is OrderStatus.CANCELLED:
            await _restore(order, session)  # type: ignore[arg-type]
        return True

    applied = (
        await in_transaction(Order.get_pymongo_collection(), apply)
        if new_status is OrderStatus.CANCELLED
        else await apply(None)
    )
    if not applied:
        fresh = await get(user.org_id, order_id)
        raise Conflict(
            "The order was changed by someone else meanwhile",
            code="ORDER_CHANGED",
            details={
                "status": fresh.status.value,
                "paymentStatus": fresh.payment_status.value,
            },
        )
    updated = await get(user.org_id, order_id)
    result_view = await view(updated)
    summary: dict[str, Any] = {"orderNumber": order.order_number}
    if new_status is not None:
        summary |= {"from": old_status.value, "to": new_status.value}
    if new_payment is not None:
        summary |= {"paymentFrom": old_payment.value, "paymentTo": new_payment.value}
    await audit.record(user, "order.update", "order", order.id, summary)
    data = {
        **result_view.dump(),
        "previousStatus": old_status.value,
        "previousPaymentStatus": old_payment.value,
    }
    await deps.events.publish(order.org_id, events.ORDER_UPDATED, data)
    # Once per order: when it first becomes completed or delivered.
    if new_status in FULFILLED and old_status not in FULFILLED:
        await deps.events.publish(order.org_id, events.ORDER_COMPLETED, result_view.dump())
    return result_view
