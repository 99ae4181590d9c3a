"""Threading inbound messages into customers, tickets and messages (`inbox.conversations.threader`),
as the stream worker applies a batch of inbound records: one open ticket per conversation,
each platform message stored once, and the events agents see published once, in order."""

from __future__ import annotations

from connectors.base import ChannelType, DeliveryStatus, Direction
from inbox import events as names
from inbox.accounts.documents import Organisation
from inbox.channels.documents import Channel
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Message, Ticket, TicketStatus
from inbox.crm.customer_documents import Customer
from inbox.ports import Deps
from tests.fakes.ports import FakeEventPublisher
from tests.service.builders import CUSTOMER_PHONE, inbound, later, thread


async def tickets_of(channel: Channel) -> list[Ticket]:
    return await Ticket.find({"orgId": channel.org_id, "channelId": channel.id}).to_list()


async def messages_of(ticket: Ticket) -> list[Message]:
    return await Message.find({"ticketId": ticket.id}).sort(+Message.timestamp).to_list()


async def test_a_customers_first_message_opens_a_ticket_with_its_customer(
    deps: Deps, channel: Channel
) -> None:
    [stored] = await thread(deps, inbound(channel, "Where is my order?\nIt was due Monday"))

    assert stored is not None
    [ticket] = await tickets_of(channel)
    assert ticket.status == TicketStatus.OPEN
    assert ticket.subject == "Where is my order?"
    assert ticket.external_thread_id == CUSTOMER_PHONE
    assert ticket.open_key == ticket_service.open_key(channel.id, CUSTOMER_PHONE)
    customer = await Customer.get(ticket.customer_id)
    assert customer is not None and customer.org_id == channel.org_id
    assert customer.name == "Maria Lopez"
    assert (customer.platform, customer.external_id) == (ChannelType.WHATSAPP, CUSTOMER_PHONE)
    [message] = await messages_of(ticket)
    assert message.id == stored.id
    assert message.direction == Direction.INBOUND
    assert message.status == DeliveryStatus.RECEIVED
    assert message.sender_name == "Maria Lopez"


async def test_redelivered_inbound_record_stores_one_message(
    deps: Deps, channel: Channel, events: FakeEventPublisher
) -> None:
    record = inbound(channel, "Hello?")
    await thread(deps, record)
    published = len(events.events)

    again = await thread(deps, record)  # Kafka delivers at least once; the sweeper re-sends

    [ticket] = await tickets_of(channel)
    assert len(await messages_of(ticket)) == 1
    assert again[0] is not None and again[0].source == record.source  # a re-run, finished
    assert len(events.events) == published  # and announced only the first time


async def test_a_platform_resending_a_message_in_a_new_delivery_stores_it_once(
    deps: Deps, channel: Channel, events: FakeEventPublisher
) -> None:
    first = inbound(channel, "Hello?", message_id="wamid.same")
    resent = inbound(channel, "Hello?", message_id="wamid.same")  # another delivery id
    assert first.source != resent.source

    await thread(deps, first)
    published = len(events.events)
    assert await thread(deps, resent) == [None]

    [ticket] = await tickets_of(channel)
    assert [m.source for m in await messages_of(ticket)] == [first.source]
    assert len(events.events) == published


async def test_the_same_message_twice_in_one_batch_is_stored_once(
    deps: Deps, channel: Channel
) -> None:
    record = inbound(channel, "Hi", message_id="wamid.twice")

    results = await thread(deps, record, record)

    assert results[0] is not None and results[1] is None
    [ticket] = await tickets_of(channel)
    assert len(await messages_of(ticket)) == 1


async def test_an_inbound_message_joins_the_open_ticket_of_its_conversation(
    deps: Deps, channel: Channel
) -> None:
    await thread(deps, inbound(channel, "Do you have these in size 42?"))
    await thread(deps, inbound(channel, "Or 43, either works", at=later(5)))

    [ticket] = await tickets_of(channel)
    contents = [m.content for m in await messages_of(ticket)]
    assert contents == ["Do you have these in size 42?", "Or 43, either works"]
    assert ticket.subject == "Do you have these in size 42?"  # the first message names it
    assert ticket.last_message_preview == "Or 43, either works"  # the latest shows


async def test_a_late_older_message_does_not_replace_the_tickets_latest_preview(
    deps: Deps, channel: Channel
) -> None:
    await thread(deps, inbound(channel, "Newest", at=later(60)))
    await thread(deps, inbound(channel, "Sent earlier, delivered late", at=later(0)))

    [ticket] = await tickets_of(channel)
    assert ticket.last_message_preview == "Newest"
    assert [m.content for m in await messages_of(ticket)] == [
        "Sent earlier, delivered late",
        "Newest",
    ]


