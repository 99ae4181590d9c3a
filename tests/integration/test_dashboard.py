"""Dashboards against figures computed by hand from small seeded data: metrics and their change
against the previous period, the revenue chart per period and time zone, top products, the CRM
overview and the customer segmentation. Cancelled orders never count; other orgs never show."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inbox.analytics import rollups
from inbox.analytics.documents import ProductRollup, SalesRollup
from inbox.campaigns import progress as campaign_progress
from inbox.campaigns.documents import Campaign, CampaignRecipient, RecipientStatus
from inbox.commerce.documents import Order, OrderItem, OrderStatus, OrderType, Product
from inbox.crm import customer_rollups
from inbox.crm.customer_documents import Customer
from inbox.document_base import utcnow
from tests.integration.conftest import Api, signup
from tests.integration.test_auth import invite_agent

# ------------------------------------------------------------------------------- seeding


def item(product: str, quantity: int, total: float, name: str | None = None) -> OrderItem:
    return OrderItem(
        product_id=product,
        name=name or f"Product {product[:4]}",
        quantity=quantity,
        unit_price=round(total / quantity, 2),
        total=total,
    )


def order(
    org_id: str,
    at: datetime,
    total: float,
    items: list[OrderItem] | None = None,
    *,
    status: OrderStatus = OrderStatus.COMPLETED,
    kind: OrderType = OrderType.ONLINE,
) -> Order:
    items = items or [item(str(uuid.uuid4()), 1, total)]
    return Order(
        org_id=org_id,
        order_number=f"ORD-T-{uuid.uuid4().hex[:10]}",
        customer_id=str(uuid.uuid4()),
        items=items,
        subtotal=total,
        total=total,
        status=status,
        order_type=kind,
        created_at=at,
        updated_at=at,
    )


async def built(*org_ids: str) -> None:
    """Orders and customers inserted straight into MongoDB (not through the services) reach
    the dashboards' rollups the way imports do: by rebuilding them."""
    for org_id in org_ids:
        await rollups.rebuild(org_id)
        await customer_rollups.rebuild(org_id)


async def dashboard(api: Api, what: str, query: str = "") -> Any:
    status, body, _ = await api.get(f"/orgs/{api.org_id}/dashboard/{what}{query}")
    assert status == 200, body
    return body


def figure(value: float, change: float, kind: str) -> dict[str, Any]:
    return {"value": value, "change": change, "changeType": kind}


# ------------------------------------------------------------------------------- metrics


