"""Automation rules end to end: the API, and a real `inbox worker` running them off the events
topic (sends through a local SMTP server and the fake Graph API, webhooks to a local
receiver)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis

from adapters.event_log import stream_key
from adapters.kafka import KafkaStream
from inbox import topics
from inbox.config import Settings
from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, Api, eventually, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_crash_recovery import restartable_worker  # noqa: F401 - fixture
from tests.integration.test_email_sms import email_channel, smtp  # noqa: F401 - fixture
from tests.integration.test_pipeline import PHONE_ID, new_wa_id, wa_channel

pytestmark = pytest.mark.usefixtures("worker")


# -- helpers ---------------------------------------------------------------------------------


def rules_url(api: Api, *rest: str) -> str:
    return "/".join([f"/orgs/{api.org_id}/automation/rules", *rest])


async def create_rule(api: Api, **body: Any) -> dict[str, Any]:
    body.setdefault("name", f"Rule {uuid.uuid4().hex[:6]}")
    status, rule, _ = await api.post(rules_url(api), body)
    assert status == 201, rule
    return rule


def tag(name: str) -> dict[str, Any]:
    return {"type": "add_tag", "tag": name}


async def mock_channel(api: Api) -> dict[str, Any]:
    status, channel, _ = await api.post(
        f"/orgs/{api.org_id}/channels", {"type": "MOCK", "name": "Mock", "config": {}}
    )
    assert status == 201, channel
    return channel


async def new_customer(api: Api, **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "Cleo Customer")
    status, customer, _ = await api.post(f"/orgs/{api.org_id}/customers", fields)
    assert status == 201, customer
    return customer


async def customer_of(api: Api, customer_id: str) -> dict[str, Any]:
    status, customer, _ = await api.get(f"/orgs/{api.org_id}/customers/{customer_id}")
    assert status == 200, customer
    return customer


async def stocked_product(api: Api) -> dict[str, Any]:
    status, product, _ = await api.post(
        f"/orgs/{api.org_id}/products", {"name": "Jollof box", "price": 12.5, "stockQuantity": 999}
    )
    assert status == 201, product
    return product


async def place_order(api: Api, customer_id: str, product_id: str) -> dict[str, Any]:
    status, order, _ = await api.post(
        f"/orgs/{api.org_id}/orders",
        {"customerId": customer_id, "items": [{"productId": product_id, "quantity": 1}]},
    )
    assert status == 201, order
    return order


async def logs_of(api: Api, rule_id: str, **params: str) -> list[dict[str, Any]]:
    status, logs, _ = await api.get(rules_url(api, rule_id, "logs"), params=params)
    assert status == 200, logs
    return logs


async def logs_for(api: Api, rule_id: str, customer_id: str, count: int = 1) -> Any:
    """Wait for (at least) `count` logs of the rule for this customer; returns them."""

    async def found() -> list[dict[str, Any]]:
        mine = [e for e in await logs_of(api, rule_id) if e["customerId"] == customer_id]
        return mine if len(mine) >= count else []

    return await eventually(found, timeout=30, interval=0.2)


async def rule_of(api: Api, rule_id: str) -> dict[str, Any]:
    status, rule, _ = await api.get(rules_url(api, rule_id))
    assert status == 200, rule
    return rule


async def org_events(settings: Settings, org_id: str) -> list[dict[str, Any]]:
    """The org's realtime event log (what went to websockets and the events topic)."""
    redis = Redis.from_url(settings.redis_url)
    try:
        entries = await redis.xrange(stream_key(org_id))
    finally:
        await redis.aclose()
    out = []
    for entry_id, fields in entries:
        f = {k.decode(): v.decode() for k, v in fields.items()}
        out.append({"id": entry_id.decode(), "event": f["e"], "data": json.loads(f["d"])})
    return out


async def send_events(settings: Settings, records: list[dict[str, Any]]) -> None:
    stream = KafkaStream(settings)
    await stream.start()
    try:
        for record in records:
            await stream.send(topics.events(settings), record["orgId"], record)
        await stream.producer.flush()
    finally:
        await stream.stop()


async def inbound_mock(api: Api, channel_id: str, sender: str, text: str) -> None:
    status, body, _ = await api.webhook(
        channel_id, p.mock_text(f"m-{uuid.uuid4().hex}", sender, text), None
    )
    assert status == 200, body


