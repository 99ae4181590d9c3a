"""/orgs/{orgId}/orders: orders placed for customers, priced from the org's products.

Any member may read orders and place them (agents take orders in chats); moving an order's
status or payment status is ADMIN only. Orders are never deleted: cancel them instead."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.commerce import orders as order_service
from inbox.commerce.order_views import OrderStatsView, OrderView
from web import keys
from web.auth import authenticated, current_user
from web.commerce.order_schemas import (
    OrderCreateBody,
    OrderPaymentBody,
    OrderQuery,
    OrderStatusBody,
)
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query

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


@spec(
    "List orders",
    description="Newest first. Filters: `status`, `customerId`, `startDate`/`endDate` (on "
    "createdAt; a date alone means that whole day for `endDate`), `paymentStatus`, `orderType`.",
    tags=_TAGS,
    query=OrderQuery,
    response=OrderView,
    list_response=True,
)
@authenticated()
async def list_orders(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, OrderQuery)
    found, total = await order_service.list_orders(
        current_user(request).org_id, _filters(q), page.skip, page.limit
    )
    return paged_response(request, [v.dump() for v in found], total, page)


@spec(
    "Order count, revenue and average order value",
    description="Over the orders the same filters as the list match. `totalRevenue` and "
    "`averageOrderValue` leave cancelled orders out; `totalOrders` counts them.",
    tags=_TAGS,
    query=OrderQuery,
    response=OrderStatsView,
)
@authenticated()
async def stats(request: web.Request) -> web.Response:
    q = query(request, OrderQuery)
    result = await order_service.stats(current_user(request).org_id, _filters(q))
    return web.json_response(result.dump())


@spec(
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
@authenticated()
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, OrderCreateBody)
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
    view = await order_service.create(request.app[keys.DEPS], current_user(request), new)
    return web.json_response(view.dump(), status=201)


@spec("Get an order", tags=_TAGS, response=OrderView)
@authenticated()
async def get(request: web.Request) -> web.Response:
    order = await order_service.get(current_user(request).org_id, request.match_info["orderId"])
    return web.json_response((await order_service.view(order)).dump())


@spec(
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
)
@authenticated(Role.ADMIN)
async def change_status(request: web.Request) -> web.Response:
    body = await json_body(request, OrderStatusBody)
    view = await order_service.change(
        request.app[keys.DEPS],
        current_user(request),
        request.match_info["orderId"],
        status=body.status,
        payment_status=body.payment_status,
    )
    return web.json_response(view.dump())


@spec(
    "Change an order's payment status (ADMIN)",
    description="unpaid -> paid -> refunded (paid -> unpaid corrects a mistake); anything else "
    "is a 409 `INVALID_STATUS_TRANSITION`.",
    tags=_TAGS,
    body=OrderPaymentBody,
    response=OrderView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def change_payment(request: web.Request) -> web.Response:
    body = await json_body(request, OrderPaymentBody)
    view = await order_service.change(
        request.app[keys.DEPS],
        current_user(request),
        request.match_info["orderId"],
        payment_status=body.payment_status,
    )
    return web.json_response(view.dump())
