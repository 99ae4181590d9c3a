"""What the API shows of coupons and orders (field names from the sales-dashboard and
e-commerce documents: an order has `total` and, as the sales document calls it, `totalAmount`;
an item has `unitPrice` and the document's `price`)."""

from __future__ import annotations

from datetime import datetime

from inbox.commerce.documents import (
    Coupon,
    CouponType,
    Order,
    OrderStatus,
    OrderType,
    PaymentStatus,
)
from inbox.crm.customer_documents import Customer
from inbox.view_base import View

__all__ = [
    "CouponView",
    "CouponValidationView",
    "OrderCustomerRef",
    "OrderItemView",
    "OrderView",
    "OrderStatsView",
    "coupon_view",
    "order_view",
]


class CouponView(View):
    id: str
    code: str
    type: CouponType
    value: float
    description: str | None
    min_order_value: float
    max_discount: float | None
    starts_at: datetime | None
    expires_at: datetime | None
    usage_limit: int | None
    used_count: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class CouponValidationView(View):
    valid: bool
    code: str
    # unknown, inactive, not_started, expired, usage_limit_reached, below_min_order_value
    reason: str | None
    message: str
    type: CouponType | None
    value: float | None
    order_total: float
    discount: float
    total_after_discount: float


class OrderCustomerRef(View):
    id: str
    name: str
    email: str | None
    phone: str | None


class OrderItemView(View):
    product_id: str
    name: str
    sku: str | None
    quantity: int
    unit_price: float
    price: float  # the sales document's name for the unit price
    total: float


class OrderView(View):
    id: str
    order_number: str
    customer_id: str
    customer: OrderCustomerRef | None  # None once the customer is deleted
    items: list[OrderItemView]
    subtotal: float
    discount: float
    coupon_code: str | None
    shipping: float
    tax: float
    total: float
    total_amount: float  # = total, as the sales document calls it
    status: OrderStatus
    payment_status: PaymentStatus
    payment_method: str | None
    order_type: OrderType
    shipping_address: dict[str, str] | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    cancelled_at: datetime | None


class OrderStatsView(View):
    total_orders: int  # every matching order, cancelled ones included
    cancelled_orders: int
    total_revenue: float  # sum of `total` over the matching orders that are not cancelled
    average_order_value: float  # totalRevenue / the not-cancelled orders (0 when none)


def coupon_view(coupon: Coupon) -> CouponView:
    return CouponView.model_validate(coupon, from_attributes=True)


def order_view(order: Order, customer: Customer | None) -> OrderView:
    return OrderView(
        id=order.id,
        order_number=order.order_number,
        customer_id=order.customer_id,
        customer=OrderCustomerRef(
            id=customer.id, name=customer.name, email=customer.email, phone=customer.phone
        )
        if customer
        else None,
        items=[
            OrderItemView(
                product_id=i.product_id,
                name=i.name,
                sku=i.sku,
                quantity=i.quantity,
                unit_price=i.unit_price,
                price=i.unit_price,
                total=i.total,
            )
            for i in order.items
        ],
        subtotal=order.subtotal,
        discount=order.discount,
        coupon_code=order.coupon_code,
        shipping=order.shipping,
        tax=order.tax,
        total=order.total,
        total_amount=order.total,
        status=order.status,
        payment_status=order.payment_status,
        payment_method=order.payment_method,
        order_type=order.order_type,
        shipping_address=order.shipping_address,
        notes=order.notes,
        created_at=order.created_at,
        updated_at=order.updated_at,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
    )