async def customer_by_thread(api: Api, thread: str) -> dict[str, Any]:
    async def find() -> dict[str, Any] | None:
        _, tickets, _ = await api.get(f"/orgs/{api.org_id}/tickets")
        mine = [t for t in tickets if t["externalThreadId"] == thread]
        return await customer_of(api, mine[0]["customerId"]) if mine else None

    return await eventually(find, timeout=30)


# -- CRUD and validation ---------------------------------------------------------------------


async def test_rules_are_created_read_updated_switched_and_deleted_with_an_audit_trail(admin):
    rule = await create_rule(
        admin,
        name="Welcome",
        description="Tag new customers",
        trigger={"type": "customer_registered"},
        conditions=[{"field": "city", "operator": "eq", "value": "Lagos"}],
        actions=[tag("new")],
        delayMinutes=5,
    )
    assert rule["signingSecret"].startswith("autosec_")
    assert rule["trigger"] == {"type": "customer_registered", "keyword": None, "status": None}
    assert rule["triggerType"] == "customer_registered" and rule["isActive"] is True
    assert rule["actions"][0]["type"] == "add_tag" and rule["actions"][0]["tag"] == "new"
    assert (rule["totalRuns"], rule["totalSent"], rule["successRate"]) == (0, 0, 0.0)

    fetched = await rule_of(admin, rule["id"])
    assert "signingSecret" not in fetched and fetched["delayMinutes"] == 5

    status, updated, _ = await admin.put(
        rules_url(admin, rule["id"]), {"isActive": False, "delayMinutes": 120}
    )
    assert status == 200, updated
    assert updated["isActive"] is False and updated["delayMinutes"] == 120
    assert updated["name"] == "Welcome" and updated["conditions"] == rule["conditions"]
    status, toggled, _ = await admin.post(rules_url(admin, rule["id"], "toggle"))
    assert status == 200 and toggled["isActive"] is True

    other = await create_rule(
        admin,
        trigger={"type": "order_status_changed", "status": {"to": "delivered"}},
        actions=[tag("got-it")],
        isActive=False,
    )
    assert other["trigger"]["status"] == {"from": None, "to": "delivered"}
    status, listed, headers = await admin.get(rules_url(admin))
    assert status == 200 and headers["X-Total-Count"] == "2"
    assert [r["id"] for r in listed] == [other["id"], rule["id"]]
    _, active, _ = await admin.get(rules_url(admin), params={"isActive": "true"})
    assert [r["id"] for r in active] == [rule["id"]]
    _, by_trigger, _ = await admin.get(
        rules_url(admin), params={"triggerType": "order_status_changed"}
    )
    assert [r["id"] for r in by_trigger] == [other["id"]]
    status, body, _ = await admin.get(rules_url(admin), params={"triggerType": "nope"})
    assert status == 400 and "nope" in body["details"]["triggerType"]
    assert await logs_of(admin, rule["id"]) == []

    status, _, _ = await admin.delete(rules_url(admin, rule["id"]))
    assert status == 200
    status, _, _ = await admin.get(rules_url(admin, rule["id"]))
    assert status == 404
    status, audit, _ = await admin.get(
        f"/orgs/{admin.org_id}/audit-logs", params={"entity": "automation_rule"}
    )
    assert status == 200
    actions = [e["action"] for e in audit if e["entityId"] == rule["id"]]
    assert set(actions) == {
        "automation.create",
        "automation.update",
        "automation.toggle",
        "automation.delete",
    }


async def test_unknown_trigger_and_action_types_are_a_400_naming_them(admin):
    status, body, _ = await admin.post(
        rules_url(admin),
        {
            "name": "Bad",
            "trigger": {"type": "moon_rises"},
            "actions": [tag("x"), {"type": "send_pigeon"}, {"type": "launch_rocket"}],
        },
    )
    assert status == 400, body
    assert body["code"] == "UNKNOWN_TYPE"
    assert "moon_rises" in body["message"] and "send_pigeon" in body["message"]
    assert "'moon_rises'" in body["details"]["trigger.type"]
    assert "'send_pigeon'" in body["details"]["actions.1.type"]
    assert "'launch_rocket'" in body["details"]["actions.2.type"]
    assert "actions.0.type" not in body["details"]
    _, listed, _ = await admin.get(rules_url(admin))
    assert listed == []


