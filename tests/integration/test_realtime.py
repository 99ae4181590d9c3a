"""The websocket: live org events, and replay of what a reconnecting client missed."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from inbox.events import parse_event_id
from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, Api, signup
from tests.integration.test_pipeline import PHONE_ID, new_wa_id, wa_channel

pytestmark = pytest.mark.usefixtures("worker")


async def next_event(ws: aiohttp.ClientWebSocketResponse, name: str, timeout: float = 20.0) -> dict:
    """The next event called `name`, skipping others."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            event = json.loads(msg.data)
            if event["event"] == name:
                return event


async def test_a_webhook_reaches_a_connected_agent_as_events(admin: Api, graph, http):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as ws:
        await admin.webhook(
            channel["id"],
            p.whatsapp_text(PHONE_ID, wa_id, "Live", f"wamid.{wa_id}", "live!"),
            APP_SECRET,
        )
        created = await next_event(ws, "ticket.created")
        message = await next_event(ws, "message.created")
    assert created["data"]["externalThreadId"] == wa_id
    assert created["data"]["customer"]["name"] == "Live"
    assert (
        message["data"]["content"] == "live!"
        and message["data"]["ticketId"] == created["data"]["id"]
    )
    assert parse_event_id(message["id"]) > parse_event_id(created["id"])


async def test_a_reconnect_with_since_replays_what_was_missed_then_goes_live(
    admin: Api, graph, http
):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as ws:
        await admin.webhook(
            channel["id"],
            p.whatsapp_text(PHONE_ID, wa_id, "G", f"wamid.{wa_id}.1", "one"),
            APP_SECRET,
        )
        last_seen = (await next_event(ws, "message.created"))["id"]
    # Disconnected: two more messages arrive.
    for n in (2, 3):
        await admin.webhook(
            channel["id"],
            p.whatsapp_text(PHONE_ID, wa_id, "G", f"wamid.{wa_id}.{n}", f"msg {n}", ts=p.TS + n),
            APP_SECRET,
        )
    await asyncio.sleep(0)  # let nothing special happen: the replay must fill the gap
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}&since={last_seen}") as ws:
        missed = [(await next_event(ws, "message.created"))["data"]["content"] for _ in range(2)]
        assert missed == ["msg 2", "msg 3"]
        await admin.webhook(
            channel["id"],
            p.whatsapp_text(PHONE_ID, wa_id, "G", f"wamid.{wa_id}.4", "msg 4", ts=p.TS + 4),
            APP_SECRET,
        )
        live = await next_event(ws, "message.created")
        assert live["data"]["content"] == "msg 4"


async def test_api_changes_are_pushed_too(admin: Api, graph, http):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as ws:
        await admin.webhook(
            channel["id"], p.whatsapp_text(PHONE_ID, wa_id, "U", f"wamid.{wa_id}", "x"), APP_SECRET
        )
        ticket = (await next_event(ws, "ticket.created"))["data"]
        await admin.put(f"/orgs/{admin.org_id}/tickets/{ticket['id']}", {"priority": "HIGH"})
        updated = await next_event(ws, "ticket.updated")
        while updated["data"]["priority"] != "HIGH":
            updated = await next_event(ws, "ticket.updated")
        await admin.post(
            f"/orgs/{admin.org_id}/tickets/{ticket['id']}/messages", {"content": "reply"}
        )
        queued = await next_event(ws, "message.created")
        assert queued["data"]["status"] == "QUEUED"
        sent = await next_event(ws, "message.updated")
        assert sent["data"]["id"] == queued["data"]["id"] and sent["data"]["status"] == "SENT"


async def test_events_of_one_org_never_reach_another(web_url, http, graph):
    one = await signup(web_url, http, org="One")
    two = await signup(web_url, http, org="Two")
    channel = await wa_channel(one, graph)
    wa_id = new_wa_id()
    async with (
        http.ws_connect(f"{web_url}/ws?token={two.token}") as spy,
        http.ws_connect(f"{web_url}/ws?token={one.token}") as ws,
    ):
        await one.webhook(
            channel["id"],
            p.whatsapp_text(PHONE_ID, wa_id, "S", f"wamid.{wa_id}", "secret"),
            APP_SECRET,
        )
        await next_event(ws, "message.created")
        with pytest.raises(TimeoutError):
            await next_event(spy, "message.created", timeout=1.0)


async def test_missing_bad_or_expired_tokens_are_refused(admin: Api, http, settings):
    import time

    import jwt

    for query in ("", "?token=garbage"):
        async with http.get(f"{admin.base}/ws{query}") as resp:
            assert resp.status == 401
            assert (await resp.json())["statusCode"] == 401
    expired = jwt.encode(
        {
            "sub": admin.user["id"],
            "org": admin.org_id,
            "role": "ADMIN",
            "typ": "access",
            "exp": int(time.time()) - 1,
        },
        settings.jwt_secret,
    )
    async with http.get(f"{admin.base}/ws?token={expired}") as resp:
        assert resp.status == 401
    async with http.get(f"{admin.base}/ws?token={admin.token}&since=yesterday") as resp:
        assert resp.status == 400
