"""Order totals and coupon math: pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from inbox.commerce.coupons import InvalidReason, discount_for, money, problem_with
from inbox.commerce.documents import Coupon, CouponType, OrderStatus, PaymentStatus
from inbox.commerce.orders import PAYMENT_TRANSITIONS, TRANSITIONS, Line, order_number, totals

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def coupon(**fields) -> Coupon:
    # model_construct: a Beanie document cannot be built the usual way without a database.
    return Coupon.model_construct(
        org_id="org", **{"code": "C", "type": CouponType.PERCENTAGE, "value": 10, **fields}
    )


def test_money_rounds_half_up_to_cents_in_decimal():
    assert money(0.1 + 0.2) == Decimal("0.30")
    assert money(2.675) == Decimal("2.68")  # 2.675 as a float is 2.67499..., its text is not
    assert money(1) == Decimal("1.00")


def test_totals_add_rounded_lines_subtract_discount_and_add_shipping():
    lines = [Line(Decimal("19.99"), 3), Line(Decimal("0.10"), 7)]
    result = totals(lines, Decimal("5"), Decimal("4.5"))
    assert result.subtotal == Decimal("60.67")
    assert result.discount == Decimal("5.00")
    assert result.shipping == Decimal("4.50")
    assert result.total == Decimal("60.17")


def test_a_discount_never_takes_the_total_below_the_shipping():
    result = totals([Line(Decimal("10"), 1)], Decimal("25"), Decimal("3"))
    assert result.discount == Decimal("10.00")
    assert result.total == Decimal("3.00")


def test_percentage_coupon_discount_is_rounded_and_capped():
    assert discount_for(coupon(value=15), Decimal("33.33")) == Decimal("5.00")  # 4.9995
    assert discount_for(coupon(value=50, max_discount=20), Decimal("100")) == Decimal("20.00")
    assert discount_for(coupon(value=100), Decimal("42.42")) == Decimal("42.42")


def test_fixed_coupon_discount_is_its_value_but_never_more_than_the_order():
    fixed = coupon(type=CouponType.FIXED, value=15)
    assert discount_for(fixed, Decimal("100")) == Decimal("15.00")
    assert discount_for(fixed, Decimal("9.99")) == Decimal("9.99")


@pytest.mark.parametrize(
    ("fields", "total", "reason"),
    [
        ({}, Decimal("10"), None),
        ({"is_active": False}, Decimal("10"), InvalidReason.INACTIVE),
        ({"starts_at": NOW + timedelta(seconds=1)}, Decimal("10"), InvalidReason.NOT_STARTED),
        ({"starts_at": NOW}, Decimal("10"), None),
        ({"expires_at": NOW}, Decimal("10"), InvalidReason.EXPIRED),
        ({"expires_at": NOW + timedelta(days=1)}, Decimal("10"), None),
        ({"usage_limit": 2, "used_count": 2}, Decimal("10"), InvalidReason.USAGE_LIMIT_REACHED),
        ({"usage_limit": 2, "used_count": 1}, Decimal("10"), None),
        ({"min_order_value": 50}, Decimal("49.99"), InvalidReason.BELOW_MIN_ORDER_VALUE),
        ({"min_order_value": 50}, Decimal("50"), None),
        # The most fundamental reason wins.
        ({"is_active": False, "expires_at": NOW}, Decimal("10"), InvalidReason.INACTIVE),
    ],
)
def test_coupon_problems_are_found_in_order(fields, total, reason):
    assert problem_with(coupon(**fields), total, NOW) == reason


def test_an_unknown_coupon_is_a_problem():
    assert problem_with(None, Decimal("10"), NOW) is InvalidReason.UNKNOWN


def test_order_numbers_carry_year_and_a_six_digit_sequence():
    assert order_number(2026, 1) == "ORD-2026-000001"
    assert order_number(2026, 1234567) == "ORD-2026-1234567"


def test_status_transitions_follow_the_documented_flow():
    assert TRANSITIONS[OrderStatus.PENDING] == {OrderStatus.PROCESSING, OrderStatus.CANCELLED}
    assert OrderStatus.DELIVERED in TRANSITIONS[OrderStatus.COMPLETED]
    assert OrderStatus.CANCELLED not in TRANSITIONS[OrderStatus.COMPLETED]
    assert not TRANSITIONS[OrderStatus.CANCELLED] and not TRANSITIONS[OrderStatus.DELIVERED]
    assert PAYMENT_TRANSITIONS[PaymentStatus.UNPAID] == {PaymentStatus.PAID}
    assert not PAYMENT_TRANSITIONS[PaymentStatus.REFUNDED]