async def test_each_action_is_checked_against_the_org_before_the_rule_is_saved(
    admin, graph, web_url, http
):
    whatsapp = await wa_channel(admin, graph)
    mock = await mock_channel(admin)
    other = await signup(web_url, http, org="Elsewhere")
    foreign = await wa_channel(other, graph)
    status, body, _ = await admin.post(
        rules_url(admin),
        {
            "name": "Checked",
            "trigger": {"type": "order_placed", "keyword": "nope"},
            "actions": [
                {
                    "type": "send_email",
                    "channelId": whatsapp["id"],
                    "subject": "Hi",
                    "template": "x",
                },
                {"type": "send_whatsapp", "channelId": mock["id"], "template": "x"},
                {"type": "send_whatsapp", "channelId": foreign["id"], "template": "x"},
                {"type": "send_sms", "template": "x"},
                {
                    "type": "send_whatsapp",
                    "channelId": whatsapp["id"],
                    "template": "Hi {{ customer.nmae }} {{ message.content }}",
                },
                {"type": "call_webhook", "url": "ftp://example.com/x"},
                {"type": "assign_ticket", "assigneeId": other.user["id"]},
                {"type": "add_tag", "tag": "x", "url": "https://example.com"},
                {"type": "send_whatsapp", "channelId": whatsapp["id"], "template": "{% if %}"},
            ],
            "conditions": [{"field": "shoeSize", "operator": "eq", "value": 9}],
            "segmentId": str(uuid.uuid4()),
        },
    )
    assert status == 400, body
    d = body["details"]
    assert d["trigger.keyword"] == "only message_received rules take a keyword"
    assert d["actions.0.channelId"] == "send_email needs a EMAIL channel; this one is WHATSAPP"
    assert "WHATSAPP" in d["actions.1.channelId"] and "MOCK" in d["actions.1.channelId"]
    assert d["actions.2.channelId"] == "no such channel in this organisation"
    assert d["actions.3.channelId"] == "required for send_sms"
    # No `message` on order_placed.
    assert d["actions.4.template"] == "undefined variable customer.nmae, message"
    assert "http" in d["actions.5.url"]
    assert d["actions.6.assigneeId"] == "not an active user of this organisation"
    assert d["actions.7.url"] == "not used by add_tag"
    assert "syntax error" in d["actions.8.template"]
    assert "shoeSize" in d["conditions.0.field"]
    assert d["segmentId"] == "no such segment in this organisation"

    # The right channel type and variables the trigger provides are fine.
    rule = await create_rule(
        admin,
        trigger={"type": "message_received", "keyword": "refund"},
        actions=[
            {
                "type": "send_whatsapp",
                "channelId": whatsapp["id"],
                "template": "{{ customer.name }}: '{{ message.content }}' on {{ ticket.id }}",
            },
        ],
    )
    assert rule["trigger"]["keyword"] == "refund"
    # A PUT is checked as a whole rule too.
    status, body, _ = await admin.put(
        rules_url(admin, rule["id"]), {"trigger": {"type": "birthday"}}
    )
    assert status == 400
    assert body["details"]["actions.0.template"] == "undefined variable message, ticket"


async def test_agents_read_rules_but_cannot_write_them_and_other_orgs_get_404(admin, web_url, http):
    rule = await create_rule(admin, trigger={"type": "order_placed"}, actions=[tag("a")])
    agent = await invite_agent(admin, web_url, http)
    status, _, _ = await agent.get(rules_url(agent))
    assert status == 200
    status, _, _ = await agent.get(rules_url(agent, rule["id"], "logs"))
    assert status == 200
    body = {"name": "No", "trigger": {"type": "order_placed"}, "actions": [tag("b")]}
    assert (await agent.post(rules_url(agent), body))[0] == 403
    assert (await agent.put(rules_url(agent, rule["id"]), {"name": "x"}))[0] == 403
    assert (await agent.post(rules_url(agent, rule["id"], "toggle")))[0] == 403
    assert (await agent.delete(rules_url(agent, rule["id"])))[0] == 403
    assert (await admin.get(rules_url(admin), token="not-a-token"))[0] == 401

    stranger = await signup(web_url, http, org="Other")
    theirs = f"/orgs/{stranger.org_id}/automation/rules/{rule['id']}"
    for method, path in [
        ("GET", theirs),
        ("PUT", theirs),
        ("DELETE", theirs),
        ("POST", theirs + "/toggle"),
        ("GET", theirs + "/logs"),
    ]:
        status, body, _ = await stranger.call(
            method, path, {"name": "x"} if method == "PUT" else None
        )
        assert status == 404, (method, path, body)
    # Our org id in the path with their token: not their organisation.
    status, _, _ = await stranger.get(rules_url(admin, rule["id"]))
    assert status == 404


