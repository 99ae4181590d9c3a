"""The faust-streaming worker: threads inbound events and sends outbound messages.

Records of one conversation share a key, hence a partition, hence one worker at a time. A
worker takes what has arrived (up to WORKER_BATCH_SIZE records) as one batch and runs
different conversations of a batch concurrently while keeping each conversation's records in
order; a worker that is behind so writes each conversation's customer and ticket once for
many of its messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from pymongo.errors import ConnectionFailure, PyMongoError
from redis.exceptions import ConnectionError as RedisConnectionError

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

log = logging.getLogger(__name__)

# Outages worth waiting out (the record is retried); anything else is a bad record or a bug
# (the record is logged against its delivery and skipped so the next one is processed).
_TRANSIENT = (ConnectionFailure, RedisConnectionError, OSError, asyncio.TimeoutError)


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
            records = _parse_all(batch, InboundRecord)
            finished = await _thread_batch(deps, channels, records, settings.worker_concurrency)
            # Only finished events are marked done; the rest stay for the sweeper.
            await _retrying(lambda f=finished: webhook_service.mark_done(f))

    @app.agent(outbound_topic)
    async def send_outbound(stream: faust.StreamT) -> None:
        deps = await ctx.deps()

        async def on_error(record: OutboundRecord, exc: BaseException) -> None:
            log.error("sending message %s failed: %r", record.message_id, exc)

        async for batch in stream.take(100, within=0.02):
            records = _parse_all(batch, OutboundRecord)
            await _per_conversation(
                records,
                key=lambda r: r.conversation,
                handle=lambda r: _guarded(
                    lambda x: message_service.send(deps, x), r, on_error=on_error
                ),
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
        if not await ctx.redis.set("inbox:sweeper-lock", ctx.worker_id, nx=True, ex=20):
            return
        try:
            # While any worker is still working through inbound records, unfinished journal
            # entries are most likely just queued behind them: re-handing them would only
            # add duplicate work to a backlog. Redeliver once the stream has gone quiet.
            busy = await ctx.inbound_busy()
            redelivered = 0 if busy else await webhook_service.redeliver_stale(deps)
            requeued = await message_service.requeue_stale(deps)
            if redelivered or requeued:
                log.warning(
                    "sweeper handed over %d inbound events and %d sends", redelivered, requeued
                )
        except PyMongoError:
            log.warning("sweeper skipped a round: database unavailable", exc_info=True)
        finally:
            await ctx.redis.delete("inbox:sweeper-lock")

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
    known = await _retrying(lambda: channels.get_many({r.channel_id for r in records}))
    finished: list[InboundRecord] = []
    messages: list[InboundRecord] = []
    statuses: list[InboundRecord] = []
    for r in records:
        if r.channel_id not in known:
            await _retrying(
                lambda r=r: webhook_service.record_error(
                    r.delivery_id, r.index, "channel no longer exists"
                )
            )
            finished.append(r)
        elif isinstance(r.event, InboundMessage):
            messages.append(r)
        else:
            statuses.append(r)

    def incoming(r: InboundRecord) -> threading_service.Incoming:
        assert isinstance(r.event, InboundMessage)
        return threading_service.Incoming(known[r.channel_id], r.event, r.source)

    if messages:
        try:
            await _retrying(
                lambda: threading_service.apply_messages(
                    deps.events, [incoming(r) for r in messages], concurrency
                )
            )
            finished.extend(messages)
        except _TRANSIENT:
            log.warning("%d messages left for the sweeper: services unavailable", len(messages))
        except Exception:  # noqa: BLE001 - find the bad record by applying them one by one
            log.exception("a batch of %d messages failed; applying them one by one", len(messages))
            finished.extend(
                await _per_conversation(
                    messages,
                    key=lambda r: thread_key(r.channel_id, r.event.thread_id),
                    handle=lambda r: _guarded(
                        lambda x: threading_service.apply_messages(deps.events, [incoming(x)]),
                        r,
                        on_error=_inbound_failed,
                    ),
                    concurrency=concurrency,
                )
            )

    async def apply_status(r: InboundRecord) -> None:
        assert isinstance(r.event, StatusUpdate)
        await threading_service.apply_status(deps.events, known[r.channel_id], r.event)

    finished.extend(
        await _per_conversation(
            statuses,
            key=lambda r: thread_key(r.channel_id, r.event.thread_id),
            handle=lambda r: _guarded(apply_status, r, on_error=_inbound_failed),
            concurrency=concurrency,
        )
    )
    return finished


def _parse_all(batch: Iterable[Any], model: Any) -> list[Any]:
    out = []
    for value in batch:
        try:
            out.append(model.model_validate(value))
        except Exception as exc:  # noqa: BLE001 - a record we cannot read must not stop the stream
            log.error("skipping unreadable %s record: %r", model.__name__, exc)
    return out


async def _per_conversation(
    records: list[Any],
    key: Callable[[Any], str],
    handle: Callable[[Any], Awaitable[bool]],
    concurrency: int = 8,
) -> list[Any]:
    """Run each conversation's records in order, different conversations concurrently.

    Returns the records whose `handle` returned True (finished)."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    # Bounded: past a handful of concurrent writers the database spends its time on write
    # conflicts and connection churn instead of work (measured with bench/webhooks.py).
    limit = asyncio.Semaphore(concurrency)

    async def run(group: list[Any]) -> list[Any]:
        async with limit:
            return [r for r in group if await handle(r)]

    results = await asyncio.gather(*(run(g) for g in groups.values()))
    return [r for finished in results for r in finished]


async def _guarded(
    fn: Callable[[Any], Awaitable[Any]],
    record: Any,
    on_error: Callable[[Any, BaseException], Awaitable[None]],
) -> bool:
    """Process one record; False when an outage outlasted the retries (try again later)."""
    try:
        await _retrying(lambda: fn(record))
        return True
    except _TRANSIENT:
        log.warning("record left for the sweeper: services unavailable", exc_info=True)
        return False
    except Exception as exc:  # noqa: BLE001
        log.exception("record skipped")
        try:
            await on_error(record, exc)
        except Exception:  # noqa: BLE001
            log.exception("could not record the failure")
        return True


async def _retrying(fn: Callable[[], Awaitable[Any]], attempts: int = 8) -> Any:
    """Wait out short outages of Mongo/Redis; after that the sweeper takes over."""
    delay = 0.25
    for attempt in range(attempts):
        try:
            return await fn()
        except _TRANSIENT:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _inbound_failed(record: InboundRecord, exc: BaseException) -> None:
    await webhook_service.record_error(
        record.delivery_id, record.index, f"{type(exc).__name__}: {exc}"
    )
