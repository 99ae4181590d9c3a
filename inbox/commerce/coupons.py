"""Coupons: percentage or fixed discounts with a minimum order value, a cap, a validity window
and a usage limit.

Codes are kept upper-cased, so `summer10` and `SUMMER10` are one code (unique per org, 409).
A coupon's use is counted by the order service, atomically against its limit, inside the
order's transaction (`claim`); a cancelled order gives its use back (`release`).

The discount math lives here as pure functions (`discount_for`, `problem_with`), shared by
`GET /coupons/{code}/validate` and order creation, so both always agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from pydantic.alias_generators import to_camel
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.commerce.documents import Coupon, CouponType
from inbox.commerce.order_views import CouponValidationView, CouponView, coupon_view
from inbox.document_base import utcnow
from inbox.errors import Conflict, NotFound, ValidationFailed
from inbox.queries import find_one_and_update, get_in_org

CENT = Decimal("0.01")
MAX_CODE_LENGTH = 50
CODE_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CODE_LENGTH}}}")


def money(amount: float | Decimal | int) -> Decimal:
    """An amount rounded to cents (half up), computed in decimal so 0.1 + 0.2 is 0.30."""
    return Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)


def normalise_code(code: str) -> str:
    return code.strip().upper()


class InvalidReason(StrEnum):
    UNKNOWN = "unknown"
    INACTIVE = "inactive"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    USAGE_LIMIT_REACHED = "usage_limit_reached"
    BELOW_MIN_ORDER_VALUE = "below_min_order_value"


def reason_message(reason: InvalidReason, coupon: Coupon | None) -> str:
    if reason is InvalidReason.BELOW_MIN_ORDER_VALUE and coupon is not None:
        return f"The order must be at least {money(coupon.min_order_value)} for this coupon"
    return {
        InvalidReason.UNKNOWN: "No such coupon",
        InvalidReason.INACTIVE: "The coupon is not active",
        InvalidReason.NOT_STARTED: "The coupon is not valid yet",
        InvalidReason.EXPIRED: "The coupon has expired",
        InvalidReason.USAGE_LIMIT_REACHED: "The coupon has been used as often as it may be",
        InvalidReason.BELOW_MIN_ORDER_VALUE: "The order is below the coupon's minimum",
    }[reason]


def problem_with(
    coupon: Coupon | None, order_total: Decimal, now: datetime
) -> InvalidReason | None:
    """Why `coupon` cannot discount an order of `order_total` at `now`; None when it can.

    Checked in this order, so the reason given is the most fundamental one."""
    if coupon is None:
        return InvalidReason.UNKNOWN
    if not coupon.is_active:
        return InvalidReason.INACTIVE
    if coupon.starts_at is not None and now < coupon.starts_at:
        return InvalidReason.NOT_STARTED
    if coupon.expires_at is not None and now >= coupon.expires_at:
        return InvalidReason.EXPIRED
    if coupon.usage_limit is not None and coupon.used_count >= coupon.usage_limit:
        return InvalidReason.USAGE_LIMIT_REACHED
    if order_total < money(coupon.min_order_value):
        return InvalidReason.BELOW_MIN_ORDER_VALUE
    return None


def discount_for(coupon: Coupon, order_total: Decimal) -> Decimal:
    """The coupon's discount on `order_total`: a percentage (capped by `maxDiscount`) or a fixed
    amount, in cents, never more than the order itself."""
    if coupon.type is CouponType.PERCENTAGE:
        amount = money(order_total * Decimal(str(coupon.value)) / 100)
    else:
        amount = money(coupon.value)
    if coupon.max_discount is not None:
        amount = min(amount, money(coupon.max_discount))
    return max(Decimal("0.00"), min(amount, order_total))


# ---------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class CouponFilters:
    is_active: bool | None = None
    search: str | None = None  # part of the code, any case


async def list_coupons(
    org_id: str, filters: CouponFilters, skip: int, limit: int
) -> tuple[list[CouponView], int]:
    query: dict[str, Any] = {"orgId": org_id}
    if filters.is_active is not None:
        query["isActive"] = filters.is_active
    if filters.search:
        query["code"] = {"$regex": re.escape(normalise_code(filters.search))}
    found = Coupon.find(query)
    total = await found.count()
    page = await found.sort(-Coupon.created_at, +Coupon.id).skip(skip).limit(limit).to_list()
    return [coupon_view(c) for c in page], total


async def get(org_id: str, coupon_id: str) -> Coupon:
    return await get_in_org(Coupon, org_id, coupon_id, "Coupon")


async def detail(org_id: str, coupon_id: str) -> CouponView:
    return coupon_view(await get(org_id, coupon_id))


async def by_code(org_id: str, code: str) -> Coupon | None:
    return await Coupon.find_one(Coupon.org_id == org_id, Coupon.code == normalise_code(code))


async def validate(org_id: str, code: str, order_total: float) -> CouponValidationView:
    """Whether `code` would discount an order of `order_total` now, and by how much."""
    total = money(order_total)
    # A code that could never have been saved is unknown without asking the database (and
    # path text such as lone surrogates never reaches it).
    coupon = await by_code(org_id, code) if CODE_PATTERN.fullmatch(code.strip()) else None
    reason = problem_with(coupon, total, utcnow())
    discount = discount_for(coupon, total) if coupon is not None and reason is None else None
    return CouponValidationView(
        valid=reason is None,
        code=coupon.code if coupon else _shown(normalise_code(code)),
        reason=reason.value if reason else None,
        message=reason_message(reason, coupon) if reason else "The coupon applies",
        type=coupon.type if coupon else None,
        value=coupon.value if coupon else None,
        order_total=float(total),
        discount=float(discount or 0),
        total_after_discount=float(total - (discount or 0)),
    )


def _shown(code: str) -> str:
    """The code as given, cut to a code's length and safe to answer as UTF-8 JSON."""
    return code[:MAX_CODE_LENGTH].encode("utf-8", "replace").decode("utf-8")


