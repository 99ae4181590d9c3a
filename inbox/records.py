"""What travels on the Kafka topics (JSON), shared by the web producers and the worker."""

from __future__ import annotations

from pydantic import BaseModel

from connectors.base import InboundEvent


class InboundRecord(BaseModel):
    """One parsed event of one webhook delivery. Key: "<channelId>:<threadId>"."""

    delivery_id: str
    index: int
    org_id: str
    channel_id: str
    event: InboundEvent
    event_count: int | None = None
    """How many events the delivery has (None on records written before it was carried):
    the worker can tell a delivery it finishes from one it only advances."""

    @property
    def source(self) -> str:
        return f"{self.delivery_id}#{self.index}"

    @property
    def key(self) -> str:
        """The record key: the conversation, "<channelId>:<threadId>"."""
        return thread_key(self.channel_id, self.event.thread_id)


class OutboundRecord(BaseModel):
    """An outbound message to send. Key: "<channelId>:<threadId>", so one conversation's
    replies leave in the order they were written."""

    org_id: str
    message_id: str
    conversation: str
    """The record key, "<channelId>:<threadId>": sends of one conversation stay in order."""

    @property
    def key(self) -> str:
        return self.conversation


class CampaignRecord(BaseModel):
    """One campaign recipient to send to. Key: "<channelId>:<contact>", the conversation the
    message joins, so it is ordered with that conversation's other records of this topic."""

    org_id: str
    campaign_id: str
    recipient_id: str
    conversation: str

    @property
    def key(self) -> str:
        return self.conversation


def thread_key(channel_id: str, thread_id: str) -> str:
    return f"{channel_id}:{thread_id}"
