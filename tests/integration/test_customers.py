"""Customers: the list with platform and name search, one customer, their tickets, and the
per-platform and overview figures."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from connectors.base import ChannelType
from tests.fakes import payloads as p
from tests.integration.conftest import Api, eventually, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_pipeline import tickets_of

pytestmark = pytest.mark.usefixtures("worker")

# Every channel type, so a platform added later cannot go missing from the counts.
PLATFORMS = {t.value for t in ChannelType}


async def mock_channel(api: Api) -> dict:
    status, channel, _ = await api.post(
        f"/orgs/{api.org_id}/channels", {"type": "MOCK", "name": "Dev", "config": {}}
    )
    assert status == 201, channel
    return channel


async def say(api: Api, channel: dict, sender: str, name: str, text: str) -> None:
    msg_id = f"mock-{uuid.uuid4().hex}"
    status, body, _ = await api.webhook(
        channel["id"], p.mock_text(msg_id, sender, text, timestamp=None, name=name), None
    )
    assert status == 200, body


async def customers_of(api: Api, query: str = "") -> tuple[list[dict], dict]:
    status, body, headers = await api.get(f"/orgs/{api.org_id}/customers{query}")
    assert status == 200, body
    return body, headers


async def wait_customers(api: Api, count: int) -> list[dict]:
    async def enough():
        found, _ = await customers_of(api, "?limit=100")
        return found if len(found) >= count else None

    return await eventually(enough)


async def insert_customer(org_id: str, platform: str, name: str, **fields) -> str:
    """A customer as a connector we have no webhook for (TWITTER, LINKEDIN) would leave it."""
    from inbox.crm.customer_documents import Customer

    customer = Customer(
        org_id=org_id,
        platform=platform,
        external_id=uuid.uuid4().hex,
        name=name,
        **fields,
    )
    await customer.insert()
    return customer.id


async def test_customers_are_listed_newest_activity_first_and_filtered(admin, db):
    channel = await mock_channel(admin)
    await say(admin, channel, "c-1", "Kim O'Hara", "first")
    await wait_customers(admin, 1)
    await say(admin, channel, "c-2", "Lee (VIP) Chan", "second")
    await wait_customers(admin, 2)
    await insert_customer(admin.org_id, "TWITTER", "kimberly tweets")

    found, headers = await customers_of(admin)
    assert headers["X-Total-Count"] == "3"
    assert [c["name"] for c in found] == ["Lee (VIP) Chan", "Kim O'Hara", "kimberly tweets"]
    lee = found[0]
    assert lee["platform"] == "MOCK" and lee["externalId"] == "c-2"
    assert lee["lastMessage"] == "second" and lee["lastMessageAt"] and lee["isActive"] is True
    assert set(lee) >= {"id", "avatar", "metadata"}

    found, _ = await customers_of(admin, "?search=KIM")
    assert sorted(c["name"] for c in found) == ["Kim O'Hara", "kimberly tweets"]
    found, _ = await customers_of(admin, "?search=kim&platform=MOCK")
    assert [c["name"] for c in found] == ["Kim O'Hara"]
    # Search text is matched literally, never as a pattern.
    found, _ = await customers_of(admin, "?search=(vip)")
    assert [c["name"] for c in found] == ["Lee (VIP) Chan"]
    found, _ = await customers_of(admin, "?search=.*")
    assert found == []
    found, _ = await customers_of(admin, "?platform=TWITTER")
    assert [c["name"] for c in found] == ["kimberly tweets"]

    found, headers = await customers_of(admin, "?limit=1&page=2")
    assert [c["name"] for c in found] == ["Kim O'Hara"] and headers["X-Total-Count"] == "3"
    assert 'rel="next"' in headers["Link"] and 'rel="prev"' in headers["Link"]


async def test_bad_customer_queries_are_400_naming_the_field(admin):
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/customers?platform=FAX")
    assert status == 400 and "platform" in body["details"]
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/customers?limit=500")
    assert status == 400 and "limit" in body["details"]
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/customers?search={'x' * 300}")
    assert status == 400 and "search" in body["details"]


async def test_one_customer_and_their_tickets(admin, db):
    channel = await mock_channel(admin)
    await say(admin, channel, "t-1", "Tess", "first issue")
    [customer] = await wait_customers(admin, 1)
    [first] = await eventually(lambda: tickets_of(admin))
    await admin.post(f"/orgs/{admin.org_id}/tickets/{first['id']}/close")
    await say(admin, channel, "t-1", "Tess", "second issue")

    async def two():
        status, body, headers = await admin.get(
            f"/orgs/{admin.org_id}/customers/{customer['id']}/tickets"
        )
        assert status == 200, body
        return (body, headers) if len(body) == 2 else None

    found, headers = await eventually(two)
    assert headers["X-Total-Count"] == "2"
    assert found[1]["id"] == first["id"] and found[0]["status"] == "OPEN"
    assert all(t["customer"]["id"] == customer["id"] for t in found)
    assert found[0]["lastMessagePreview"] == "second issue"

    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/customers/{customer['id']}")
    assert status == 200 and body["name"] == "Tess" and body["lastMessage"] == "second issue"
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/customers/nope")
    assert status == 404 and body["code"] == "NOT_FOUND"
    assert (await admin.get(f"/orgs/{admin.org_id}/customers/nope/tickets"))[0] == 404


async def test_another_orgs_customers_are_not_found(admin, web_url, http, db):
    other = await signup(web_url, http, org="Other")
    theirs = await insert_customer(other.org_id, "WHATSAPP", "Their Customer")
    for path in (
        f"/orgs/{admin.org_id}/customers/{theirs}",
        f"/orgs/{admin.org_id}/customers/{theirs}/tickets",
        f"/orgs/{other.org_id}/customers",
        f"/orgs/{other.org_id}/customers/{theirs}",
        f"/orgs/{other.org_id}/customers/stats/platforms",
        f"/orgs/{other.org_id}/customers/overview/dashboard",
    ):
        assert (await admin.get(path))[0] == 404, path
    found, _ = await customers_of(admin)
    assert theirs not in {c["id"] for c in found}
    assert (await admin.get(f"/orgs/{admin.org_id}/customers", token=""))[0] == 401


async def test_platform_counts_include_every_platform_with_zeros(admin, web_url, http, db):
    agent = await invite_agent(admin, web_url, http)
    status, counts, _ = await agent.get(f"/orgs/{admin.org_id}/customers/stats/platforms")
    assert status == 200 and set(counts) == PLATFORMS and set(counts.values()) == {0}

    for name in ("W1", "W2"):
        await insert_customer(admin.org_id, "WHATSAPP", name)
    await insert_customer(admin.org_id, "INSTAGRAM", "I1")
    status, counts, _ = await admin.get(f"/orgs/{admin.org_id}/customers/stats/platforms")
    assert status == 200
    assert counts == {
        "WHATSAPP": 2,
        "INSTAGRAM": 1,
        "FACEBOOK": 0,
        "TWITTER": 0,
        "EMAIL": 0,
        "SMS": 0,
        "LINKEDIN": 0,
        "MOCK": 0,
    }


async def test_the_dashboard_counts_customers_and_shows_recent_conversations(admin, db):
    from inbox.document_base import utcnow

    now = utcnow()
    await insert_customer(admin.org_id, "FACEBOOK", "Old", created_at=now - timedelta(days=90))
    await insert_customer(
        admin.org_id, "FACEBOOK", "Month", created_at=now - timedelta(days=20), is_active=False
    )
    await insert_customer(admin.org_id, "LINKEDIN", "Week", created_at=now - timedelta(days=3))
    channel = await mock_channel(admin)
    for n in range(12):
        await say(admin, channel, f"d-{n}", f"Chatty {n}", f"message {n}")

    async def all_threaded():
        # Threaded and touched: a ticket gets its preview (and activity time) last.
        found = await tickets_of(admin, "?limit=100")
        return len(found) == 12 and all(t["lastMessagePreview"] for t in found)

    await eventually(all_threaded)
    status, board, _ = await admin.get(f"/orgs/{admin.org_id}/customers/overview/dashboard")
    assert status == 200, board
    assert board["totalCustomers"] == 15 and board["activeCustomers"] == 14
    assert board["newLast7Days"] == 13 and board["newLast30Days"] == 14
    assert board["byPlatform"] == {
        "MOCK": 12,
        "FACEBOOK": 2,
        "LINKEDIN": 1,
        "WHATSAPP": 0,
        "INSTAGRAM": 0,
        "TWITTER": 0,
        "EMAIL": 0,
        "SMS": 0,
    }
    recent = board["recentConversations"]
    assert len(recent) == 10
    latest = await tickets_of(admin, "?limit=10")
    assert [t["id"] for t in recent] == [t["id"] for t in latest]
    assert recent[0]["customer"]["name"].startswith("Chatty")
    assert recent[0]["lastMessagePreview"].startswith("message")