# -- triggers and actions ------------------------------------------------------------------


async def test_an_order_placed_rule_tags_the_customer_once_even_when_the_event_is_replayed(
    admin, settings, db
):
    from inbox.automation.documents import AutomationExecution

    rule = await create_rule(admin, trigger={"type": "order_placed"}, actions=[tag("buyer")])
    product = await stocked_product(admin)
    first, second = await new_customer(admin), await new_customer(admin, name="Second")
    await place_order(admin, first["id"], product["id"])
    [entry] = await logs_for(admin, rule["id"], first["id"])
    assert entry["status"] == "success" and entry["event"] == "order.created"
    assert entry["details"] == [
        {
            "index": 0,
            "type": "add_tag",
            "status": "ok",
            "reason": None,
            "messageId": None,
            "ticketId": None,
            "deliveryStatus": None,
            "recipient": None,
            "tag": "buyer",
            "assigneeId": None,
            "statusCode": None,
        }
    ]
    assert (await customer_of(admin, first["id"]))["tags"] == ["buyer"]

    # The very same record again (a replay after a restart), then a fresh one behind it on
    # the org's partition: once the fresh one is done, the replay has been seen.
    execution = await AutomationExecution.find_one(AutomationExecution.rule_id == rule["id"])
    [original] = [
        e for e in await org_events(settings, admin.org_id) if e["id"] == execution.event_id
    ]
    replay = {
        "id": original["id"],
        "orgId": admin.org_id,
        "event": "order.created",
        "data": original["data"],
    }
    fresh_data = {**original["data"], "customerId": second["id"]}
    fresh = {**replay, "id": original["id"].split("-")[0] + "-999", "data": fresh_data}
    await send_events(settings, [replay, replay, fresh])
    await logs_for(admin, rule["id"], second["id"])

    assert len(await logs_of(admin, rule["id"])) == 2
    assert (await customer_of(admin, first["id"]))["tags"] == ["buyer"]
    done = await rule_of(admin, rule["id"])
    assert (done["totalRuns"], done["successfulRuns"], done["totalSent"]) == (2, 2, 2)
    assert done["successRate"] == 100.0 and done["lastRunAt"]


async def test_message_received_with_a_keyword_fires_only_on_messages_with_that_word(admin):
    channel = await mock_channel(admin)
    keyword = await create_rule(
        admin,
        trigger={"type": "message_received", "keyword": "refund"},
        actions=[tag("refund-request")],
    )
    every = await create_rule(admin, trigger={"type": "message_received"}, actions=[tag("wrote")])
    texts = {
        "kw-a": "Hello, I want a REFUND please!",
        "kw-b": "I was refunded already, thanks",
        "kw-c": "Is the refund-policy online?",  # a hyphen ends a word
        "kw-d": "Just saying hello",
    }
    for sender, text in texts.items():
        await inbound_mock(admin, channel["id"], sender, text)
    customers = {s: await customer_by_thread(admin, s) for s in texts}
    for customer in customers.values():
        await logs_for(admin, every["id"], customer["id"])
    # Both rules' runs of an event are stored together, so once `every` has run for each
    # message, any keyword run exists; wait for those to finish too.
    for sender in ("kw-a", "kw-c"):
        await logs_for(admin, keyword["id"], customers[sender]["id"])
    tagged = {s: (await customer_of(admin, c["id"]))["tags"] for s, c in customers.items()}
    assert {s: set(t) for s, t in tagged.items()} == {
        "kw-a": {"wrote", "refund-request"},
        "kw-b": {"wrote"},
        "kw-c": {"wrote", "refund-request"},
        "kw-d": {"wrote"},
    }
    fired = {e["customerId"] for e in await logs_of(admin, keyword["id"])}
    assert fired == {customers["kw-a"]["id"], customers["kw-c"]["id"]}
    [entry] = await logs_for(admin, keyword["id"], customers["kw-a"]["id"])
    assert entry["event"] == "message.created"


