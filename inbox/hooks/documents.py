"""Outbound webhooks: an org's subscriptions of URLs to domain events, and the delivery log.

One `OutboundDelivery` is one event for one subscription, whatever the number of attempts;
its unique (webhookId, dedupeKey) index is what keeps a replayed event (a worker restart, a
Kafka redelivery) from being delivered twice. Retries are driven by the persisted
`nextAttemptAt`, so they survive restarts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pymongo import ASCENDING, DESCENDING, IndexModel

from inbox.document_base import _Base

LOG_RETENTION_DAYS = 30

__all__ = [
    "HookDeliveryStatus",
    "OutboundWebhook",
    "DeliveryAttempt",
    "OutboundDelivery",
    "HOOK_DOCUMENTS",
]


class HookDeliveryStatus(StrEnum):
    PENDING = "pending"  # not attempted yet
    RETRYING = "retrying"  # failed at least once; `nextAttemptAt` says when it goes again
    SUCCEEDED = "succeeded"  # a 2xx answer
    FAILED = "failed"  # gave up: the retry window passed (or the subscription went away)


class OutboundWebhook(_Base):
    """A URL subscribed to some of the org's events (`"*"` for all of them)."""

    org_id: str
    url: str
    events: list[str]
    # HMAC-SHA256 key of `X-Signature-256`; shown once in the create response, never again.
    secret: str
    description: str | None = None
    is_active: bool = True
    created_by: str | None = None

    class Settings:
        name = "outbound_webhooks"
        indexes = [IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)])]


class DeliveryAttempt(BaseModel):
    """One POST of a delivery: when, what came back, how long it took."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    at: datetime
    status_code: int | None = None
    error: str | None = None
    response_time_ms: int | None = None


class OutboundDelivery(_Base):
    org_id: str
    webhook_id: str
    event_id: str
    event: str
    # "event:<eventId>" for an event from the stream (unique per subscription, so a replayed
    # event finds its delivery already there); "redelivery:<id>" / "test:<id>" otherwise.
    dedupe_key: str
    # The exact JSON body, kept so every attempt sends (and signs) the same bytes.
    payload: str
    status: HookDeliveryStatus = HookDeliveryStatus.PENDING
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    response_time_ms: int | None = None
    # When the next attempt is due; None once it succeeded or failed. While a worker is
    # sending, it is that worker's lease (and fencing token): a worker that dies mid-send
    # leaves it due again once the lease runs out, and a sender whose lease was taken over
    # can no longer record its outcome.
    next_attempt_at: datetime | None = None
    # No attempt after this (the event's time plus the retry window).
    expires_at: datetime
    delivered_at: datetime | None = None
    redelivery_of: str | None = None
    attempt_log: list[DeliveryAttempt] = Field(default_factory=list)

    class Settings:
        name = "outbound_webhook_deliveries"
        # The embedded Mongo-protocol server uses an index only when it covers every field
        # of the query, hence one index per query shape below.
        indexes = [
            IndexModel([("webhookId", ASCENDING), ("dedupeKey", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("webhookId", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel(
                [
                    ("orgId", ASCENDING),
                    ("webhookId", ASCENDING),
                    ("status", ASCENDING),
                    ("createdAt", DESCENDING),
                ]
            ),
            # The retry scan: only deliveries still to send have a `nextAttemptAt`.
            IndexModel([("nextAttemptAt", ASCENDING)]),
            # Claims and outcomes: compare-and-set on (id, lease).
            IndexModel([("_id", ASCENDING), ("nextAttemptAt", ASCENDING)]),
            # The log is kept for LOG_RETENTION_DAYS; nothing is still being retried by then
            # (retries stop a day after the event, or after a redelivery is asked for).
            IndexModel(
                [("createdAt", ASCENDING)], expireAfterSeconds=LOG_RETENTION_DAYS * 24 * 3600
            ),
        ]


HOOK_DOCUMENTS: list[type[Document]] = [OutboundWebhook, OutboundDelivery]
