"""In-memory fakes of the domain's ports (`inbox.ports`), for tests that call services directly.

    events = FakeEventPublisher()
    stream = FakeStream()
    deps = Deps(settings, events=events, stream=stream, http=http, media=LocalDiskStorage(dir))
    ...
    events.names(org_id)            # ["customer.created", "ticket.created", "message.created"]
    events.named("message.created") # the data of each such event, oldest first
    stream.sends                    # the OutboundRecords handed over, in order
    stream.fail_next()              # the next hand-off raises StreamRefused (broker down)

Both round-trip what they are given through JSON, as the real adapters do (Redis log, Kafka
topic), so a payload that could not be serialised fails here too, and what a test reads back
is what a consumer would see.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

from inbox.records import CampaignRecord, InboundRecord, OutboundRecord


class Published(NamedTuple):
    """One published org event, as consumers see it (its data after a JSON round trip)."""

    org_id: str
    event: str
    data: dict[str, Any]


class FakeEventPublisher:
    """`inbox.ports.EventPublisher` that keeps every event in `events`.

    Ids increase per org in the Redis-stream shape "<n>-0" ("1-0", "2-0", ...), so
    `inbox.events.parse_event_id` reads them and they compare in publish order."""

    def __init__(self) -> None:
        self.events: list[Published] = []
        self.ids: list[str] = []
        """The id of each entry of `events`, at the same position."""
        self._last: dict[str, int] = defaultdict(int)

    async def publish(self, org_id: str, event: str, data: dict[str, Any]) -> str:
        snapshot = json.loads(json.dumps(data, default=str))
        self._last[org_id] += 1
        event_id = f"{self._last[org_id]}-0"
        self.events.append(Published(org_id, event, snapshot))
        self.ids.append(event_id)
        return event_id

    async def publish_many(self, org_id: str, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
        return [await self.publish(org_id, event, data) for event, data in items]

    def names(self, org_id: str | None = None) -> list[str]:
        """Event names in publish order (of one org when given)."""
        return [e.event for e in self.events if org_id is None or e.org_id == org_id]

    def named(self, event: str, org_id: str | None = None) -> list[dict[str, Any]]:
        """The data of every `event` published (to one org when given), oldest first."""
        return [
            e.data
            for e in self.events
            if e.event == event and (org_id is None or e.org_id == org_id)
        ]

    def clear(self) -> None:
        """Forget what was published (ids keep increasing, as a real log's do)."""
        self.events.clear()
        self.ids.clear()


class StreamRefused(ConnectionError):
    """Raised by `FakeStream` when told to fail: the broker did not take the record."""


R = TypeVar("R", bound=BaseModel)


class FakeStream:
    """`inbox.ports.StreamProducer` that keeps each record it takes, per kind.

    `fail_next(n)` makes the next n hand-offs raise (`StreamRefused` unless another error is
    given) and keep nothing, like a broker that is down; `refused` lists those records."""

    def __init__(self) -> None:
        self.inbound: list[InboundRecord] = []
        self.sends: list[OutboundRecord] = []
        self.campaigns: list[CampaignRecord] = []
        self.refused: list[BaseModel] = []
        self._failures: list[BaseException] = []

    def fail_next(self, times: int = 1, error: BaseException | None = None) -> None:
        """The next `times` hand-offs (of any kind) raise `error`."""
        self._failures.extend(
            error or StreamRefused("fake stream told to refuse") for _ in range(times)
        )

    @property
    def records(self) -> list[BaseModel]:
        """Everything taken, whatever its kind."""
        return [*self.inbound, *self.sends, *self.campaigns]

    async def hand_off_inbound(self, record: InboundRecord) -> None:
        self.inbound.append(self._take(record))

    async def enqueue_send(self, record: OutboundRecord) -> None:
        self.sends.append(self._take(record))

    async def enqueue_campaign(self, record: CampaignRecord) -> None:
        self.campaigns.append(self._take(record))

    def _take(self, record: R) -> R:
        if self._failures:
            self.refused.append(record)
            raise self._failures.pop(0)
        # What a consumer would parse off the topic.
        return type(record).model_validate_json(record.model_dump_json())
