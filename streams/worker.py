"""The faust-streaming worker: threads inbound events and sends outbound messages.

Records of one conversation share a key, hence a partition, hence one worker at a time. A
worker takes what has arrived (up to WORKER_BATCH_SIZE records) as one batch and runs
different conversations of a batch concurrently while keeping each conversation's records in
order; a worker that is behind so writes each conversation's customer and ticket once for
many of its messages.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from pymongo.errors import PyMongoError

from connectors.base import InboundMessage, StatusUpdate
from inbox import topics
from inbox.channels import intake as webhook_service
from inbox.channels.documents import Channel
from inbox.config import Settings
from inbox.conversations import messages as message_service
from inbox.conversations import threader as threading_service
from inbox.ports import Deps
from inbox.records import InboundRecord, OutboundRecord, thread_key
from streams import automation, campaigns, notifications
from streams import hooks as webhooks
from streams.context import WorkerContext
from streams.runtime import consume_batch, each_record, parse_all, retrying, sweeper_lock

log = logging.getLogger(__name__)

SWEEPER_LOCK = "inbox:sweeper-lock"
SWEEPER_LOCK_SECONDS = 20

# How long the broker may hold a fetch when there is nothing to read. faust hard-codes
# 1500 ms, and the embedded broker (Tansu) answers a waiting fetch only at that deadline,
# not when records arrive: an idle worker then saw new records up to 1.5 s late. Polling
# every 100 ms costs the broker little and keeps idle latency in tens of milliseconds.
FETCH_MAX_WAIT_MS = 100
# Channels change rarely (name, config); the worker re-reads each at most this often.
CHANNEL_TTL_SECONDS = 30.0


class _ConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(aiokafka_driver.Consumer):
    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(aiokafka_driver.Transport):
    Consumer = _Consumer


class WorkerApp(faust.App):
    """faust.App with our consumer settings and our clients closed last."""

    worker_context: WorkerContext | None = None

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self, loop=self.loop)

    async def on_shutdown(self) -> None:
        # After agents and timers have stopped (on_before_shutdown runs before agents
        # stop, so closing there broke batches still in flight).
        await super().on_shutdown()
        if self.worker_context is not None:
            await self.worker_context.close()


def create_app(settings: Settings) -> tuple[faust.App, WorkerContext]:
    app = WorkerApp(
        settings.kafka_group_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        value_serializer="json",
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        # Short session and rebalance settings: a worker joins (and a dead one's partitions
        # move) within seconds instead of faust's minute-scale defaults.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=10.0,
        broker_commit_interval=1.0,
        stream_wait_empty=False,
        producer_acks=-1,
    )
    ctx = WorkerContext(settings)
    app.worker_context = ctx
    inbound_topic = app.topic(topics.inbound(settings), key_serializer="raw")
    outbound_topic = app.topic(topics.outbound(settings), key_serializer="raw")

    @app.agent(inbound_topic)
    async def thread_inbound(stream: faust.StreamT) -> None:
        deps = await ctx.deps()
        channels = _Channels()
        async for batch in stream.take(max(1, settings.worker_batch_size), within=0.02):
            await ctx.mark_inbound_busy()
            records = parse_all(batch, InboundRecord)
            finished = await _thread_batch(deps, channels, records, settings.worker_concurrency)
            # Only finished events are marked done; the rest stay for the sweeper.
            await retrying(
                lambda f=finished: webhook_service.mark_done(f), what="marking events done"
            )

    @app.agent(outbound_topic)
    async def send_outbound(stream: faust.StreamT) -> None:
        deps = await ctx.deps()

        async def on_error(record: OutboundRecord, exc: BaseException) -> None:
            log.error("sending message %s failed: %r", record.message_id, exc)

        async for batch in stream.take(100, within=0.02):
            records = parse_all(batch, OutboundRecord)
            await each_record(
                records,
                lambda r: message_service.send(deps, r),
                on_error=on_error,
                key=lambda r: r.conversation,
            )

    @app.timer(interval=settings.worker_heartbeat_seconds)
    async def heartbeat() -> None:
        await ctx.deps()
        assignment = app.consumer.assignment() if app.consumer else set()
        await ctx.heartbeat(len(assignment))

    @app.timer(interval=max(5.0, settings.redelivery_after_seconds / 3))
    async def sweep() -> None:
        """Re-hand stale journal entries and queued sends (one worker at a time)."""
        deps = await ctx.deps()
        assert ctx.redis is not None
        async with sweeper_lock(
            ctx.redis, SWEEPER_LOCK, ctx.worker_id, SWEEPER_LOCK_SECONDS
        ) as mine:
            if not mine:
                return  # another worker is sweeping
            try:
                # While any worker is still working through inbound records, unfinished
                # journal entries are most likely just queued behind them: re-handing them
                # would only add duplicate work to a backlog. Redeliver once the stream has
                # gone quiet.
                busy = await ctx.inbound_busy()
                redelivered = 0 if busy else await webhook_service.redeliver_stale(deps)
                requeued = await message_service.requeue_stale(deps)
                if redelivered or requeued:
                    log.warning(
                        "sweeper handed over %d inbound events and %d sends",
                        redelivered,
                        requeued,
                    )
            except PyMongoError:
                log.warning("sweeper skipped a round: database unavailable", exc_info=True)

    notifications.register(app, ctx)  # events topic -> users' notifications
    campaigns.register(app, ctx)  # campaign topic -> sends; scheduled starts; sweeper
    webhooks.register(app, ctx)  # events topic -> outbound webhook deliveries; retries
    automation.register(app, ctx)  # events topic -> automation rules; delayed runs; birthdays

    return app, ctx


class _Channels:
    """The worker's channels by id, re-read after CHANNEL_TTL_SECONDS."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Channel]] = {}

    async def get_many(self, ids: set[str]) -> dict[str, Channel]:
        now = time.monotonic()
        found = {
            i: e[1]
            for i in ids
            if (e := self._entries.get(i)) is not None and now - e[0] < CHANNEL_TTL_SECONDS
        }
        missing = sorted(ids - set(found))
        if missing:
            if len(self._entries) > 1000:
                self._entries.clear()
            for channel in await Channel.find({"_id": {"$in": missing}}).to_list():
                self._entries[channel.id] = (now, channel)
                found[channel.id] = channel
        return found


