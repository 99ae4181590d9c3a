"""Running automation rules (the stream worker's side): executions, from an event to a log.

1. For each rule an event fires (inbox/automation/triggers.py), `executions_for` makes an
   `AutomationExecution`, due now or after the rule's delay; birthday and anniversary rules
   get theirs from a daily scan (`scan_dates`). `insert_new` stores them: the execution's
   unique (ruleId, triggerKey) index drops a replayed event.
2. Due executions are claimed (compare-and-set on `dueAt`, which becomes a lease) and run:
   each action in order (inbox/automation/actions.py), each outcome recorded; then one
   conditional update finishes the execution, and only the worker that finished it writes the
   log, moves the rule's counters with `$inc` and publishes `automation.triggered`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from inbox import events
from inbox.automation import rules
from inbox.automation.actions import Run, run_action
from inbox.automation.documents import (
    ActionOutcome,
    AutomationExecution,
    AutomationLog,
    AutomationLogStatus,
    AutomationRule,
    ExecutionStatus,
    TriggerType,
)
from inbox.automation.triggers import (
    Firing,
    Marked,
    RuleCache,
    conditions_filter,
    customer_matches,
    trigger_holds,
)
from inbox.config import Settings
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Ticket
from inbox.crm.customer_documents import Customer
from inbox.document_base import utcnow
from inbox.ports import Deps
from inbox.queries import duplicate_positions, find_one_and_update

LEASE_SECONDS = 120.0  # a run takes seconds; a worker that died frees it after this
MAX_ATTEMPTS = 5  # runs that keep crashing their worker are given up


def new_execution(
    settings: Settings,
    rule: AutomationRule,
    *,
    trigger_key: str,
    customer_id: str,
    context: dict[str, Any],
    event: str | None = None,
    event_id: str | None = None,
    now: datetime | None = None,
) -> AutomationExecution:
    now = now or utcnow()
    run_at = now + timedelta(seconds=rule.delay_minutes * settings.automation_delay_unit_seconds)
    # Milliseconds, as MongoDB keeps them: claims compare `dueAt` with what was stored.
    run_at = run_at.replace(microsecond=run_at.microsecond // 1000 * 1000)
    return AutomationExecution(
        org_id=rule.org_id,
        rule_id=rule.id,
        trigger_key=trigger_key,
        trigger_type=rule.trigger.type,
        event=event,
        event_id=event_id,
        customer_id=customer_id,
        context=context,
        run_at=run_at,
        due_at=run_at,
    )


async def executions_for(
    settings: Settings, cache: RuleCache, firing: Firing
) -> list[AutomationExecution]:
    """The executions an event calls for (not stored yet)."""
    wanted = [r for r in await cache.get(firing.org_id) if r.is_active and trigger_holds(r, firing)]
    if not wanted:
        return []
    customer_id = firing.customer_id
    context = dict(firing.context)
    if firing.ticket_id:
        ticket = await Ticket.find_one(
            Ticket.id == firing.ticket_id, Ticket.org_id == firing.org_id
        )
        if ticket is None:
            return []
        customer_id = customer_id or ticket.customer_id
        context["ticket"] = (await ticket_service.view(ticket)).dump()
    if not customer_id:
        return []
    out: list[AutomationExecution] = []
    for rule in wanted:
        if await customer_matches(rule, customer_id):
            out.append(
                new_execution(
                    settings,
                    rule,
                    trigger_key=f"event:{firing.event_id}",
                    customer_id=customer_id,
                    context=context,
                    event=firing.event,
                    event_id=firing.event_id,
                )
            )
    return out


async def insert_new(executions: list[AutomationExecution]) -> list[AutomationExecution]:
    """Store executions in one bulk insert; returns those that are new (a replayed event's
    executions exist already and are dropped by the unique index)."""
    if not executions:
        return []
    docs = [e.model_dump(by_alias=True, mode="python") for e in executions]
    try:
        await AutomationExecution.get_pymongo_collection().insert_many(docs, ordered=False)
        return executions
    except BulkWriteError as exc:
        dropped = duplicate_positions(exc)
        return [e for i, e in enumerate(executions) if i not in dropped]


# ----------------------------------------------------------------- birthdays and anniversaries


def _month_days(today: datetime) -> list[str]:
    """The "MM-DD"s whose anniversary is today: Feb 29 ones count on Feb 28 in other years."""
    days = [today.strftime("%m-%d")]
    if days[0] == "02-28":
        try:
            today.replace(day=29)
        except ValueError:
            days.append("02-29")
    return days


async def scan_dates(settings: Settings, now: datetime | None = None) -> int:
    """The daily scan: for each active birthday/anniversary rule not yet scanned today (UTC),
    create an execution per customer whose date's month and day are today's. At most one per
    (rule, customer, year), persisted; a rule is marked scanned only once its scan is done,
    so a scan cut short is simply run again. Returns how many executions were created."""
    now = now or utcnow()
    today = now.astimezone(UTC)
    day = today.date().isoformat()
    due_rules = await AutomationRule.find(
        {
            "trigger.type": {"$in": [t.value for t in rules.DATE_TRIGGERS]},
            "isActive": True,
            "dateScannedOn": {"$ne": day},
        }
    ).to_list()
    created = 0
    for rule in due_rules:
        field = "birthday" if rule.trigger.type == TriggerType.BIRTHDAY else "anniversary"
        query = await conditions_filter(rule)
        if query is not None:
            pipeline = [
                {"$match": {"orgId": rule.org_id, field: {"$type": "date"}}},
                {
                    "$match": {
                        "$expr": {
                            "$in": [
                                {"$dateToString": {"date": f"${field}", "format": "%m-%d"}},
                                _month_days(today),
                            ]
                        }
                    }
                },
                {"$match": query},
                {"$project": {"_id": 1}},
            ]
            batch: list[AutomationExecution] = []
            async for doc in await Customer.get_pymongo_collection().aggregate(pipeline):
                batch.append(
                    new_execution(
                        settings,
                        rule,
                        trigger_key=f"{rule.trigger.type.value}:{doc['_id']}:{today.year}",
                        customer_id=doc["_id"],
                        context={},
                        now=now,
                    )
                )
                if len(batch) >= 500:
                    created += len(await insert_new(batch))
                    batch = []
            created += len(await insert_new(batch))
        await AutomationRule.get_pymongo_collection().update_one(
            {"_id": rule.id}, {"$set": {"dateScannedOn": day}}
        )
    return created


# ---------------------------------------------------------------------------- running


async def due(limit: int = 200) -> list[tuple[str, datetime]]:
    """(id, dueAt) of executions whose time has come (or whose runner's lease ran out)."""
    cursor = (
        AutomationExecution.get_pymongo_collection()
        .find({"dueAt": {"$lte": utcnow()}}, {"_id": 1, "dueAt": 1})
        .sort("dueAt", 1)
        .limit(limit)
    )
    return [(d["_id"], d["dueAt"]) async for d in cursor]


async def claim(execution_id: str, due_at: datetime) -> AutomationExecution | None:
    """Take an execution to run: one compare-and-set on its `dueAt`, which becomes this
    runner's lease. None when another worker took it first."""
    lease = utcnow() + timedelta(seconds=LEASE_SECONDS)
    doc = await find_one_and_update(
        AutomationExecution.get_pymongo_collection(),
        {"_id": execution_id, "dueAt": due_at},
        {
            "$set": {
                "status": ExecutionStatus.RUNNING.value,
                "dueAt": lease,
                "updatedAt": utcnow(),
            },
            "$inc": {"attempts": 1},
        },
        return_document=ReturnDocument.AFTER,
    )
    return AutomationExecution.model_validate(doc) if doc else None


async def run(deps: Deps, execution: AutomationExecution) -> AutomationLog | None:
    """Run a claimed execution's actions and finish it; returns its log (None when the rule
    was deleted meanwhile, or another runner finished it first)."""
    rule = await AutomationRule.find_one(
        AutomationRule.id == execution.rule_id, AutomationRule.org_id == execution.org_id
    )
    if rule is None:
        await _finish(execution)  # deleted: nothing to log against
        return None
    customer = await Customer.find_one(
        Customer.id == execution.customer_id, Customer.org_id == execution.org_id
    )
    outcomes: list[ActionOutcome] = []
    reason: str | None = None
    if not rule.is_active:
        reason = "the rule was switched off before it ran"
    elif customer is None:
        reason = "the customer no longer exists"
    elif execution.attempts > MAX_ATTEMPTS:
        reason = f"gave up after {MAX_ATTEMPTS} attempts that did not finish"
    else:
        marker = Marked(deps.events, rule.id, execution.id)
        ctx = Run(deps, dataclasses.replace(deps, events=marker), rule, execution, customer)
        for index, action in enumerate(rule.actions):
            outcomes.append(await run_action(ctx, index, action))
    if reason is not None:
        status = AutomationLogStatus.SKIPPED
    elif any(o.status == "failed" for o in outcomes):
        status = AutomationLogStatus.FAILED
    elif any(o.status == "ok" for o in outcomes):
        status = AutomationLogStatus.SUCCESS
    else:
        status = AutomationLogStatus.SKIPPED
        reason = "no action applied to this customer"
    if not await _finish(execution):
        return None  # another runner took over (our lease ran out) and records it
    now = utcnow()
    entry = AutomationLog(
        id=execution.id,
        org_id=execution.org_id,
        rule_id=rule.id,
        execution_id=execution.id,
        trigger_type=execution.trigger_type,
        trigger_key=execution.trigger_key,
        event=execution.event,
        event_id=execution.event_id,
        customer_id=execution.customer_id,
        status=status,
        reason=reason,
        details=outcomes,
        scheduled_at=execution.run_at,
        executed_at=now,
    )
    # Counters before the log: whoever reads the log sees them counted.
    counters = {
        "totalRuns": 1,
        "successfulRuns": int(status == AutomationLogStatus.SUCCESS),
        "failedRuns": int(status == AutomationLogStatus.FAILED),
        "skippedRuns": int(status == AutomationLogStatus.SKIPPED),
        "totalSent": sum(1 for o in outcomes if o.status == "ok"),
    }
    await AutomationRule.get_pymongo_collection().update_one(
        {"_id": rule.id}, {"$inc": counters, "$max": {"lastRunAt": now}}
    )
    await AutomationLog.get_pymongo_collection().replace_one(
        {"_id": entry.id}, entry.model_dump(by_alias=True, mode="python"), upsert=True
    )
    await Marked(deps.events, rule.id, execution.id).publish(
        execution.org_id,
        events.AUTOMATION_TRIGGERED,
        {
            "ruleId": rule.id,
            "ruleName": rule.name,
            "logId": entry.id,
            "triggerType": execution.trigger_type.value,
            "eventId": execution.event_id,
            "customerId": execution.customer_id,
            "status": status.value,
            "reason": reason,
            "details": [o.model_dump(by_alias=True, mode="json") for o in outcomes],
        },
    )
    return entry


async def _finish(execution: AutomationExecution) -> bool:
    """Running -> done, if this runner's lease still holds."""
    done = await AutomationExecution.get_pymongo_collection().update_one(
        {"_id": execution.id, "dueAt": execution.due_at},
        {"$set": {"status": ExecutionStatus.DONE.value, "dueAt": None, "updatedAt": utcnow()}},
    )
    return done.modified_count == 1
