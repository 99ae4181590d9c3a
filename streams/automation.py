"""Automation rules on the worker: an events-topic agent and two timers.

* `trigger_automations` reads the events topic (shared with notifications and outbound
  webhooks), works out which of the org's active rules an event fires (rules cached for a
  couple of seconds), and stores one execution per (rule, event) in one bulk insert; the
  unique index drops events seen before. Executions due now are claimed and started in the
  background: the agent never waits for an SMTP server or a customer's webhook.
* `run_due_automations` (every second, or faster when the delay unit is shorter) claims
  executions whose time has come: delayed ones, and any whose runner died (its lease ran
  out). Everything lives in MongoDB, so a restarted worker runs what was scheduled before.
* `scan_automation_dates` looks for birthday/anniversary rules not yet scanned today (UTC)
  once per delay unit (a minute) and schedules their customers' executions.

Registered by `streams.app.create_app`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from inbox import topics
from inbox.automation import runs, triggers
from inbox.automation.documents import AutomationExecution
from inbox.document_base import utcnow
from inbox.ports import Deps
from streams.context import WorkerContext
from streams.runtime import consume_batch, sweeper_lock

log = logging.getLogger(__name__)

RUNNERS = 8  # executions running at once per worker
_DATE_SCAN_LOCK = "inbox:automation-date-scan:{prefix}"
_DATE_SCAN_LOCK_SECONDS = 300


class Runner:
    """Runs claimed executions in background tasks, at most RUNNERS at once."""

    def __init__(self) -> None:
        self.slots = asyncio.Semaphore(RUNNERS)
        self.tasks: set[asyncio.Task[None]] = set()

    def free(self) -> int:
        return RUNNERS - len(self.tasks)

    def launch(self, deps: Deps, execution: AutomationExecution) -> None:
        task = asyncio.create_task(self._run(deps, execution))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, deps: Deps, execution: AutomationExecution) -> None:
        async with self.slots:
            try:
                await runs.run(deps, execution)
            except asyncio.CancelledError:
                raise  # shutdown: the lease runs out and the execution runs again
            except Exception:  # noqa: BLE001 - one execution must not end the runner
                log.exception(
                    "automation execution %s not finished; it runs again when its lease ends",
                    execution.id,
                )

    async def claim_and_launch(self, deps: Deps, pairs: list[tuple[str, Any]]) -> int:
        claimed = 0
        for execution_id, due_at in pairs:
            execution = await runs.claim(execution_id, due_at)
            if execution is not None:
                self.launch(deps, execution)
                claimed += 1
        return claimed

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


async def trigger_batch(
    deps: Deps, cache: triggers.RuleCache, runner: Runner, batch: list[Any]
) -> int:
    """Store the executions a batch of events calls for; start the ones due now."""
    executions: list[AutomationExecution] = []
    for record in batch:
        firing = triggers.read_event(record)
        if firing is not None:
            executions.extend(await runs.executions_for(deps.settings, cache, firing))
    if not executions:
        return 0
    fresh = await runs.insert_new(executions)
    now = utcnow()
    due_now = [(e.id, e.due_at) for e in fresh if e.due_at is not None and e.due_at <= now]
    # Over capacity, they wait (due) for the timer rather than pile up here.
    await runner.claim_and_launch(deps, due_now[: max(0, runner.free())])
    return len(fresh)


def register(app: faust.App, ctx: WorkerContext) -> None:
    settings = ctx.settings
    events_topic = app.topic(topics.events(settings), key_serializer="raw")
    cache = triggers.RuleCache()
    runner = Runner()
    unit = settings.automation_delay_unit_seconds

    @app.agent(events_topic, name="streams.automation.trigger_automations")
    async def trigger_automations(stream: faust.StreamT) -> None:
        deps = await ctx.deps()
        async for batch in stream.take(200, within=0.05):
            # Nothing else would bring these events back: wait an outage out, however long;
            # a batch that fails otherwise is applied event by event, so one bad event costs
            # only itself (executions stored in a first try are not stored twice).
            await consume_batch(
                list(batch),
                lambda records: trigger_batch(deps, cache, runner, records),
                attempts=None,
                max_delay=10.0,
                what="automation trigger events",
            )

    @app.timer(interval=min(1.0, max(0.1, unit / 2)))
    async def run_due_automations() -> None:
        deps = await ctx.deps()
        if runner.free() <= 0:
            return
        try:
            await runner.claim_and_launch(deps, await runs.due(runner.free()))
        except (PyMongoError, OSError):
            log.warning("due automations not checked: database unavailable", exc_info=True)

    @app.timer(interval=min(60.0, max(0.5, unit)))
    async def scan_automation_dates() -> None:
        deps = await ctx.deps()
        assert ctx.redis is not None
        lock = _DATE_SCAN_LOCK.format(prefix=settings.topic_prefix)
        try:
            async with sweeper_lock(
                ctx.redis, lock, ctx.worker_id, _DATE_SCAN_LOCK_SECONDS
            ) as mine:
                if not mine:
                    return  # another worker is scanning (the executions' index keeps it safe)
                try:
                    created = await runs.scan_dates(deps.settings)
                    if created:
                        log.info("birthday/anniversary scan scheduled %d automation runs", created)
                except (PyMongoError, OSError):
                    log.warning(
                        "birthday/anniversary scan skipped: database unavailable", exc_info=True
                    )
        except RedisError:
            # Redis unavailable: no scan this round (taking the lock failed), or the lock
            # was not released (it runs out by itself).
            return

    @app.on_before_shutdown.connect  # type: ignore[misc]
    async def _close_runner(sender_: faust.App, **kwargs: Any) -> None:
        await runner.close()
