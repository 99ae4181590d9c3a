"""Webhook -> stream worker -> tickets and messages -> replies out through the fake Graph API.

Everything real but Meta: the web app, an `inbox worker` process, the Mongo-protocol server,
the Kafka-protocol broker and Redis.
"""

from __future__ import annotations

import random

import pytest

from tests.fakes import payloads as p
from tests.integration.conftest import (
    APP_SECRET,
    Api,
    eventually,
    messenger_config,
    signup,
    whatsapp_config,
)

pytestmark = pytest.mark.usefixtures("worker")

PHONE_ID = "1000001"


def new_wa_id() -> str:
    return str(random.randint(10**10, 10**11))


async def wa_channel(api: Api, graph) -> dict:
    status, channel, _ = await api.post(
        f"/orgs/{api.org_id}/channels",
        {"type": "WHATSAPP", "name": "WhatsApp", "config": whatsapp_config(graph)},
    )
    assert status == 201, channel
    return channel


async def fb_channel(api: Api, graph) -> dict:
    status, channel, _ = await api.post(
        f"/orgs/{api.org_id}/channels",
        {"type": "FACEBOOK", "name": "Page", "config": messenger_config(graph)},
    )
    assert status == 201, channel
    return channel


async def tickets_of(api: Api, query: str = "") -> list[dict]:
    status, body, _ = await api.get(f"/orgs/{api.org_id}/tickets{query}")
    assert status == 200, body
    return body


async def messages_of(api: Api, ticket_id: str) -> list[dict]:
    status, body, _ = await api.get(f"/orgs/{api.org_id}/tickets/{ticket_id}/messages?limit=100")
    assert status == 200, body
    return body


async def wait_for_messages(api: Api, thread: str, count: int) -> tuple[dict, list[dict]]:
    async def check():
        for t in await tickets_of(api):
            if t["externalThreadId"] == thread:
                msgs = await messages_of(api, t["id"])
                if len(msgs) >= count:
                    return t, msgs
        return None

    return await eventually(check)