async def test_metrics_compare_with_the_previous_equal_period_without_cancelled_orders(
    admin, db, web_url, http
):
    org, now = admin.org_id, utcnow()
    p1, p2 = str(uuid.uuid4()), str(uuid.uuid4())
    await Order.insert_many(
        [
            order(org, now - timedelta(hours=20), 100.0, [item(p1, 2, 100.0)]),
            order(
                org,
                now - timedelta(hours=30),
                50.5,
                [item(p2, 1, 20.5), item(p1, 3, 30.0)],
                status=OrderStatus.PENDING,
                kind=OrderType.OFFLINE,
            ),
            order(
                org,
                now - timedelta(hours=50),
                1000.0,
                [item(p1, 5, 1000.0)],
                status=OrderStatus.CANCELLED,
            ),
            order(org, now - timedelta(days=8), 80.0, status=OrderStatus.DELIVERED),
            order(org, now - timedelta(days=13), 500.0, status=OrderStatus.CANCELLED),
            order(org, now - timedelta(days=20), 999.0, [item(p2, 2, 999.0)]),
        ]
    )
    await Customer.insert_many(
        [
            Customer(org_id=org, name=f"new {i}", created_at=now - timedelta(hours=2))
            for i in range(2)
        ]
        + [
            Customer(org_id=org, name=f"old {i}", created_at=now - timedelta(days=9))
            for i in range(4)
        ]
    )
    # Another org's orders and customers in the same windows never count.
    other = await signup(web_url, http, org="Elsewhere")
    await Order.insert_many([order(other.org_id, now - timedelta(hours=1), 12345.0)])
    await Customer(org_id=other.org_id, name="theirs", created_at=now - timedelta(hours=1)).insert()
    await built(org, other.org_id)

    week = await dashboard(admin, "metrics")  # default: the last 7 days
    assert week["totalSales"] == figure(150.5, 88.1, "increase")  # 150.5 vs 80
    assert week["totalOrders"] == figure(2, 100.0, "increase")
    assert week["productsSold"] == figure(6, 500.0, "increase")  # 2 + 1 + 3 vs 1
    assert week["newCustomers"] == figure(2, -50.0, "decrease")
    start, end = (datetime.fromisoformat(week["period"][k]) for k in ("from", "to"))
    assert end - start == timedelta(days=7) and abs(end - utcnow()) < timedelta(minutes=1)
    assert week["previousPeriod"]["to"] == week["period"]["from"]
    again = await dashboard(admin, "metrics", "?period=week")  # the default, said explicitly
    assert {k: again[k] for k in ("totalSales", "totalOrders", "productsSold")} == {
        k: week[k] for k in ("totalSales", "totalOrders", "productsSold")
    }

    day = await dashboard(admin, "metrics", "?period=day")
    assert day["totalSales"] == figure(100.0, 98.0, "increase")  # 100 vs 50.5
    assert day["totalOrders"] == figure(1, 0.0, "neutral")
    assert day["productsSold"] == figure(2, -50.0, "decrease")  # 2 vs 4
    assert day["newCustomers"] == figure(2, 100.0, "increase")  # none before: +100 %

    month = await dashboard(admin, "metrics", "?period=month")
    assert month["totalSales"] == figure(1229.5, 100.0, "increase")
    assert month["totalOrders"]["value"] == 4 and month["productsSold"]["value"] == 9

    old_day = (now - timedelta(days=20)).date().isoformat()
    only = await dashboard(admin, "metrics", f"?from={old_day}&to={old_day}")
    assert only["totalSales"] == figure(999.0, 100.0, "increase")
    assert only["productsSold"] == figure(2, 100.0, "increase")
    assert only["period"]["from"].startswith(old_day)

    empty = await dashboard(other, "metrics", "?period=year")
    assert empty["totalSales"] == figure(12345.0, 100.0, "increase")
    fresh = await signup(web_url, http, org="Nothing yet")
    nothing = await dashboard(fresh, "metrics")
    assert nothing["totalSales"] == figure(0, 0.0, "neutral")
    assert nothing["newCustomers"] == figure(0, 0.0, "neutral")


async def rollup_figures(org_id: str) -> dict[str, tuple]:
    found = SalesRollup.get_pymongo_collection().find({"orgId": org_id, "unit": {"$ne": "meta"}})
    return {
        doc["_id"]: tuple(
            round(doc.get(f"{k}{f}", 0), 2)
            for k in ("online", "offline")
            for f in ("Orders", "Sales", "Units")
        )
        async for doc in found
    }


async def product_figures(org_id: str) -> dict[str, dict]:
    found = ProductRollup.get_pymongo_collection().find({"orgId": org_id})
    return {
        doc["_id"]: {
            pid: (e["units"], round(e["revenue"], 2), e.get("name"))
            for pid, e in doc["products"].items()
        }
        async for doc in found
    }


