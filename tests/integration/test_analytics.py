"""Analytics over HTTP: figures checked against the tickets, messages and campaigns each test
creates in its own organisation (the org comes from the token)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, Api, eventually, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_campaigns import (
    add_recipients,
    create_campaign,
    mock_channel,
    recipients_of,
    start,
    ticket_of,
    wait_completed,
)
from tests.integration.test_pipeline import PHONE_ID, new_wa_id, wa_channel

pytestmark = pytest.mark.usefixtures("worker")


async def wa_inbound(api: Api, channel_id: str, wa_id: str, name: str, ago: int) -> dict:
    payload = p.whatsapp_text(
        PHONE_ID, wa_id, name, f"wamid.{wa_id}.1", "Hello?", int(time.time()) - ago
    )
    assert (await api.webhook(channel_id, payload, APP_SECRET))[0] == 200
    return await ticket_of(api, wa_id)


async def reply(api: Api, ticket_id: str, text: str) -> None:
    status, body, _ = await api.post(
        f"/orgs/{api.org_id}/tickets/{ticket_id}/messages", {"content": text}
    )
    assert status == 201, body


async def report(api: Api, name: str, query: str = "") -> dict:
    status, body, _ = await api.get(f"/orgs/analytics/{name}{query}")
    assert status == 200, body
    return body


def seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


async def a_busy_day(admin: Api, graph, web_url, http):
    """Two WhatsApp conversations and one MOCK one; replies by the admin and an agent; one
    ticket assigned to each; the agent's closed."""
    from inbox.conversations.documents import Ticket

    agent = await invite_agent(admin, web_url, http)
    wa = await wa_channel(admin, graph)
    mock = await mock_channel(admin)
    a, b = new_wa_id(), new_wa_id()
    ticket_a = await wa_inbound(admin, wa["id"], a, "Ann", ago=90)
    ticket_b = await wa_inbound(admin, wa["id"], b, "Bob", ago=30)
    status, _, _ = await admin.webhook(
        mock["id"], p.mock_text("c-1", "cust-c", "hi", int(time.time())), None
    )
    assert status == 200
    ticket_c = await ticket_of(admin, "cust-c")

    await reply(admin, ticket_a["id"], "Hi Ann")
    await reply(agent, ticket_b["id"], "Hi Bob")
    await reply(agent, ticket_b["id"], "Anything else?")
    for ticket, who in ((ticket_a, agent), (ticket_b, admin)):
        status, _, _ = await admin.post(
            f"/orgs/{admin.org_id}/tickets/{ticket['id']}/assign", {"assigneeId": who.user["id"]}
        )
        assert status == 200
    assert (await agent.post(f"/orgs/{admin.org_id}/tickets/{ticket_a['id']}/close"))[0] == 200

    docs = {
        t.id: t
        for t in await Ticket.find(
            {"_id": {"$in": [ticket_a["id"], ticket_b["id"], ticket_c["id"]]}}
        ).to_list()
    }
    return agent, wa, mock, docs[ticket_a["id"]], docs[ticket_b["id"]], docs[ticket_c["id"]]


async def test_ticket_analytics_count_by_status_channel_and_day(admin, graph, web_url, http, db):
    agent, wa, mock, a, b, c = await a_busy_day(admin, graph, web_url, http)

    body = await report(admin, "tickets")
    assert (body["totalTickets"], body["openTickets"], body["closedTickets"]) == (3, 2, 1)
    assert body["ticketsByStatus"] == {"OPEN": 2, "PENDING": 0, "CLOSED": 1}
    assert body["ticketsByChannel"] == {wa["id"]: 2, mock["id"]: 1}
    expected = (
        seconds(a.first_response_at, a.first_inbound_at)
        + seconds(b.first_response_at, b.first_inbound_at)
    ) / 2
    assert body["avgResponseTime"] == pytest.approx(expected, abs=0.01)
    assert 30 < body["avgResponseTime"] < 300  # ~60 s: replies to messages 90 s and 30 s old

    today = datetime.now(UTC).date()
    assert len(body["dailyStats"]) == 30
    assert body["dailyStats"][-1] == {"date": today.isoformat(), "created": 3, "closed": 1}
    assert all(d["created"] == d["closed"] == 0 for d in body["dailyStats"][:-1])
    assert body["period"] == {"from": None, "to": None}

    # One channel; and a period around today equals the whole.
    only_wa = await report(admin, "tickets", f"?channelId={wa['id']}")
    assert only_wa["totalTickets"] == 2 and only_wa["ticketsByChannel"] == {wa["id"]: 2}
    this_week = await report(
        admin, "tickets", f"?from={today - timedelta(days=6)}&to={today.isoformat()}"
    )
    assert this_week["totalTickets"] == 3 and len(this_week["dailyStats"]) == 7
    assert this_week["period"] == {
        "from": (today - timedelta(days=6)).isoformat(),
        "to": today.isoformat(),
    }

    # A period in the past: nothing, with every day listed.
    old = await report(admin, "tickets", "?from=2020-01-01&to=2020-01-10")
    assert old["totalTickets"] == 0 and old["avgResponseTime"] is None
    assert [d["date"] for d in old["dailyStats"]][:2] == ["2020-01-01", "2020-01-02"]
    assert len(old["dailyStats"]) == 10
    assert sum(d["created"] for d in old["dailyStats"]) == 0

    # An exact instant as the end: the tickets created after it are left out.
    cutoff = (c.created_at - timedelta(milliseconds=1)).isoformat()
    earlier = await report(admin, "tickets", f"?to={cutoff.replace('+00:00', 'Z')}")
    assert earlier["totalTickets"] == 2


