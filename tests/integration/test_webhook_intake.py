"""Webhook intake under load and the worker's batches: group-committed journal, cached
channels, and re-runs that never publish an event twice."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, Api, eventually
from tests.integration.test_pipeline import (
    PHONE_ID,
    messages_of,
    new_wa_id,
    tickets_of,
    wa_channel,
    wait_for_messages,
)

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_burst_of_concurrent_webhooks_is_journaled_and_threaded_once_per_body(
    admin: Api, graph, db
):
    from inbox.channels.documents import WebhookDelivery

    channel = await wa_channel(admin, graph)
    threads = [new_wa_id() for _ in range(5)]
    payloads = [
        p.whatsapp_text(PHONE_ID, t, f"C{n}", f"wamid.{t}.{k}", f"m{k}", ts=p.TS + k)
        for n, t in enumerate(threads)
        for k in range(8)
    ]
    # Every body twice, all at once: the duplicates land in the same journal batches.
    results = await asyncio.gather(
        *(admin.webhook(channel["id"], body, APP_SECRET) for body in payloads * 2)
    )
    assert [status for status, _, _ in results] == [200] * len(payloads) * 2
    assert await WebhookDelivery.find({"channelId": channel["id"]}).count() == len(payloads)
    for t in threads:
        ticket, _ = await wait_for_messages(admin, t, 8)
        msgs = await messages_of(admin, ticket["id"])
        # Stored once each, in platform order, on one ticket per conversation.
        assert [m["content"] for m in msgs] == [f"m{k}" for k in range(8)]
    assert len(await tickets_of(admin, f"?channelId={channel['id']}")) == len(threads)


async def test_a_changed_app_secret_applies_at_once_in_this_and_other_web_processes(
    admin: Api, graph, db
):
    from inbox.channels.documents import Channel

    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    first = p.whatsapp_text(PHONE_ID, wa_id, "R", f"wamid.{wa_id}.1", "one")
    assert (await admin.webhook(channel["id"], first, APP_SECRET))[0] == 200  # now cached

    # Changed through the API of this process: the old secret is refused at once.
    status, _, _ = await admin.put(
        f"/orgs/{admin.org_id}/channels/{channel['id']}",
        {"config": {**channel["config"], "appSecret": "rotated-secret-1"}},
    )
    assert status == 200
    second = p.whatsapp_text(PHONE_ID, wa_id, "R", f"wamid.{wa_id}.2", "two", ts=p.TS + 2)
    assert (await admin.webhook(channel["id"], second, APP_SECRET))[0] == 403
    assert (await admin.webhook(channel["id"], second, "rotated-secret-1"))[0] == 200

    # Changed by another process (straight in the database, this process's cache untouched):
    # a delivery signed with the new secret is still accepted, judged on a fresh read.
    await Channel.get_pymongo_collection().update_one(
        {"_id": channel["id"]}, {"$set": {"config.appSecret": "rotated-secret-2"}}
    )
    third = p.whatsapp_text(PHONE_ID, wa_id, "R", f"wamid.{wa_id}.3", "three", ts=p.TS + 3)
    assert (await admin.webhook(channel["id"], third, "rotated-secret-2"))[0] == 200
    await wait_for_messages(admin, wa_id, 3)


async def test_a_deleted_channel_stops_taking_webhooks_at_once_after_taking_some(admin: Api, graph):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    body = p.whatsapp_text(PHONE_ID, wa_id, "D", f"wamid.{wa_id}.1", "before")
    assert (await admin.webhook(channel["id"], body, APP_SECRET))[0] == 200
    assert (await admin.delete(f"/orgs/{admin.org_id}/channels/{channel['id']}"))[0] == 200
    again = p.whatsapp_text(PHONE_ID, wa_id, "D", f"wamid.{wa_id}.2", "after", ts=p.TS + 1)
    assert (await admin.webhook(channel["id"], again, APP_SECRET))[0] == 404


async def test_a_journal_entry_handed_over_again_publishes_no_event_twice(
    admin: Api, graph, db, http: aiohttp.ClientSession
):
    from inbox.channels.documents import WebhookDelivery
    from inbox.document_base import utcnow

    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    created: list[dict[str, Any]] = []
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as ws:

        async def until_message(external_id: str) -> None:
            async with asyncio.timeout(60):
                while True:
                    msg = await ws.receive()
                    assert msg.type == aiohttp.WSMsgType.TEXT, msg
                    event = json.loads(msg.data)
                    if event["event"] == "message.created":
                        created.append(event["data"])
                        if event["data"]["externalMessageId"] == external_id:
                            return

        first = p.whatsapp_text(PHONE_ID, wa_id, "Re", f"wamid.{wa_id}.1", "first")
        assert (await admin.webhook(channel["id"], first, APP_SECRET))[0] == 200
        await until_message(f"wamid.{wa_id}.1")

        # As if the done-mark had been lost: the sweeper hands the entry over again.
        coll = WebhookDelivery.get_pymongo_collection()
        entry = await coll.find_one({"channelId": channel["id"]})
        assert entry is not None

        async def processed() -> bool:
            return (
                await WebhookDelivery.find({"_id": entry["_id"], "status": "PROCESSED"}).count()
                == 1
            )

        await eventually(processed)
        await coll.update_one(
            {"_id": entry["_id"]},
            {
                "$set": {
                    "status": "RECEIVED",
                    "doneEvents": [],
                    "updatedAt": utcnow() - timedelta(minutes=10),
                }
            },
        )
        await eventually(processed, timeout=60, interval=0.5)

        # The re-run was applied before its done-mark; a later message of the same
        # conversation comes after anything it published.
        last = p.whatsapp_text(PHONE_ID, wa_id, "Re", f"wamid.{wa_id}.2", "second", ts=p.TS + 1)
        assert (await admin.webhook(channel["id"], last, APP_SECRET))[0] == 200
        await until_message(f"wamid.{wa_id}.2")

    # A fresh org: every message.created it saw is this conversation's.
    assert [m["externalMessageId"] for m in created] == [f"wamid.{wa_id}.1", f"wamid.{wa_id}.2"]
    ticket, msgs = await wait_for_messages(admin, wa_id, 2)
    assert [m["content"] for m in msgs] == ["first", "second"]
