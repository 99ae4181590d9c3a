"""The Kafka side of `inbox.ports.StreamProducer`, plus topic creation, for web processes and
workers."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from inbox import topics
from inbox.config import Settings
from inbox.records import CampaignRecord, InboundRecord, OutboundRecord

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

    async def hand_off_inbound(self, record: InboundRecord) -> None:
        await self.send(topics.inbound(self.settings), record.key, record.model_dump(mode="json"))

    async def enqueue_send(self, record: OutboundRecord) -> None:
        await self.send(topics.outbound(self.settings), record.key, record.model_dump(mode="json"))

    async def enqueue_campaign(self, record: CampaignRecord) -> None:
        await self.send(topics.campaign(self.settings), record.key, record.model_dump(mode="json"))

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
