"""The notifications agent: turns domain events from the events topic into notifications.

It runs on the worker's faust app (registered by `streams.app.create_app`), so it shares
the worker's consumer group: each events partition (keyed by org) is read by one worker at
a time, and adding workers splits the partitions. Creation is idempotent
(`inbox.services.notifications`), so a redelivered record after a crash or a rebalance is
harmless. An outage of Mongo or Redis is waited out in place rather than skipping the
record, since nothing else would bring a skipped notification back.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

import faust

from inbox import topics
from inbox.notifications import service as notification_service
from inbox.ports import Deps
from streams.context import WorkerContext
from streams.runtime import consume_batch

log = logging.getLogger(__name__)

_MAX_BACKOFF = 10.0


def register(app: faust.App, ctx: WorkerContext) -> None:
    events_topic = app.topic(topics.events(ctx.settings), key_serializer="raw")

    @app.agent(events_topic, name="streams.notifications.notify")
    async def notify(stream: faust.StreamT) -> None:
        deps = await ctx.deps()
        async for batch in stream.take(200, within=0.05):
            # Keyed by org: one org's events in order, different orgs concurrently.
            per_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for value in batch:
                if isinstance(value, dict):
                    per_org[str(value.get("orgId"))].append(value)
                else:
                    log.error("skipping unreadable events record: %r", value)
            await asyncio.gather(*(_run(deps, records) for records in per_org.values()))


async def _run(deps: Deps, records: list[dict[str, Any]]) -> None:
    """One org's records: together, or one by one (in order) when the batch fails, so only
    the bad record is skipped. Outages of Mongo/Redis are waited out, however long."""

    async def failed(record: dict[str, Any], exc: BaseException) -> None:
        log.error("notifications failed for events %s", [record.get("id")])

    await consume_batch(
        records,
        lambda batch: notification_service.from_events(deps.events, batch),
        on_error=failed,
        attempts=None,
        max_delay=_MAX_BACKOFF,
        what="events' notifications",
    )
