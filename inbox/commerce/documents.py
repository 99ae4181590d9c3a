"""The commerce side: catalogue (categories, products), coupons and orders.

Money is kept as float in the store's currency, rounded to cents by the services that compute
it; counts that several requests change at once (stock, sales, usage) only ever change by $inc.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pymongo import ASCENDING, DESCENDING, IndexModel

from inbox.document_base import _alias, _Base, utcnow

__all__ = [
    "Category",
    "Product",
    "product_sku_key",
    "CouponType",
    "Coupon",
    "OrderStatus",
    "PaymentStatus",
    "OrderType",
    "OrderItem",
    "Order",
    "Counter",
    "COMMERCE_DOCUMENTS",
]


class Category(_Base):
    org_id: str
    name: str
    slug: str  # unique per org
    description: str | None = None
    image: str | None = None
    parent_id: str | None = None
    is_active: bool = True
    sort_order: int = 0

    class Settings:
        name = "categories"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("slug", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("parentId", ASCENDING)]),
        ]


def product_sku_key(product_id: str, sku: str | None) -> str:
    return f"sku:{sku.casefold()}" if sku else f"id:{product_id}"


class Product(_Base):
    org_id: str
    name: str
    slug: str  # unique per org
    description: str | None = None
    sku: str | None = None
    barcode: str | None = None
    price: float
    category_id: str | None = None
    images: list[str] = Field(default_factory=list)  # URLs served by the product image route
    tags: list[str] = Field(default_factory=list)
    is_active: bool = True
    featured: bool = False
    stock_quantity: int = 0  # decremented atomically by orders, never below zero
    sales_count: int = 0  # units sold by orders not cancelled
    # What makes a SKU unique per org: "sku:<casefolded sku>", or "id:<id>" for a product
    # without one (a plain unique index, as the embedded server ignores partial indexes).
    sku_key: str | None = None

    @model_validator(mode="after")
    def _default_sku_key(self) -> Product:
        if self.sku_key is None:
            self.sku_key = product_sku_key(self.id, self.sku)
        return self

    class Settings:
        name = "products"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("slug", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("skuKey", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("name", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("price", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("categoryId", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("salesCount", DESCENDING)]),
        ]


class CouponType(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"


class Coupon(_Base):
    org_id: str
    code: str  # upper-cased, unique per org
    type: CouponType
    value: float
    description: str | None = None
    min_order_value: float = 0.0
    max_discount: float | None = None
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    usage_limit: int | None = None
    used_count: int = 0
    is_active: bool = True

    class Settings:
        name = "coupons"
        indexes = [IndexModel([("orgId", ASCENDING), ("code", ASCENDING)], unique=True)]


class OrderStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    REFUNDED = "refunded"


class OrderType(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class OrderItem(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    product_id: str
    name: str
    sku: str | None = None
    quantity: int
    unit_price: float
    total: float


class Order(_Base):
    org_id: str
    order_number: str  # ORD-<year>-<sequence>, unique per org
    customer_id: str
    items: list[OrderItem]
    subtotal: float
    discount: float = 0.0
    coupon_code: str | None = None
    coupon_id: str | None = None  # the coupon whose use a cancel gives back
    shipping: float = 0.0
    tax: float = 0.0
    total: float
    status: OrderStatus = OrderStatus.PENDING
    payment_status: PaymentStatus = PaymentStatus.UNPAID
    payment_method: str | None = None
    order_type: OrderType = OrderType.ONLINE
    shipping_address: dict[str, str] | None = None
    notes: str | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None

    class Settings:
        name = "orders"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("orderNumber", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel(
                [("orgId", ASCENDING), ("customerId", ASCENDING), ("createdAt", DESCENDING)]
            ),
            IndexModel([("orgId", ASCENDING), ("status", ASCENDING), ("createdAt", DESCENDING)]),
        ]


class Counter(Document):
    """A named sequence, e.g. "<orgId>:orders:2026", advanced with $inc (find_one_and_update)."""

    model_config = ConfigDict(alias_generator=_alias, populate_by_name=True)

    id: str  # type: ignore[assignment]
    seq: int = 0
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "counters"


COMMERCE_DOCUMENTS: list[type[Document]] = [Category, Product, Coupon, Order, Counter]
