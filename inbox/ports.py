"""What the domain needs from the outside world, as small protocols.

Production implementations live in `adapters/`: `adapters.publisher.FanoutPublisher`
(events: the org's Redis log plus the events topic) and `adapters.kafka.KafkaStream`
(stream). Tests use the fakes in `tests/fakes/ports.py`. Services receive them in `Deps`,
built once per process by `adapters.bootstrap`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from inbox.caches import Caches
from inbox.config import Settings
from inbox.records import CampaignRecord, InboundRecord, OutboundRecord
from inbox.storage import MediaStorage


class EventPublisher(Protocol):
    async def publish(self, org_id: str, event: str, data: dict[str, Any]) -> str:
        """Append an org event; returns its id (increasing per org)."""
        ...

    async def publish_many(self, org_id: str, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """`publish` for several events, in order; returns their ids."""
        ...


class StreamProducer(Protocol):
    """Hands work to the stream workers. Each record carries its conversation key, so one
    conversation's records are applied in order by one worker."""

    async def hand_off_inbound(self, record: InboundRecord) -> None:
        """One parsed event of a journaled webhook delivery, to be threaded."""
        ...

    async def enqueue_send(self, record: OutboundRecord) -> None:
        """A stored QUEUED message, to be sent through its channel's connector."""
        ...

    async def enqueue_campaign(self, record: CampaignRecord) -> None:
        """One campaign recipient, to be sent its message."""
        ...


@dataclass
class Deps:
    settings: Settings
    events: EventPublisher
    stream: StreamProducer
    http: aiohttp.ClientSession
    # Uploaded files (product images): local disk under MEDIA_DIR.
    media: MediaStorage
    # This process's caches; one `Deps` per process (adapters/bootstrap.py).
    caches: Caches = field(default_factory=Caches)