async def test_orders_placed_and_cancelled_through_the_api_move_the_dashboards_at_once(admin):
    from tests.integration.test_orders import customer, placed, product, set_status

    org = admin.org_id
    kit = await product(org, "Kit", 12.5, 100)
    alice = await customer(org)
    await placed(admin, alice, [(kit, 2)])  # 25.00 online
    await placed(admin, alice, [(kit, 1)], orderType="offline")  # 12.50
    dropped = await placed(admin, alice, [(kit, 4)])  # 50.00, cancelled below
    # Concurrent orders all land in the same hour's and day's rollups.
    await asyncio.gather(*(placed(admin, alice, [(kit, 1)]) for _ in range(4)))

    day = await dashboard(admin, "metrics", "?period=day")
    assert day["totalSales"] == figure(137.5, 100.0, "increase")
    assert day["totalOrders"]["value"] == 7 and day["productsSold"]["value"] == 11

    status, _ = await set_status(admin, dropped["id"], "cancelled")
    assert status == 200
    day = await dashboard(admin, "metrics", "?period=day")
    assert day["totalSales"] == figure(87.5, 100.0, "increase")
    assert day["totalOrders"]["value"] == 6 and day["productsSold"]["value"] == 7
    today = utcnow().date().isoformat()
    chart = await dashboard(admin, "revenue", f"?period=month&date={today}")
    assert (chart["totalOnline"], chart["totalOffline"]) == (75.0, 12.5)

    top = await dashboard(admin, "top-products", "?period=day")
    assert [(p["name"], p["sales"], p["revenue"]) for p in top] == [("Kit", 7, 87.5)]
    assert (await dashboard(admin, "top-products"))[0]["sales"] == 7

    # What the transactions kept equals what a rebuild from the orders computes.
    kept, kept_products = await rollup_figures(org), await product_figures(org)
    await rollups.rebuild(org)
    assert await rollup_figures(org) == kept and len(kept) == 2  # one hour, one day
    assert await product_figures(org) == kept_products and len(kept_products) == 4


async def test_orgs_whose_orders_predate_the_rollups_are_built_at_startup(admin, db):
    org = admin.org_id
    await Order.insert_many([order(org, utcnow() - timedelta(hours=3), 42.0)])
    assert await rollup_figures(org) == {}  # nothing went through the order service
    await rollups.migrate(Order.get_pymongo_collection().database)  # what startup runs
    day = await dashboard(admin, "metrics", "?period=day")
    assert day["totalSales"] == figure(42.0, 100.0, "increase")
    meta = await SalesRollup.get_pymongo_collection().find_one({"_id": rollups.meta_id(org)})
    assert meta is not None  # built once: later starts leave the org alone


async def test_a_half_hour_time_zone_buckets_the_orders_themselves(admin, march_orders):
    # Kolkata is UTC+5:30: its hours are not UTC hours, so the chart reads the orders.
    day = await dashboard(admin, "revenue", "?period=day&date=2024-03-11&tz=Asia/Kolkata")
    online = {i: v for i, v in enumerate(day["online"]) if v}
    assert online == {5: 1000.0, 14: 10.0}  # 23:59 UTC on the 10th is 05:29 on the 11th
    assert day["offline"] == [0] * 24  # 23:30 UTC is 05:00 on the 12th in Kolkata
    week = await dashboard(admin, "revenue", "?period=week&date=2024-03-13&tz=Asia/Kolkata")
    assert week["online"] == [1010.0, 0, 0, 0, 0, 0, 7.25]
    assert week["offline"] == [0, 5.0, 0, 0, 0, 0, 0]


async def test_metrics_over_partial_hours_and_days_count_every_order_once(admin, db):
    # Rolling windows start and end mid-hour: whole days and hours come from the rollups,
    # the partial hours at both ends from the orders.
    org, now = admin.org_id, utcnow()
    offsets = [timedelta(minutes=m) for m in (1, 59, 61, 119, 60 * 23 + 1, 60 * 24 - 2)]
    offsets += [timedelta(days=d, minutes=m) for d in (1, 2, 6, 7) for m in (-1, 1, 30)]
    await Order.insert_many(
        [order(org, now - offset, 1.0, [item(str(uuid.uuid4()), 1, 1.0)]) for offset in offsets]
    )
    await built(org)
    week = await dashboard(admin, "metrics", "?period=week")
    expected = sum(1 for o in offsets if o <= timedelta(days=7) - timedelta(seconds=5))
    assert week["totalOrders"]["value"] == expected
    assert week["totalSales"]["value"] == float(expected)
    day = await dashboard(admin, "metrics", "?period=day")
    assert day["totalOrders"]["value"] == 7  # the six above and 1 day less a minute
    assert day["totalOrders"]["change"] == round((7 - 3) * 100 / 3, 1)  # 3 the day before


