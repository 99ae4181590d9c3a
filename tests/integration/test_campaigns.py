"""Campaigns over HTTP, sent by a real `inbox worker` through the fake Graph API.

Everything real but Meta: the web app, the worker process, the Mongo-protocol server, the
Kafka-protocol broker and Redis.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from adapters.event_log import RedisEventLog
from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, Api, eventually
from tests.integration.test_auth import invite_agent
from tests.integration.test_crash_recovery import restartable_worker  # noqa: F401 - fixture
from tests.integration.test_pipeline import PHONE_ID, fb_channel, new_wa_id, wa_channel

pytestmark = pytest.mark.usefixtures("worker")

PAGE_ID = "3000003"  # messenger_config's facebookPageId


async def mock_channel(api: Api, name: str = "Dev") -> dict:
    status, channel, _ = await api.post(
        f"/orgs/{api.org_id}/channels", {"type": "MOCK", "name": name, "config": {}}
    )
    assert status == 201, channel
    return channel


async def create_campaign(
    api: Api, channel_id: str, template: str = "Hi {{ customer.name }}!", **extra
) -> dict:
    status, campaign, _ = await api.post(
        f"/orgs/{api.org_id}/campaigns",
        {"channelId": channel_id, "name": "Spring sale", "messageTemplate": template, **extra},
    )
    assert status == 201, campaign
    return campaign


async def add_recipients(api: Api, campaign_id: str, recipients: list) -> dict:
    status, body, _ = await api.post(
        f"/orgs/{api.org_id}/campaigns/{campaign_id}/recipients", {"recipients": recipients}
    )
    assert status == 200, body
    return body


async def start(api: Api, campaign_id: str) -> dict:
    status, body, _ = await api.post(f"/orgs/{api.org_id}/campaigns/{campaign_id}/start")
    assert status == 200, body
    return body


async def wait_completed(api: Api, campaign_id: str, timeout: float = 60.0) -> dict:
    async def done():
        _, campaign, _ = await api.get(f"/orgs/{api.org_id}/campaigns/{campaign_id}")
        return campaign if campaign["status"] == "COMPLETED" else None

    return await eventually(done, timeout=timeout, interval=0.2)


async def recipients_of(api: Api, campaign_id: str, query: str = "") -> list[dict]:
    status, body, _ = await api.get(
        f"/orgs/{api.org_id}/campaigns/{campaign_id}/recipients?limit=100{query}"
    )
    assert status == 200, body
    return body


async def stats_of(api: Api, campaign_id: str) -> dict:
    status, body, _ = await api.get(f"/orgs/{api.org_id}/campaigns/{campaign_id}/stats")
    assert status == 200, body
    return body


def sends_to(graph, wa_id: str) -> list[dict]:
    """Accepted sends to one WhatsApp number (repeats of an answered Idempotency-Key are
    not in `graph.sent`: they would not reach the customer twice)."""
    return [s for s in graph.sent if (s["json"] or {}).get("to") == wa_id]


async def inbound(api: Api, channel_id: str, wa_id: str, name: str, text: str) -> None:
    msg_id = f"wamid.{wa_id}.{time.time_ns()}"
    # WhatsApp stamps whole seconds; round up so it sorts after what we just sent.
    payload = p.whatsapp_text(PHONE_ID, wa_id, name, msg_id, text, math.ceil(time.time()))
    status, _, _ = await api.webhook(channel_id, payload, APP_SECRET)
    assert status == 200


async def ticket_of(api: Api, wa_id: str) -> dict:
    async def find():
        _, tickets, _ = await api.get(f"/orgs/{api.org_id}/tickets?limit=100")
        return next((t for t in tickets if t["externalThreadId"] == wa_id), None)

    return await eventually(find)


# -- create, list, get -----------------------------------------------------------------------


async def test_an_admin_creates_lists_and_gets_a_draft_campaign(admin, graph):
    channel = await wa_channel(admin, graph)
    campaign = await create_campaign(admin, channel["id"], "Hello {{ customer.name }}")
    assert campaign["status"] == "DRAFT" and campaign["scheduledAt"] is None
    assert campaign["messageTemplate"] == "Hello {{ customer.name }}"
    assert campaign["channel"] == {"id": channel["id"], "name": "WhatsApp", "type": "WHATSAPP"}

    status, listed, headers = await admin.get(f"/orgs/{admin.org_id}/campaigns")
    assert status == 200 and headers["X-Total-Count"] == "1"
    assert [c["id"] for c in listed] == [campaign["id"]]
    assert set(listed[0]) >= {
        "id",
        "name",
        "messageTemplate",
        "status",
        "scheduledAt",
        "createdAt",
        "channel",
    }
    status, one, _ = await admin.get(f"/orgs/{admin.org_id}/campaigns/{campaign['id']}")
    assert status == 200 and one == campaign
    status, drafts, _ = await admin.get(f"/orgs/{admin.org_id}/campaigns?status=SCHEDULED")
    assert status == 200 and drafts == []


async def test_a_future_scheduled_at_schedules_it_and_a_past_one_is_refused(admin, graph):
    channel = await mock_channel(admin)
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    campaign = await create_campaign(admin, channel["id"], scheduledAt=when.isoformat())
    assert campaign["status"] == "SCHEDULED"
    assert datetime.fromisoformat(campaign["scheduledAt"]) == when

    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns",
        {"channelId": channel["id"], "name": "x", "messageTemplate": "hi", "scheduledAt": past},
    )
    assert status == 400 and "scheduledAt" in body["details"]


async def test_an_undefined_template_variable_is_a_400_naming_it(admin, graph):
    channel = await mock_channel(admin)
    path = f"/orgs/{admin.org_id}/campaigns"
    base = {"channelId": channel["id"], "name": "Typo"}

    status, body, _ = await admin.post(path, {**base, "messageTemplate": "Hi {{ customer.nmae }}"})
    assert status == 400 and body["code"] == "TEMPLATE_UNDEFINED_VARIABLE"
    assert "customer.nmae" in body["message"]
    assert body["details"] == {"messageTemplate": "undefined variable customer.nmae"}

    status, body, _ = await admin.post(path, {**base, "messageTemplate": "Hi {{ first_name }}"})
    assert status == 400 and "first_name" in body["details"]["messageTemplate"]

    status, body, _ = await admin.post(path, {**base, "messageTemplate": "Hi {{ customer.name"})
    assert status == 400 and body["code"] == "TEMPLATE_INVALID"
    assert "messageTemplate" in body["details"]

    # Every documented variable, metadata keys of any name, and Jinja's own constructs pass.
    template = (
        "{{ customer.name }} {{ customer.externalId }} {{ customer.platform }} "
        "{{ customer.metadata.city | default('') }}{% for k in customer.metadata %}{{ k }}"
        "{% endfor %}"
    )
    assert (await admin.post(path, {**base, "messageTemplate": template}))[0] == 201


async def test_bad_campaign_input_is_a_400_with_field_details(admin, graph):
    path = f"/orgs/{admin.org_id}/campaigns"
    status, body, _ = await admin.post(path, {"name": "", "messageTemplate": "hi"})
    assert status == 400 and body["code"] == "VALIDATION_ERROR"
    assert {"channelId", "name"} <= set(body["details"])

    status, body, _ = await admin.post(
        path, {"channelId": "nope", "name": "x", "messageTemplate": "hi"}
    )
    assert status == 400 and body["details"] == {"channelId": "no such channel"}

    channel = await mock_channel(admin)
    status, body, _ = await admin.post(
        path,
        {"channelId": channel["id"], "name": "x", "messageTemplate": "hi", "scheduledAt": "soon"},
    )
    assert status == 400 and "scheduledAt" in body["details"]

    campaign = await create_campaign(admin, channel["id"])
    recipients = f"/orgs/{admin.org_id}/campaigns/{campaign['id']}/recipients"
    for bad in ({}, {"recipients": []}, {"recipients": "abc"}, {"recipients": [{"a": 1}]}):
        status, body, _ = await admin.post(recipients, bad)
        assert status == 400 and any(k.startswith("recipients") for k in body["details"]), bad
    status, body, _ = await admin.get(f"{recipients}?status=LOST")
    assert status == 400 and "status" in body["details"]


async def test_agents_read_campaigns_but_cannot_create_add_recipients_or_start(
    admin, graph, web_url, http
):
    channel = await mock_channel(admin)
    campaign = await create_campaign(admin, channel["id"])
    agent = await invite_agent(admin, web_url, http)
    base = f"/orgs/{admin.org_id}/campaigns"

    status, body, _ = await agent.post(
        base, {"channelId": channel["id"], "name": "x", "messageTemplate": "hi"}
    )
    assert status == 403 and body["code"] == "FORBIDDEN"
    assert (await agent.post(f"{base}/{campaign['id']}/recipients", {"recipients": ["a"]}))[
        0
    ] == 403
    assert (await agent.post(f"{base}/{campaign['id']}/start"))[0] == 403

    assert (await agent.get(base))[0] == 200
    assert (await agent.get(f"{base}/{campaign['id']}"))[0] == 200
    assert (await agent.get(f"{base}/{campaign['id']}/recipients"))[0] == 200
    assert (await agent.get(f"{base}/{campaign['id']}/stats"))[0] == 200
    assert (await admin.get(base, token=""))[0] == 401


async def test_another_orgs_campaigns_and_channels_are_not_found(admin, graph, web_url, http):
    from tests.integration.conftest import signup

    other = await signup(web_url, http, org="Rival")
    their_channel = await mock_channel(other)
    theirs = await create_campaign(other, their_channel["id"])

    mine = f"/orgs/{admin.org_id}/campaigns/{theirs['id']}"
    assert (await admin.get(mine))[0] == 404
    assert (await admin.get(f"{mine}/recipients"))[0] == 404
    assert (await admin.get(f"{mine}/stats"))[0] == 404
    assert (await admin.post(f"{mine}/recipients", {"recipients": ["x"]}))[0] == 404
    assert (await admin.post(f"{mine}/start"))[0] == 404
    # Their org's path with my token: 404 as if it did not exist.
    assert (await admin.get(f"/orgs/{other.org_id}/campaigns"))[0] == 404
    # Their channel cannot carry my campaign.
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns",
        {"channelId": their_channel["id"], "name": "x", "messageTemplate": "hi"},
    )
    assert status == 400 and body["details"] == {"channelId": "no such channel"}
    _, listed, _ = await admin.get(f"/orgs/{admin.org_id}/campaigns")
    assert listed == []


# -- recipients ------------------------------------------------------------------------------


async def test_whatsapp_recipients_are_normalised_validated_and_deduplicated(admin, graph):
    channel = await wa_channel(admin, graph)
    campaign = await create_campaign(admin, channel["id"])
    body = await add_recipients(
        admin,
        campaign["id"],
        ["+1 (555) 000-1111", "15550001111", "+44 20 7946 0958", 4915123456789, "abc", "123"],
    )
    assert body["success"] is True and body["added"] == 3 and body["duplicates"] == 1
    assert [i["recipient"] for i in body["invalid"]] == ["abc", "123"]
    assert all("7 to 15 digits" in i["reason"] for i in body["invalid"])

    again = await add_recipients(admin, campaign["id"], ["15550001111", "442079460958"])
    assert (again["added"], again["duplicates"], again["invalid"]) == (0, 2, [])

    status, refused, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns/{campaign['id']}/recipients",
        {"recipients": ["nope", "+12"]},
    )
    assert status == 400 and refused["code"] == "INVALID_RECIPIENTS"
    assert [i["recipient"] for i in refused["details"]["invalid"]] == ["nope", "+12"]

    listed = await recipients_of(admin, campaign["id"])
    assert [r["recipientContact"] for r in listed] == [
        "15550001111",
        "442079460958",
        "4915123456789",
    ]
    assert all(r["status"] == "PENDING" and r["sentAt"] is None for r in listed)
    status, page, headers = await admin.get(
        f"/orgs/{admin.org_id}/campaigns/{campaign['id']}/recipients?limit=2&page=2"
    )
    assert status == 200 and len(page) == 1 and headers["X-Total-Count"] == "3"
    assert 'rel="prev"' in headers["Link"]
    assert await stats_of(admin, campaign["id"]) == {
        "totalRecipients": 3,
        "sentCount": 0,
        "failedCount": 0,
        "pendingCount": 3,
        "deliveredCount": 0,
        "readCount": 0,
        "openedCount": 0,
        "clickedCount": 0,
        "skippedCount": 0,
    }


async def test_messenger_recipients_must_be_customers_known_on_the_channel(admin, graph):
    channel = await fb_channel(admin, graph)
    psid = new_wa_id()
    payload = p.messenger_text(PAGE_ID, psid, f"m_{psid}", "hi there", int(time.time() * 1000))
    assert (await admin.webhook(channel["id"], payload, APP_SECRET))[0] == 200
    await ticket_of(admin, psid)

    campaign = await create_campaign(admin, channel["id"])
    body = await add_recipients(admin, campaign["id"], [psid, "123456789", "not-a-psid"])
    assert body["added"] == 1
    reasons = {i["recipient"]: i["reason"] for i in body["invalid"]}
    assert reasons == {
        "123456789": "no customer with this PSID on this channel",
        "not-a-psid": "not a PSID: digits only",
    }


async def test_starting_needs_recipients_and_a_sent_campaign_takes_no_more(admin, graph):
    channel = await mock_channel(admin)
    campaign = await create_campaign(admin, channel["id"])
    path = f"/orgs/{admin.org_id}/campaigns/{campaign['id']}"
    status, body, _ = await admin.post(f"{path}/start")
    assert status == 400 and body["code"] == "NO_RECIPIENTS"

    await add_recipients(admin, campaign["id"], ["dev-1"])
    await start(admin, campaign["id"])
    await wait_completed(admin, campaign["id"])
    status, body, _ = await admin.post(f"{path}/recipients", {"recipients": ["dev-2"]})
    assert status == 409 and body["code"] == "CAMPAIGN_NOT_EDITABLE"
    assert body["details"] == {"status": "COMPLETED"}


# -- sending ---------------------------------------------------------------------------------


async def test_a_campaign_is_rendered_per_recipient_sent_through_graph_and_completed(
    admin, graph, settings, db
):
    from inbox.conversations.documents import Message
    from inbox.crm.customer_documents import Customer

    channel = await wa_channel(admin, graph)
    known, fresh = new_wa_id(), new_wa_id()
    await inbound(admin, channel["id"], known, "Kerry Fisher", "When is the sale?")
    known_ticket = await ticket_of(admin, known)
    await Customer.get_pymongo_collection().update_one(
        {"orgId": admin.org_id, "externalId": known}, {"$set": {"metadata": {"city": "Oslo"}}}
    )

    template = (
        "Hi {{ customer.name }}{% if customer.metadata.city is defined %} in "
        "{{ customer.metadata.city }}{% endif %}! Sale on {{ customer.platform }}."
    )
    campaign = await create_campaign(admin, channel["id"], template)
    await add_recipients(admin, campaign["id"], [known, "+" + fresh])
    started = await start(admin, campaign["id"])
    assert started["status"] in ("SENDING", "COMPLETED") and started["startedAt"]

    done = await wait_completed(admin, campaign["id"])
    assert done["completedAt"] >= done["startedAt"]
    [to_known] = sends_to(graph, known)
    [to_fresh] = sends_to(graph, fresh)
    assert to_known["json"]["text"]["body"] == "Hi Kerry Fisher in Oslo! Sale on WHATSAPP."
    assert to_fresh["json"]["text"]["body"] == f"Hi {fresh}! Sale on WHATSAPP."

    recipients = {r["recipientContact"]: r for r in await recipients_of(admin, campaign["id"])}
    assert all(
        r["status"] == "SENT" and r["sentAt"] and r["error"] is None for r in recipients.values()
    )
    assert await stats_of(admin, campaign["id"]) == {
        "totalRecipients": 2,
        "sentCount": 2,
        "failedCount": 0,
        "pendingCount": 0,
        "deliveredCount": 0,
        "readCount": 0,
        "openedCount": 0,
        "clickedCount": 0,
        "skippedCount": 0,
    }

    # Threaded like replies: the known customer's open ticket got it; the new number got a
    # new conversation waiting on the customer (PENDING).
    assert recipients[known]["ticketId"] == known_ticket["id"]
    fresh_ticket = await ticket_of(admin, fresh)
    assert recipients[fresh]["ticketId"] == fresh_ticket["id"]
    assert fresh_ticket["status"] == "PENDING" and fresh_ticket["subject"] == "Spring sale"
    message = await Message.find_one(Message.id == recipients[fresh]["messageId"])
    assert message.direction == "OUTBOUND" and message.status == "SENT"
    assert message.metadata == {
        "campaignId": campaign["id"],
        "recipientId": recipients[fresh]["id"],
    }
    assert message.external_message_id == to_fresh["response"]["messages"][0]["id"]
    assert to_fresh["idempotency_key"] == message.id

    redis = Redis.from_url(settings.redis_url)
    try:
        log = await RedisEventLog(redis, 10_000).since(admin.org_id, "0-0", count=10_000)
    finally:
        await redis.aclose()
    campaign_events = [e for e in log if e.event.startswith("campaign.")]
    names = [e.event for e in campaign_events]
    assert names[:2] == ["campaign.created", "campaign.started"]
    assert names.count("campaign.completed") == 1
    [completed] = [e for e in campaign_events if e.event == "campaign.completed"]
    assert completed.data["id"] == campaign["id"] and completed.data["status"] == "COMPLETED"
    assert completed.data["stats"]["sentCount"] == 2
    assert any(
        e.data["status"] == "COMPLETED" for e in campaign_events if e.event == "campaign.updated"
    )


async def test_the_customers_answer_lands_in_the_campaigns_ticket(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    campaign = await create_campaign(admin, channel["id"], "New arrivals, {{ customer.name }}!")
    await add_recipients(admin, campaign["id"], [wa_id])
    await start(admin, campaign["id"])
    await wait_completed(admin, campaign["id"])
    [recipient] = await recipients_of(admin, campaign["id"])

    await inbound(admin, channel["id"], wa_id, "Robin", "Do you have it in blue?")

    async def answered():
        _, ticket, _ = await admin.get(f"/orgs/{admin.org_id}/tickets/{recipient['ticketId']}")
        # The worker stores the message, then reopens the ticket: wait for both.
        return ticket if len(ticket["messages"]) == 2 and ticket["status"] == "OPEN" else None

    ticket = await eventually(answered, timeout=30)
    assert ticket["status"] == "OPEN"  # the customer answered: back in the agents' queue
    assert [m["direction"] for m in ticket["messages"]] == ["OUTBOUND", "INBOUND"]
    assert ticket["messages"][0]["content"] == f"New arrivals, {wa_id}!"
    _, tickets, _ = await admin.get(f"/orgs/{admin.org_id}/tickets?limit=100")
    assert [t["id"] for t in tickets if t["externalThreadId"] == wa_id] == [ticket["id"]]


async def test_starting_twice_sends_once(admin, graph):
    channel = await wa_channel(admin, graph)
    numbers = [new_wa_id() for _ in range(3)]
    campaign = await create_campaign(admin, channel["id"])
    await add_recipients(admin, campaign["id"], numbers)
    path = f"/orgs/{admin.org_id}/campaigns/{campaign['id']}/start"

    results = await asyncio.gather(*(admin.post(path) for _ in range(4)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 409, 409, 409]
    conflict = next(body for status, body, _ in results if status == 409)
    assert conflict["code"] == "CAMPAIGN_ALREADY_STARTED"

    await wait_completed(admin, campaign["id"])
    status, body, _ = await admin.post(path)
    assert status == 409 and body["details"] == {"status": "COMPLETED"}
    await asyncio.sleep(1.0)  # anything sent twice would have arrived by now
    assert [len(sends_to(graph, n)) for n in numbers] == [1, 1, 1]


async def test_a_scheduled_campaign_is_started_by_the_worker_on_time(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    when = datetime.now(UTC) + timedelta(seconds=3)
    campaign = await create_campaign(admin, channel["id"], scheduledAt=when.isoformat())
    await add_recipients(admin, campaign["id"], [wa_id])
    assert sends_to(graph, wa_id) == []

    done = await wait_completed(admin, campaign["id"], timeout=30)
    started_at = datetime.fromisoformat(done["startedAt"])
    assert when - timedelta(milliseconds=5) <= started_at < when + timedelta(seconds=5)
    assert len(sends_to(graph, wa_id)) == 1
    status, body, _ = await admin.post(f"/orgs/{admin.org_id}/campaigns/{campaign['id']}/start")
    assert status == 409


async def test_rate_limits_are_retried_and_refusals_recorded_per_recipient(admin, graph):
    channel = await wa_channel(admin, graph)

    limited = new_wa_id()
    campaign = await create_campaign(admin, channel["id"])
    await add_recipients(admin, campaign["id"], [limited])
    graph.fail_next(2, status=429, code=130429)
    await start(admin, campaign["id"])
    await wait_completed(admin, campaign["id"])
    [recipient] = await recipients_of(admin, campaign["id"])
    assert recipient["status"] == "SENT" and len(sends_to(graph, limited)) == 1

    refused = new_wa_id()
    campaign = await create_campaign(admin, channel["id"])
    await add_recipients(admin, campaign["id"], [refused])
    graph.fail_next(1, status=400, code=131026, message="Message undeliverable")
    await start(admin, campaign["id"])
    await wait_completed(admin, campaign["id"])
    [recipient] = await recipients_of(admin, campaign["id"], "&status=FAILED")
    assert recipient["sentAt"] is None and "undeliverable" in recipient["error"]
    stats = await stats_of(admin, campaign["id"])
    assert (stats["sentCount"], stats["failedCount"], stats["pendingCount"]) == (0, 1, 0)


async def test_a_template_value_missing_for_one_customer_fails_only_that_recipient(
    admin, graph, db
):
    from inbox.crm.customer_documents import Customer

    channel = await mock_channel(admin)
    for sender, tier in (("vip-1", "gold"), ("plain-1", None)):
        status, _, _ = await admin.webhook(
            channel["id"], p.mock_text(f"m-{sender}", sender, "hi", int(time.time())), None
        )
        assert status == 200
        await ticket_of(admin, sender)
        if tier:
            await Customer.get_pymongo_collection().update_one(
                {"orgId": admin.org_id, "externalId": sender}, {"$set": {"metadata.tier": tier}}
            )
    campaign = await create_campaign(
        admin, channel["id"], "Your {{ customer.metadata.tier }} perks"
    )
    await add_recipients(admin, campaign["id"], ["vip-1", "plain-1"])
    await start(admin, campaign["id"])
    await wait_completed(admin, campaign["id"])
    recipients = {r["recipientContact"]: r for r in await recipients_of(admin, campaign["id"])}
    assert recipients["vip-1"]["status"] == "SENT"
    assert recipients["plain-1"]["status"] == "FAILED"
    assert recipients["plain-1"]["error"].startswith("template:")
    assert "tier" in recipients["plain-1"]["error"]


async def test_receipts_count_as_delivered_and_read_and_a_late_failure_fails_the_recipient(
    admin, graph
):
    channel = await wa_channel(admin, graph)
    numbers = [new_wa_id() for _ in range(3)]
    campaign = await create_campaign(admin, channel["id"])
    await add_recipients(admin, campaign["id"], numbers)
    await start(admin, campaign["id"])
    await wait_completed(admin, campaign["id"])
    wamid = {n: sends_to(graph, n)[0]["response"]["messages"][0]["id"] for n in numbers}

    statuses = [
        p.wa_status_item(wamid[numbers[0]], "delivered", numbers[0], int(time.time())),
        p.wa_status_item(wamid[numbers[1]], "read", numbers[1], int(time.time())),
        p.wa_status_item(
            wamid[numbers[2]], "failed", numbers[2], int(time.time()), error_code=131026
        ),
    ]
    payload = p.whatsapp_payload(PHONE_ID, statuses=statuses)
    assert (await admin.webhook(channel["id"], payload, APP_SECRET))[0] == 200

    async def applied():
        stats = await stats_of(admin, campaign["id"])
        # The three receipts are three conversations, threaded concurrently: wait for all.
        done = (stats["failedCount"], stats["readCount"], stats["deliveredCount"]) == (1, 1, 2)
        return stats if done else None

    stats = await eventually(applied)
    assert stats == {
        "totalRecipients": 3,
        "sentCount": 2,
        "failedCount": 1,
        "pendingCount": 0,
        "deliveredCount": 2,
        "readCount": 1,
        "openedCount": 0,
        "clickedCount": 0,
        "skippedCount": 0,
    }
    [failed] = await recipients_of(admin, campaign["id"], "&status=FAILED")
    assert failed["recipientContact"] == numbers[2] and failed["error"]


async def test_campaign_writes_are_audited(admin, graph):
    channel = await mock_channel(admin)
    campaign = await create_campaign(admin, channel["id"])
    await add_recipients(admin, campaign["id"], ["a-1", "a-1", "a-2"])
    await start(admin, campaign["id"])
    status, logs, _ = await admin.get(f"/orgs/{admin.org_id}/audit-logs?entity=campaign")
    assert status == 200
    by_action = {entry["action"]: entry for entry in logs}
    assert set(by_action) == {"campaign.create", "campaign.recipients", "campaign.start"}
    assert all(e["entityId"] == campaign["id"] for e in logs)
    assert by_action["campaign.recipients"]["metadata"] == {
        "added": 2,
        "duplicates": 1,
        "invalid": 0,
    }
    assert by_action["campaign.create"]["user"]["id"] == admin.user["id"]


# -- crash and loss recovery -----------------------------------------------------------------


async def test_a_worker_killed_mid_campaign_resumes_without_resending(
    admin,
    graph,
    restartable_worker,  # noqa: F811 - the imported fixture
):
    channel = await wa_channel(admin, graph)
    numbers = [new_wa_id() for _ in range(240)]  # ~3 s at 80 messages/s
    campaign = await create_campaign(admin, channel["id"], "Flash sale, {{ customer.name }}")
    added = await add_recipients(admin, campaign["id"], numbers)
    assert added["added"] == len(numbers)
    wanted = set(numbers)
    await start(admin, campaign["id"])

    def sent_so_far() -> int:
        return sum(1 for s in graph.sent if (s["json"] or {}).get("to") in wanted)

    async def some_sent() -> bool:
        return sent_so_far() >= 20

    await eventually(some_sent, timeout=60, interval=0.02)
    restartable_worker.kill()  # SIGKILL mid-campaign: no shutdown, no offset commit
    at_kill = sent_so_far()
    assert at_kill < len(numbers), "the campaign finished before the kill; make it longer"
    await asyncio.sleep(0.5)
    restartable_worker.start()

    await wait_completed(admin, campaign["id"], timeout=120)
    per_number = {n: len(sends_to(graph, n)) for n in numbers}
    assert set(per_number.values()) == {1}, {n: c for n, c in per_number.items() if c != 1}
    stats = await stats_of(admin, campaign["id"])
    assert (stats["sentCount"], stats["pendingCount"]) == (len(numbers), 0)


async def test_the_sweeper_re_hands_recipients_whose_records_were_lost(admin, graph, db):
    from inbox.campaigns.documents import Campaign
    from inbox.document_base import utcnow

    channel = await wa_channel(admin, graph)
    numbers = [new_wa_id() for _ in range(3)]
    campaign = await create_campaign(admin, channel["id"])
    await add_recipients(admin, campaign["id"], numbers)
    # A campaign that was started but whose records never reached the worker (a broker that
    # lost them, or a web process that died mid fan-out): SENDING, nothing handed over.
    await Campaign.get_pymongo_collection().update_one(
        {"_id": campaign["id"]},
        {
            "$set": {
                "status": "SENDING",
                "startedAt": utcnow() - timedelta(minutes=5),
                "progressAt": utcnow() - timedelta(minutes=5),
            }
        },
    )
    await wait_completed(admin, campaign["id"], timeout=60)
    assert [len(sends_to(graph, n)) for n in numbers] == [1, 1, 1]


# -- pacing ----------------------------------------------------------------------------------


async def test_the_per_channel_throttle_spaces_sends_across_callers(settings):
    from inbox.campaigns.throttle import Throttle

    redis = Redis.from_url(settings.redis_url)
    try:
        # Two "workers" sharing one channel's limit of 20/s: 30 sends need at least 1.45 s.
        a, b = Throttle(redis, 20), Throttle(redis, 20)
        channel = f"test-{time.time_ns()}"
        began = time.monotonic()
        await asyncio.gather(*(t.acquire(channel) for t in [a, b] * 15))
        assert time.monotonic() - began >= 1.4
        # Another channel has its own budget.
        began = time.monotonic()
        await a.acquire(f"{channel}-other")
        assert time.monotonic() - began < 0.5
    finally:
        await redis.aclose()
