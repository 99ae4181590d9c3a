"""Orders and coupons over HTTP: pricing, stock under concurrency, rollback, transitions,
cancel, coupons (validation, usage limit under concurrency), numbering, filters, stats, roles,
other orgs and bad input."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from adapters.event_log import RedisEventLog
from tests.integration.conftest import Api, signup
from tests.integration.test_auth import invite_agent

pytestmark = pytest.mark.usefixtures("db")

YEAR = datetime.now(UTC).year


# ------------------------------------------------------------------------------- helpers


async def product(org_id: str, name: str, price: float, stock: int, **fields: Any) -> str:
    """A product as the catalogue would store it (the product API is another area's)."""
    from inbox.commerce.documents import Product

    doc = Product(
        org_id=org_id,
        name=name,
        slug=f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}",
        price=price,
        stock_quantity=stock,
        sku=f"SKU-{uuid.uuid4().hex[:8]}",
        **fields,
    )
    await doc.insert()
    return doc.id


async def product_doc(product_id: str) -> Any:
    from inbox.commerce.documents import Product

    return await Product.find_one(Product.id == product_id)


async def customer(org_id: str, name: str = "Alice Johnson", **fields: Any) -> str:
    from inbox.crm.customer_documents import Customer

    doc = Customer(org_id=org_id, name=name, email=f"{uuid.uuid4().hex[:8]}@example.com", **fields)
    await doc.insert()
    return doc.id


async def customer_doc(customer_id: str) -> Any:
    from inbox.crm.customer_documents import Customer

    return await Customer.find_one(Customer.id == customer_id)


async def place(api: Api, customer_id: str, items: list[tuple[str, int]], **extra: Any):
    body = {
        "customerId": customer_id,
        "items": [{"productId": p, "quantity": q} for p, q in items],
        **extra,
    }
    return await api.post(f"/orgs/{api.org_id}/orders", body)


async def placed(api: Api, customer_id: str, items: list[tuple[str, int]], **extra: Any) -> dict:
    status, order, _ = await place(api, customer_id, items, **extra)
    assert status == 201, order
    return order


async def set_status(api: Api, order_id: str, status: str) -> tuple[int, Any]:
    code, body, _ = await api.patch(
        f"/orgs/{api.org_id}/orders/{order_id}/status", {"status": status}
    )
    return code, body


async def new_coupon(api: Api, **fields: Any) -> dict:
    status, coupon, _ = await api.post(
        f"/orgs/{api.org_id}/coupons",
        {"code": f"C{uuid.uuid4().hex[:8]}", "type": "percentage", "value": 10, **fields},
    )
    assert status == 201, coupon
    return coupon


async def validate(api: Api, code: str, total: float) -> dict:
    status, body, _ = await api.get(
        f"/orgs/{api.org_id}/coupons/{code}/validate?orderTotal={total}"
    )
    assert status == 200, body
    return body


async def events_of(settings: Any, org_id: str) -> list[Any]:
    redis = Redis.from_url(settings.redis_url)
    try:
        return await RedisEventLog(redis, 10_000).since(org_id, "0-0", count=10_000)
    finally:
        await redis.aclose()


# ------------------------------------------------------------------------- placing orders