async def test_a_send_email_automation_reaches_the_smtp_server_rendered_for_the_customer(
    admin,
    smtp,  # noqa: F811 - fixture
):
    channel = await email_channel(admin, smtp)
    rule = await create_rule(
        admin,
        name="Welcome e-mail",
        trigger={"type": "customer_registered"},
        actions=[
            {
                "type": "send_email",
                "channelId": channel["id"],
                "subject": "Welcome, {{ customer.name }}!",
                "template": "<p>Hi <b>{{ customer.name }}</b>, you live in {{ customer.city }}."
                "</p>",
            },
            tag("welcomed"),
        ],
    )
    customer = await new_customer(
        admin, name="Ada <Lovelace>", email="Ada@Example.com", city="Lagos"
    )
    nobody = await new_customer(admin, name="No Mail")
    [entry] = await logs_for(admin, rule["id"], customer["id"])
    assert entry["status"] == "success", entry
    send = entry["details"][0]
    assert send["status"] == "ok" and send["deliveryStatus"] == "SENT"
    assert send["recipient"] == "ada@example.com"

    [mail] = smtp.to("ada@example.com")
    assert mail.subject == "Welcome, Ada <Lovelace>!"
    assert "Hi <b>Ada &lt;Lovelace&gt;</b>, you live in Lagos." in mail.part("html")
    assert "Hi Ada <Lovelace>, you live in Lagos." in mail.part("plain")

    # Threaded like a campaign send: a ticket of the customer on the EMAIL channel.
    status, ticket, _ = await admin.get(f"/orgs/{admin.org_id}/tickets/{send['ticketId']}")
    assert status == 200 and ticket["customerId"] == customer["id"]
    assert ticket["channelId"] == channel["id"] and ticket["status"] == "PENDING"
    [message] = ticket["messages"]
    assert message["id"] == send["messageId"] and message["direction"] == "OUTBOUND"
    assert message["metadata"]["automationRuleId"] == rule["id"]

    # No e-mail address: that action is skipped (with the reason), the tag still applies.
    [skipped] = await logs_for(admin, rule["id"], nobody["id"])
    assert skipped["status"] == "success"
    assert skipped["details"][0]["status"] == "skipped"
    assert skipped["details"][0]["reason"] == "the customer has no e-mail address"
    assert skipped["details"][1]["status"] == "ok"
    assert len(smtp.messages) == 1
    done = await rule_of(admin, rule["id"])
    assert done["totalSent"] == 3 and done["totalRuns"] == 2


async def test_a_delayed_automation_fires_exactly_once_after_a_worker_restart(
    admin,
    graph,
    restartable_worker,  # noqa: F811 - fixture
    db,
):
    from inbox.automation.documents import AutomationExecution

    channel = await wa_channel(admin, graph)
    rule = await create_rule(
        admin,
        trigger={"type": "order_placed"},
        # Seconds in tests; long enough that a loaded machine still kills the worker first.
        delayMinutes=20,
        actions=[
            {
                "type": "send_whatsapp",
                "channelId": channel["id"],
                "template": "Thanks {{ customer.name }} for {{ order.orderNumber }}",
            }
        ],
    )
    product = await stocked_product(admin)
    wa_id, other_wa = new_wa_id(), new_wa_id()
    customer = await new_customer(admin, name="Dele", phone="+" + wa_id)
    other = await new_customer(admin, name="Other", phone="+" + other_wa)
    order = await place_order(admin, customer["id"], product["id"])

    async def scheduled() -> AutomationExecution | None:
        return await AutomationExecution.find_one(AutomationExecution.rule_id == rule["id"])

    execution = await eventually(scheduled, timeout=30, interval=0.1)
    restartable_worker.kill()  # SIGKILL before it is due: only MongoDB remembers it
    assert execution.status == "pending"
    assert (execution.run_at - execution.created_at).total_seconds() == pytest.approx(20, abs=0.01)
    await asyncio.sleep(max(0.0, (execution.run_at - datetime.now(UTC)).total_seconds()) + 1)
    assert [s for s in graph.sent if s["json"].get("to") == wa_id] == []
    restartable_worker.start()

    [entry] = await logs_for(admin, rule["id"], customer["id"])
    assert entry["status"] == "success", entry
    assert entry["details"][0]["deliveryStatus"] == "SENT"
    # Another order placed after the restart: once it has fired, every event before it
    # (including whatever the new worker re-read) has been through the agent.
    await place_order(admin, other["id"], product["id"])
    await logs_for(admin, rule["id"], other["id"])

    sent = [s for s in graph.sent if s["json"].get("to") == wa_id]
    assert len(sent) == 1
    assert sent[0]["json"]["text"]["body"] == f"Thanks Dele for {order['orderNumber']}"
    assert (
        len([e for e in await logs_of(admin, rule["id"]) if e["customerId"] == customer["id"]]) == 1
    )
    executed_at = datetime.fromisoformat(entry["executedAt"].replace("Z", "+00:00"))
    assert executed_at >= execution.run_at


