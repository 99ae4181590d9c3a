"""Request bodies and query strings of /orgs/{orgId}/coupons and /orgs/{orgId}/orders."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from inbox.commerce.documents import CouponType, OrderStatus, OrderType, PaymentStatus
from inbox.commerce.orders import MAX_ITEMS
from web.schemas import Body, _Query

# Far above any real price or order, and inside what decimal money math keeps exactly.
MAX_AMOUNT = 1_000_000_000
MAX_QUANTITY = 100_000
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _utc(v: datetime | None) -> datetime | None:
    # A time without a zone is read as UTC, like every time the API returns.
    return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v


def _field_error(model: str, field: str, message: str, value: Any) -> ValidationError:
    """A validation error on one named field, so the 400's details name it."""
    return ValidationError.from_exception_data(
        model,
        [InitErrorDetails(type=PydanticCustomError("invalid", message), loc=(field,), input=value)],
    )


# ---------------------------------------------------------------------------------- coupons

_CODE = dict(
    min_length=1,
    max_length=50,
    pattern=r"^[A-Za-z0-9_-]+$",
    description="Letters, digits, `-` and `_`; stored upper-cased, unique per org in any case",
)


class CouponBody(Body):
    code: str = Field(**_CODE)  # type: ignore[arg-type]
    type: CouponType
    value: float = Field(
        gt=0, le=MAX_AMOUNT, description="A percentage (more than 0, at most 100) or an amount"
    )
    description: str | None = Field(default=None, max_length=1000)
    min_order_value: float = Field(default=0.0, ge=0, le=MAX_AMOUNT)
    max_discount: float | None = Field(
        default=None, gt=0, le=MAX_AMOUNT, description="Caps a percentage coupon's discount"
    )
    starts_at: datetime | None = Field(default=None, description="Valid from (UTC)")
    expires_at: datetime | None = Field(
        default=None, description="Valid until, exclusive (UTC); after startsAt"
    )
    usage_limit: int | None = Field(
        default=None, ge=1, le=1_000_000_000, description="Uses allowed over all orders"
    )
    is_active: bool = True

    @field_validator("starts_at", "expires_at")
    @classmethod
    def _zones(cls, v: datetime | None) -> datetime | None:
        return _utc(v)


class CouponUpdateBody(Body):
    """Only the fields given change; `null` clears an optional one."""

    code: str | None = Field(default=None, **_CODE)  # type: ignore[arg-type]
    type: CouponType | None = None
    value: float | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    description: str | None = Field(default=None, max_length=1000)
    min_order_value: float | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    max_discount: float | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    usage_limit: int | None = Field(default=None, ge=1, le=1_000_000_000)
    is_active: bool | None = None

    # Fields that cannot be cleared: `null` for them is refused rather than ignored.
    REQUIRED: ClassVar[tuple[str, ...]] = ("code", "type", "value", "min_order_value", "is_active")

    @field_validator("starts_at", "expires_at")
    @classmethod
    def _zones(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _not_cleared(self) -> CouponUpdateBody:
        for name in self.REQUIRED:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise _field_error("CouponUpdateBody", to_camel(name), "may not be null", None)
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class CouponQuery(_Query):
    is_active: bool | None = None
    search: str | None = Field(default=None, max_length=50, description="Part of the code")


class CouponValidateQuery(_Query):
    order_total: float = Field(
        ge=0, le=MAX_AMOUNT, description="The order's subtotal the coupon would apply to"
    )


# ----------------------------------------------------------------------------------- orders


class OrderItemBody(Body):
    product_id: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    price: float | None = Field(
        default=None, description="Ignored: prices come from the product when the order is placed"
    )


class ShippingAddress(Body):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=500)
    city: str | None = Field(default=None, max_length=200)
    state: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=200)
    zip_code: str | None = Field(default=None, max_length=50)

    def stored(self) -> dict[str, str]:
        return self.model_dump(by_alias=True, exclude_none=True)


class OrderCreateBody(Body):
    customer_id: str = Field(min_length=1, max_length=100)
    items: list[OrderItemBody] = Field(min_length=1, max_length=MAX_ITEMS)
    coupon_code: str | None = Field(default=None, min_length=1, max_length=50)
    order_type: OrderType = OrderType.ONLINE
    payment_status: PaymentStatus = PaymentStatus.UNPAID
    payment_method: str | None = Field(
        default=None, max_length=50, description="e.g. cod, card, stripe, paypal"
    )
    shipping_address: ShippingAddress | None = None
    shipping: float = Field(default=0.0, ge=0, le=MAX_AMOUNT, description="Shipping fee")
    notes: str | None = Field(default=None, max_length=2000)
    total_amount: float | None = Field(
        default=None, description="Ignored: the total is computed from the products"
    )


class OrderStatusBody(Body):
    status: OrderStatus
    payment_status: PaymentStatus | None = Field(
        default=None, description="Optionally change the payment status in the same call"
    )


class OrderPaymentBody(Body):
    payment_status: PaymentStatus


class OrderQuery(_Query):
    status: OrderStatus | None = None
    customer_id: str | None = Field(default=None, max_length=100)
    start_date: datetime | None = Field(
        default=None, description="Created at or after (ISO 8601 date or time; UTC)"
    )
    end_date: datetime | None = Field(
        default=None,
        description="Created at or before (ISO 8601; a date alone includes that whole day)",
    )
    payment_status: PaymentStatus | None = None
    order_type: OrderType | None = None

    @field_validator("end_date", mode="before")
    @classmethod
    def _whole_day(cls, v: Any) -> Any:
        if isinstance(v, str) and _DATE_ONLY.match(v.strip()):
            return f"{v.strip()}T23:59:59.999"
        return v

    @field_validator("start_date", "end_date")
    @classmethod
    def _zones(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _ordered(self) -> OrderQuery:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise _field_error(
                "OrderQuery", "startDate", "must not be after endDate", self.start_date.isoformat()
            )
        return self
