"""What the API and the websocket show of tickets, messages and macros."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.base import DeliveryStatus, Direction
from inbox.accounts.documents import User
from inbox.channels.documents import Channel
from inbox.conversations.documents import Macro, Message, Priority, Ticket, TicketStatus
from inbox.crm.customer_documents import Customer
from inbox.view_base import ChannelRef, CustomerRef, Ref, View


class TicketView(View):
    id: str
    subject: str
    status: TicketStatus
    priority: Priority
    channel_id: str
    customer_id: str | None
    assignee_id: str | None
    external_thread_id: str
    last_message_at: datetime | None
    last_message_preview: str | None
    created_at: datetime
    updated_at: datetime
    channel: ChannelRef | None
    customer: CustomerRef | None
    assignee: Ref | None


class MessageView(View):
    id: str
    ticket_id: str
    channel_id: str
    direction: Direction
    external_message_id: str | None
    sender_name: str
    content: str
    type: str
    metadata: dict[str, Any]
    status: DeliveryStatus
    error: dict[str, Any] | None
    timestamp: datetime
    created_at: datetime
    updated_at: datetime
    sender_user: Ref | None


class TicketWithMessagesView(TicketView):
    messages: list[MessageView]


def ticket_view(
    ticket: Ticket,
    channel: Channel | None,
    customer: Customer | None,
    assignee: User | None,
) -> TicketView:
    return TicketView(
        id=ticket.id,
        subject=ticket.subject,
        status=ticket.status,
        priority=ticket.priority,
        channel_id=ticket.channel_id,
        customer_id=ticket.customer_id,
        assignee_id=ticket.assignee_id,
        external_thread_id=ticket.external_thread_id,
        last_message_at=ticket.last_message_at,
        last_message_preview=ticket.last_message_preview,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        channel=ChannelRef(id=channel.id, name=channel.name, type=channel.type)
        if channel
        else None,
        customer=(
            CustomerRef(id=customer.id, name=customer.name, platform=customer.platform)
            if customer
            else None
        ),
        assignee=Ref(id=assignee.id, name=assignee.name) if assignee else None,
    )


def message_view(message: Message, sender: User | None = None) -> MessageView:
    return MessageView(
        id=message.id,
        ticket_id=message.ticket_id,
        channel_id=message.channel_id,
        direction=message.direction,
        external_message_id=message.external_message_id,
        sender_name=message.sender_name,
        content=message.content,
        type=message.type,
        metadata=message.metadata,
        status=message.status,
        error=message.error,
        timestamp=message.timestamp,
        created_at=message.created_at,
        updated_at=message.updated_at,
        sender_user=Ref(id=sender.id, name=sender.name) if sender else None,
    )


class MacroView(View):
    id: str
    name: str
    content: str
    created_at: datetime
    updated_at: datetime
    created_by_user: Ref | None


def macro_view(macro: Macro, creator: User | None) -> MacroView:
    return MacroView(
        id=macro.id,
        name=macro.name,
        content=macro.content,
        created_at=macro.created_at,
        updated_at=macro.updated_at,
        created_by_user=Ref(id=creator.id, name=creator.name) if creator else None,
    )