# ---------------------------------------------------------------------------------- writing


def _check(coupon: Coupon) -> None:
    """Rules across fields, on the coupon as it would be stored (after a partial update too)."""
    details: dict[str, str] = {}
    if coupon.type is CouponType.PERCENTAGE and not 0 < coupon.value <= 100:
        details["value"] = "a percentage must be more than 0 and at most 100"
    if coupon.type is CouponType.FIXED and coupon.value <= 0:
        details["value"] = "a fixed discount must be more than 0"
    if coupon.starts_at and coupon.expires_at and coupon.expires_at <= coupon.starts_at:
        details["expiresAt"] = "must be after startsAt"
    if details:
        raise ValidationFailed("Invalid coupon", details=details)


def _code_taken(code: str) -> Conflict:
    return Conflict(
        "A coupon with this code already exists",
        code="COUPON_CODE_TAKEN",
        details={"code": f"{code!r} is already used by another coupon"},
    )


def _summary(coupon: Coupon) -> dict[str, Any]:
    return {"code": coupon.code, "type": coupon.type.value, "value": coupon.value}


async def create(user: User, fields: dict[str, Any]) -> CouponView:
    coupon = Coupon(org_id=user.org_id, **{**fields, "code": normalise_code(fields["code"])})
    _check(coupon)
    try:
        await coupon.insert()
    except DuplicateKeyError as exc:
        raise _code_taken(coupon.code) from exc
    await audit.record(user, "coupon.create", "coupon", coupon.id, _summary(coupon))
    return coupon_view(coupon)