async def test_what_an_automation_does_never_triggers_automations(admin, graph, settings):
    channel = await wa_channel(admin, graph)
    welcome = await create_rule(
        admin, trigger={"type": "customer_registered"}, actions=[tag("welcome")]
    )
    on_order = await create_rule(
        admin,
        trigger={"type": "order_placed"},
        actions=[
            tag("buyer"),
            {"type": "send_whatsapp", "channelId": channel["id"], "template": "Thank you!"},
        ],
    )
    on_ticket = await create_rule(
        admin, trigger={"type": "ticket_created"}, actions=[tag("ticket-opened")]
    )
    wa_id = new_wa_id()
    customer = await new_customer(admin, name="Loop", phone="+" + wa_id)
    await logs_for(admin, welcome["id"], customer["id"])
    product = await stocked_product(admin)
    await place_order(admin, customer["id"], product["id"])
    [entry] = await logs_for(admin, on_order["id"], customer["id"])
    assert entry["status"] == "success", entry

    # A real conversation afterwards opens a ticket that does fire the ticket rule; events
    # of one org are in order, so the automation's own events were seen before it.
    stranger = new_wa_id()
    status, _, _ = await admin.webhook(
        channel["id"],
        p.whatsapp_text(PHONE_ID, stranger, "Stranger", f"wamid.{stranger}", "hello"),
        APP_SECRET,
    )
    assert status == 200
    someone = await customer_by_thread(admin, stranger)
    await logs_for(admin, on_ticket["id"], someone["id"])

    assert [e["customerId"] for e in await logs_of(admin, on_ticket["id"])] == [someone["id"]]
    # The tags' customer.updated events are not a registration.
    welcomed = [e for e in await logs_of(admin, welcome["id"]) if e["customerId"] == customer["id"]]
    assert len(welcomed) == 1
    assert set((await customer_of(admin, customer["id"]))["tags"]) == {"welcome", "buyer"}
    # The events the actions caused say which rule caused them.
    caused: dict[str, set[str]] = {}
    for e in await org_events(settings, admin.org_id):
        if e["data"].get("causedBy"):
            caused.setdefault(e["event"], set()).add(e["data"]["causedBy"]["automationRuleId"])
    assert caused["customer.updated"] == {welcome["id"], on_order["id"], on_ticket["id"]}
    assert caused["automation.triggered"] == {welcome["id"], on_order["id"], on_ticket["id"]}
    for name in ("ticket.created", "message.created", "message.sent"):
        assert caused[name] == {on_order["id"]}, name