async def test_an_order_is_priced_from_the_products_and_moves_stock_sales_and_totals(
    admin, settings
):
    mug = await product(admin.org_id, "Mug", 12.5, 10)
    tea = await product(admin.org_id, "Tea", 4.99, 100)
    alice = await customer(admin.org_id)
    coupon = await new_coupon(admin, code="welcome10", value=10)

    status, order, _ = await admin.post(
        f"/orgs/{admin.org_id}/orders",
        {
            "customerId": alice,
            # The client's prices and total are ignored.
            "items": [
                {"productId": mug, "quantity": 2, "price": 0.01},
                {"productId": tea, "quantity": 3},
            ],
            "totalAmount": 1.0,
            "couponCode": "Welcome10",
            "orderType": "offline",
            "paymentMethod": "cod",
            "shipping": 4.5,
            "shippingAddress": {"address": "1 Main St", "city": "Pune", "zipCode": "411001"},
            "notes": "Leave at the door",
        },
    )
    assert status == 201, order
    assert order["orderNumber"] == f"ORD-{YEAR}-000001"
    assert [
        (i["name"], i["quantity"], i["unitPrice"], i["price"], i["total"]) for i in order["items"]
    ] == [
        ("Mug", 2, 12.5, 12.5, 25.0),
        ("Tea", 3, 4.99, 4.99, 14.97),
    ]
    assert order["subtotal"] == 39.97
    assert order["discount"] == 4.0  # 10 % of 39.97 = 3.997
    assert order["couponCode"] == coupon["code"] == "WELCOME10"
    assert order["shipping"] == 4.5
    assert order["total"] == order["totalAmount"] == 40.47
    assert order["status"] == "pending" and order["paymentStatus"] == "unpaid"
    assert order["orderType"] == "offline" and order["paymentMethod"] == "cod"
    assert order["shippingAddress"] == {"address": "1 Main St", "city": "Pune", "zipCode": "411001"}
    assert order["customer"]["id"] == alice and order["customer"]["name"] == "Alice Johnson"
    assert order["deliveredAt"] is None and order["cancelledAt"] is None

    mug_doc, tea_doc = await product_doc(mug), await product_doc(tea)
    assert (mug_doc.stock_quantity, mug_doc.sales_count) == (8, 2)
    assert (tea_doc.stock_quantity, tea_doc.sales_count) == (97, 3)
    buyer = await customer_doc(alice)
    assert buyer.total_orders == 1 and buyer.total_revenue == 40.47
    assert buyer.last_order_date.isoformat().startswith(order["createdAt"][:19])
    _, used, _ = await admin.get(f"/orgs/{admin.org_id}/coupons/{coupon['id']}")
    assert used["usedCount"] == 1

    status, fetched, _ = await admin.get(f"/orgs/{admin.org_id}/orders/{order['id']}")
    assert status == 200 and fetched == order

    log = await events_of(settings, admin.org_id)
    created = [e for e in log if e.event == "order.created"]
    assert len(created) == 1 and created[0].data["id"] == order["id"]
    assert created[0].data["totalAmount"] == 40.47
    _, audit, _ = await admin.get(f"/orgs/{admin.org_id}/audit-logs?entity=order")
    assert [a["action"] for a in audit] == ["order.create"]


