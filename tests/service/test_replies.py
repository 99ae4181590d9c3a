"""Agents' replies (`inbox.conversations.messages`): stored QUEUED before anything else, handed
to the stream once, and never lost when the stream refuses them (the sweeper hands them over
again); the worker's send marks a reply SENT once, however often its record comes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import ChannelType, DeliveryStatus, Direction
from inbox import events as names
from inbox.accounts.documents import User
from inbox.channels.documents import Channel
from inbox.conversations import messages as message_service
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Message, Ticket, TicketStatus
from inbox.document_base import utcnow
from inbox.errors import ValidationFailed
from inbox.ports import Deps
from inbox.records import OutboundRecord, thread_key
from tests.fakes.ports import FakeEventPublisher, FakeStream
from tests.service.builders import CUSTOMER_PHONE, inbound, thread


@pytest.fixture
async def mock_channel(agent: User) -> Channel:
    """A MOCK channel of the agent's org: its connector "sends" without leaving the machine."""
    channel = Channel(org_id=agent.org_id, type=ChannelType.MOCK, name="Mock")
    await channel.insert()
    return channel


async def conversation(deps: Deps, channel: Channel) -> Ticket:
    """A customer has written on `channel`: its open ticket."""
    await thread(deps, inbound(channel, "Is the blue one back in stock?"))
    [ticket] = await Ticket.find({"orgId": channel.org_id, "channelId": channel.id}).to_list()
    return ticket


async def stored(message_id: str) -> Message:
    message = await Message.get(message_id)
    assert message is not None
    return message


async def make_stale(message_id: str) -> None:
    """As if nobody had touched the message for two hours (the sweepers' threshold is one)."""
    await Message.get_pymongo_collection().update_one(
        {"_id": message_id}, {"$set": {"updatedAt": utcnow() - timedelta(hours=2)}}
    )


async def test_an_agent_reply_is_stored_queued_and_handed_to_the_stream_once(
    deps: Deps, channel: Channel, agent: User, stream: FakeStream
) -> None:
    ticket = await conversation(deps, channel)

    reply = await message_service.post_reply(
        deps, agent, ticket.id, content="Yes, since this morning!", metadata={}
    )

    message = await stored(reply.id)
    assert message.status == DeliveryStatus.QUEUED
    assert message.direction == Direction.OUTBOUND
    assert message.sender_user_id == agent.id
    assert message.content == "Yes, since this morning!"
    assert stream.sends == [
        OutboundRecord(
            org_id=channel.org_id,
            message_id=reply.id,
            conversation=thread_key(channel.id, CUSTOMER_PHONE),
        )
    ]
    assert stream.inbound == [] and stream.campaigns == []


async def test_a_reply_is_announced_and_moves_its_ticket(
    deps: Deps, channel: Channel, agent: User, events: FakeEventPublisher
) -> None:
    ticket = await conversation(deps, channel)
    events.clear()

    reply = await message_service.post_reply(
        deps, agent, ticket.id, content="On its way", metadata={}
    )

    assert events.names(channel.org_id) == [names.MESSAGE_CREATED, names.TICKET_UPDATED]
    [created] = events.named(names.MESSAGE_CREATED)
    assert created["id"] == reply.id and created["status"] == "QUEUED"
    ticket = await ticket_service.get(channel.org_id, ticket.id)
    assert ticket.last_message_preview == "On its way"
    assert ticket.first_response_at is not None


async def test_a_reply_the_stream_refuses_stays_queued_for_the_sweeper(
    deps: Deps, channel: Channel, agent: User, stream: FakeStream
) -> None:
    ticket = await conversation(deps, channel)
    stream.fail_next()

    reply = await message_service.post_reply(
        deps, agent, ticket.id, content="Let me check", metadata={}
    )

    # The agent's reply is accepted: it is stored, only its hand-off failed.
    assert (await stored(reply.id)).status == DeliveryStatus.QUEUED
    assert stream.sends == [] and [r.message_id for r in stream.refused] == [reply.id]

    await make_stale(reply.id)
    await message_service.requeue_stale(deps)

    assert reply.id in [r.message_id for r in stream.sends]
    assert (await stored(reply.id)).status == DeliveryStatus.QUEUED


async def test_sending_a_queued_reply_marks_it_sent_once(
    deps: Deps, mock_channel: Channel, agent: User, events: FakeEventPublisher
) -> None:
    ticket = await conversation(deps, mock_channel)
    reply = await message_service.post_reply(deps, agent, ticket.id, content="Hi!", metadata={})
    record = OutboundRecord(
        org_id=agent.org_id,
        message_id=reply.id,
        conversation=thread_key(mock_channel.id, CUSTOMER_PHONE),
    )

    await message_service.send(deps, record)
    await message_service.send(deps, record)  # a redelivered record changes nothing

    message = await stored(reply.id)
    assert message.status == DeliveryStatus.SENT
    assert message.external_message_id == f"mock-{reply.id}"
    assert message.attempts == 1
    assert [m["id"] for m in events.named(names.MESSAGE_SENT)] == [reply.id]


async def test_a_reply_to_a_closed_ticket_reopens_it(
    deps: Deps, channel: Channel, agent: User
) -> None:
    ticket = await conversation(deps, channel)
    await ticket_service.close(deps.events, channel.org_id, ticket.id)

    await message_service.post_reply(deps, agent, ticket.id, content="One more thing", metadata={})

    ticket = await ticket_service.get(channel.org_id, ticket.id)
    assert ticket.status == TicketStatus.OPEN
    assert ticket.open_key == ticket_service.open_key(channel.id, CUSTOMER_PHONE)


async def test_a_reply_on_an_inactive_channel_is_refused_and_nothing_is_queued(
    deps: Deps, channel: Channel, agent: User, stream: FakeStream
) -> None:
    ticket = await conversation(deps, channel)
    await Channel.get_pymongo_collection().update_one(
        {"_id": channel.id}, {"$set": {"isActive": False}}
    )

    with pytest.raises(ValidationFailed) as refused:
        await message_service.post_reply(deps, agent, ticket.id, content="Hello?", metadata={})

    assert refused.value.code == "CHANNEL_INACTIVE"
    outbound = await Message.find({"ticketId": ticket.id, "direction": "OUTBOUND"}).to_list()
    assert outbound == [] and stream.sends == []