async def test_a_message_after_the_ticket_closed_opens_a_new_ticket(
    deps: Deps, channel: Channel
) -> None:
    await thread(deps, inbound(channel, "My parcel never came"))
    [first] = await tickets_of(channel)
    await ticket_service.close(deps.events, channel.org_id, first.id)

    await thread(deps, inbound(channel, "Another question", at=later(5)))

    tickets = {t.id: t for t in await tickets_of(channel)}
    assert len(tickets) == 2
    assert tickets[first.id].status == TicketStatus.CLOSED
    assert tickets[first.id].open_key is None
    [second] = [t for t in tickets.values() if t.id != first.id]
    assert second.status == TicketStatus.OPEN
    assert second.customer_id == first.customer_id  # the same customer, a new conversation
    assert [m.content for m in await messages_of(second)] == ["Another question"]
    assert [m.content for m in await messages_of(first)] == ["My parcel never came"]


async def test_a_customer_answering_a_pending_ticket_reopens_it(
    deps: Deps, channel: Channel
) -> None:
    await thread(deps, inbound(channel, "Can you check my order?"))
    [ticket] = await tickets_of(channel)
    await ticket_service.update(deps.events, channel.org_id, ticket.id, status=TicketStatus.PENDING)

    await thread(deps, inbound(channel, "Order 1234", at=later(5)))

    [ticket] = await tickets_of(channel)
    assert ticket.status == TicketStatus.OPEN


async def test_conversations_of_one_batch_get_their_own_customers_and_tickets(
    deps: Deps, channel: Channel
) -> None:
    await thread(
        deps,
        inbound(channel, "From Ana", sender="15550002222", name="Ana"),
        inbound(channel, "From Bo", sender="15550003333", name="Bo"),
        inbound(channel, "Ana again", sender="15550002222", name="Ana", at=later(1)),
    )

    tickets = {t.external_thread_id: t for t in await tickets_of(channel)}
    assert set(tickets) == {"15550002222", "15550003333"}
    assert tickets["15550002222"].customer_id != tickets["15550003333"].customer_id
    ana = [m.content for m in await messages_of(tickets["15550002222"])]
    assert ana == ["From Ana", "Ana again"]
    assert [m.content for m in await messages_of(tickets["15550003333"])] == ["From Bo"]


async def test_threading_publishes_ticket_and_message_events(
    deps: Deps, channel: Channel, events: FakeEventPublisher
) -> None:
    [first] = await thread(deps, inbound(channel, "Hi there"))
    assert first is not None
    [ticket] = await tickets_of(channel)

    # A new customer and a new ticket are announced before their first message.
    assert events.names(channel.org_id) == [
        names.CUSTOMER_CREATED,
        names.TICKET_CREATED,
        names.MESSAGE_CREATED,
    ]
    [created] = events.named(names.TICKET_CREATED)
    assert created["id"] == ticket.id and created["status"] == "OPEN"
    assert created["customer"]["name"] == "Maria Lopez"
    assert created["channel"] == {"id": channel.id, "name": "WhatsApp", "type": "WHATSAPP"}
    [message] = events.named(names.MESSAGE_CREATED)
    assert message["id"] == first.id and message["ticketId"] == ticket.id
    assert message["content"] == "Hi there"

    events.clear()
    [second] = await thread(deps, inbound(channel, "Anyone?", at=later(5)))

    # A message to an existing ticket: the message, then the ticket's new state.
    assert second is not None
    assert events.names(channel.org_id) == [names.MESSAGE_CREATED, names.TICKET_UPDATED]
    [updated] = events.named(names.TICKET_UPDATED)
    assert updated["id"] == ticket.id and updated["lastMessagePreview"] == "Anyone?"


async def test_the_same_phone_number_in_two_orgs_is_two_customers(
    deps: Deps, channel: Channel, events: FakeEventPublisher
) -> None:
    other_org = Organisation(name="Other Shop")
    await other_org.insert()
    other = Channel(org_id=other_org.id, type=ChannelType.WHATSAPP, name="WhatsApp")
    await other.insert()

    await thread(deps, inbound(channel, "Hello Acme"), inbound(other, "Hello Other"))

    [mine], [theirs] = await tickets_of(channel), await tickets_of(other)
    assert mine.org_id == channel.org_id and theirs.org_id == other_org.id
    assert mine.customer_id != theirs.customer_id
    mine_said = [m["content"] for m in events.named(names.MESSAGE_CREATED, channel.org_id)]
    theirs_said = [m["content"] for m in events.named(names.MESSAGE_CREATED, other_org.id)]
    assert (mine_said, theirs_said) == (["Hello Acme"], ["Hello Other"])
