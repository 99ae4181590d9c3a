"""The Kafka side of `StreamProducer`, plus topic creation, for web processes and workers."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from inbox import topics
from inbox.config import Settings

log = logging.getLogger(__name__)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


class KafkaStream:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            acks="all",
            linger_ms=2,
            value_serializer=_dumps,
            key_serializer=lambda k: k.encode(),
            request_timeout_ms=15_000,
        )

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def send(self, topic: str, key: str, value: dict[str, Any]) -> None:
        # Enqueue only: the caller's durable record (webhook journal, QUEUED message) is the
        # source of truth, and sweepers hand over again whatever the broker loses.
        await self.producer.send(topic, value=value, key=key)

    async def ping(self) -> None:
        """Raises when no broker answers a metadata request."""
        await self.producer.client.fetch_all_metadata()


async def ensure_topics(settings: Settings) -> None:
    """Create our topics with the configured partition count (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            topics.inbound(settings),
            topics.outbound(settings),
            topics.events(settings),
            topics.campaign(settings),
        ]
        missing = [
            NewTopic(name=t, num_partitions=settings.topic_partitions, replication_factor=1)
            for t in wanted
            if t not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process won the race
    finally:
        await admin.close()


class FanoutPublisher:
    """Publishes a domain event to the org's realtime log (Redis) and the events topic."""

    def __init__(self, log_, stream: KafkaStream):
        self.log = log_
        self.stream = stream

    async def publish(self, org_id: str, event: str, data: dict[str, Any]) -> str:
        event_id = await self.log.publish(org_id, event, data)
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
        ids = await self.log.publish_many(org_id, items)
        topic = topics.events(self.stream.settings)
        try:
            for event_id, (event, data) in zip(ids, items, strict=True):
                await self.stream.send(
                    topic, org_id, {"id": event_id, "orgId": org_id, "event": event, "data": data}
                )
        except Exception:  # noqa: BLE001 - as in `publish`
            log.warning("could not put %d events on the events topic", len(items), exc_info=True)
        return ids
