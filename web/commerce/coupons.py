"""/orgs/{orgId}/coupons: discount codes. Any member may list, read and validate them (agents
quote them in chats and place orders with them); creating, changing and deleting is ADMIN."""

from __future__ import annotations

from inbox.accounts.documents import Role
from inbox.commerce import coupons as coupon_service
from inbox.commerce.order_views import CouponValidationView, CouponView
from web.commerce.order_schemas import (
    CouponBody,
    CouponQuery,
    CouponUpdateBody,
    CouponValidateQuery,
)
from web.endpoints import Call, Paged, Routes
from web.schemas import Ok

routes = Routes("coupons")

_TAGS = ["coupons"]


@routes.get(
    "/orgs/{orgId}/coupons",
    "List coupons",
    description="Newest first; `isActive` filters, `search` matches part of the code.",
    tags=_TAGS,
    query=CouponQuery,
    response=CouponView,
    list_response=True,
)
async def list_coupons(call: Call[None, CouponQuery]) -> Paged:
    return Paged(
        *await coupon_service.list_coupons(
            call.org_id,
            coupon_service.CouponFilters(is_active=call.query.is_active, search=call.query.search),
            call.page.skip,
            call.page.limit,
        )
    )


@routes.post(
    "/orgs/{orgId}/coupons",
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
    role=Role.ADMIN,
)
async def create(call: Call[CouponBody, None]) -> CouponView:
    return await coupon_service.create(call.user, call.body.model_dump())


@routes.get(
    "/orgs/{orgId}/coupons/{code}/validate",
    "Validate a coupon code for an order total",
    description="Always 200: `valid`, the `discount` it gives on `orderTotal` and the total "
    "after it, or the `reason` it does not apply: `unknown`, `inactive`, `not_started`, "
    "`expired`, `usage_limit_reached` or `below_min_order_value`. The code matches in any case.",
    tags=_TAGS,
    query=CouponValidateQuery,
    response=CouponValidationView,
)
async def validate(call: Call[None, CouponValidateQuery]) -> CouponValidationView:
    return await coupon_service.validate(call.org_id, call.path("code"), call.query.order_total)


@routes.get("/orgs/{orgId}/coupons/{couponId}", "Get a coupon", tags=_TAGS, response=CouponView)
async def get(call: Call[None, None]) -> CouponView:
    return await coupon_service.detail(call.org_id, call.path("couponId"))


@routes.put(
    "/orgs/{orgId}/coupons/{couponId}",
    "Update a coupon (ADMIN)",
    description="Only the fields given change; `null` clears `description`, `maxDiscount`, "
    "`startsAt`, `expiresAt` or `usageLimit`. `usedCount` is kept by orders.",
    tags=_TAGS,
    body=CouponUpdateBody,
    response=CouponView,
    errors=[409],
    role=Role.ADMIN,
)
async def update(call: Call[CouponUpdateBody, None]) -> CouponView:
    return await coupon_service.update(call.user, call.path("couponId"), call.body.changes())


@routes.delete(
    "/orgs/{orgId}/coupons/{couponId}",
    "Delete a coupon (ADMIN)",
    description="Orders placed with it keep its code.",
    tags=_TAGS,
    response=Ok,
    role=Role.ADMIN,
)
async def delete(call: Call[None, None]) -> Ok:
    await coupon_service.delete(call.user, call.path("couponId"))
    return Ok(message="Coupon deleted")