async def test_a_signed_whatsapp_message_becomes_a_ticket_with_its_customer(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    payload = p.whatsapp_text(
        PHONE_ID, wa_id, "Kerry Fisher", f"wamid.{wa_id}.1", "Where is my order?"
    )
    status, body, _ = await admin.webhook(channel["id"], payload, APP_SECRET)
    assert (status, body) == (200, {"ok": True})

    ticket, msgs = await wait_for_messages(admin, wa_id, 1)
    assert ticket["status"] == "OPEN" and ticket["subject"] == "Where is my order?"
    assert ticket["channel"] == {"id": channel["id"], "name": "WhatsApp", "type": "WHATSAPP"}
    assert (
        ticket["customer"]["name"] == "Kerry Fisher"
        and ticket["customer"]["platform"] == "WHATSAPP"
    )
    [msg] = msgs
    assert msg["direction"] == "INBOUND" and msg["content"] == "Where is my order?"
    assert msg["externalMessageId"] == f"wamid.{wa_id}.1" and msg["senderName"] == "Kerry Fisher"

    status, detail, _ = await admin.get(f"/orgs/{admin.org_id}/tickets/{ticket['id']}")
    assert status == 200 and [m["id"] for m in detail["messages"]] == [msg["id"]]
    status, customers, _ = await admin.get(
        f"/orgs/{admin.org_id}/channels/{channel['id']}/customers"
    )
    assert status == 200
    [customer] = [c for c in customers if c["externalId"] == wa_id]
    assert customer["lastMessage"] == "Where is my order?" and customer["lastMessageAt"]


async def test_redelivered_webhook_stores_one_message(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    first = p.whatsapp_text(PHONE_ID, wa_id, "Kim", f"wamid.{wa_id}.dup", "only once")
    for _ in range(3):
        assert (await admin.webhook(channel["id"], first, APP_SECRET))[0] == 200
    # A batch carrying the same message twice, plus a new one.
    batch = p.whatsapp_payload(
        PHONE_ID,
        messages=[
            p.wa_text_message(f"wamid.{wa_id}.dup", "only once", wa_id, p.TS),
            p.wa_text_message(f"wamid.{wa_id}.dup", "only once", wa_id, p.TS),
            p.wa_text_message(f"wamid.{wa_id}.2", "second", wa_id, p.TS + 5),
        ],
    )
    assert (await admin.webhook(channel["id"], batch, APP_SECRET))[0] == 200
    ticket, msgs = await wait_for_messages(admin, wa_id, 2)
    await eventually(lambda: _settled(admin, ticket["id"], 2))
    assert [m["content"] for m in msgs] == ["only once", "second"]
    assert len([t for t in await tickets_of(admin) if t["externalThreadId"] == wa_id]) == 1


async def _settled(api: Api, ticket_id: str, expected: int) -> bool:
    return len(await messages_of(api, ticket_id)) == expected


async def test_forged_or_missing_signatures_store_nothing(admin, graph, db):
    from inbox.channels.documents import WebhookDelivery
    from inbox.conversations.documents import Message

    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    payload = p.whatsapp_text(PHONE_ID, wa_id, "Mallory", f"wamid.{wa_id}.x", "forged")
    status, body, _ = await admin.webhook(channel["id"], payload, secret="not-the-app-secret")
    assert status == 403 and body["code"] == "SIGNATURE_INVALID"
    status, body, _ = await admin.webhook(channel["id"], payload, secret=None)
    assert status == 401 and body["code"] == "SIGNATURE_MISSING"
    assert await WebhookDelivery.find(WebhookDelivery.channel_id == channel["id"]).count() == 0
    assert await Message.find(Message.channel_id == channel["id"]).count() == 0


async def test_bad_bodies_are_refused_with_clear_errors(admin, graph, settings):
    channel = await wa_channel(admin, graph)
    status, body, _ = await admin.webhook(channel["id"], None, APP_SECRET, raw=b"not json at all")
    assert status == 400 and body["code"] == "INVALID_JSON"
    big = (
        b'{"object":"whatsapp_business_account","pad":"' + b"x" * settings.webhook_max_bytes + b'"}'
    )
    status, body, _ = await admin.webhook(channel["id"], None, APP_SECRET, raw=big)
    assert status == 413 and body["statusCode"] == 413
    status, body, _ = await admin.webhook("no-such-channel", {"entry": []}, APP_SECRET)
    assert status == 404
    hostile = b"[" * 100_000 + b"]" * 100_000
    status, body, _ = await admin.webhook(channel["id"], None, APP_SECRET, raw=hostile)
    assert status == 400 and body["code"] == "INVALID_JSON"
    status, body, _ = await admin.call(
        "POST", "/auth/login", data=hostile, headers={"Content-Type": "application/json"}, token=""
    )
    assert status == 400
    assert (await admin.get("/health", token=""))[0] == 200  # still serving


async def test_subscription_handshake_echoes_the_challenge_only_for_the_right_token(
    admin, graph, http
):
    channel = await wa_channel(admin, graph)
    url = f"{admin.base}/webhook/{channel['id']}"
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": "verify-me",
        "hub.challenge": "1158201444",
    }
    async with http.get(url, params=params) as resp:
        assert resp.status == 200 and await resp.text() == "1158201444"
        assert resp.content_type == "text/plain"
    async with http.get(url, params={**params, "hub.verify_token": "wrong"}) as resp:
        assert resp.status == 403


async def test_an_unreadable_payload_is_recorded_and_the_next_message_still_threads(
    admin, graph, db
):
    from inbox.channels.documents import WebhookDelivery

    channel = await wa_channel(admin, graph)
    status, _, _ = await admin.webhook(
        channel["id"], {"object": "whatsapp_business_account", "entry": "nope"}, APP_SECRET
    )
    assert status == 200
    [bad] = await WebhookDelivery.find(WebhookDelivery.channel_id == channel["id"]).to_list()
    assert bad.status == "FAILED" and bad.errors and bad.errors[0]["reason"]
    wa_id = new_wa_id()
    await admin.webhook(
        channel["id"], p.whatsapp_text(PHONE_ID, wa_id, "Ok", f"wamid.{wa_id}", "fine"), APP_SECRET
    )
    await wait_for_messages(admin, wa_id, 1)


async def test_messages_are_ordered_by_platform_time_whatever_the_arrival_order(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    later = p.whatsapp_text(PHONE_ID, wa_id, "Ord", f"wamid.{wa_id}.b", "second", ts=p.TS + 60)
    earlier = p.whatsapp_text(PHONE_ID, wa_id, "Ord", f"wamid.{wa_id}.a", "first", ts=p.TS)
    await admin.webhook(channel["id"], later, APP_SECRET)
    await admin.webhook(channel["id"], earlier, APP_SECRET)
    ticket, msgs = await wait_for_messages(admin, wa_id, 2)
    assert [m["content"] for m in msgs] == ["first", "second"]
    assert ticket["lastMessagePreview"] == "second"


async def test_a_closed_conversation_gets_a_new_ticket_on_the_next_message(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await admin.webhook(
        channel["id"], p.whatsapp_text(PHONE_ID, wa_id, "C", f"wamid.{wa_id}.1", "hi"), APP_SECRET
    )
    await admin.webhook(
        channel["id"],
        p.whatsapp_text(PHONE_ID, wa_id, "C", f"wamid.{wa_id}.2", "again", ts=p.TS + 1),
        APP_SECRET,
    )
    ticket, _ = await wait_for_messages(admin, wa_id, 2)
    status, closed, _ = await admin.post(f"/orgs/{admin.org_id}/tickets/{ticket['id']}/close")
    assert status == 200 and closed["status"] == "CLOSED"
    await admin.webhook(
        channel["id"],
        p.whatsapp_text(PHONE_ID, wa_id, "C", f"wamid.{wa_id}.3", "new issue", ts=p.TS + 99),
        APP_SECRET,
    )

    async def two_tickets():
        mine = [t for t in await tickets_of(admin) if t["externalThreadId"] == wa_id]
        return mine if len(mine) == 2 else None

    newest, oldest = await eventually(two_tickets)
    assert newest["status"] == "OPEN" and oldest["id"] == ticket["id"]
    assert [m["content"] for m in await messages_of(admin, newest["id"])] == ["new issue"]
    # Reopening the old one while another is open would make two open tickets: refused.
    status, body, _ = await admin.put(
        f"/orgs/{admin.org_id}/tickets/{ticket['id']}", {"status": "OPEN"}
    )
    assert status == 409 and body["code"] == "OPEN_TICKET_EXISTS"


async def test_a_reply_is_sent_through_whatsapp_and_follows_status_webhooks(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await admin.webhook(
        channel["id"],
        p.whatsapp_text(PHONE_ID, wa_id, "R", f"wamid.{wa_id}.in", "help"),
        APP_SECRET,
    )
    ticket, _ = await wait_for_messages(admin, wa_id, 1)
    status, reply, _ = await admin.post(
        f"/orgs/{admin.org_id}/tickets/{ticket['id']}/messages", {"content": "On its way!"}
    )
    assert status == 201 and reply["status"] == "QUEUED" and reply["direction"] == "OUTBOUND"
    assert reply["senderUser"]["id"] == admin.user["id"]

    async def sent():
        msgs = await messages_of(admin, ticket["id"])
        out = [m for m in msgs if m["id"] == reply["id"]]
        return out[0] if out and out[0]["status"] == "SENT" else None

    sent_msg = await eventually(sent)
    wamid = sent_msg["externalMessageId"]
    [request] = [r for r in graph.sent if r["json"].get("to") == wa_id]
    assert request["path"].endswith(f"/{PHONE_ID}/messages")
    assert request["json"]["text"]["body"] == "On its way!"
    assert request["headers"].get("Idempotency-Key") == reply["id"]

    for state in ("delivered", "read", "sent"):  # a late "sent" must not undo "read"
        await admin.webhook(
            channel["id"],
            p.whatsapp_status(PHONE_ID, wamid, state, wa_id, ts=p.TS + 10),
            APP_SECRET,
        )

    async def read():
        msgs = await messages_of(admin, ticket["id"])
        return [m for m in msgs if m["id"] == reply["id"] and m["status"] == "READ"]

    await eventually(read)


async def test_a_rate_limited_reply_is_retried_and_sent_once(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await admin.webhook(
        channel["id"], p.whatsapp_text(PHONE_ID, wa_id, "RL", f"wamid.{wa_id}.in", "hi"), APP_SECRET
    )
    ticket, _ = await wait_for_messages(admin, wa_id, 1)
    graph.fail_next(2, status=429, code=130429)
    _, reply, _ = await admin.post(
        f"/orgs/{admin.org_id}/tickets/{ticket['id']}/messages", {"content": "retry me"}
    )

    async def sent():
        msgs = await messages_of(admin, ticket["id"])
        return [m for m in msgs if m["id"] == reply["id"] and m["status"] == "SENT"]

    await eventually(sent)
    assert len([r for r in graph.sent if r["json"].get("to") == wa_id]) == 1


async def test_a_permanent_platform_error_marks_the_reply_failed_without_retrying(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await admin.webhook(
        channel["id"], p.whatsapp_text(PHONE_ID, wa_id, "P", f"wamid.{wa_id}.in", "hi"), APP_SECRET
    )
    ticket, _ = await wait_for_messages(admin, wa_id, 1)
    before = len(graph.requests)
    graph.fail_next(1, status=400, code=131047, message="Re-engagement message")
    _, reply, _ = await admin.post(
        f"/orgs/{admin.org_id}/tickets/{ticket['id']}/messages", {"content": "too late"}
    )

    async def failed():
        msgs = await messages_of(admin, ticket["id"])
        out = [m for m in msgs if m["id"] == reply["id"] and m["status"] == "FAILED"]
        return out[0] if out else None

    msg = await failed_msg(failed)
    assert str(msg["error"]["code"]) == "131047"
    assert len(graph.requests) - before == 1


async def failed_msg(check):
    return await eventually(check)


async def test_messenger_echoes_are_stored_as_outbound_and_read_receipts_apply(admin, graph):
    channel = await fb_channel(admin, graph)
    psid = new_wa_id()
    page = "3000003"
    await admin.webhook(
        channel["id"], p.messenger_text(page, psid, f"m_{psid}_1", "Hi page", p.TS_MS), APP_SECRET
    )
    await admin.webhook(
        channel["id"],
        p.messenger_echo(page, psid, f"m_{psid}_2", "Hello from the Page inbox", p.TS_MS + 1000),
        APP_SECRET,
    )
    ticket, msgs = await wait_for_messages(admin, psid, 2)
    assert [m["direction"] for m in msgs] == ["INBOUND", "OUTBOUND"]
    await admin.webhook(
        channel["id"],
        p.messenger_read(page, psid, watermark_ms=p.TS_MS + 5000, ts_ms=p.TS_MS + 6000),
        APP_SECRET,
    )

    async def echo_read():
        return [
            m
            for m in await messages_of(admin, ticket["id"])
            if m["direction"] == "OUTBOUND" and m["status"] == "READ"
        ]

    await eventually(echo_read)


async def test_tickets_can_be_filtered_assigned_and_updated(admin, graph, web_url, http):
    from tests.integration.test_auth import invite_agent

    agent = await invite_agent(admin, web_url, http)
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await admin.webhook(
        channel["id"],
        p.whatsapp_text(PHONE_ID, wa_id, "F", f"wamid.{wa_id}", "filter me"),
        APP_SECRET,
    )
    ticket, _ = await wait_for_messages(admin, wa_id, 1)
    path = f"/orgs/{admin.org_id}/tickets/{ticket['id']}"
    status, body, _ = await admin.post(path + "/assign", {"assigneeId": agent.user["id"]})
    assert status == 200 and body["assignee"] == {"id": agent.user["id"], "name": "Ann Agent"}
    status, body, _ = await admin.put(path, {"priority": "HIGH", "status": "PENDING"})
    assert status == 200 and (body["priority"], body["status"]) == ("HIGH", "PENDING")
    found = await tickets_of(admin, f"?assigneeId={agent.user['id']}&priority=HIGH&status=PENDING")
    assert [t["id"] for t in found] == [ticket["id"]]
    assert await tickets_of(admin, f"?channelId={channel['id']}&status=CLOSED") == []
    status, body, _ = await admin.put(path, {"status": "DONE"})
    assert status == 400 and "status" in body["details"]
    status, body, _ = await admin.put(path, {"priority": "URGENT"})
    assert status == 400 and "priority" in body["details"]
    status, body, _ = await admin.post(path + "/assign", {"assigneeId": "nobody"})
    assert status == 400 and "assigneeId" in body["details"]
    status, body, headers = await admin.get(f"/orgs/{admin.org_id}/tickets?status=BOGUS")
    assert status == 400
    # A customer reply moves a PENDING ticket back to OPEN.
    await admin.webhook(
        channel["id"],
        p.whatsapp_text(PHONE_ID, wa_id, "F", f"wamid.{wa_id}.2", "any news?", ts=p.TS + 1),
        APP_SECRET,
    )
    await eventually(lambda: _status_is(admin, ticket["id"], "OPEN"))


async def _status_is(api: Api, ticket_id: str, status: str) -> bool:
    _, body, _ = await api.get(f"/orgs/{api.org_id}/tickets/{ticket_id}")
    return body["status"] == status


async def test_tickets_can_be_created_by_hand_for_a_known_customer(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await admin.webhook(
        channel["id"], p.whatsapp_text(PHONE_ID, wa_id, "H", f"wamid.{wa_id}", "x"), APP_SECRET
    )
    ticket, _ = await wait_for_messages(admin, wa_id, 1)
    body = {
        "channelId": channel["id"],
        "customerId": ticket["customer"]["id"],
        "subject": "Follow-up",
        "priority": "LOW",
    }
    status, err, _ = await admin.post(f"/orgs/{admin.org_id}/tickets", body)
    assert status == 409 and err["details"]["ticketId"] == ticket["id"]
    await admin.post(f"/orgs/{admin.org_id}/tickets/{ticket['id']}/close")
    status, created, _ = await admin.post(f"/orgs/{admin.org_id}/tickets", body)
    assert status == 201 and created["subject"] == "Follow-up" and created["priority"] == "LOW"
    status, err, _ = await admin.post(
        f"/orgs/{admin.org_id}/tickets", {**body, "customerId": "nope"}
    )
    assert status == 400 and "customerId" in err["details"]


async def test_two_orgs_never_see_each_others_conversations(web_url, http, graph):
    one = await signup(web_url, http, org="One")
    two = await signup(web_url, http, org="Two")
    channel = await wa_channel(one, graph)
    wa_id = new_wa_id()
    await one.webhook(
        channel["id"],
        p.whatsapp_text(PHONE_ID, wa_id, "S", f"wamid.{wa_id}", "private"),
        APP_SECRET,
    )
    ticket, _ = await wait_for_messages(one, wa_id, 1)
    assert await tickets_of(two) == []
    assert (await two.get(f"/orgs/{two.org_id}/tickets/{ticket['id']}"))[0] == 404
    assert (await two.get(f"/orgs/{one.org_id}/tickets"))[0] == 404
    assert (await two.get(f"/orgs/{two.org_id}/tickets/{ticket['id']}/messages"))[0] == 404
    assert (
        await two.post(f"/orgs/{two.org_id}/tickets/{ticket['id']}/messages", {"content": "x"})
    )[0] == 404
    assert (await two.post(f"/orgs/{two.org_id}/tickets/{ticket['id']}/close"))[0] == 404


async def test_health_is_ok_when_everything_answers(admin):
    status, body, _ = await admin.get("/health", token="")
    assert status == 200 and body["status"] == "ok"
    assert set(body["checks"]) == {"mongodb", "kafka", "redis", "worker"}


async def test_every_message_type_is_kept_with_its_details(admin, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    batch = p.whatsapp_payload(
        PHONE_ID,
        messages=[
            p.wa_media_message(
                "image", f"wamid.{wa_id}.img", wa_id, p.TS, caption="the broken lid"
            ),
            p.wa_location_message(f"wamid.{wa_id}.loc", wa_id, p.TS + 1),
            p.wa_unsupported_message(f"wamid.{wa_id}.uns", wa_id, p.TS + 2),
        ],
    )
    assert (await admin.webhook(channel["id"], batch, APP_SECRET))[0] == 200
    _, msgs = await wait_for_messages(admin, wa_id, 3)
    image, location, unsupported = msgs
    assert image["type"] == "image" and "the broken lid" in image["content"]
    assert image["metadata"]["media"]["id"] == "1003383421387256"
    assert location["type"] == "location" and "Eiffel Tower" in location["content"]
    assert unsupported["type"] == "unsupported" and unsupported["content"]
    assert "131051" in str(unsupported["metadata"])


async def test_health_names_what_is_down(settings):
    """A web process whose Redis has no worker heartbeat reports the worker as down."""
    import dataclasses

    import aiohttp
    from aiohttp import web

    from web.app import create_app

    lonely = dataclasses.replace(settings, redis_url=settings.redis_url.rsplit("/", 1)[0] + "/13")
    runner = web.AppRunner(create_app(lonely))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{runner.addresses[0][1]}/health") as resp:
                body = await resp.json()
        assert resp.status == 503
        assert body["down"] == ["worker"] and body["checks"]["mongodb"]["ok"] is True
    finally:
        await runner.cleanup()
        # Beanie binds the documents process-wide to the last client opened, and this app has
        # just closed its own: bind them to a live one again for the tests that follow.
        from inbox import db as inbox_db

        await inbox_db.connect(settings)
