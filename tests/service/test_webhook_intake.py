"""Webhook intake (`inbox.channels.intake`): a delivery is journaled before anything else and
its events handed to the stream; when the stream refuses, the journal keeps the delivery
RECEIVED and the sweeper hands it over again, so nothing accepted is lost."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from connectors.base import ChannelType, InboundMessage
from inbox.channels import intake
from inbox.channels.documents import Channel, WebhookDelivery
from inbox.conversations.documents import Message
from inbox.document_base import utcnow
from inbox.ports import Deps
from inbox.records import thread_key
from tests.fakes.ports import FakeStream, StreamRefused
from tests.service.builders import thread


@pytest.fixture
async def mock_channel(channel: Channel) -> Channel:
    """A MOCK channel without an app secret: it takes unsigned posts in our own format."""
    mock = Channel(org_id=channel.org_id, type=ChannelType.MOCK, name="Mock")
    await mock.insert()
    return mock


def body(*texts: str, sender: str = "15550001111") -> bytes:
    messages = [
        {"id": f"mock.{sender}.{n}", "from": sender, "name": "Maria", "text": text}
        for n, text in enumerate(texts)
    ]
    return json.dumps({"messages": messages}).encode()


async def journaled(channel: Channel, raw: bytes) -> dict[str, Any]:
    doc = await WebhookDelivery.get_pymongo_collection().find_one(
        {"_id": intake.delivery_id(channel.id, raw)}
    )
    assert doc is not None
    return doc


async def test_an_accepted_delivery_is_journaled_and_each_event_handed_off(
    deps: Deps, mock_channel: Channel, stream: FakeStream
) -> None:
    raw = body("Hi", "Are you open today?")

    await intake.accept(deps, mock_channel.id, raw, None)

    entry = await journaled(mock_channel, raw)
    assert entry["status"] == "RECEIVED" and entry["eventCount"] == 2
    assert entry["orgId"] == mock_channel.org_id
    assert [(r.delivery_id, r.index, r.event_count) for r in stream.inbound] == [
        (entry["_id"], 0, 2),
        (entry["_id"], 1, 2),
    ]
    assert {r.key for r in stream.inbound} == {thread_key(mock_channel.id, "15550001111")}
    assert [r.event.content for r in stream.inbound if isinstance(r.event, InboundMessage)] == [
        "Hi",
        "Are you open today?",
    ]


async def test_a_platform_retry_of_the_same_delivery_is_handed_off_once(
    deps: Deps, mock_channel: Channel, stream: FakeStream
) -> None:
    raw = body("Hello")

    await intake.accept(deps, mock_channel.id, raw, None)
    await intake.accept(deps, mock_channel.id, raw, None)  # the platform did not hear our 200

    assert len(stream.inbound) == 1


async def test_a_delivery_the_stream_refuses_stays_received_and_the_sweeper_hands_it_over(
    deps: Deps, mock_channel: Channel, stream: FakeStream
) -> None:
    raw = body("Is anyone there?")
    stream.fail_next()

    with pytest.raises(StreamRefused):  # the platform sees an error and will retry
        await intake.accept(deps, mock_channel.id, raw, None)

    entry = await journaled(mock_channel, raw)
    assert entry["status"] == "RECEIVED" and stream.inbound == []

    # An hour on, the sweeper finds it unfinished and hands its events over again.
    await WebhookDelivery.get_pymongo_collection().update_one(
        {"_id": entry["_id"]}, {"$set": {"updatedAt": utcnow() - timedelta(hours=2)}}
    )
    await intake.redeliver_stale(deps)
    handed = [r for r in stream.inbound if r.delivery_id == entry["_id"]]
    assert [r.index for r in handed] == [0]

    # The worker threads it and marks it done: the message is in the inbox, the entry closed.
    [message] = await thread(deps, *handed)
    await intake.mark_done(handed)
    assert message is not None and message.content == "Is anyone there?"
    assert await Message.find({"channelId": mock_channel.id}).count() == 1
    assert (await journaled(mock_channel, raw))["status"] == "PROCESSED"
