"""/orgs/{orgId}/orders: orders placed for customers, priced from the org's products.

Any member may read orders and place them (agents take orders in chats); moving an order's
status or payment status is ADMIN only. Orders are never deleted: cancel them instead."""

from __future__ import annotations

from inbox.accounts.documents import Role
from inbox.commerce import orders as order_service
from inbox.commerce.order_views import OrderStatsView, OrderView
from web.commerce.order_schemas import (
    OrderCreateBody,
    OrderPaymentBody,
    OrderQuery,
    OrderStatusBody,
)
from web.endpoints import Call, Paged, Routes

routes = Routes("orders")

_TAGS = ["orders"]


def _filters(q: OrderQuery) -> order_service.OrderFilters:
    return order_service.OrderFilters(
        status=q.status,
        customer_id=q.customer_id,
        start=q.start_date,
        end=q.end_date,
        payment_status=q.payment_status,
        order_type=q.order_type,
    )


@routes.get(
    "/orgs/{orgId}/orders",
    "List orders",
    description="Newest first. Filters: `status`, `customerId`, `startDate`/`endDate` (on "
    "createdAt; a date alone means that whole day for `endDate`), `paymentStatus`, `orderType`.",
    tags=_TAGS,
    query=OrderQuery,
    response=OrderView,
    list_response=True,
)
async def list_orders(call: Call[None, OrderQuery]) -> Paged:
    found, total = await order_service.list_orders(
        call.org_id, _filters(call.query), call.page.skip, call.page.limit
    )
    return Paged(found, total)


@routes.post(
    "/orgs/{orgId}/orders",
    "Place an order",
    description="Prices, subtotal, discount and total are computed from the products and the "
    "coupon (prices sent by the client are ignored). Every item's stock is taken atomically; "
    "if any item lacks stock nothing is taken and the answer is 409 `INSUFFICIENT_STOCK` "
    "naming the item. An unknown or inactive product or customer is a 400 naming it; an "
    "invalid coupon a 400 `COUPON_INVALID` with the reason, a used-up one a 409 "
    "`COUPON_USAGE_LIMIT_REACHED`. The order number is `ORD-<year>-<6-digit sequence>`, per "
    "org, without gaps. The customer's totalOrders/totalRevenue/lastOrderDate and the "
    "products' salesCount move with it.",
    tags=_TAGS,
    body=OrderCreateBody,
    response=OrderView,
    status=201,
    errors=[409],
)
async def create(call: Call[OrderCreateBody, None]) -> OrderView:
    body = call.body
    new = order_service.NewOrder(
        customer_id=body.customer_id,
        items=[order_service.ItemRequest(i.product_id, i.quantity) for i in body.items],
        coupon_code=body.coupon_code,
        order_type=body.order_type,
        payment_status=body.payment_status,
        payment_method=body.payment_method,
        shipping_address=body.shipping_address.stored() if body.shipping_address else None,
        shipping=body.shipping,
        notes=body.notes,
    )
    return await order_service.create(call.deps, call.user, new)


@routes.get(
    "/orgs/{orgId}/orders/stats",
    "Order count, revenue and average order value",
    description="Over the orders the same filters as the list match. `totalRevenue` and "
    "`averageOrderValue` leave cancelled orders out; `totalOrders` counts them.",
    tags=_TAGS,
    query=OrderQuery,
    response=OrderStatsView,
)
async def stats(call: Call[None, OrderQuery]) -> OrderStatsView:
    return await order_service.stats(call.org_id, _filters(call.query))


@routes.get("/orgs/{orgId}/orders/{orderId}", "Get an order", tags=_TAGS, response=OrderView)
async def get(call: Call[None, None]) -> OrderView:
    return await order_service.detail(call.org_id, call.path("orderId"))


@routes.patch(
    "/orgs/{orgId}/orders/{orderId}/status",
    "Change an order's status (ADMIN)",
    description="pending -> processing -> completed or delivered (completed -> delivered too); "
    "cancelled from pending or processing only. Anything else is a 409 "
    "`INVALID_STATUS_TRANSITION` whose details give the current status and the allowed ones. "
    "`deliveredAt`/`cancelledAt` are set; a cancel gives back the stock, the products' sales, "
    "the coupon's use and the customer's totals. The same status again changes nothing. "
    "`paymentStatus` may be changed in the same call.",
    tags=_TAGS,
    body=OrderStatusBody,
    response=OrderView,
    errors=[409],
    role=Role.ADMIN,
)
async def change_status(call: Call[OrderStatusBody, None]) -> OrderView:
    return await order_service.change(
        call.deps,
        call.user,
        call.path("orderId"),
        status=call.body.status,
        payment_status=call.body.payment_status,
    )


@routes.patch(
    "/orgs/{orgId}/orders/{orderId}/payment",
    "Change an order's payment status (ADMIN)",
    description="unpaid -> paid -> refunded (paid -> unpaid corrects a mistake); anything else "
    "is a 409 `INVALID_STATUS_TRANSITION`.",
    tags=_TAGS,
    body=OrderPaymentBody,
    response=OrderView,
    errors=[409],
    role=Role.ADMIN,
)
async def change_payment(call: Call[OrderPaymentBody, None]) -> OrderView:
    return await order_service.change(
        call.deps,
        call.user,
        call.path("orderId"),
        payment_status=call.body.payment_status,
    )
