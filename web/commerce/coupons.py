"""/orgs/{orgId}/coupons: discount codes. Any member may list, read and validate them (agents
quote them in chats and place orders with them); creating, changing and deleting is ADMIN."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.commerce import coupons as coupon_service
from inbox.commerce.order_views import CouponValidationView, CouponView, coupon_view
from web.auth import authenticated, current_user
from web.commerce.order_schemas import (
    CouponBody,
    CouponQuery,
    CouponUpdateBody,
    CouponValidateQuery,
)
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query
from web.schemas import Ok

_TAGS = ["coupons"]


@spec(
    "List coupons",
    description="Newest first; `isActive` filters, `search` matches part of the code.",
    tags=_TAGS,
    query=CouponQuery,
    response=CouponView,
    list_response=True,
)
@authenticated()
async def list_coupons(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, CouponQuery)
    found, total = await coupon_service.list_coupons(
        current_user(request).org_id,
        coupon_service.CouponFilters(is_active=q.is_active, search=q.search),
        page.skip,
        page.limit,
    )
    return paged_response(request, [coupon_view(c).dump() for c in found], total, page)


@spec(
    "Create a coupon (ADMIN)",
    description="`percentage` (value more than 0, at most 100; `maxDiscount` caps it) or "
    "`fixed` (an amount). The code is kept upper-cased and is unique in the org in any case "
    "(409). Valid from `startsAt` until `expiresAt`, for orders of at least `minOrderValue`, "
    "at most `usageLimit` times.",
    tags=_TAGS,
    body=CouponBody,
    response=CouponView,
    status=201,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, CouponBody)
    coupon = await coupon_service.create(current_user(request), body.model_dump())
    return web.json_response(coupon_view(coupon).dump(), status=201)


@spec("Get a coupon", tags=_TAGS, response=CouponView)
@authenticated()
async def get(request: web.Request) -> web.Response:
    coupon = await coupon_service.get(current_user(request).org_id, request.match_info["couponId"])
    return web.json_response(coupon_view(coupon).dump())


@spec(
    "Update a coupon (ADMIN)",
    description="Only the fields given change; `null` clears `description`, `maxDiscount`, "
    "`startsAt`, `expiresAt` or `usageLimit`. `usedCount` is kept by orders.",
    tags=_TAGS,
    body=CouponUpdateBody,
    response=CouponView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def update(request: web.Request) -> web.Response:
    body = await json_body(request, CouponUpdateBody)
    coupon = await coupon_service.update(
        current_user(request), request.match_info["couponId"], body.changes()
    )
    return web.json_response(coupon_view(coupon).dump())


@spec(
    "Delete a coupon (ADMIN)",
    description="Orders placed with it keep its code.",
    tags=_TAGS,
    response=Ok,
)
@authenticated(Role.ADMIN)
async def delete(request: web.Request) -> web.Response:
    await coupon_service.delete(current_user(request), request.match_info["couponId"])
    return web.json_response(Ok(message="Coupon deleted").model_dump())


@spec(
    "Validate a coupon code for an order total",
    description="Always 200: `valid`, the `discount` it gives on `orderTotal` and the total "
    "after it, or the `reason` it does not apply: `unknown`, `inactive`, `not_started`, "
    "`expired`, `usage_limit_reached` or `below_min_order_value`. The code matches in any case.",
    tags=_TAGS,
    query=CouponValidateQuery,
    response=CouponValidationView,
)
@authenticated()
async def validate(request: web.Request) -> web.Response:
    q = query(request, CouponValidateQuery)
    result = await coupon_service.validate(
        current_user(request).org_id, request.match_info["code"], q.order_total
    )
    return web.json_response(result.dump())