# ------------------------------------------------------------------------- revenue chart


@pytest.fixture
async def march_orders(admin, db) -> str:
    """Orders around the week of Monday 2024-03-11 (UTC), one cancelled, one elsewhere."""
    org = admin.org_id

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    await Order.insert_many(
        [
            order(org, at("2024-03-10T23:59:00"), 1000.0),  # Sunday before (Monday in Lagos)
            order(org, at("2024-03-11T09:00:00"), 10.0),
            order(org, at("2024-03-11T23:30:00"), 5.0, kind=OrderType.OFFLINE),
            order(org, at("2024-03-13T08:00:00"), 100.0, status=OrderStatus.CANCELLED),
            order(org, at("2024-03-17T12:00:00"), 7.25),
            order(org, at("2024-03-17T23:30:00"), 3.0),  # Sunday (next Monday in Lagos)
        ]
    )
    other = str(uuid.uuid4())
    await Order.insert_many([order(other, at("2024-03-12T10:00:00"), 777.0)])
    await built(org, other)
    return org


async def test_revenue_by_weekday_splits_online_and_offline(admin, march_orders):
    week = await dashboard(admin, "revenue", "?period=week&date=2024-03-13")
    assert week["labels"] == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    assert week["online"] == [10.0, 0, 0, 0, 0, 0, 10.25]
    assert week["offline"] == [5.0, 0, 0, 0, 0, 0, 0]
    assert (week["totalOnline"], week["totalOffline"]) == (20.25, 5.0)
    assert week["from"].startswith("2024-03-11T00:00:00") and week["to"].startswith("2024-03-18")
    assert week["timezone"] == "UTC" and week["period"] == "week"


async def test_revenue_buckets_follow_the_time_zone_asked_for(admin, march_orders):
    lagos = await dashboard(admin, "revenue", "?period=week&date=2024-03-13&tz=Africa/Lagos")
    assert lagos["online"] == [1010.0, 0, 0, 0, 0, 0, 7.25]
    assert lagos["offline"] == [0, 5.0, 0, 0, 0, 0, 0]
    assert lagos["from"].startswith("2024-03-10T23:00:00")
    assert lagos["timezone"] == "Africa/Lagos"


async def test_revenue_by_hour_day_of_month_and_month(admin, march_orders):
    day = await dashboard(admin, "revenue", "?period=day&date=2024-03-11")
    assert day["labels"][0] == "00:00" and day["labels"][23] == "23:00" and len(day["labels"]) == 24
    assert [i for i, v in enumerate(day["online"]) if v] == [9] and day["online"][9] == 10.0
    assert [i for i, v in enumerate(day["offline"]) if v] == [23] and day["offline"][23] == 5.0

    month = await dashboard(admin, "revenue", "?period=month&date=2024-03-20")
    assert month["labels"] == [str(d) for d in range(1, 32)]
    online = {month["labels"][i]: v for i, v in enumerate(month["online"]) if v}
    assert online == {"10": 1000.0, "11": 10.0, "17": 10.25}
    assert {month["labels"][i]: v for i, v in enumerate(month["offline"]) if v} == {"11": 5.0}

    year = await dashboard(admin, "revenue", "?period=year&date=2024-07-01")
    assert year["labels"][0] == "January" and year["labels"][11] == "December"
    assert year["online"][2] == 1020.25 and year["offline"][2] == 5.0
    assert sum(year["online"]) == 1020.25 and sum(year["offline"]) == 5.0

    feb = await dashboard(admin, "revenue", "?period=month&date=2024-02-10")
    assert len(feb["labels"]) == 29 and sum(feb["online"]) == 0  # a leap year's February


