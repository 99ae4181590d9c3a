"""What the domain needs from the outside world, as small protocols.

Production implementations: `inbox.realtime.RedisEventLog` (events) and
`streams.producer.KafkaStream` (stream). Services receive them in `Deps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from inbox.config import Settings


class EventPublisher(Protocol):
    async def publish(self, org_id: str, event: str, data: dict[str, Any]) -> str:
        """Append an org event; returns its id (increasing per org)."""
        ...


class StreamProducer(Protocol):
    async def send(self, topic: str, key: str, value: dict[str, Any]) -> None:
        """Hand a record to the stream; ordering holds per key."""
        ...


@dataclass
class Deps:
    settings: Settings
    events: EventPublisher
    stream: StreamProducer
    http: aiohttp.ClientSession