async def _thread_batch(
    deps: Deps, channels: _Channels, records: list[InboundRecord], concurrency: int
) -> list[InboundRecord]:
    """Apply a batch of inbound records; returns the finished ones.

    Messages go through `threading.apply_messages` together (a few commands for the whole
    batch); if that fails for a reason other than an outage, they are applied one at a time
    so that only the bad record is recorded as failed. Receipts follow, each conversation's
    in order. Records whose services stayed unavailable are not finished (sweeper)."""
    known = await retrying(
        lambda: channels.get_many({r.channel_id for r in records}), what="reading channels"
    )
    finished: list[InboundRecord] = []
    messages: list[InboundRecord] = []
    statuses: list[InboundRecord] = []
    for r in records:
        if r.channel_id not in known:
            await retrying(
                lambda r=r: webhook_service.record_error(
                    r.delivery_id, r.index, "channel no longer exists"
                ),
                what="recording an inbound error",
            )
            finished.append(r)
        elif isinstance(r.event, InboundMessage):
            messages.append(r)
        else:
            statuses.append(r)

    def incoming(r: InboundRecord) -> threading_service.Incoming:
        assert isinstance(r.event, InboundMessage)
        return threading_service.Incoming(known[r.channel_id], r.event, r.source)

    def conversation(r: InboundRecord) -> str:
        return thread_key(r.channel_id, r.event.thread_id)

    if messages:
        finished.extend(
            await consume_batch(
                messages,
                lambda batch: threading_service.apply_messages(
                    deps.events, [incoming(r) for r in batch], concurrency, caches=deps.caches
                ),
                process_one=lambda r: threading_service.apply_messages(
                    deps.events, [incoming(r)], caches=deps.caches
                ),
                on_error=_inbound_failed,
                key=conversation,
                concurrency=concurrency,
                what="messages",
            )
        )

    async def apply_status(r: InboundRecord) -> None:
        assert isinstance(r.event, StatusUpdate)
        await threading_service.apply_status(deps.events, known[r.channel_id], r.event)

    finished.extend(
        await each_record(
            statuses,
            apply_status,
            on_error=_inbound_failed,
            key=conversation,
            concurrency=concurrency,
        )
    )
    return finished


async def _inbound_failed(record: InboundRecord, exc: BaseException) -> None:
    await webhook_service.record_error(
        record.delivery_id, record.index, f"{type(exc).__name__}: {exc}"
    )