# -------------------------------------------------------------------------- top products


async def test_top_products_rank_by_units_then_revenue_with_current_names(admin, db):
    org, now = admin.org_id, utcnow()
    jollof = Product(org_id=org, name="Jollof Kit", slug="jollof", price=10.0)
    suya = Product(org_id=org, name="Suya Spice", slug="suya", price=5.0)
    chin = Product(org_id=org, name="Chin Chin", slug="chin", price=15.0)  # renamed since
    await Product.insert_many([jollof, suya, chin])
    gone = str(uuid.uuid4())  # deleted: its ordered name is shown
    await Order.insert_many(
        [
            order(
                org,
                now - timedelta(days=1),
                35.0,
                [item(jollof.id, 3, 30.0), item(suya.id, 1, 5.0)],
            ),
            order(
                org,
                now - timedelta(days=2),
                47.0,
                [item(chin.id, 3, 45.0, "Old Name"), item(gone, 1, 2.0, "Gone Product")],
            ),
            order(
                org,
                now - timedelta(days=3),
                250.0,
                [item(suya.id, 50, 250.0)],
                status=OrderStatus.CANCELLED,
            ),
            order(org, now - timedelta(days=45), 10.0, [item(jollof.id, 1, 10.0)]),
        ]
    )
    await Order.insert_many([order(str(uuid.uuid4()), now, 1.0, [item(suya.id, 99, 1.0)])])
    await built(org)

    top = await dashboard(admin, "top-products")  # all time
    assert top == [
        {
            "id": jollof.id,
            "rank": 1,
            "name": "Jollof Kit",
            "popularity": 44.4,
            "sales": 4,
            "revenue": 40.0,
        },
        {
            "id": chin.id,
            "rank": 2,
            "name": "Chin Chin",
            "popularity": 33.3,
            "sales": 3,
            "revenue": 45.0,
        },
        {
            "id": suya.id,
            "rank": 3,
            "name": "Suya Spice",
            "popularity": 11.1,
            "sales": 1,
            "revenue": 5.0,
        },
        {
            "id": gone,
            "rank": 4,
            "name": "Gone Product",
            "popularity": 11.1,
            "sales": 1,
            "revenue": 2.0,
        },
    ]
    two = await dashboard(admin, "top-products", "?limit=2")
    assert [p["id"] for p in two] == [jollof.id, chin.id] and two[0]["popularity"] == 44.4

    month = await dashboard(admin, "top-products", "?period=month")
    assert [(p["name"], p["sales"], p["popularity"]) for p in month] == [
        ("Chin Chin", 3, 37.5),  # a tie on units goes to revenue
        ("Jollof Kit", 3, 37.5),
        ("Suya Spice", 1, 12.5),
        ("Gone Product", 1, 12.5),
    ]
    assert await dashboard(admin, "top-products", "?from=2020-01-01&to=2020-12-31") == []


# ----------------------------------------------------------------------- stats, segmentation


