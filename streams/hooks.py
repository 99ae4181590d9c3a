"""Outbound webhook delivery on the worker: an events-topic agent, a sender, a retry timer.

* `record_deliveries` reads the events topic (it shares it with notifications), matches each
  event against its org's active subscriptions (cached for a couple of seconds) and records
  one delivery per (subscription, event) in one bulk insert. The unique index drops events
  seen before, so a replay after a restart or rebalance delivers nothing twice. New
  deliveries are handed to the sender and the agent moves on: it never waits for a POST.
* `Sender` POSTs in background tasks, at most `WEBHOOK_CONCURRENCY` at once per worker and
  at most `PER_WEBHOOK` at once to any one subscription, on its own HTTP connection pool.
  So a URL that hangs holds its own few slots (for `WEBHOOK_TIMEOUT_SECONDS` each) and no
  one else's: other subscriptions, the Graph API sends and the other agents go on.
* `retry_due_webhooks` scans for deliveries whose persisted `nextAttemptAt` has come
  (retries, redeliveries, test events, anything whose sender died) and claims them
  atomically, so with several workers each attempt is made by one. Nothing is kept only in
  memory: a restarted worker picks up every pending retry.

Registered by `streams.app.create_app`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import aiohttp
import faust
from pymongo.errors import PyMongoError

from inbox import topics
from inbox.config import Settings
from inbox.document_base import utcnow
from inbox.hooks import service as hooks_service
from inbox.hooks.documents import OutboundDelivery, OutboundWebhook
from streams.context import WorkerContext
from streams.runtime import consume_batch, retrying

log = logging.getLogger(__name__)

PER_WEBHOOK = 4  # POSTs in flight to one subscription, per worker
_CACHE_SECONDS = 2.0  # subscription changes reach the agent within this
_CACHE_MAX_ORGS = 10_000
_SCAN_LIMIT = 5000  # due deliveries read per scan, at most
USER_AGENT = "OmniInbox-Webhooks/1.0"


def poll_interval(settings: Settings) -> float:
    """How often due deliveries are looked for: every second, or faster when the backoff
    base is shorter (tests)."""
    return min(1.0, max(0.1, settings.webhook_retry_base_seconds))


class SubscriptionCache:
    """Each org's active subscriptions, read from Mongo at most every couple of seconds."""

    def __init__(self, ttl: float = _CACHE_SECONDS):
        self.ttl = ttl
        self._entries: dict[str, tuple[float, list[OutboundWebhook]]] = {}

    async def get(self, org_id: str) -> list[OutboundWebhook]:
        now = time.monotonic()
        hit = self._entries.get(org_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await hooks_service.active_for_org(org_id)
        if len(self._entries) >= _CACHE_MAX_ORGS:
            self._entries.clear()
        self._entries[org_id] = (now + self.ttl, found)
        return found


class Sender:
    """Runs the POSTs in background tasks, bounded per worker and per subscription."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.capacity = max(1, settings.webhook_concurrency)
        self.in_flight: Counter[str] = Counter()
        self.total = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        # Its own pool: hanging endpoints must never hold the connections the Graph API
        # sends (deps.http) need.
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.capacity, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds),
                headers={"User-Agent": USER_AGENT},
            )
        return self._http

    def free(self) -> int:
        return self.capacity - self.total

    def reserve(self, webhook_id: str) -> bool:
        """Take a slot for one POST to this subscription, if there is one."""
        if self.total >= self.capacity or self.in_flight[webhook_id] >= PER_WEBHOOK:
            return False
        self.in_flight[webhook_id] += 1
        self.total += 1
        return True

    def release(self, webhook_id: str) -> None:
        self.in_flight[webhook_id] -= 1
        if self.in_flight[webhook_id] <= 0:
            del self.in_flight[webhook_id]
        self.total -= 1

    def launch(self, delivery: OutboundDelivery, hook: OutboundWebhook | None) -> None:
        """Send a claimed delivery whose slot is reserved; returns at once."""
        task = asyncio.create_task(self._deliver(delivery, hook))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, delivery: OutboundDelivery, hook: OutboundWebhook | None) -> None:
        # Short Mongo outages are waited out (`retrying`); after that the delivery's lease
        # runs out and the retry scan picks it up again.
        try:
            if hook is None:
                await retrying(lambda: hooks_service.give_up(delivery, "webhook deleted"))
                return
            # Deliveries asked for by hand (test, redelivery) go out even while switched off.
            if not hook.is_active and delivery.dedupe_key.startswith("event:"):
                await retrying(lambda: hooks_service.give_up(delivery, "webhook is inactive"))
                return
            outcome = await self.post(hook, delivery)
            await retrying(lambda: hooks_service.record_attempt(self.settings, delivery, outcome))
            if not outcome.succeeded:
                log.info(
                    "webhook %s: delivery %s (%s) attempt %d failed: %s",
                    delivery.webhook_id,
                    delivery.id,
                    delivery.event,
                    delivery.attempts + 1,
                    outcome.error,
                )
        except asyncio.CancelledError:
            raise  # shutdown: the lease runs out and another sender takes it
        except Exception:  # noqa: BLE001 - one delivery's failure must not end the sender
            log.exception("webhook delivery %s not recorded; it goes again later", delivery.id)
        finally:
            self.release(delivery.webhook_id)

    async def post(
        self, hook: OutboundWebhook, delivery: OutboundDelivery
    ) -> hooks_service.Outcome:
        body = delivery.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "X-Signature-256": hooks_service.sign(hook.secret, body),
            "X-Webhook-Timestamp": str(int(time.time())),
            "X-Webhook-Event": delivery.event,
            "X-Webhook-Id": delivery.id,
        }
        at = utcnow()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            # Redirects are not followed: the receiver must answer at the URL it gave.
            async with self.http.post(
                hook.url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                status = resp.status
                # Read (a bounded part of) the answer so the connection can be reused; it
                # is not stored: the log keeps the status code only.
                await resp.content.read(64 * 1024)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except TimeoutError:
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except ValueError as exc:  # e.g. a URL aiohttp cannot use
            error = f"invalid URL: {exc}"[:500]
        elapsed = int((time.monotonic() - started) * 1000)
        return hooks_service.Outcome(
            at=at, status_code=status, error=error, response_time_ms=elapsed
        )

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()


async def record_batch(
    settings: Settings, cache: SubscriptionCache, sender: Sender, batch: list[Any]
) -> None:
    """Record the deliveries of one batch of events-topic records and start their POSTs."""
    per_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for value in batch:
        if isinstance(value, dict) and value.get("orgId") and value.get("id"):
            per_org[str(value["orgId"])].append(value)
        else:
            log.error("skipping unreadable events record: %r", value)
    deliveries: list[OutboundDelivery] = []
    leased: set[str] = set()  # deliveries this worker sends at once (a slot is reserved)
    hooks: dict[str, OutboundWebhook] = {}
    for org_id, records in per_org.items():
        subscribed = await retrying(lambda o=org_id: cache.get(o))  # type: ignore[misc]
        for record in records:
            for hook in subscribed:
                if not hooks_service.wants(hook, str(record.get("event"))):
                    continue
                hooks[hook.id] = hook
                # Sent at once if this subscription has a free slot; else it waits, due,
                # for the retry scan (which takes it as soon as a slot frees).
                now = sender.reserve(hook.id)
                delivery = hooks_service.new_delivery(settings, hook, record, leased=now)
                deliveries.append(delivery)
                if now:
                    leased.add(delivery.id)
    if not deliveries:
        return
    try:
        inserted = await retrying(lambda: hooks_service.insert_new(deliveries))
    except BaseException:
        for d in deliveries:
            if d.id in leased:
                sender.release(d.webhook_id)
        raise
    for d in deliveries:
        if d.id not in leased:
            continue
        if d.id in inserted:
            sender.launch(d, hooks[d.webhook_id])
        else:
            sender.release(d.webhook_id)  # seen before: nothing to send


async def retry_due(settings: Settings, sender: Sender) -> int:
    """Claim and start the deliveries that are due, as far as free slots allow.

    The scan reads past deliveries of subscriptions whose slots are full, so a dead URL's
    backlog never holds up the retries of others."""
    picked: list[tuple[str, str, datetime]] = []
    try:
        if sender.free() > 0:
            async for delivery_id, webhook_id, due_at in hooks_service.due(_SCAN_LIMIT):
                if sender.reserve(webhook_id):
                    picked.append((delivery_id, webhook_id, due_at))
                    if sender.free() <= 0:
                        break
        if not picked:
            return 0
        results = await asyncio.gather(
            *(hooks_service.claim(settings, d, at) for d, _, at in picked),
            return_exceptions=True,
        )
        claimed = [r for r in results if isinstance(r, OutboundDelivery)]
        for failure in (r for r in results if isinstance(r, BaseException)):
            log.warning("could not claim a due webhook delivery: %r", failure)
        by_id = await hooks_service.hooks_by_id(d.webhook_id for d in claimed)
    except BaseException:
        for _, webhook_id, _ in picked:
            sender.release(webhook_id)
        raise
    claimed_ids = {d.id for d in claimed}
    for delivery_id, webhook_id, _ in picked:
        if delivery_id not in claimed_ids:
            sender.release(webhook_id)  # another worker took it first (or the claim failed)
    for delivery in claimed:
        sender.launch(delivery, by_id.get(delivery.webhook_id))
    return len(claimed)


def register(app: faust.App, ctx: WorkerContext) -> None:
    settings = ctx.settings
    events_topic = app.topic(topics.events(settings), key_serializer="raw")
    sender = Sender(settings)
    cache = SubscriptionCache()

    @app.agent(events_topic, name="streams.webhooks.record_deliveries")
    async def record_deliveries(stream: faust.StreamT) -> None:
        await ctx.deps()
        async for batch in stream.take(200, within=0.05):
            # Nothing else would bring these events' deliveries back: wait an outage out,
            # however long; a batch that fails otherwise is recorded event by event, so one
            # bad event costs only itself (events seen in a first try are not recorded twice).
            await consume_batch(
                list(batch),
                lambda records: record_batch(settings, cache, sender, records),
                attempts=None,
                max_delay=10.0,
                what="webhook delivery events",
            )

    @app.timer(interval=poll_interval(settings))
    async def retry_due_webhooks() -> None:
        await ctx.deps()
        try:
            await retry_due(settings, sender)
        except (PyMongoError, OSError):
            log.warning("due webhook deliveries not checked: database unavailable", exc_info=True)

    @app.on_before_shutdown.connect  # type: ignore[misc]
    async def _close_sender(sender_: faust.App, **kwargs: Any) -> None:
        await sender.close()