async def test_bad_periods_are_a_400_naming_the_field(admin):
    for query, field in (
        ("?from=yesterday", "from"),
        ("?to=2024-13-01", "to"),
        ("?from=2024-02-02&to=2024-02-01", "from"),
    ):
        for name in ("tickets", "channels", "campaigns", "agents"):
            status, body, _ = await admin.get(f"/orgs/analytics/{name}{query}")
            assert status == 400 and body["code"] == "VALIDATION_ERROR", (name, query)
            assert field in body["details"], (name, query, body)


async def test_channel_analytics_count_messages_tickets_and_customers(
    admin, graph, web_url, http, db
):
    agent, wa, mock, *_ = await a_busy_day(admin, graph, web_url, http)
    body = await report(admin, "channels")
    per = {c["channelId"]: c for c in body["channels"]}
    assert per[wa["id"]] == {
        "channelId": wa["id"],
        "name": "WhatsApp",
        "type": "WHATSAPP",
        "isActive": True,
        "messagesIn": 2,
        "messagesOut": 3,
        "tickets": 2,
        "openTickets": 1,
        "customers": 2,
    }
    assert (per[mock["id"]]["messagesIn"], per[mock["id"]]["messagesOut"]) == (1, 0)
    assert (per[mock["id"]]["tickets"], per[mock["id"]]["customers"]) == (1, 1)
    assert (body["totalMessagesIn"], body["totalMessagesOut"]) == (3, 3)
    assert (body["totalTickets"], body["totalCustomers"]) == (3, 3)

    old = await report(admin, "channels", "?to=2020-01-01")
    assert old["totalMessagesIn"] == 0 and len(old["channels"]) == 2


async def test_agent_analytics_credit_assignees_and_repliers(admin, graph, web_url, http, db):
    agent, _, _, a, b, _ = await a_busy_day(admin, graph, web_url, http)
    body = await report(admin, "agents")
    per = {row["userId"]: row for row in body["agents"]}
    assert set(per) == {admin.user["id"], agent.user["id"]}

    mine = per[agent.user["id"]]
    assert (mine["assigned"], mine["open"], mine["closed"], mine["replies"]) == (1, 0, 1, 2)
    assert mine["name"] == "Ann Agent" and mine["role"] == "AGENT"
    assert mine["avgFirstResponseTime"] == pytest.approx(
        seconds(a.first_response_at, a.first_inbound_at), abs=0.01
    )
    assert mine["avgResolutionTime"] == pytest.approx(seconds(a.closed_at, a.created_at), abs=0.01)

    theirs = per[admin.user["id"]]
    assert (theirs["assigned"], theirs["open"], theirs["closed"], theirs["replies"]) == (1, 1, 0, 1)
    assert theirs["avgFirstResponseTime"] == pytest.approx(
        seconds(b.first_response_at, b.first_inbound_at), abs=0.01
    )
    assert theirs["avgResolutionTime"] is None

    # Agents may read the reports too.
    assert (await report(agent, "agents"))["agents"]


async def test_campaign_analytics_give_delivery_and_read_rates_from_receipts(admin, graph):
    channel = await mock_channel(admin)
    campaign = await create_campaign(admin, channel["id"])
    await add_recipients(admin, campaign["id"], ["r-1", "r-2", "r-3", "r-4"])
    draft = await create_campaign(admin, channel["id"])
    await start(admin, campaign["id"])
    await wait_completed(admin, campaign["id"])
    recipients = {r["recipientContact"]: r for r in await recipients_of(admin, campaign["id"])}

    # MOCK sends answer with "mock-<message id>"; the receipts name those ids.
    statuses = [
        {"id": f"mock-{recipients[who]['messageId']}", "recipient": who, "status": status}
        for who, status in (("r-1", "delivered"), ("r-2", "read"), ("r-3", "delivered"))
    ]
    assert (await admin.webhook(channel["id"], p.mock_payload(statuses=statuses), None))[0] == 200

    async def counted():
        body = await report(admin, "campaigns")
        row = next(c for c in body["campaigns"] if c["campaignId"] == campaign["id"])
        return body if row["delivered"] == 3 else None

    body = await eventually(counted)
    assert body["totalCampaigns"] == 2
    assert body["campaignsByStatus"] == {"DRAFT": 1, "SCHEDULED": 0, "SENDING": 0, "COMPLETED": 1}
    assert (body["totalRecipients"], body["totalSent"], body["totalDelivered"]) == (4, 4, 3)
    rows = {c["campaignId"]: c for c in body["campaigns"]}
    sent = rows[campaign["id"]]
    assert (sent["recipients"], sent["sent"], sent["failed"], sent["pending"]) == (4, 4, 0, 0)
    assert (sent["delivered"], sent["read"]) == (3, 1)
    assert (sent["deliveryRate"], sent["readRate"]) == (0.75, 0.25)
    assert sent["channel"] == {"id": channel["id"], "name": "Dev", "type": "MOCK"}
    assert sent["completedAt"] and sent["startedAt"]
    unsent = rows[draft["id"]]
    assert (unsent["recipients"], unsent["deliveryRate"], unsent["readRate"]) == (0, None, None)


async def test_analytics_need_a_token_and_show_only_the_callers_org(
    admin, graph, web_url, http, db
):
    await a_busy_day(admin, graph, web_url, http)
    for name in ("tickets", "channels", "campaigns", "agents"):
        status, body, _ = await admin.get(f"/orgs/analytics/{name}", token="")
        assert status == 401 and body["code"] in ("UNAUTHORIZED", "TOKEN_MISSING")

    other = await signup(web_url, http, org="Quiet Co")
    assert (await report(other, "tickets"))["totalTickets"] == 0
    assert (await report(other, "channels"))["channels"] == []
    assert (await report(other, "campaigns"))["campaigns"] == []
    assert [a["userId"] for a in (await report(other, "agents"))["agents"]] == [other.user["id"]]