async def test_stats_give_the_crm_overview_with_campaign_messages(admin, db):
    org, now = admin.org_id, utcnow()
    await Customer.insert_many(
        [
            Customer(org_id=org, name="A", total_orders=2, total_revenue=300.0),
            Customer(org_id=org, name="B", total_orders=1, total_revenue=150.5),
            Customer(org_id=org, name="C"),
        ]
    )
    await built(org)
    for name in ("Lapsed", "VIP"):
        status, _, _ = await admin.post(
            f"/orgs/{org}/segments",
            {"name": name, "conditions": [{"field": "totalOrders", "operator": "gte", "value": 1}]},
        )
        assert status == 201

    def campaign(name: str, age_hours: int, org_id: str = org) -> Campaign:
        return Campaign(
            org_id=org_id,
            channel_id="channel-1",
            name=name,
            message_template="Hi",
            created_by=admin.user["id"],
            created_at=now - timedelta(hours=age_hours),
        )

    def recipients(c: Campaign, *statuses: RecipientStatus) -> list[CampaignRecipient]:
        return [
            CampaignRecipient(
                org_id=c.org_id,
                campaign_id=c.id,
                channel_id=c.channel_id,
                recipient_contact=f"contact-{i}",
                status=s,
            )
            for i, s in enumerate(statuses)
        ]

    spring, summer, draft = campaign("Spring", 30), campaign("Summer", 20), campaign("Draft", 10)
    theirs = campaign("Theirs", 1, org_id=str(uuid.uuid4()))
    await Campaign.insert_many([spring, summer, draft, theirs])
    S, F, P = RecipientStatus.SENT, RecipientStatus.FAILED, RecipientStatus.PENDING
    await CampaignRecipient.insert_many(
        recipients(spring, S, S, S, F) + recipients(summer, P, P) + recipients(theirs, F, F, F)
    )
    # The counters the campaign sender keeps, set from the recipients as a recount does.
    for c in (spring, summer, draft, theirs):
        await campaign_progress.recount(c.id)

    stats = await dashboard(admin, "stats")
    assert stats["overview"] == {
        "totalCustomers": 3,
        "customersWithOrders": 2,
        "totalOrders": 3,
        "totalRevenue": 450.5,
        "totalSegments": 2,
        "totalCampaigns": 3,
        "messagesSent": 3,
        "messagesFailed": 1,
        "messagesPending": 2,
        "successRate": 75.0,
    }
    assert [c["name"] for c in stats["recentCampaigns"]] == ["Draft", "Summer", "Spring"]
    assert [s["name"] for s in stats["recentSegments"]] == ["VIP", "Lapsed"]
    assert stats["recentSegments"][0]["customerCount"] == 2
    performance = {c["name"]: c for c in stats["campaignPerformance"]}
    assert performance["Spring"] | {"id": None} == {
        "id": None,
        "name": "Spring",
        "recipients": 4,
        "sent": 3,
        "failed": 1,
        "pending": 0,
        "successRate": 75.0,
    }
    assert performance["Summer"]["pending"] == 2 and performance["Summer"]["successRate"] is None
    assert performance["Draft"]["recipients"] == 0


async def test_stats_of_an_empty_org_are_zeros(admin):
    stats = await dashboard(admin, "stats")
    assert stats["overview"]["totalCustomers"] == 0 and stats["overview"]["successRate"] is None
    assert stats["recentCampaigns"] == [] and stats["campaignPerformance"] == []


async def test_segmentation_splits_customers_by_orders(admin, db):
    org, now = admin.org_id, utcnow()
    await Customer.insert_many(
        [
            Customer(org_id=org, name="A", total_orders=2, total_revenue=300.0),
            Customer(org_id=org, name="B", total_orders=1, total_revenue=150.5),
            Customer(org_id=org, name="C", created_at=now - timedelta(days=3)),
            Customer(org_id=org, name="D", created_at=now - timedelta(days=1)),
            Customer(org_id=org, name="E", created_at=now - timedelta(days=2)),
        ]
    )
    theirs = str(uuid.uuid4())
    await Customer(org_id=theirs, name="X", total_orders=9, total_revenue=9.0).insert()
    await built(org, theirs)

    status, body, _ = await admin.get(f"/orgs/{org}/customers/segmentation")
    assert status == 200, body
    assert body["totalCustomers"] == 5 and body["conversionRate"] == 40.0
    with_orders = body["withOrders"]
    assert (with_orders["count"], with_orders["totalRevenue"], with_orders["totalOrders"]) == (
        2,
        450.5,
        3,
    )
    assert with_orders["averageOrderValue"] == 150.17
    assert [c["name"] for c in with_orders["customers"]] == ["A", "B"]
    assert body["withoutOrders"]["count"] == 3
    assert [c["name"] for c in body["withoutOrders"]["customers"]] == ["D", "E", "C"]

    status, small, _ = await admin.get(f"/orgs/{org}/customers/segmentation?limit=1")
    assert [c["name"] for c in small["withOrders"]["customers"]] == ["A"]
    status, bare, _ = await admin.get(f"/orgs/{org}/customers/segmentation?limit=0")
    assert bare["withOrders"]["customers"] == [] and bare["withoutOrders"]["count"] == 3