async def test_concurrent_orders_never_oversell_stock_or_corrupt_totals(admin):
    lamp = await product(admin.org_id, "Lamp", 19.99, 10)
    buyers = [await customer(admin.org_id, f"Buyer {n}") for n in range(4)]

    results = await asyncio.gather(*(place(admin, buyers[n % 4], [(lamp, 1)]) for n in range(20)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] * 10 + [409] * 10
    refusals = [body for status, body, _ in results if status == 409]
    assert all(r["code"] == "INSUFFICIENT_STOCK" for r in refusals)
    assert all(r["details"]["productName"] == "Lamp" for r in refusals)
    assert "items.0.productId" in refusals[0]["details"]

    lamp_doc = await product_doc(lamp)
    assert lamp_doc.stock_quantity == 0 and lamp_doc.sales_count == 10
    orders = [body for status, body, _ in results if status == 201]
    # Numbers are unique and without gaps, whatever order the requests were served in.
    assert sorted(o["orderNumber"] for o in orders) == [f"ORD-{YEAR}-{n:06d}" for n in range(1, 11)]
    for buyer in buyers:
        mine = [o for o in orders if o["customerId"] == buyer]
        doc = await customer_doc(buyer)
        assert doc.total_orders == len(mine)
        assert round(doc.total_revenue, 2) == round(19.99 * len(mine), 2)

    status, body, _ = await place(admin, buyers[0], [(lamp, 1)])
    assert status == 409 and body["details"]["available"] == 0


async def test_a_later_item_without_stock_gives_back_the_earlier_items_stock(admin):
    plenty = await product(admin.org_id, "Plenty", 5, 5)
    none_left = await product(admin.org_id, "None Left", 7, 0)
    alice = await customer(admin.org_id)

    status, body, _ = await place(admin, alice, [(plenty, 2), (none_left, 1)])
    assert status == 409, body
    assert body["code"] == "INSUFFICIENT_STOCK"
    assert "None Left" in body["message"]
    assert body["details"]["items.1.productId"] == "None Left: 1 ordered, 0 in stock"

    plenty_doc = await product_doc(plenty)
    assert plenty_doc.stock_quantity == 5 and plenty_doc.sales_count == 0
    assert (await customer_doc(alice)).total_orders == 0
    _, listed, headers = await admin.get(f"/orgs/{admin.org_id}/orders")
    assert listed == [] and headers["X-Total-Count"] == "0"
    # The refused order took no number.
    assert (await placed(admin, alice, [(plenty, 1)]))["orderNumber"] == f"ORD-{YEAR}-000001"


async def test_the_same_product_twice_is_checked_against_its_stock_as_a_whole(admin):
    pen = await product(admin.org_id, "Pen", 1, 3)
    alice = await customer(admin.org_id)
    status, body, _ = await place(admin, alice, [(pen, 2), (pen, 2)])
    assert status == 409 and body["details"]["items.1.productId"] == "Pen: 2 ordered, 1 in stock"
    assert (await product_doc(pen)).stock_quantity == 3
    order = await placed(admin, alice, [(pen, 2), (pen, 1)])
    assert order["subtotal"] == 3 and (await product_doc(pen)).stock_quantity == 0


async def test_unknown_and_inactive_products_and_customers_are_a_400_naming_them(
    admin, web_url, http
):
    good = await product(admin.org_id, "Good", 3, 10)
    retired = await product(admin.org_id, "Retired", 3, 10, is_active=False)
    alice = await customer(admin.org_id)
    other = await signup(web_url, http, org="Other")
    foreign = await product(other.org_id, "Foreign", 3, 10)
    stranger = await customer(other.org_id)

    status, body, _ = await place(admin, alice, [(good, 1), (retired, 1), (foreign, 1)])
    assert status == 400, body
    assert body["details"] == {
        "items.1.productId": "Retired is not active",
        "items.2.productId": "no such product",
    }
    status, body, _ = await place(admin, stranger, [(good, 1)])
    assert status == 400 and body["details"] == {"customerId": "no such customer"}
    assert (await product_doc(good)).stock_quantity == 10
    assert (await product_doc(foreign)).stock_quantity == 10


async def test_bad_order_input_is_a_400_with_field_details(admin):
    alice = await customer(admin.org_id)
    pen = await product(admin.org_id, "Pen", 1, 3)
    url = f"/orgs/{admin.org_id}/orders"

    status, body, _ = await admin.post(url, {"customerId": alice, "items": []})
    assert status == 400 and "items" in body["details"]
    status, body, _ = await admin.post(
        url,
        {
            "customerId": alice,
            "items": [{"productId": pen, "quantity": 0}],
            "orderType": "mail",
            "shipping": -1,
        },
    )
    assert status == 400
    assert {"items.0.quantity", "orderType", "shipping"} <= set(body["details"])
    status, body, _ = await admin.post(url, {"items": [{"productId": pen, "quantity": 1}]})
    assert status == 400 and "customerId" in body["details"]
    status, body, _ = await admin.post(
        url, {"customerId": alice, "items": [{"productId": pen, "quantity": 1}], "colour": "red"}
    )
    assert status == 400 and "colour" in body["details"]

    status, body, _ = await admin.get(f"{url}?status=lost&startDate=yesterday")
    assert status == 400 and {"status", "startDate"} <= set(body["details"])
    status, body, _ = await admin.get(f"{url}?startDate=2026-02-02&endDate=2026-02-01")
    assert status == 400 and "startDate" in body["details"]
    status, body, _ = await admin.patch(f"{url}/nope/status", {"status": "shipped"})
    assert status == 400 and "status" in body["details"]


# ------------------------------------------------------------------ status and payment


async def test_status_moves_along_the_allowed_transitions_and_refuses_the_rest(admin, settings):
    pen = await product(admin.org_id, "Pen", 2, 50)
    alice = await customer(admin.org_id)
    order = await placed(admin, alice, [(pen, 1)])

    status, body = await set_status(admin, order["id"], "completed")
    assert status == 409, body
    assert body["code"] == "INVALID_STATUS_TRANSITION"
    assert body["details"]["current"] == "pending"
    assert body["details"]["allowed"] == ["cancelled", "processing"]

    status, body = await set_status(admin, order["id"], "processing")
    assert status == 200 and body["status"] == "processing"
    status, body = await set_status(admin, order["id"], "processing")  # again: no change
    assert status == 200 and body["status"] == "processing"
    status, body = await set_status(admin, order["id"], "completed")
    assert status == 200 and body["deliveredAt"] is None
    status, body = await set_status(admin, order["id"], "cancelled")
    assert status == 409 and body["details"]["allowed"] == ["delivered"]
    status, body = await set_status(admin, order["id"], "delivered")
    assert status == 200 and body["status"] == "delivered" and body["deliveredAt"]
    status, body = await set_status(admin, order["id"], "processing")
    assert status == 409 and body["details"]["allowed"] == []

    # Straight from processing to delivered is allowed too.
    other = await placed(admin, alice, [(pen, 1)])
    await set_status(admin, other["id"], "processing")
    status, body = await set_status(admin, other["id"], "delivered")
    assert status == 200 and body["deliveredAt"]

    log = await events_of(settings, admin.org_id)
    updates = [e.data for e in log if e.event == "order.updated" and e.data["id"] == order["id"]]
    assert [(u["previousStatus"], u["status"]) for u in updates] == [
        ("pending", "processing"),
        ("processing", "completed"),
        ("completed", "delivered"),
    ]
    completed = [e.data["id"] for e in log if e.event == "order.completed"]
    assert completed == [order["id"], other["id"]]  # once per order


async def test_cancelling_gives_back_stock_sales_coupon_use_and_customer_totals(admin):
    pen = await product(admin.org_id, "Pen", 10, 5)
    alice = await customer(admin.org_id)
    coupon = await new_coupon(admin, type="fixed", value=3, usageLimit=1)
    first = await placed(admin, alice, [(pen, 1)])
    second = await placed(admin, alice, [(pen, 2)], couponCode=coupon["code"])
    assert second["total"] == 17
    assert (await validate(admin, coupon["code"], 50))["reason"] == "usage_limit_reached"

    await set_status(admin, second["id"], "processing")
    status, body = await set_status(admin, second["id"], "cancelled")
    assert status == 200 and body["status"] == "cancelled" and body["cancelledAt"]

    pen_doc = await product_doc(pen)
    assert pen_doc.stock_quantity == 4 and pen_doc.sales_count == 1
    buyer = await customer_doc(alice)
    assert buyer.total_orders == 1 and buyer.total_revenue == 10
    assert buyer.last_order_date.isoformat()[:19] == first["createdAt"][:19]
    assert (await validate(admin, coupon["code"], 50))["valid"] is True

    # Cancelled is final, and a second cancel gives nothing back twice.
    status, body = await set_status(admin, second["id"], "cancelled")
    assert status == 200
    status, body = await set_status(admin, second["id"], "pending")
    assert status == 409
    assert (await product_doc(pen)).stock_quantity == 4

    await set_status(admin, first["id"], "cancelled")
    buyer = await customer_doc(alice)
    assert buyer.total_orders == 0 and buyer.total_revenue == 0
    assert buyer.last_order_date is None


async def test_concurrent_cancels_give_the_stock_back_once(admin):
    pen = await product(admin.org_id, "Pen", 1, 5)
    order = await placed(admin, await customer(admin.org_id), [(pen, 3)])
    results = await asyncio.gather(*(set_status(admin, order["id"], "cancelled") for _ in range(5)))
    assert {status for status, _ in results} <= {200, 409}
    assert (await product_doc(pen)).stock_quantity == 5


async def test_payment_status_moves_unpaid_paid_refunded(admin):
    pen = await product(admin.org_id, "Pen", 1, 5)
    order = await placed(admin, await customer(admin.org_id), [(pen, 1)])
    url = f"/orgs/{admin.org_id}/orders/{order['id']}/payment"

    status, body, _ = await admin.patch(url, {"paymentStatus": "refunded"})
    assert status == 409 and body["details"]["allowed"] == ["paid"]
    status, body, _ = await admin.patch(url, {"paymentStatus": "paid"})
    assert status == 200 and body["paymentStatus"] == "paid" and body["status"] == "pending"
    status, body, _ = await admin.patch(url, {"paymentStatus": "refunded"})
    assert status == 200 and body["paymentStatus"] == "refunded"
    status, body, _ = await admin.patch(url, {"paymentStatus": "paid"})
    assert status == 409
    status, body, _ = await admin.patch(url, {"paymentStatus": "owed"})
    assert status == 400 and "paymentStatus" in body["details"]

    # The sales document's PATCH .../status may carry the payment status too.
    other = await placed(admin, await customer(admin.org_id), [(pen, 1)])
    status, body, _ = await admin.patch(
        f"/orgs/{admin.org_id}/orders/{other['id']}/status",
        {"status": "processing", "paymentStatus": "paid"},
    )
    assert status == 200 and (body["status"], body["paymentStatus"]) == ("processing", "paid")


# ---------------------------------------------------------------------- lists and stats


async def test_orders_are_listed_newest_first_filtered_paged_and_summed(admin, db):
    from inbox.commerce import orders as order_service
    from inbox.commerce.documents import Order

    pen = await product(admin.org_id, "Pen", 10, 100)
    alice, bob = await customer(admin.org_id, "Alice"), await customer(admin.org_id, "Bob")
    a1 = await placed(admin, alice, [(pen, 1)])
    b1 = await placed(admin, bob, [(pen, 2)], orderType="offline", paymentStatus="paid")
    a2 = await placed(admin, alice, [(pen, 3)])
    await set_status(admin, a2["id"], "cancelled")
    # An order from last month, to filter by date.
    old = await placed(admin, bob, [(pen, 4)])
    last_month = datetime.now(UTC) - timedelta(days=31)
    await Order.find_one(Order.id == old["id"]).update({"$set": {"createdAt": last_month}})

    url = f"/orgs/{admin.org_id}/orders"
    status, found, headers = await admin.get(url)
    assert status == 200 and headers["X-Total-Count"] == "4"
    assert [o["id"] for o in found] == [a2["id"], b1["id"], a1["id"], old["id"]]
    _, page2, headers = await admin.get(f"{url}?limit=2&page=2")
    assert [o["id"] for o in page2] == [a1["id"], old["id"]] and 'rel="prev"' in headers["Link"]

    async def ids(q: str) -> list[str]:
        status, body, _ = await admin.get(f"{url}?{q}")
        assert status == 200, body
        return [o["id"] for o in body]

    assert await ids(f"customerId={alice}") == [a2["id"], a1["id"]]
    assert await ids("status=cancelled") == [a2["id"]]
    assert await ids("paymentStatus=paid") == [b1["id"]]
    assert await ids("orderType=offline") == [b1["id"]]
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert await ids(f"startDate={since}") == [a2["id"], b1["id"], a1["id"]]
    assert await ids(f"endDate={last_month.date().isoformat()}") == [old["id"]]

    status, stats, _ = await admin.get(f"{url}/stats")
    assert status == 200
    # The cancelled order (30) counts as an order but not as revenue.
    assert stats == {
        "totalOrders": 4,
        "cancelledOrders": 1,
        "totalRevenue": 70.0,
        "averageOrderValue": 23.33,
    }
    _, stats, _ = await admin.get(f"{url}/stats?customerId={bob}&startDate={since}")
    assert stats["totalOrders"] == 1 and stats["totalRevenue"] == 20.0
    _, stats, _ = await admin.get(f"{url}/stats?status=processing")
    assert stats == {
        "totalOrders": 0,
        "cancelledOrders": 0,
        "totalRevenue": 0.0,
        "averageOrderValue": 0.0,
    }

    recent = await order_service.recent_orders(admin.org_id, alice, 5)
    assert [o.id for o in recent] == [a2["id"], a1["id"]]
    assert recent[0].customer.name == "Alice" and recent[0].status == "cancelled"
    assert [o.id for o in await order_service.recent_orders(admin.org_id, alice, 1)] == [a2["id"]]
    assert await order_service.recent_orders("another-org", alice, 5) == []


# ---------------------------------------------------------------------------- coupons


async def test_coupons_are_created_listed_updated_and_deleted_by_admins(admin):
    url = f"/orgs/{admin.org_id}/coupons"
    status, coupon, _ = await admin.post(
        url,
        {
            "code": "summer-25",
            "type": "percentage",
            "value": 25,
            "description": "Summer sale",
            "minOrderValue": 50,
            "maxDiscount": 30,
            "startsAt": "2026-06-01T00:00:00Z",
            "expiresAt": "2026-09-01T00:00:00Z",
            "usageLimit": 100,
        },
    )
    assert status == 201, coupon
    assert coupon["code"] == "SUMMER-25" and coupon["usedCount"] == 0 and coupon["isActive"]
    assert coupon["startsAt"].startswith("2026-06-01T00:00:00")

    status, body, _ = await admin.post(url, {"code": "Summer-25", "type": "fixed", "value": 5})
    assert status == 409 and body["code"] == "COUPON_CODE_TAKEN" and "code" in body["details"]
    fixed = await new_coupon(admin, code="TENOFF", type="fixed", value=10)

    _, listed, headers = await admin.get(url)
    assert [c["code"] for c in listed] == ["TENOFF", "SUMMER-25"]
    assert headers["X-Total-Count"] == "2"
    _, listed, _ = await admin.get(f"{url}?search=summ")
    assert [c["code"] for c in listed] == ["SUMMER-25"]

    status, updated, _ = await admin.put(
        f"{url}/{coupon['id']}", {"value": 30, "maxDiscount": None, "isActive": False}
    )
    assert status == 200, updated
    assert (updated["value"], updated["maxDiscount"], updated["isActive"]) == (30, None, False)
    assert updated["minOrderValue"] == 50 and updated["code"] == "SUMMER-25"
    _, listed, _ = await admin.get(f"{url}?isActive=true")
    assert [c["code"] for c in listed] == ["TENOFF"]
    status, body, _ = await admin.put(f"{url}/{fixed['id']}", {"code": "summer-25"})
    assert status == 409
    status, body, _ = await admin.put(f"{url}/{coupon['id']}", {"value": 120})
    assert status == 400 and "value" in body["details"]
    status, body, _ = await admin.put(f"{url}/{coupon['id']}", {"code": None})
    assert status == 400 and "code" in body["details"]

    status, _, _ = await admin.delete(f"{url}/{fixed['id']}")
    assert status == 200
    status, _, _ = await admin.get(f"{url}/{fixed['id']}")
    assert status == 404
    _, audit, _ = await admin.get(f"/orgs/{admin.org_id}/audit-logs?entity=coupon")
    assert sorted(a["action"] for a in audit) == [
        "coupon.create",
        "coupon.create",
        "coupon.delete",
        "coupon.update",
    ]


async def test_bad_coupons_are_a_400_with_field_details(admin):
    url = f"/orgs/{admin.org_id}/coupons"
    cases = [
        ({"code": "A", "type": "percentage", "value": 101}, "value"),
        ({"code": "A", "type": "percentage", "value": 0}, "value"),
        ({"code": "A", "type": "fixed", "value": -5}, "value"),
        ({"code": "A", "type": "bogus", "value": 5}, "type"),
        ({"code": "has space", "type": "fixed", "value": 5}, "code"),
        ({"code": "A", "type": "fixed", "value": 5, "usageLimit": 0}, "usageLimit"),
        ({"code": "A", "type": "fixed", "value": 5, "minOrderValue": -1}, "minOrderValue"),
        (
            {
                "code": "A",
                "type": "fixed",
                "value": 5,
                "startsAt": "2026-02-01T00:00:00Z",
                "expiresAt": "2026-01-01T00:00:00Z",
            },
            "expiresAt",
        ),
    ]
    for body, field in cases:
        status, answer, _ = await admin.post(url, body)
        assert status == 400, (body, answer)
        assert field in answer["details"], (body, answer)
    status, body, _ = await admin.get(f"{url}/ANY/validate")
    assert status == 400 and "orderTotal" in body["details"]
    status, body, _ = await admin.get(f"{url}/ANY/validate?orderTotal=-1")
    assert status == 400 and "orderTotal" in body["details"]


async def test_coupon_validation_says_how_much_or_why_not(admin):
    now = datetime.now(UTC)
    pct = await new_coupon(admin, code="PCT20", value=20, maxDiscount=15, minOrderValue=30)
    await new_coupon(admin, code="FIX5", type="fixed", value=5)
    await new_coupon(admin, code="OFF", type="fixed", value=5, isActive=False)
    await new_coupon(admin, code="LATER", value=5, startsAt=(now + timedelta(days=1)).isoformat())
    await new_coupon(
        admin, code="OVER", value=5, expiresAt=(now - timedelta(seconds=1)).isoformat()
    )
    await new_coupon(admin, code="ONCE", type="fixed", value=5, usageLimit=1)

    result = await validate(admin, "pct20", 50)
    assert result == {
        "valid": True,
        "code": "PCT20",
        "reason": None,
        "message": "The coupon applies",
        "type": "percentage",
        "value": 20.0,
        "orderTotal": 50.0,
        "discount": 10.0,
        "totalAfterDiscount": 40.0,
    }
    assert (await validate(admin, "PCT20", 100))["discount"] == 15.0  # capped
    assert (await validate(admin, "FIX5", 3))["discount"] == 3.0  # never above the order
    below = await validate(admin, "PCT20", 29.99)
    assert below["valid"] is False and below["reason"] == "below_min_order_value"
    assert below["discount"] == 0 and below["totalAfterDiscount"] == 29.99
    assert (await validate(admin, "OFF", 10))["reason"] == "inactive"
    assert (await validate(admin, "LATER", 10))["reason"] == "not_started"
    assert (await validate(admin, "OVER", 10))["reason"] == "expired"
    assert (await validate(admin, "NOPE", 10))["reason"] == "unknown"
    odd = await validate(admin, "pct20%20or%201=1", 10)  # never a valid code, never looked up
    assert odd["reason"] == "unknown" and odd["code"] == "PCT20 OR 1=1"

    alice, pen = await customer(admin.org_id), await product(admin.org_id, "Pen", 10, 10)
    await placed(admin, alice, [(pen, 1)], couponCode="once")
    assert (await validate(admin, "ONCE", 10))["reason"] == "usage_limit_reached"

    # The same reasons refuse an order, and nothing is taken.
    for code, status, reason in [
        ("ONCE", 409, "usage_limit_reached"),
        ("OVER", 400, "expired"),
        ("NOPE", 400, "unknown"),
        ("PCT20", 400, "below_min_order_value"),
    ]:
        answer_status, body, _ = await place(admin, alice, [(pen, 1)], couponCode=code)
        assert answer_status == status and body["details"]["reason"] == reason, body
        assert "couponCode" in body["details"]
    assert (await product_doc(pen)).stock_quantity == 9
    _, used, _ = await admin.get(f"/orgs/{admin.org_id}/coupons/{pct['id']}")
    assert used["usedCount"] == 0


async def test_a_coupons_usage_limit_holds_under_concurrent_orders(admin):
    coupon = await new_coupon(admin, type="fixed", value=2, usageLimit=3)
    pen = await product(admin.org_id, "Pen", 10, 100)
    buyers = [await customer(admin.org_id, f"Buyer {n}") for n in range(3)]

    results = await asyncio.gather(
        *(place(admin, buyers[n % 3], [(pen, 1)], couponCode=coupon["code"]) for n in range(10))
    )
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] * 3 + [409] * 7
    assert all(
        body["code"] == "COUPON_USAGE_LIMIT_REACHED" for status, body, _ in results if status == 409
    )
    assert all(body["total"] == 8 for status, body, _ in results if status == 201)
    _, fresh, _ = await admin.get(f"/orgs/{admin.org_id}/coupons/{coupon['id']}")
    assert fresh["usedCount"] == 3
    pen_doc = await product_doc(pen)
    assert pen_doc.stock_quantity == 97 and pen_doc.sales_count == 3
    assert sum([(await customer_doc(b)).total_orders for b in buyers]) == 3


