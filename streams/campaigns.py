"""Campaign sending on the worker: the `campaign` topic agent and two timers.

* `send_campaign` takes recipient records in small batches and sends different
  conversations concurrently (records of one conversation in order), each paced by the
  channel's shared Redis throttle; after each batch it publishes progress and completes
  campaigns with nobody left PENDING.
* `start_due_campaigns` polls every second for SCHEDULED campaigns whose time has come. The
  schedule lives in Mongo, so it survives restarts, and the SCHEDULED -> SENDING move is
  one atomic update, so with several workers polling exactly one starts each campaign.
* `sweep_campaigns` re-hands the PENDING recipients of SENDING campaigns that stopped
  making progress (records lost by a memory-only broker, a fan-out cut short by a crash).

Registered by `streams.app.create_app`.
"""

from __future__ import annotations

import logging

import faust
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from inbox.services import campaigns as campaign_service
from streams import topics
from streams.context import WorkerContext
from streams.records import CampaignRecord

log = logging.getLogger(__name__)

# Concurrent sends per batch. Bounded well under the Redis client's pool (100 connections
# by default in redis-py), since each send also publishes realtime events.
_BATCH = 40
_SCHEDULE_POLL_SECONDS = 1.0
_SWEEP_LOCK = "inbox:campaign-sweeper-lock"


def register(app: faust.App, ctx: WorkerContext) -> None:
    # Imported here: streams.app imports this module while it is being defined.
    from streams.app import _guarded, _parse_all, _per_conversation

    settings = ctx.settings
    campaign_topic = app.topic(topics.campaign(settings), key_serializer="raw")

    @app.agent(campaign_topic, name="streams.campaigns.send_campaign")
    async def send_campaign(stream: faust.StreamT) -> None:
        deps = await ctx.deps()
        assert ctx.redis is not None
        throttle = campaign_service.Throttle(ctx.redis, settings.campaign_rate_per_second)

        async def on_error(record: CampaignRecord, exc: BaseException) -> None:
            log.error(
                "campaign %s: recipient %s failed: %r",
                record.campaign_id,
                record.recipient_id,
                exc,
            )

        async for batch in stream.take(_BATCH, within=0.05):
            records = _parse_all(batch, CampaignRecord)
            await _per_conversation(
                records,
                key=lambda r: r.conversation,
                handle=lambda r: _guarded(
                    lambda x: campaign_service.send_recipient(deps, throttle, x),
                    r,
                    on_error=on_error,
                ),
            )
            try:
                await campaign_service.progress_all(deps, (r.campaign_id for r in records))
            except (PyMongoError, RedisError, OSError):
                # Progress is published again after the next batch, or by the sweeper.
                log.warning("could not publish campaign progress", exc_info=True)

    @app.timer(interval=_SCHEDULE_POLL_SECONDS)
    async def start_due_campaigns() -> None:
        deps = await ctx.deps()
        try:
            started = await campaign_service.start_due(deps)
        except (PyMongoError, RedisError, OSError):
            log.warning("scheduled campaigns not checked: a service is down", exc_info=True)
            return
        if started:
            log.info("started %d scheduled campaign(s)", started)

    @app.timer(interval=max(5.0, settings.redelivery_after_seconds / 3))
    async def sweep_campaigns() -> None:
        deps = await ctx.deps()
        assert ctx.redis is not None
        if not await ctx.redis.set(_SWEEP_LOCK, ctx.worker_id, nx=True, ex=60):
            return  # another worker is sweeping
        try:
            handed = await campaign_service.rehand_stalled(deps)
            if handed:
                log.warning("campaign sweeper handed %d recipients to the stream again", handed)
        except (PyMongoError, RedisError, OSError):
            log.warning("campaign sweeper skipped a round: a service is down", exc_info=True)
        finally:
            await ctx.redis.delete(_SWEEP_LOCK)