async def test_a_birthday_rule_fires_once_per_customer_per_day_scan(admin, settings, db):
    from inbox.automation import runs as automation_runs
    from inbox.automation.documents import AutomationExecution, AutomationRule

    now = datetime.now(UTC)
    today, tomorrow = now.date(), (now + timedelta(days=1)).date()
    born_today = await new_customer(
        admin, name="Birthday", birthday=f"1990-{today:%m-%d}T00:00:00Z"
    )
    born_tomorrow = await new_customer(
        admin, name="Tomorrow", birthday=f"1985-{tomorrow:%m-%d}T00:00:00Z"
    )
    await new_customer(admin, name="Unknown")
    rule = await create_rule(admin, trigger={"type": "birthday"}, actions=[tag("birthday-treat")])
    [entry] = await logs_for(admin, rule["id"], born_today["id"])
    assert entry["status"] == "success" and entry["event"] is None
    assert (await customer_of(admin, born_today["id"]))["tags"] == ["birthday-treat"]

    # Later scans the same day (the worker's, or ours after forgetting the day was scanned)
    # find the customer done for this year.
    assert await automation_runs.scan_dates(settings) == 0
    await AutomationRule.get_pymongo_collection().update_one(
        {"_id": rule["id"]}, {"$set": {"dateScannedOn": None}}
    )
    assert await automation_runs.scan_dates(settings) == 0
    # Tomorrow's scan is the other customer's.
    at_tomorrow = now + timedelta(days=1)
    assert await automation_runs.scan_dates(settings, now=at_tomorrow) == 1
    executions = await AutomationExecution.find(AutomationExecution.rule_id == rule["id"]).to_list()
    assert sorted(e.customer_id for e in executions) == sorted(
        [born_today["id"], born_tomorrow["id"]]
    )
    await asyncio.sleep(2)  # several more scans of the worker
    assert len(await logs_of(admin, rule["id"])) == 1


async def test_conditions_and_segments_limit_a_rule_to_matching_customers(admin):
    status, segment, _ = await admin.post(
        f"/orgs/{admin.org_id}/segments",
        {"name": "Lagos", "conditions": [{"field": "city", "operator": "eq", "value": "Lagos"}]},
    )
    assert status == 201, segment
    by_fields = await create_rule(
        admin,
        trigger={"type": "order_placed"},
        conditions=[{"field": "tags", "operator": "eq", "value": "vip"}],
        actions=[tag("vip-order")],
    )
    by_segment = await create_rule(
        admin, trigger={"type": "order_placed"}, segmentId=segment["id"], actions=[tag("lagos")]
    )
    every = await create_rule(admin, trigger={"type": "order_placed"}, actions=[tag("ordered")])
    product = await stocked_product(admin)
    vip = await new_customer(admin, name="Vip", tags=["vip"], city="Accra")
    lagos = await new_customer(admin, name="Lagosian", city="Lagos")
    for c in (vip, lagos):
        await place_order(admin, c["id"], product["id"])
    for c in (vip, lagos):
        await logs_for(admin, every["id"], c["id"])
    await logs_for(admin, by_fields["id"], vip["id"])
    await logs_for(admin, by_segment["id"], lagos["id"])
    assert [e["customerId"] for e in await logs_of(admin, by_fields["id"])] == [vip["id"]]
    assert [e["customerId"] for e in await logs_of(admin, by_segment["id"])] == [lagos["id"]]


async def test_order_status_rules_fire_on_the_moves_they_name(admin):
    any_move = await create_rule(
        admin, trigger={"type": "order_status_changed"}, actions=[tag("moved")]
    )
    to_delivered = await create_rule(
        admin,
        trigger={
            "type": "order_status_changed",
            "status": {"from": "processing", "to": "delivered"},
        },
        actions=[tag("arrived")],
    )
    delivered = await create_rule(
        admin, trigger={"type": "order_delivered"}, actions=[tag("delivered")]
    )
    product = await stocked_product(admin)
    customer = await new_customer(admin)
    order = await place_order(admin, customer["id"], product["id"])
    for status in ("processing", "delivered"):
        code, body, _ = await admin.patch(
            f"/orgs/{admin.org_id}/orders/{order['id']}/status", {"status": status}
        )
        assert code == 200, body
    await logs_for(admin, any_move["id"], customer["id"], count=2)
    [moved] = await logs_for(admin, to_delivered["id"], customer["id"])
    [done] = await logs_for(admin, delivered["id"], customer["id"])
    assert moved["event"] == done["event"] == "order.updated"
    assert len(await logs_of(admin, any_move["id"])) == 2