# ------------------------------------------------------------------ roles and other orgs


async def test_agents_read_and_place_orders_but_only_admins_change_them(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    pen = await product(admin.org_id, "Pen", 1, 10)
    alice = await customer(admin.org_id)

    order = await placed(agent, alice, [(pen, 1)])
    status, listed, _ = await agent.get(f"/orgs/{admin.org_id}/orders")
    assert status == 200 and [o["id"] for o in listed] == [order["id"]]
    status, _, _ = await agent.get(f"/orgs/{admin.org_id}/orders/stats")
    assert status == 200
    status, body = await set_status(agent, order["id"], "processing")
    assert status == 403
    status, _, _ = await agent.patch(
        f"/orgs/{admin.org_id}/orders/{order['id']}/payment", {"paymentStatus": "paid"}
    )
    assert status == 403
    status, _, _ = await agent.delete(f"/orgs/{admin.org_id}/orders/{order['id']}")
    assert status == 405  # orders are cancelled, never deleted

    coupon = await new_coupon(admin)
    status, _, _ = await agent.get(f"/orgs/{admin.org_id}/coupons")
    assert status == 200
    assert (await validate(agent, coupon["code"], 10))["valid"] is True
    status, _, _ = await agent.post(
        f"/orgs/{admin.org_id}/coupons", {"code": "X", "type": "fixed", "value": 1}
    )
    assert status == 403
    status, _, _ = await agent.put(f"/orgs/{admin.org_id}/coupons/{coupon['id']}", {"value": 5})
    assert status == 403
    status, _, _ = await agent.delete(f"/orgs/{admin.org_id}/coupons/{coupon['id']}")
    assert status == 403

    status, _, _ = await admin.get(f"/orgs/{admin.org_id}/orders", token="")
    assert status == 401
    status, _, _ = await admin.get(f"/orgs/{admin.org_id}/coupons", token="")
    assert status == 401


async def test_another_orgs_orders_and_coupons_are_not_found(admin, web_url, http):
    pen = await product(admin.org_id, "Pen", 1, 10)
    order = await placed(admin, await customer(admin.org_id), [(pen, 1)])
    coupon = await new_coupon(admin, code="MINE")
    other = await signup(web_url, http, org="Other")

    for path in (f"/orders/{order['id']}", f"/coupons/{coupon['id']}"):
        status, _, _ = await other.get(f"/orgs/{other.org_id}{path}")
        assert status == 404
        status, _, _ = await other.get(f"/orgs/{admin.org_id}{path}")
        assert status == 404
    status, _, _ = await other.patch(
        f"/orgs/{other.org_id}/orders/{order['id']}/status", {"status": "cancelled"}
    )
    assert status == 404
    status, _, _ = await other.put(f"/orgs/{other.org_id}/coupons/{coupon['id']}", {"value": 50})
    assert status == 404
    status, _, _ = await other.delete(f"/orgs/{other.org_id}/coupons/{coupon['id']}")
    assert status == 404
    assert (await validate(other, "MINE", 10))["reason"] == "unknown"
    _, listed, _ = await other.get(f"/orgs/{other.org_id}/orders")
    assert listed == []
    _, stats, _ = await other.get(f"/orgs/{other.org_id}/orders/stats")
    assert stats["totalOrders"] == 0
    # The same code is free in another org; numbering is per org too.
    await new_coupon(other, code="MINE")
    theirs = await placed(
        other, await customer(other.org_id), [(await product(other.org_id, "P", 1, 1), 1)]
    )
    assert theirs["orderNumber"] == f"ORD-{YEAR}-000001"
    status, _, _ = await admin.get(f"/orgs/{admin.org_id}/orders/{theirs['id']}")
    assert status == 404
