"""Building blocks for service tests: inbound records as the webhook intake makes them, and
threading them the way the stream worker does (`streams.worker`), minus the broker."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from connectors.base import InboundMessage
from inbox.channels.documents import Channel
from inbox.conversations import threader
from inbox.conversations.documents import Message
from inbox.document_base import utcnow
from inbox.ports import Deps
from inbox.records import InboundRecord

CUSTOMER_PHONE = "15550001111"


def inbound(
    channel: Channel,
    text: str,
    *,
    sender: str = CUSTOMER_PHONE,
    name: str | None = "Maria Lopez",
    message_id: str | None = None,
    at: datetime | None = None,
    delivery_id: str | None = None,
    index: int = 0,
) -> InboundRecord:
    """One customer message on `channel`, as one event of one webhook delivery."""
    event = InboundMessage(
        thread_id=sender,
        external_message_id=message_id or f"wamid.{uuid.uuid4().hex}",
        timestamp=at or utcnow(),
        type="text",
        content=text,
        customer_name=name,
    )
    return InboundRecord(
        delivery_id=delivery_id or uuid.uuid4().hex,
        index=index,
        org_id=channel.org_id,
        channel_id=channel.id,
        event=event,
        event_count=index + 1,
    )


def later(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


async def thread(deps: Deps, *records: InboundRecord) -> list[Message | None]:
    """Thread one stream batch of inbound message records, with this process's caches
    (`deps.caches`): per record, the stored message, or None when it was a duplicate."""
    ids = sorted({r.channel_id for r in records})
    channels = {c.id: c for c in await Channel.find({"_id": {"$in": ids}}).to_list()}
    batch = []
    for r in records:
        assert isinstance(r.event, InboundMessage)
        batch.append(threader.Incoming(channels[r.channel_id], r.event, r.source))
    return await threader.apply_messages(deps.events, batch, caches=deps.caches)