# -- ticket assignment and webhooks ------------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []

    async def ok(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.read()))
        return web.json_response({"ok": True})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_post("/ok", ok)
    app.router.add_post("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", got
    await runner.cleanup()


async def test_a_ticket_rule_assigns_the_ticket_and_calls_signed_webhooks(
    admin, web_url, http, receiver
):
    base, got = receiver
    agent = await invite_agent(admin, web_url, http)
    channel = await mock_channel(admin)
    rule = await create_rule(
        admin,
        trigger={"type": "ticket_created"},
        actions=[
            {"type": "assign_ticket", "assigneeId": agent.user["id"]},
            {"type": "call_webhook", "url": f"{base}/ok"},
            {"type": "call_webhook", "url": f"{base}/broken"},
        ],
    )
    await inbound_mock(admin, channel["id"], "assign-me", "I need help")
    customer = await customer_by_thread(admin, "assign-me")
    [entry] = await logs_for(admin, rule["id"], customer["id"])
    assert entry["status"] == "failed"
    assign, ok, broken = entry["details"]
    assert assign["status"] == "ok" and assign["assigneeId"] == agent.user["id"]
    assert ok["status"] == "ok" and ok["statusCode"] == 200
    assert broken["status"] == "failed" and broken["statusCode"] == 500
    assert broken["reason"] == "HTTP 500"

    status, ticket, _ = await admin.get(f"/orgs/{admin.org_id}/tickets/{assign['ticketId']}")
    assert status == 200 and ticket["assigneeId"] == agent.user["id"]
    [(headers, body)] = got
    expected = (
        "sha256=" + hmac.new(rule["signingSecret"].encode(), body, hashlib.sha256).hexdigest()
    )
    assert headers["X-Signature-256"] == expected
    payload = json.loads(body)
    assert payload["rule"] == {"id": rule["id"], "name": rule["name"]}
    assert payload["customer"]["id"] == customer["id"]
    assert payload["trigger"]["type"] == "ticket_created"
    assert payload["data"]["ticket"]["id"] == ticket["id"]
    done = await rule_of(admin, rule["id"])
    assert (done["totalRuns"], done["failedRuns"], done["totalSent"]) == (1, 1, 2)
    assert done["successRate"] == 0.0
    failed = await logs_of(admin, rule["id"], status="failed")
    assert [e["id"] for e in failed] == [entry["id"]]
    assert await logs_of(admin, rule["id"], status="success") == []


async def test_a_delayed_run_of_a_rule_switched_off_meanwhile_is_logged_as_skipped(admin, db):
    from inbox.automation.documents import AutomationExecution

    rule = await create_rule(
        admin, trigger={"type": "order_placed"}, delayMinutes=3, actions=[tag("late")]
    )
    product = await stocked_product(admin)
    customer = await new_customer(admin)
    await place_order(admin, customer["id"], product["id"])
    await eventually(
        lambda: AutomationExecution.find_one(AutomationExecution.rule_id == rule["id"])
    )
    status, off, _ = await admin.post(rules_url(admin, rule["id"], "toggle"))
    assert status == 200 and off["isActive"] is False
    [entry] = await logs_for(admin, rule["id"], customer["id"])
    assert entry["status"] == "skipped"
    assert entry["reason"] == "the rule was switched off before it ran"
    assert (await customer_of(admin, customer["id"]))["tags"] == []
    done = await rule_of(admin, rule["id"])
    assert (done["totalRuns"], done["skippedRuns"], done["totalSent"]) == (1, 1, 0)


async def test_a_cart_abandoned_event_fires_cart_rules_with_the_cart_in_templates(
    admin, graph, settings
):
    channel = await wa_channel(admin, graph)
    rule = await create_rule(
        admin,
        trigger={"type": "cart_abandoned"},
        actions=[
            {
                "type": "send_whatsapp",
                "channelId": channel["id"],
                "template": "{{ customer.name }}, your {{ cart.items|length }} items wait: "
                "{{ cart.url }}",
            }
        ],
    )
    wa_id = new_wa_id()
    customer = await new_customer(admin, name="Cart", phone="+" + wa_id)
    cart = {"customerId": customer["id"], "items": [{"sku": "a"}, {"sku": "b"}], "url": "u/1"}
    record = {"id": "1700000000000-7", "orgId": admin.org_id, "event": "cart.abandoned"}
    await send_events(settings, [{**record, "data": cart}])
    [entry] = await logs_for(admin, rule["id"], customer["id"])
    assert entry["status"] == "success", entry
    [sent] = [s for s in graph.sent if s["json"].get("to") == wa_id]
    assert sent["json"]["text"]["body"] == "Cart, your 2 items wait: u/1"