async def test_segmentation_samples_equal_sorting_every_customer(admin, db):
    """The samples are read in revenue and age ranges; they must be what sorting all
    customers gives, whatever the spread (ties, decades-old customers, free orders)."""
    import random

    org, now, rng = admin.org_id, utcnow(), random.Random(7)
    seeded = []
    for i in range(80):
        orders = rng.choice([0, 0, 1, 2, 5])
        revenue = 0.0 if not orders else rng.choice([0.0, 10.0, 10.0, rng.uniform(1, 5000)])
        age = timedelta(days=rng.choice([0, 0.5, 3, 40, 300, 2000, 9000]), minutes=i)
        seeded.append(
            Customer(
                org_id=org,
                name=f"c{i}",
                total_orders=orders,
                total_revenue=round(revenue, 2),
                created_at=now - age,
            )
        )
    await Customer.insert_many(seeded)
    await built(org)

    status, body, _ = await admin.get(f"/orgs/{org}/customers/segmentation?limit=7")
    assert status == 200, body
    buyers = [c for c in seeded if c.total_orders > 0 and c.total_revenue > 0]
    buyers.sort(key=lambda c: (-c.total_revenue, c.id))
    others = [c for c in seeded if c.total_orders == 0]
    others.sort(key=lambda c: c.id)
    others.sort(key=lambda c: c.created_at, reverse=True)
    assert [c["id"] for c in body["withOrders"]["customers"]] == [c.id for c in buyers[:7]]
    assert [c["id"] for c in body["withoutOrders"]["customers"]] == [c.id for c in others[:7]]


# --------------------------------------------------------------------- roles and bad input


async def test_every_member_reads_dashboards_and_other_orgs_are_not_found(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    other = await signup(web_url, http, org="Someone else")
    paths = [
        "dashboard/metrics",
        "dashboard/revenue",
        "dashboard/top-products",
        "dashboard/stats",
        "customers/segmentation",
    ]
    for path in paths:
        assert (await agent.get(f"/orgs/{admin.org_id}/{path}"))[0] == 200, path
        assert (await other.get(f"/orgs/{admin.org_id}/{path}"))[0] == 404, path
        assert (await admin.get(f"/orgs/{admin.org_id}/{path}", token=""))[0] == 401, path


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("dashboard/metrics?period=decade", "period"),
        ("dashboard/metrics?period=week&from=2024-01-01", "period"),
        ("dashboard/metrics?to=2024-01-01", "from"),
        ("dashboard/metrics?from=2024-02-01&to=2024-01-01", "from"),
        ("dashboard/metrics?from=2999-01-01", "from"),  # no `to` means now
        ("dashboard/top-products?from=2999-01-01", "from"),
        ("dashboard/revenue?tz=Mars/Olympus", "tz"),
        ("dashboard/revenue?date=yesterday", "date"),
        ("dashboard/revenue?period=fortnight", "period"),
        ("dashboard/top-products?limit=0", "limit"),
        ("dashboard/top-products?limit=101", "limit"),
        ("customers/segmentation?limit=-1", "limit"),
    ],
)
async def test_bad_dashboard_parameters_are_400s_naming_them(admin, path, field):
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/{path}")
    assert status == 400, body
    assert field in body["details"], body


async def test_a_period_back_to_1970_has_a_shorter_previous_period_not_an_error(admin):
    body = await dashboard(admin, "metrics", "?from=1970-01-01&to=9000-12-31")
    assert body["previousPeriod"]["from"].startswith("0001-01-01")
    assert body["totalSales"] == figure(0, 0.0, "neutral")
