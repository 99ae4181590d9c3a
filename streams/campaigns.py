"""Campaign sending on the worker: the `campaign` topic agent and two timers.

* `send_campaign` takes recipient records in batches and sends them with the batch's
  database work done in a few bulk commands (`campaign_sending.send_batch`), different
  conversations concurrently (records of one conversation in order), each paced by the
  channel's shared Redis throttle; after each batch it publishes progress and completes
  campaigns with nobody left PENDING.
* `start_due_campaigns` polls every second for SCHEDULED campaigns whose time has come. The
  schedule lives in Mongo, so it survives restarts, and the SCHEDULED -> SENDING move is
  one atomic update, so with several workers polling exactly one starts each campaign. The
  same timer resolves started campaigns' audiences into recipients (one worker per
  campaign, under a lease that another worker takes over if this one dies).
* `sweep_campaigns` re-hands the PENDING recipients of SENDING campaigns that stopped
  making progress (records lost by a memory-only broker, a fan-out cut short by a crash).

Registered by `streams.app.create_app`.
"""

from __future__ import annotations

import asyncio
import logging

import faust
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from inbox import topics
from inbox.campaigns import audience_resolution
from inbox.campaigns import launch as campaign_launch
from inbox.campaigns import progress as campaign_progress
from inbox.campaigns import sending as campaign_sending
from inbox.campaigns import storing as campaign_storing
from inbox.campaigns.send_jobs import SentBatch
from inbox.campaigns.throttle import Throttle
from inbox.ports import Deps
from inbox.records import CampaignRecord
from streams.context import WorkerContext
from streams.runtime import parse_all, retrying, sweeper_lock

log = logging.getLogger(__name__)

# Records per batch: each batch costs a handful of database commands whatever its size
# (the sends themselves are bounded by CAMPAIGN_SEND_CONCURRENCY).
_BATCH = 200
_SCHEDULE_POLL_SECONDS = 1.0
_SWEEP_LOCK = "inbox:campaign-sweeper-lock"
_SWEEP_LOCK_SECONDS = 60


def register(app: faust.App, ctx: WorkerContext) -> None:
    settings = ctx.settings
    campaign_topic = app.topic(topics.campaign(settings), key_serializer="raw")

    @app.agent(campaign_topic, name="streams.campaigns.send_campaign")
    async def send_campaign(stream: faust.StreamT) -> None:
        deps = await ctx.deps()
        assert ctx.redis is not None
        throttle = Throttle(ctx.redis, settings.campaign_rate_per_second)

        # One batch is stored while the next is read, rendered and sent: the database and
        # the mail server work at the same time. Sends stay in stream order (one batch's
        # after the other's), and so does storing (each waits for the one before).
        storing: asyncio.Task[None] | None = None
        try:
            async for batch in stream.take(_BATCH, within=0.1):
                records = parse_all(batch, CampaignRecord)
                sent = None
                try:
                    sent = await retrying(
                        lambda r=records: campaign_sending.send_phase(deps, throttle, r),
                        what="a campaign batch",
                    )
                except (PyMongoError, RedisError, OSError):
                    # Recipients stay PENDING: the sweeper hands them over again.
                    log.warning("campaign batch left for the sweeper", exc_info=True)
                except Exception:  # noqa: BLE001 - a bad batch must not stop the stream
                    log.exception("campaign batch of %d records failed", len(records))
                if storing is not None:
                    await storing
                ids = {r.campaign_id for r in records}
                storing = asyncio.create_task(_store(deps, sent, ids))
        finally:
            if storing is not None and not storing.done():
                # A stopping worker stores what it sent (else the re-run sends it again).
                await asyncio.shield(storing)

    async def _store(deps: Deps, sent: SentBatch | None, campaign_ids: set[str]) -> None:
        if sent is not None:
            try:
                await retrying(
                    lambda: campaign_storing.store_phase(deps, sent),
                    what="storing a campaign batch",
                )
            except (PyMongoError, RedisError, OSError):
                log.warning("campaign batch left for the sweeper", exc_info=True)
            except Exception:  # noqa: BLE001 - logged; the recipients stay PENDING
                log.exception("storing a campaign batch failed")
        try:
            await campaign_progress.progress_all(deps, campaign_ids)
        except (PyMongoError, RedisError, OSError):
            # Progress is published again after the next batch, or by the sweeper.
            log.warning("could not publish campaign progress", exc_info=True)

    @app.timer(interval=_SCHEDULE_POLL_SECONDS)
    async def start_due_campaigns() -> None:
        deps = await ctx.deps()
        try:
            started = await campaign_launch.start_due(deps)
            resolved = await audience_resolution.resolve_due(deps)
        except (PyMongoError, RedisError, OSError):
            log.warning("scheduled campaigns not checked: a service is down", exc_info=True)
            return
        if started or resolved:
            log.info("started %d scheduled campaign(s), resolved %d audience(s)", started, resolved)

    @app.timer(interval=max(5.0, settings.redelivery_after_seconds / 3))
    async def sweep_campaigns() -> None:
        deps = await ctx.deps()
        assert ctx.redis is not None
        async with sweeper_lock(ctx.redis, _SWEEP_LOCK, ctx.worker_id, _SWEEP_LOCK_SECONDS) as mine:
            if not mine:
                return  # another worker is sweeping
            try:
                handed = await campaign_launch.rehand_stalled(deps)
                if handed:
                    log.warning("campaign sweeper handed %d recipients to the stream again", handed)
            except (PyMongoError, RedisError, OSError):
                log.warning("campaign sweeper skipped a round: a service is down", exc_info=True)