async def update(user: User, coupon_id: str, changes: dict[str, Any]) -> CouponView:
    """Apply the given fields (a None clears an optional one); `usedCount` is never set here."""
    coupon = await get(user.org_id, coupon_id)
    if "code" in changes:
        changes["code"] = normalise_code(changes["code"])
    changed = sorted(k for k, v in changes.items() if getattr(coupon, k) != v)
    if not changed:
        return coupon_view(coupon)
    updated = coupon.model_copy(update={**changes, "updated_at": utcnow()})
    updated = Coupon.model_validate(updated.model_dump())  # re-check types of the merged whole
    _check(updated)
    # Only the fields the caller changed: a concurrent order's usedCount $inc must survive.
    fields = {to_camel(k): getattr(updated, k) for k in changed}
    fields["updatedAt"] = updated.updated_at
    try:
        result = await Coupon.get_pymongo_collection().update_one(
            {"_id": coupon.id, "orgId": user.org_id}, {"$set": _stored(fields)}
        )
    except DuplicateKeyError as exc:
        raise _code_taken(updated.code) from exc
    if result.matched_count == 0:
        raise NotFound("Coupon not found")
    await audit.record(
        user, "coupon.update", "coupon", coupon.id, {"code": updated.code, "changed": changed}
    )
    return await detail(user.org_id, coupon_id)


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, StrEnum) else v) for k, v in fields.items()}


async def delete(user: User, coupon_id: str) -> None:
    """Orders keep the code they were placed with; a later cancel of one finds no coupon to
    give the use back to, which is fine for a coupon that is gone."""
    coupon = await get(user.org_id, coupon_id)
    await Coupon.find_one(Coupon.org_id == user.org_id, Coupon.id == coupon.id).delete()
    await audit.record(user, "coupon.delete", "coupon", coupon.id, {"code": coupon.code})


# ------------------------------------------------------------- used by orders (transactions)


class CouponRefused(Exception):
    def __init__(self, reason: InvalidReason, coupon: Coupon | None):
        super().__init__(reason.value)
        self.reason = reason
        self.coupon = coupon


async def claim(
    org_id: str, code: str, order_total: Decimal, session: AsyncClientSession
) -> tuple[Coupon, Decimal]:
    """Count one use of `code` for an order of `order_total`, inside the order's transaction,
    and return the coupon and its discount. Raises CouponRefused with the reason otherwise.

    The use is counted by a conditional $inc (`usedCount < usageLimit`), so concurrent orders
    never use a coupon more often than its limit; the transaction takes it back if the order
    fails later."""
    collection = Coupon.get_pymongo_collection()
    normalised = normalise_code(code)
    current = await collection.find_one({"orgId": org_id, "code": normalised}, session=session)
    if current is None:
        raise CouponRefused(InvalidReason.UNKNOWN, None)
    coupon = Coupon.model_validate(current)
    reason = problem_with(coupon, order_total, utcnow())
    if reason is not None:
        raise CouponRefused(reason, coupon)
    limit = coupon.usage_limit
    under_limit: dict[str, Any] = (
        {"usageLimit": None}
        if limit is None
        else {"usageLimit": limit, "usedCount": {"$lt": limit}}
    )
    claimed = await find_one_and_update(
        collection,
        {"_id": coupon.id, "orgId": org_id, "isActive": True, **under_limit},
        {"$inc": {"usedCount": 1}},
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    if claimed is None:
        # Changed since read (limit reached by another order, deactivated, limit edited).
        again = await collection.find_one({"_id": coupon.id}, session=session)
        fresh = Coupon.model_validate(again) if again else None
        reason = problem_with(fresh, order_total, utcnow()) or InvalidReason.USAGE_LIMIT_REACHED
        raise CouponRefused(reason, fresh)
    return coupon, discount_for(coupon, order_total)


async def release(org_id: str, coupon_id: str, session: AsyncClientSession) -> None:
    """Give back one use (a cancelled order's), never below zero."""
    await Coupon.get_pymongo_collection().update_one(
        {"_id": coupon_id, "orgId": org_id, "usedCount": {"$gt": 0}},
        {"$inc": {"usedCount": -1}},
        session=session,
    )
