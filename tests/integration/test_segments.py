"""Segments: conditions compiled to MongoDB agree with a brute-force filter in Python; every
operator; CRUD with roles, audit and org isolation; the paged customers and the preview."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from connectors.base import ChannelType
from inbox.crm import segments as segment_service
from inbox.crm.customer_documents import Customer, CustomerStatus, Identity
from inbox.crm.segments import FIELDS, OPERATORS, Kind
from tests.integration.conftest import signup
from tests.integration.test_auth import invite_agent

# ------------------------------------------------------------------------------- seeding


def ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


NAMES = ["Ada Lovelace", "ada lee", "Grace Hopper", "Kim O'Hara (VIP)", "Linus", "Zed St. Clair"]
CITIES = ["Lagos", "lagos island", "Cape Town", "Accra", "Nairobi", "St. Louis"]
TAGS = ["vip", "VIP-gold", "wholesale", "new", "repeat", "a.b"]
PLATFORMS = [t.value for t in ChannelType]
STATUSES = [s.value for s in CustomerStatus]
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


def random_moment(rng: random.Random) -> datetime:
    return ms(EPOCH + timedelta(seconds=rng.uniform(0, 730 * 86400)))


def maybe(rng: random.Random, value: Any, chance: float = 0.75) -> Any:
    return value if rng.random() < chance else None


def random_customer(org_id: str, rng: random.Random, i: int) -> Customer:
    orders = rng.choice([0, 0, 1, 2, 3, 5, 8])
    platform = maybe(rng, rng.choice(PLATFORMS), 0.8)
    identities = [Identity(platform=platform, external_id=f"x{i}")] if platform else []
    if rng.random() < 0.3:
        identities.append(Identity(platform=rng.choice(PLATFORMS), external_id=f"y{i}"))
    name = rng.choice(NAMES)
    return Customer(
        org_id=org_id,
        name=f"{name} {i}" if rng.random() < 0.5 else name,
        platform=platform,
        external_id=f"x{i}" if platform else None,
        identities=identities,
        email=maybe(rng, f"{name.split()[0].lower()}{i}@example.com"),
        phone=maybe(rng, f"+2348{rng.randint(10_000_000, 99_999_999)}", 0.6),
        city=maybe(rng, rng.choice(CITIES)),
        tags=rng.sample(TAGS, rng.randint(0, 3)),
        status=rng.choice(STATUSES),
        total_orders=orders,
        total_revenue=0.0
        if not orders
        else rng.choice([100, 250.5, round(rng.uniform(5, 3000), 2)]),
        last_order_date=random_moment(rng) if orders else None,
        last_message_at=maybe(rng, random_moment(rng), 0.6),
        birthday=maybe(
            rng,
            datetime.combine(
                date(1990, 1, 1) + timedelta(days=rng.randint(0, 9000)), time.min, tzinfo=UTC
            ),
            0.5,
        ),
        created_at=random_moment(rng),
    )


async def seed_customers(org_id: str, count: int, seed: int) -> list[Customer]:
    rng = random.Random(seed)
    customers = [random_customer(org_id, rng, i) for i in range(count)]
    await Customer.insert_many(customers)
    return customers


# ------------------------------------------------------------------ the brute-force filter


def _day(value: str) -> tuple[datetime, datetime] | None:
    if len(value) != 10:
        return None
    start = datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _date_holds(v: datetime | None, op: str, value: str) -> bool:
    day = _day(value)
    if day:
        start, end = day
        inside = v is not None and start <= v < end
        return {
            "eq": inside,
            "ne": not inside,
            "gt": v is not None and v >= end,
            "after": v is not None and v >= end,
            "gte": v is not None and v >= start,
            "lt": v is not None and v < start,
            "before": v is not None and v < start,
            "lte": v is not None and v < end,
        }[op]
    t = _instant(value)
    if op == "ne":
        return v != t
    if v is None:
        return False
    return {
        "eq": v == t,
        "gt": v > t,
        "after": v > t,
        "gte": v >= t,
        "lt": v < t,
        "before": v < t,
        "lte": v <= t,
    }[op]


def _contains(haystack: str | None, needle: str) -> bool:
    return haystack is not None and needle.lower() in haystack.lower()


ATTRIBUTE = {
    "totalSpend": "total_revenue",
    "totalRevenue": "total_revenue",
    "totalOrders": "total_orders",
    "lastOrderDate": "last_order_date",
    "createdAt": "created_at",
    "lastMessageAt": "last_message_at",
    "birthday": "birthday",
    "anniversary": "anniversary",
    "name": "name",
    "email": "email",
    "phone": "phone",
    "city": "city",
    "status": "status",
}


def holds(c: Customer, field: str, op: str, value: Any) -> bool:
    """The segment semantics, evaluated on one customer in Python."""
    if field == "platform":
        have = {p for p in [c.platform, *(i.platform for i in c.identities)] if p}
        wanted = {v.upper() for v in (value if op == "in" else [value])}
        hit = bool(have & wanted)
        return not hit if op == "ne" else hit
    if field == "tags":
        if op == "contains":
            return any(_contains(t, value) for t in c.tags)
        hit = any(t in (value if op == "in" else [value]) for t in c.tags)
        return not hit if op == "ne" else hit
    v = getattr(c, ATTRIBUTE[field])
    kind = FIELDS[field].kind
    if kind is Kind.DATE:
        return _date_holds(v, op, value)
    if field == "status":
        v = v.value
        value = [x.lower() for x in value] if op == "in" else value.lower()
    if field == "email":
        value = [x.lower() for x in value] if op == "in" else value.lower()
    if op == "contains":
        return _contains(v, value)
    if op == "in":
        return v in value
    if op == "eq":
        return v == value
    if op == "ne":
        return v != value
    if v is None:
        return False
    return {"gt": v > value, "gte": v >= value, "lt": v < value, "lte": v <= value}[op]


def brute_force(customers: list[Customer], conditions: list[dict], match: str) -> set[str]:
    combine = all if match == "all" else any
    return {
        c.id
        for c in customers
        if not conditions
        or combine(holds(c, x["field"], x["operator"], x["value"]) for x in conditions)
    }


# --------------------------------------------------------------------- random conditions


def random_value(rng: random.Random, field: str, op: str, customers: list[Customer]) -> Any:
    spec = FIELDS[field]
    someone = rng.choice(customers)

    def one() -> Any:
        if spec.kind is Kind.NUMBER:
            stored = getattr(someone, ATTRIBUTE[field])
            return rng.choice([stored, rng.randint(0, 10), round(rng.uniform(0, 3000), 2)])
        if spec.kind is Kind.CHOICE:
            choice = rng.choice(spec.choices)
            return choice.lower() if rng.random() < 0.3 else choice
        if spec.kind is Kind.TAGS:
            return rng.choice(TAGS + ["vi", "GOLD", "."])
        stored = getattr(someone, ATTRIBUTE[field])
        pool = {"name": NAMES, "city": CITIES, "email": ["example.com", "ADA"], "phone": ["+234"]}
        if op == "contains":
            text = rng.choice([stored or "", *pool[field]]) or "a"
            start = rng.randint(0, max(0, len(text) - 2))
            return text[start : start + rng.randint(1, 6)]
        return rng.choice([stored or pool[field][0], *pool[field]])

    if spec.kind is Kind.DATE:
        stored = getattr(someone, ATTRIBUTE[field]) or random_moment(rng)
        shape = rng.random()
        if shape < 0.4:
            return stored.date().isoformat()  # the whole day
        if shape < 0.7:
            return stored.isoformat().replace("+00:00", "Z")  # exactly someone's moment
        return random_moment(rng).isoformat()
    if op == "in":
        return [one() for _ in range(rng.randint(1, 3))]
    return one()


def random_conditions(rng: random.Random, customers: list[Customer]) -> list[dict[str, Any]]:
    conditions = []
    for _ in range(rng.randint(1, 4)):
        field = rng.choice(sorted(FIELDS))
        op = rng.choice(OPERATORS[FIELDS[field].kind])
        conditions.append(
            {"field": field, "operator": op, "value": random_value(rng, field, op, customers)}
        )
    return conditions


async def matched_ids(org_id: str, conditions: list[dict], match: str) -> set[str]:
    query = segment_service.customer_filter(org_id, conditions, match)
    found = Customer.get_pymongo_collection().find(query, {"_id": 1})
    return {doc["_id"] async for doc in found}


# ---------------------------------------------------------------------------------- tests


async def test_segment_queries_match_a_brute_force_filter_over_seeded_customers(admin, db):
    customers = await seed_customers(admin.org_id, 200, seed=20240301)
    # Another org's twins must never leak into this org's segments.
    other = await signup(admin.base, admin.http, org="Other")
    await seed_customers(other.org_id, 40, seed=20240301)

    rng = random.Random(7)
    checked, non_trivial = 0, 0
    for _ in range(160):
        conditions = random_conditions(rng, customers)
        match = rng.choice(["all", "any"])
        expected = brute_force(customers, conditions, match)
        got = await matched_ids(admin.org_id, conditions, match)
        assert got == expected, (
            f"conditions={conditions} match={match}: "
            f"only in Mongo {sorted(got - expected)[:3]}, "
            f"only in Python {sorted(expected - got)[:3]}"
        )
        checked += 1
        non_trivial += 0 < len(expected) < len(customers)
    # The generator must exercise real selections, not only "everyone" or "no one".
    assert checked == 160 and non_trivial >= 60

    # The same through the API: the preview's count and first page.
    for _ in range(8):
        conditions = random_conditions(rng, customers)
        expected = brute_force(customers, conditions, "all")
        status, body, _ = await admin.post(
            f"/orgs/{admin.org_id}/segments/preview?limit=100",
            {"conditions": conditions, "match": "all"},
        )
        assert status == 200, body
        assert body["count"] == len(expected)
        assert {c["id"] for c in body["customers"]} <= expected


async def test_each_operator_selects_exactly_its_customers(admin, db):
    org = admin.org_id
    day = datetime(2024, 3, 1, tzinfo=UTC)
    people = {
        "ada": Customer(
            org_id=org,
            name="Ada Obi",
            email="ada@shop.ng",
            city="Lagos",
            tags=["vip", "Wholesale"],
            platform=ChannelType.WHATSAPP,
            identities=[Identity(platform=ChannelType.WHATSAPP, external_id="234800")],
            total_orders=5,
            total_revenue=1500.0,
            last_order_date=day + timedelta(hours=10),
            created_at=datetime(2023, 5, 1, tzinfo=UTC),
        ),
        "bola": Customer(
            org_id=org,
            name="Bola Ade",
            email="bola@mail.com",
            city="Cape Town",
            tags=["new"],
            platform=ChannelType.INSTAGRAM,
            identities=[
                Identity(platform=ChannelType.INSTAGRAM, external_id="ig1"),
                Identity(platform=ChannelType.EMAIL, external_id="bola@mail.com"),
            ],
            status=CustomerStatus.INACTIVE,
            total_orders=1,
            total_revenue=999.99,
            last_order_date=day - timedelta(seconds=1),
            created_at=datetime(2024, 1, 15, tzinfo=UTC),
        ),
        "chi": Customer(
            org_id=org,
            name="Chi (VIP) Eze",
            status=CustomerStatus.BLOCKED,
            created_at=datetime(2024, 6, 1, tzinfo=UTC),
        ),
    }
    await Customer.insert_many(list(people.values()))
    names = {c.id: key for key, c in people.items()}

    async def who(field: str, operator: str, value: Any, match: str = "all") -> set[str]:
        status, body, _ = await admin.post(
            f"/orgs/{org}/segments/preview",
            {
                "conditions": [{"field": field, "operator": operator, "value": value}],
                "match": match,
            },
        )
        assert status == 200, body
        assert body["count"] == len(body["customers"])
        return {names[c["id"]] for c in body["customers"]}

    assert await who("totalSpend", "gte", 1000) == {"ada"}
    assert await who("totalRevenue", "gt", 999.99) == {"ada"}
    assert await who("totalOrders", "eq", 1) == {"bola"}
    assert await who("totalOrders", "ne", 1) == {"ada", "chi"}
    assert await who("totalOrders", "lt", 5) == {"bola", "chi"}
    assert await who("totalOrders", "lte", 5) == {"ada", "bola", "chi"}
    assert await who("totalOrders", "in", [0, 5]) == {"ada", "chi"}
    assert await who("city", "contains", "TOWN") == {"bola"}
    assert await who("name", "contains", "(vip)") == {"chi"}  # literal, not a pattern
    assert await who("city", "eq", "Lagos") == {"ada"}
    assert await who("city", "ne", "Lagos") == {"bola", "chi"}  # no city is "not Lagos"
    assert await who("city", "in", ["Lagos", "Accra"]) == {"ada"}
    assert await who("email", "eq", "ADA@shop.ng") == {"ada"}
    assert await who("tags", "eq", "vip") == {"ada"}
    assert await who("tags", "ne", "vip") == {"bola", "chi"}
    assert await who("tags", "in", ["new", "none"]) == {"bola"}
    assert await who("tags", "contains", "sale") == {"ada"}
    assert await who("status", "eq", "Blocked") == {"chi"}
    assert await who("status", "in", ["active", "inactive"]) == {"ada", "bola"}
    assert await who("platform", "eq", "EMAIL") == {"bola"}  # a merged identity counts
    assert await who("platform", "ne", "WHATSAPP") == {"bola", "chi"}
    assert await who("platform", "in", ["whatsapp", "instagram"]) == {"ada", "bola"}
    assert await who("lastOrderDate", "eq", "2024-03-01") == {"ada"}
    assert await who("lastOrderDate", "before", "2024-03-01") == {"bola"}
    assert await who("lastOrderDate", "after", "2024-02-29") == {"ada"}
    assert await who("lastOrderDate", "after", "2024-03-01") == set()
    assert await who("lastOrderDate", "gte", "2024-03-01") == {"ada"}
    assert await who("lastOrderDate", "lte", "2024-02-29") == {"bola"}
    assert await who("lastOrderDate", "ne", "2024-03-01") == {"bola", "chi"}
    assert await who("lastOrderDate", "before", "2024-03-01T00:00:00Z") == {"bola"}
    assert await who("lastOrderDate", "gt", "2024-03-01T09:59:59Z") == {"ada"}
    assert await who("createdAt", "after", "2023-12-31") == {"bola", "chi"}
    status, body, _ = await admin.post(
        f"/orgs/{org}/segments/preview",
        {
            "conditions": [
                {"field": "city", "operator": "eq", "value": "Lagos"},
                {"field": "status", "operator": "eq", "value": "blocked"},
            ],
            "match": "any",
        },
    )
    assert status == 200 and body["count"] == 2


async def test_unknown_fields_operators_and_bad_values_are_400s_naming_them(admin):
    org = admin.org_id
    status, body, _ = await admin.post(
        f"/orgs/{org}/segments",
        {
            "name": "Broken",
            "conditions": [
                {"field": "shoeSize", "operator": "eq", "value": 42},
                {"field": "totalSpend", "operator": "between", "value": [1, 2]},
                {"field": "totalSpend", "operator": "gte", "value": "lots"},
                {"field": "lastOrderDate", "operator": "before", "value": "yesterday"},
            ],
        },
    )
    assert status == 400, body
    assert body["code"] == "VALIDATION_ERROR"
    assert "shoeSize" in body["details"]["conditions.0.field"]
    assert "between" in body["details"]["conditions.1.operator"]
    assert "number" in body["details"]["conditions.2.value"]
    assert "ISO 8601" in body["details"]["conditions.3.value"]
    status, listed, _ = await admin.get(f"/orgs/{org}/segments")
    assert status == 200 and listed == []  # nothing stored

    status, body, _ = await admin.post(
        f"/orgs/{org}/segments/preview",
        {"conditions": [{"field": "city", "operator": "regex", "value": ".*"}]},
    )
    assert status == 400 and "regex" in body["details"]["conditions.0.operator"]
    status, body, _ = await admin.post(
        f"/orgs/{org}/segments/preview", {"conditions": [{"field": "city"}], "match": "most"}
    )
    assert status == 400
    assert "match" in body["details"] and "conditions.0.operator" in body["details"]


async def test_segments_are_created_listed_counted_updated_and_deleted_with_audit(admin, db):
    org = admin.org_id
    await Customer.insert_many(
        [
            Customer(org_id=org, name=f"Big {i}", total_orders=3, total_revenue=2000.0 + i)
            for i in range(3)
        ]
        + [Customer(org_id=org, name="Small", total_orders=1, total_revenue=10.0)]
    )
    body = {
        "name": "High Value Customers",
        "description": "Spent 1000 or more",
        "conditions": [{"field": "totalSpend", "operator": "gte", "value": 1000}],
    }
    status, created, _ = await admin.post(f"/orgs/{org}/segments", body)
    assert status == 201, created
    assert created["customerCount"] == 3 and created["match"] == "all"
    assert created["conditions"] == body["conditions"]
    assert created["createdBy"] == admin.user["id"] and created["countedAt"]
    seg = created["id"]

    status, again, _ = await admin.post(f"/orgs/{org}/segments", body)
    assert status == 409 and again["code"] == "SEGMENT_NAME_TAKEN"

    status, listed, headers = await admin.get(f"/orgs/{org}/segments?search=high")
    assert status == 200 and [s["id"] for s in listed] == [seg]
    assert headers["X-Total-Count"] == "1"

    # Membership is evaluated now: a new big spender is in the next count and page.
    await Customer(org_id=org, name="Newcomer", total_orders=1, total_revenue=5000.0).insert()
    status, page1, headers = await admin.get(f"/orgs/{org}/segments/{seg}/customers?limit=3")
    assert status == 200 and headers["X-Total-Count"] == "4" and len(page1) == 3
    assert 'rel="next"' in headers["Link"]
    status, page2, _ = await admin.get(f"/orgs/{org}/segments/{seg}/customers?limit=3&page=2")
    assert len(page2) == 1
    assert {c["name"] for c in page1 + page2} == {"Big 0", "Big 1", "Big 2", "Newcomer"}
    assert page1[0]["name"] == "Newcomer"  # newest first
    status, got, _ = await admin.get(f"/orgs/{org}/segments/{seg}")
    assert status == 200 and got["customerCount"] == 4

    status, updated, _ = await admin.put(
        f"/orgs/{org}/segments/{seg}",
        {
            "conditions": [
                {"field": "totalSpend", "operator": "lt", "value": 100},
                {"field": "name", "operator": "contains", "value": "new"},
            ],
            "match": "any",
            "description": None,
        },
    )
    assert status == 200, updated
    assert updated["customerCount"] == 2 and updated["match"] == "any"
    assert updated["description"] is None and updated["name"] == "High Value Customers"
    status, bad, _ = await admin.put(
        f"/orgs/{org}/segments/{seg}",
        {"conditions": [{"field": "totalSpend", "operator": "gte", "value": "x"}]},
    )
    assert status == 400 and "conditions.0.value" in bad["details"]

    filter_ = await segment_service.segment_filter(org, seg)
    assert await Customer.get_pymongo_collection().count_documents(filter_) == 2

    status, _, _ = await admin.delete(f"/orgs/{org}/segments/{seg}")
    assert status == 200
    status, _, _ = await admin.get(f"/orgs/{org}/segments/{seg}")
    assert status == 404
    status, logs, _ = await admin.get(f"/orgs/{org}/audit-logs?entity=segment")
    assert status == 200
    assert sorted(entry["action"] for entry in logs) == [
        "segment.create",
        "segment.delete",
        "segment.update",
    ]


async def test_agents_read_and_preview_segments_but_only_admins_change_them(admin, web_url, http):
    org = admin.org_id
    agent = await invite_agent(admin, web_url, http)
    body = {"name": "Everyone", "conditions": []}
    status, created, _ = await admin.post(f"/orgs/{org}/segments", body)
    assert status == 201
    seg = created["id"]

    assert (await agent.get(f"/orgs/{org}/segments"))[0] == 200
    assert (await agent.get(f"/orgs/{org}/segments/{seg}"))[0] == 200
    assert (await agent.get(f"/orgs/{org}/segments/{seg}/customers"))[0] == 200
    assert (await agent.post(f"/orgs/{org}/segments/preview", {"conditions": []}))[0] == 200
    for status, _, _ in [
        await agent.post(f"/orgs/{org}/segments", {**body, "name": "Mine"}),
        await agent.put(f"/orgs/{org}/segments/{seg}", {"name": "Renamed"}),
        await agent.delete(f"/orgs/{org}/segments/{seg}"),
    ]:
        assert status == 403
    status, _, _ = await admin.get(f"/orgs/{org}/segments", token="")
    assert status == 401


async def test_another_orgs_segments_are_not_found_and_never_mix_customers(admin, web_url, http):
    other = await signup(web_url, http, org="Rival")
    await Customer(org_id=other.org_id, name="Rival customer", total_revenue=9e6).insert()
    await Customer(org_id=admin.org_id, name="Ours", total_revenue=5e6, total_orders=1).insert()
    status, theirs, _ = await other.post(
        f"/orgs/{other.org_id}/segments",
        {"name": "Whales", "conditions": [{"field": "totalSpend", "operator": "gt", "value": 1}]},
    )
    assert status == 201 and theirs["customerCount"] == 1
    seg = theirs["id"]
    for status, _, _ in [
        await admin.get(f"/orgs/{admin.org_id}/segments/{seg}"),
        await admin.get(f"/orgs/{admin.org_id}/segments/{seg}/customers"),
        await admin.put(f"/orgs/{admin.org_id}/segments/{seg}", {"name": "Mine now"}),
        await admin.delete(f"/orgs/{admin.org_id}/segments/{seg}"),
        await admin.get(f"/orgs/{other.org_id}/segments"),
        await admin.get(f"/orgs/{other.org_id}/segments/{seg}"),
    ]:
        assert status == 404
    status, mine, _ = await admin.post(
        f"/orgs/{admin.org_id}/segments",
        {"name": "Whales", "conditions": [{"field": "totalSpend", "operator": "gt", "value": 1}]},
    )
    assert status == 201  # names are unique per org only
    status, found, _ = await admin.get(f"/orgs/{admin.org_id}/segments/{mine['id']}/customers")
    assert [c["name"] for c in found] == ["Ours"]


def test_the_brute_force_reference_reads_the_semantics_as_documented():
    c = Customer(org_id="o", name="n", city="Lagos", tags=["vip"], total_revenue=5.0)
    assert holds(c, "city", "contains", "AGO") and holds(c, "tags", "ne", "x")
    assert not holds(c, "totalSpend", "gt", 5) and holds(c, "totalSpend", "gte", 5)
    assert not holds(c, "lastOrderDate", "before", "2030-01-01")  # no date: only ne holds
    assert holds(c, "lastOrderDate", "ne", "2030-01-01")
    assert brute_force([c], [], "any") == {c.id}
