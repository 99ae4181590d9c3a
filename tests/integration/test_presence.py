"""Presence over the websocket: who of the org is online, viewing or typing in which ticket."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from inbox.config import Settings
from tests.integration.conftest import Api, signup

PRESENCE = "presence.update"


async def next_presence(
    ws: aiohttp.ClientWebSocketResponse,
    until: Any = lambda users: True,
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    """The users of the next `presence.update` for which `until(users)` holds."""
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            event = json.loads(msg.data)
            if event["event"] == PRESENCE:
                assert event["id"] is None  # ephemeral: never a replay cursor
                if until(event["data"]["users"]):
                    return event["data"]["users"]


def ids(users: list[dict[str, Any]]) -> set[str]:
    return {u["userId"] for u in users}


async def invite_agent(admin: Api, name: str = "Bea Agent") -> Api:
    email = f"agent-{time.time_ns()}@example.com"
    status, invite, _ = await admin.post(
        f"/orgs/{admin.org_id}/users/invites", {"email": email, "role": "AGENT"}
    )
    assert status == 201, invite
    agent = Api(admin.base, admin.http)
    status, body, _ = await agent.post(
        "/auth/accept-invite",
        {"token": invite["token"], "name": name, "password": "agent-pass-1"},
    )
    assert status in (200, 201), body
    agent.token, agent.user = body["accessToken"], body["user"]
    return agent


async def test_two_agents_of_one_org_see_each_other_and_what_they_view_and_type(
    admin: Api, http: aiohttp.ClientSession
):
    agent = await invite_agent(admin)
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as a:
        me = await next_presence(a, lambda u: admin.user["id"] in ids(u))
        assert me == [
            {
                "userId": admin.user["id"],
                "name": "Ada Admin",
                "viewing": None,
                "typing": None,
                "since": me[0]["since"],
                "updatedAt": me[0]["updatedAt"],
            }
        ]
        async with http.ws_connect(f"{admin.base}/ws?token={agent.token}") as b:
            both = await next_presence(a, lambda u: len(u) == 2)
            assert ids(both) == {admin.user["id"], agent.user["id"]}
            await next_presence(b, lambda u: len(u) == 2)

            await b.send_json({"type": "presence", "viewing": "ticket-1", "typing": None})
            seen = await next_presence(a, lambda u: any(x["viewing"] == "ticket-1" for x in u))
            bea = next(u for u in seen if u["userId"] == agent.user["id"])
            assert (bea["name"], bea["viewing"], bea["typing"]) == ("Bea Agent", "ticket-1", None)

            await b.send_json({"type": "presence", "viewing": "ticket-1", "typing": "ticket-1"})
            typing = await next_presence(a, lambda u: any(x["typing"] == "ticket-1" for x in u))
            assert next(u for u in typing if u["userId"] == agent.user["id"])["typing"] == (
                "ticket-1"
            )


async def test_another_org_sees_none_of_it(web_url: str, http: aiohttp.ClientSession):
    one = await signup(web_url, http, org="One")
    two = await signup(web_url, http, org="Two")
    async with http.ws_connect(f"{web_url}/ws?token={two.token}") as spy:
        assert ids(await next_presence(spy)) == {two.user["id"]}
        async with http.ws_connect(f"{web_url}/ws?token={one.token}") as ws:
            await next_presence(ws, lambda u: one.user["id"] in ids(u))
            await ws.send_json({"type": "presence", "viewing": "secret-ticket", "typing": None})
            await next_presence(ws, lambda u: u[0]["viewing"] == "secret-ticket")
            with pytest.raises(TimeoutError):
                await next_presence(spy, lambda u: one.user["id"] in ids(u), timeout=1.5)


async def test_disconnect_clears_but_a_second_tab_keeps_the_user_online(
    admin: Api, http: aiohttp.ClientSession
):
    agent = await invite_agent(admin)
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as watcher:
        await next_presence(watcher)
        tab1 = await http.ws_connect(f"{admin.base}/ws?token={agent.token}")
        tab2 = await http.ws_connect(f"{admin.base}/ws?token={agent.token}")
        await next_presence(watcher, lambda u: agent.user["id"] in ids(u))
        await tab2.send_json({"type": "presence", "viewing": "t-2", "typing": None})
        await next_presence(watcher, lambda u: any(x["viewing"] == "t-2" for x in u))

        await tab1.close()
        # Still online through the second tab, still viewing what that tab views.
        await asyncio.sleep(0.5)
        async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as fresh:
            now = await next_presence(fresh, lambda u: admin.user["id"] in ids(u))
            bea = [u for u in now if u["userId"] == agent.user["id"]]
            assert len(bea) == 1 and bea[0]["viewing"] == "t-2"

        await tab2.close()
        gone = await next_presence(watcher, lambda u: agent.user["id"] not in ids(u))
        assert ids(gone) == {admin.user["id"]}


async def test_a_crashed_process_connection_is_pruned_after_its_ttl(
    admin: Api, http: aiohttp.ClientSession, settings: Settings
):
    # A process that died leaves its connection in Redis without heartbeats; the next reader
    # prunes it and everyone gets the corrected list.
    redis = Redis.from_url(settings.redis_url)
    try:
        ghost = json.dumps(
            {
                "userId": "ghost-user",
                "name": "Ghost",
                "viewing": None,
                "typing": None,
                "since": "2020-01-01T00:00:00.000Z",
                "updatedAt": "2020-01-01T00:00:00.000Z",
            }
        )
        await redis.hset(f"inbox:presence:{admin.org_id}", "dead-conn", ghost)
        await redis.zadd(f"inbox:presence-seen:{admin.org_id}", {"dead-conn": time.time() - 3600})
        async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as ws:
            users = await next_presence(ws)
            assert ids(users) == {admin.user["id"]}
        assert not await redis.hexists(f"inbox:presence:{admin.org_id}", "dead-conn")
    finally:
        await redis.aclose()


async def test_a_malformed_client_message_gets_an_error_event_with_details(
    admin: Api, http: aiohttp.ClientSession
):
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as ws:
        await ws.send_json({"type": "presence", "viewing": "x" * 500})
        async with asyncio.timeout(10):
            while True:
                event = json.loads((await ws.receive()).data)
                if event["event"] == "error":
                    break
        assert event["data"]["code"] == "VALIDATION_ERROR"
        assert "viewing" in event["data"]["details"]
        # The socket stays usable.
        await ws.send_json({"type": "presence", "viewing": "ok", "typing": None})
        await next_presence(ws, lambda u: u[0]["viewing"] == "ok")
