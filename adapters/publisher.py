"""The production `EventPublisher`: an org event goes to the org's Redis log (realtime, replay
by id) and then to the events topic (automation, notifications, outbound webhooks)."""

from __future__ import annotations

import logging
from typing import Any

from adapters.event_log import RedisEventLog
from adapters.kafka import KafkaStream
from inbox import topics

log = logging.getLogger(__name__)


class FanoutPublisher:
    """Publishes a domain event to the org's realtime log (Redis) and the events topic."""

    def __init__(self, event_log: RedisEventLog, stream: KafkaStream):
        self.event_log = event_log
        self.stream = stream

    async def publish(self, org_id: str, event: str, data: dict[str, Any]) -> str:
        event_id = await self.event_log.publish(org_id, event, data)
        try:
            await self.stream.send(
                topics.events(self.stream.settings),
                org_id,
                {"id": event_id, "orgId": org_id, "event": event, "data": data},
            )
        except Exception:  # noqa: BLE001 - realtime already has it; consumers of the topic catch up
            log.warning("could not put event %s on the events topic", event, exc_info=True)
        return event_id

    async def publish_many(self, org_id: str, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """`publish` for several events, in order: one Redis round trip for all of them."""
        if not items:
            return []
        ids = await self.event_log.publish_many(org_id, items)
        topic = topics.events(self.stream.settings)
        try:
            for event_id, (event, data) in zip(ids, items, strict=True):
                await self.stream.send(
                    topic, org_id, {"id": event_id, "orgId": org_id, "event": event, "data": data}
                )
        except Exception:  # noqa: BLE001 - as in `publish`
            log.warning("could not put %d events on the events topic", len(items), exc_info=True)
        return ids
