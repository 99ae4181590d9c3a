"""Running automation rules (the stream worker's side).

From an event of the events topic to actions:

1. `firings(record)` reads what the event means: which trigger types it can fire, for which
   customer, with which objects (the order, the message and its ticket, the ticket, the cart).
   Events caused by an automation's own actions carry `causedBy` (see `Marked`) and fire
   nothing, so no chain of rules can loop.
2. For each active rule of the org with that trigger whose filters (keyword, status move) and
   conditions hold, an `AutomationExecution` is inserted, due now or after the rule's delay.
   Conditions are one MongoDB query for this one customer (`{_id, orgId, ...compiled}`),
   never a scan in Python. The execution's unique (ruleId, triggerKey) index drops a
   replayed event.
3. Due executions are claimed (compare-and-set on `dueAt`, which becomes a lease) and run:
   each action in order, each outcome recorded; then one conditional update finishes the
   execution, and only the worker that finished it writes the log, moves the rule's
   counters with `$inc` and publishes `automation.triggered`.

Sends are threaded like campaign messages (the customer's open ticket on that channel, or a
new PENDING one) with message ids derived from (execution, action), so a re-run after a crash
finds its message instead of sending a second one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError

from connectors.base import ChannelType, DeliveryStatus, Direction
from inbox import events, templating
from inbox.automation import rules
from inbox.automation.documents import (
    ActionOutcome,
    ActionType,
    AutomationAction,
    AutomationExecution,
    AutomationLog,
    AutomationLogStatus,
    AutomationRule,
    ExecutionStatus,
    TriggerType,
)
from inbox.channels.documents import Channel
from inbox.commerce.documents import OrderStatus
from inbox.config import Settings
from inbox.conversations import messages as message_service
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Message, Ticket, TicketStatus
from inbox.conversations.threader import public_message
from inbox.crm import customers as customer_service
from inbox.crm import segments as segment_service
from inbox.crm.customer_documents import Customer
from inbox.crm.customer_views import customer_view
from inbox.document_base import utcnow
from inbox.errors import NotFound, ValidationFailed
from inbox.hooks import service as hooks_service
from inbox.ports import Deps, EventPublisher
from inbox.queries import duplicate_positions, find_one_and_update
from inbox.records import OutboundRecord, thread_key

log = logging.getLogger(__name__)

CAUSED_BY = "causedBy"
LEASE_SECONDS = 120.0  # a run takes seconds; a worker that died frees it after this
MAX_ATTEMPTS = 5  # runs that keep crashing their worker are given up
_MESSAGE_NS = uuid.UUID("0b8f5a52-7a7e-4d8e-9a0c-5d1f0c2e7a41")
_SENT = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ)
_MAX_CHARS = {ChannelType.EMAIL: 65_536, ChannelType.SMS: 1600, ChannelType.WHATSAPP: 4096}
USER_AGENT = "OmniInbox-Automation/1.0"


# ------------------------------------------------------------------------- loop guard


class Marked:
    """An EventPublisher that stamps every event with the rule that caused it.

    Everything an automation's actions publish goes through one of these, so consumers can
    tell (and the automation agent ignores) events an automation caused."""

    def __init__(self, inner: EventPublisher, rule_id: str, execution_id: str):
        self.inner = inner
        self.marker = {"automationRuleId": rule_id, "automationExecutionId": execution_id}

    async def publish(self, org_id: str, event: str, data: dict[str, Any]) -> str:
        return await self.inner.publish(org_id, event, {**data, CAUSED_BY: self.marker})


def caused_by_automation(data: Mapping[str, Any]) -> bool:
    if data.get(CAUSED_BY):
        return True
    metadata = data.get("metadata")
    # A message an automation sent says so in its metadata, whoever publishes its updates.
    return isinstance(metadata, Mapping) and bool(metadata.get("automationRuleId"))


# --------------------------------------------------------------------------- triggers


@dataclass(frozen=True)
class Firing:
    """What one event can fire: trigger types, for one customer, with the event's objects."""

    triggers: frozenset[TriggerType]
    org_id: str
    event: str
    event_id: str
    customer_id: str | None
    context: dict[str, Any]
    # order_status_changed: the move; message_received: the text.
    from_status: str | None = None
    to_status: str | None = None
    text: str | None = None
    ticket_id: str | None = None  # the ticket to look the customer up by (messages)


def read_event(record: Mapping[str, Any]) -> Firing | None:
    """What an events-topic record can fire; None for events no trigger listens to, for
    unreadable records, and for events an automation caused."""
    if not isinstance(record, Mapping):
        return None
    org_id, name, event_id = record.get("orgId"), record.get("event"), record.get("id")
    data = record.get("data")
    if not (isinstance(org_id, str) and isinstance(name, str) and isinstance(event_id, str)):
        return None
    if not isinstance(data, dict) or caused_by_automation(data):
        return None
    base = {"org_id": org_id, "event": name, "event_id": event_id}
    if name in (events.CUSTOMER_CREATED, events.CUSTOMER_REGISTERED):
        return Firing(
            frozenset({TriggerType.CUSTOMER_REGISTERED}),
            customer_id=_str(data.get("id")),
            context={},
            **base,
        )
    if name == events.ORDER_CREATED:
        return Firing(
            frozenset({TriggerType.ORDER_PLACED}),
            customer_id=_str(data.get("customerId")),
            context={"order": data},
            **base,
        )
    if name == events.ORDER_UPDATED:
        new, old = data.get("status"), data.get("previousStatus")
        if not isinstance(new, str) or new == old:
            return None  # a payment change only
        triggers = {TriggerType.ORDER_STATUS_CHANGED}
        if new == OrderStatus.DELIVERED.value:
            triggers.add(TriggerType.ORDER_DELIVERED)
        return Firing(
            frozenset(triggers),
            customer_id=_str(data.get("customerId")),
            context={"order": data},
            from_status=_str(old),
            to_status=new,
            **base,
        )
    if name == events.MESSAGE_CREATED:
        if data.get("direction") != Direction.INBOUND.value:
            return None
        return Firing(
            frozenset({TriggerType.MESSAGE_RECEIVED}),
            customer_id=None,  # from its ticket, read only if a rule wants it
            context={"message": data},
            text=_str(data.get("content")) or "",
            ticket_id=_str(data.get("ticketId")),
            **base,
        )
    if name == events.TICKET_CREATED:
        return Firing(
            frozenset({TriggerType.TICKET_CREATED}),
            customer_id=_str(data.get("customerId")),
            context={"ticket": data},
            **base,
        )
    if name == events.CART_ABANDONED:
        return Firing(
            frozenset({TriggerType.CART_ABANDONED}),
            customer_id=_str(data.get("customerId")),
            context={"cart": data},
            **base,
        )
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def trigger_holds(rule: AutomationRule, firing: Firing) -> bool:
    """The rule's own filter on the event: keyword, status move."""
    trigger = rule.trigger
    if trigger.type not in firing.triggers:
        return False
    if trigger.type == TriggerType.MESSAGE_RECEIVED and trigger.keyword:
        return bool(rules.keyword_pattern(trigger.keyword).search(firing.text or ""))
    if trigger.type == TriggerType.ORDER_STATUS_CHANGED:
        if trigger.from_status and trigger.from_status != firing.from_status:
            return False
        if trigger.to_status and trigger.to_status != firing.to_status:
            return False
    if trigger.type == TriggerType.ORDER_DELIVERED:
        return firing.from_status != OrderStatus.DELIVERED.value
    return True


async def conditions_filter(rule: AutomationRule) -> dict[str, Any] | None:
    """The rule's conditions as a customers filter (with `orgId`); None when its segment is
    gone (the rule then matches nobody)."""
    clauses: list[dict[str, Any]] = []
    if rule.segment_id:
        try:
            clauses.append(await segment_service.segment_filter(rule.org_id, rule.segment_id))
        except NotFound:
            log.warning("automation rule %s: segment %s is gone", rule.id, rule.segment_id)
            return None
    if rule.conditions:
        clauses.append(segment_service.compile_conditions(rule.conditions, rule.match))
    query: dict[str, Any] = {"orgId": rule.org_id}
    if clauses:
        query["$and"] = clauses
    return query


async def customer_matches(rule: AutomationRule, customer_id: str) -> bool:
    """Whether this one customer meets the rule's conditions, asked of MongoDB.

    A pipeline whose first stage matches the id alone, so the lookup is by primary key (the
    embedded server's planner would scan for `{_id, ...}` with more fields)."""
    query = await conditions_filter(rule)
    if query is None:
        return False
    pipeline = [{"$match": {"_id": customer_id}}, {"$match": query}, {"$project": {"_id": 1}}]
    async for _ in await Customer.get_pymongo_collection().aggregate(pipeline):
        return True
    return False


class RuleCache:
    """Each org's active rules, read at most every couple of seconds."""

    def __init__(self, ttl: float = 2.0, max_orgs: int = 10_000):
        self.ttl = ttl
        self.max_orgs = max_orgs
        self._entries: dict[str, tuple[float, list[AutomationRule]]] = {}

    async def get(self, org_id: str) -> list[AutomationRule]:
        now = time.monotonic()
        hit = self._entries.get(org_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await AutomationRule.find({"orgId": org_id, "isActive": True}).to_list()
        if len(self._entries) >= self.max_orgs:
            self._entries.clear()
        self._entries[org_id] = (now + self.ttl, found)
        return found


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


@dataclass
class _Run:
    deps: Deps
    marked: Deps  # deps whose publisher stamps `causedBy`
    rule: AutomationRule
    execution: AutomationExecution
    customer: Customer


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
        ctx = _Run(deps, dataclasses.replace(deps, events=marker), rule, execution, customer)
        for index, action in enumerate(rule.actions):
            outcomes.append(await _run_action(ctx, index, action))
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


async def _run_action(ctx: _Run, index: int, action: AutomationAction) -> ActionOutcome:
    outcome = ActionOutcome(index=index, type=action.type, status="ok")
    try:
        if action.type in rules.SEND_CHANNEL:
            return await _send(ctx, outcome, action)
        if action.type == ActionType.ADD_TAG:
            return await _add_tag(ctx, outcome, action)
        if action.type == ActionType.ASSIGN_TICKET:
            return await _assign(ctx, outcome, action)
        if action.type == ActionType.CALL_WEBHOOK:
            return await _call_webhook(ctx, outcome, action)
        return _failed(outcome, f"unknown action {action.type}")
    except (TimeoutError, ConnectionFailure, OSError):
        raise  # an outage: the execution stays leased and runs again
    except Exception as exc:  # noqa: BLE001 - one action's bug must not lose the others
        log.exception("automation %s action %d failed", ctx.rule.id, index)
        return _failed(outcome, f"{type(exc).__name__}: {exc}")


def _failed(outcome: ActionOutcome, reason: str) -> ActionOutcome:
    outcome.status, outcome.reason = "failed", reason[:1000]
    return outcome


def _skipped(outcome: ActionOutcome, reason: str) -> ActionOutcome:
    outcome.status, outcome.reason = "skipped", reason
    return outcome


# -- sends ---------------------------------------------------------------------------------


def contact_of(customer: Customer, platform: ChannelType) -> str | None:
    """The customer's address on a platform: an identity there, else their e-mail or phone."""
    for identity in customer.identities:
        if identity.platform == platform:
            return identity.external_id
    if platform == ChannelType.EMAIL:
        return customer.email
    if platform == ChannelType.SMS:
        return customer.phone
    if platform == ChannelType.WHATSAPP and customer.phone:
        return customer.phone.lstrip("+")  # a wa_id is the number's digits
    return None


_WHAT = {ChannelType.EMAIL: "e-mail address", ChannelType.SMS: "phone number"}


async def _send(ctx: _Run, outcome: ActionOutcome, action: AutomationAction) -> ActionOutcome:
    org_id = ctx.execution.org_id
    channel = await Channel.find_one(Channel.id == action.channel_id, Channel.org_id == org_id)
    if channel is None or channel.deleted_at is not None or not channel.is_active:
        return _failed(outcome, "the channel is deleted or inactive")
    contact = contact_of(ctx.customer, channel.type)
    if not contact:
        what = _WHAT.get(channel.type, f"{channel.type.value} number")
        return _skipped(outcome, f"the customer has no {what}")
    outcome.recipient = contact
    message_id = str(uuid.uuid5(_MESSAGE_NS, f"{ctx.execution.id}:{outcome.index}"))
    message = await Message.find_one(Message.id == message_id)
    if message is None:
        try:
            content, metadata = _render(ctx, action, channel.type)
        except templating.TemplateRenderError as exc:
            return _failed(outcome, f"template: {exc}")
        if not content.strip():
            return _failed(outcome, "the rendered message is empty")
        limit = _MAX_CHARS.get(channel.type, 4096)
        if len(content) > limit:
            return _failed(outcome, f"the rendered message is longer than {limit} characters")
        message = await _thread(ctx, channel, contact, message_id, content, metadata)
    outcome.message_id, outcome.ticket_id = message.id, message.ticket_id
    if message.status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING):
        record = OutboundRecord(
            org_id=org_id,
            message_id=message.id,
            conversation=thread_key(message.channel_id, message.external_thread_id),
        )
        await message_service.send(ctx.marked, record)
        message = await Message.find_one(Message.id == message.id) or message
    outcome.delivery_status = message.status.value
    if message.status == DeliveryStatus.FAILED:
        return _failed(outcome, str((message.error or {}).get("message") or "send failed"))
    return outcome  # SENT (or later), or still queued for the outbound sweeper


def _render(
    ctx: _Run, action: AutomationAction, channel_type: ChannelType
) -> tuple[str, dict[str, Any]]:
    variables = rules.template_context(ctx.rule, ctx.customer, ctx.execution.context)
    marker = {"automationRuleId": ctx.rule.id, "automationExecutionId": ctx.execution.id}
    if channel_type == ChannelType.EMAIL:
        # Imported here: only EMAIL sends need the HTML helpers of the EMAIL connector.
        from connectors._email_html import html_to_text

        subject = " ".join(templating.render(action.subject or "", variables).split())
        html = templating.render_html(action.template or "", variables)
        email = {"subject": subject[: rules.MAX_SUBJECT_CHARS] or ctx.rule.name, "html": html}
        return html_to_text(html), {**marker, "email": email}
    return templating.render(action.template or "", variables), marker


async def _thread(
    ctx: _Run,
    channel: Channel,
    contact: str,
    message_id: str,
    content: str,
    metadata: dict[str, Any],
) -> Message:
    """Store the message QUEUED in the conversation's open ticket (or a new PENDING one),
    like a campaign send, and announce it; a re-run finds the message already there."""
    owner, _ = await customer_service.for_identity(
        channel.org_id, channel.type, contact, channel.id, caches=ctx.deps.caches
    )
    ticket, created = await _open_ticket(channel, owner, contact, ctx.rule.name)
    now = utcnow()
    message = Message(
        id=message_id,
        org_id=channel.org_id,
        ticket_id=ticket.id,
        channel_id=channel.id,
        external_thread_id=contact,
        direction=Direction.OUTBOUND,
        sender_name=ctx.rule.name[:200],
        content=content,
        metadata=metadata,
        status=DeliveryStatus.QUEUED,
        timestamp=now,
    )
    try:
        await message.insert()
    except DuplicateKeyError:
        found = await Message.find_one(Message.id == message_id)
        assert found is not None
        return found
    doc = await find_one_and_update(
        Ticket.get_pymongo_collection(),
        {"_id": ticket.id},
        {
            "$set": {"lastMessagePreview": content[:200], "updatedAt": now},
            "$max": {"lastMessageAt": now, "lastActivityAt": now},
        },
        return_document=ReturnDocument.AFTER,
    )
    ticket = Ticket.model_validate(doc) if doc else ticket
    publisher = ctx.marked.events
    if created:
        await ticket_service.publish(publisher, events.TICKET_CREATED, ticket)
    await publisher.publish(channel.org_id, events.MESSAGE_CREATED, public_message(message))
    if not created:
        await ticket_service.publish(publisher, events.TICKET_UPDATED, ticket)
    return message


async def _open_ticket(
    channel: Channel, customer: Customer, contact: str, subject: str
) -> tuple[Ticket, bool]:
    key = ticket_service.open_key(channel.id, contact)
    found = await Ticket.find_one(Ticket.open_key == key)
    if found is not None:
        return found, False
    ticket = Ticket(
        org_id=channel.org_id,
        channel_id=channel.id,
        customer_id=customer.id,
        external_thread_id=contact,
        subject=subject[:80],
        status=TicketStatus.PENDING,  # waiting on the customer, like a campaign's
        open_key=key,
    )
    try:
        await ticket.insert()
    except DuplicateKeyError:
        found = await Ticket.find_one(Ticket.open_key == key)
        if found is None:  # closed in between: try again
            return await _open_ticket(channel, customer, contact, subject)
        return found, False
    return ticket, True


# -- tags, tickets, webhooks -----------------------------------------------------------------


async def _add_tag(ctx: _Run, outcome: ActionOutcome, action: AutomationAction) -> ActionOutcome:
    tag = (action.tag or "").strip()
    outcome.tag = tag
    coll = Customer.get_pymongo_collection()
    doc = await find_one_and_update(
        coll,
        {"_id": ctx.customer.id, "orgId": ctx.customer.org_id, "tags": {"$ne": tag}},
        {"$addToSet": {"tags": tag}, "$set": {"updatedAt": utcnow()}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        outcome.reason = "the customer already had this tag"
        return outcome
    customer = Customer.model_validate(doc)
    ctx.customer = customer
    await ctx.marked.events.publish(
        customer.org_id, events.CUSTOMER_UPDATED, customer_view(customer).dump()
    )
    return outcome


async def _assign(ctx: _Run, outcome: ActionOutcome, action: AutomationAction) -> ActionOutcome:
    org_id = ctx.execution.org_id
    ticket: Ticket | None = None
    event_ticket = ctx.execution.context.get("ticket")
    if isinstance(event_ticket, dict) and isinstance(event_ticket.get("id"), str):
        found = await Ticket.find_one(Ticket.id == event_ticket["id"], Ticket.org_id == org_id)
        if found is not None and found.status != TicketStatus.CLOSED:
            ticket = found
    if ticket is None:
        # The customer's tickets by the (orgId, customerId) index; open ones picked here.
        mine = await Ticket.find({"orgId": org_id, "customerId": ctx.customer.id}).to_list()
        open_ = [t for t in mine if t.status != TicketStatus.CLOSED]
        ticket = max(open_, key=lambda t: t.last_activity_at, default=None)
    if ticket is None:
        return _skipped(outcome, "the customer has no open ticket")
    outcome.ticket_id, outcome.assignee_id = ticket.id, action.assignee_id
    if ticket.assignee_id == action.assignee_id:
        outcome.reason = "the ticket was already assigned to this user"
        return outcome
    try:
        await ticket_service.assign(ctx.marked.events, org_id, ticket.id, action.assignee_id)
    except ValidationFailed:
        return _failed(outcome, "the assignee is no longer an active user of this organisation")
    return outcome


async def _call_webhook(
    ctx: _Run, outcome: ActionOutcome, action: AutomationAction
) -> ActionOutcome:
    """POST the execution as JSON, signed like outbound webhooks (X-Signature-256 over the
    exact body with the rule's signing secret); the same id on a re-run, for deduplication."""
    url = action.url or ""
    body = json.dumps(
        {
            "id": ctx.execution.id,
            "event": events.AUTOMATION_TRIGGERED,
            "timestamp": utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "orgId": ctx.execution.org_id,
            "rule": {"id": ctx.rule.id, "name": ctx.rule.name},
            "trigger": {
                "type": ctx.execution.trigger_type.value,
                "event": ctx.execution.event,
                "eventId": ctx.execution.event_id,
            },
            "customer": customer_view(ctx.customer).dump(),
            "data": ctx.execution.context,
        },
        separators=(",", ":"),
        default=str,
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Signature-256": hooks_service.sign(ctx.rule.signing_secret, body),
        "X-Webhook-Timestamp": str(int(time.time())),
        "X-Webhook-Event": events.AUTOMATION_TRIGGERED,
        "X-Webhook-Id": ctx.execution.id,
    }
    timeout = aiohttp.ClientTimeout(total=ctx.deps.settings.automation_webhook_timeout_seconds)
    try:
        async with ctx.deps.http.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as resp:
            outcome.status_code = resp.status
            await resp.content.read(64 * 1024)
    except TimeoutError:
        return _failed(
            outcome,
            f"no answer within {ctx.deps.settings.automation_webhook_timeout_seconds:g} s",
        )
    except (aiohttp.ClientError, ValueError) as exc:
        return _failed(outcome, f"{type(exc).__name__}: {exc}")
    if not 200 <= (outcome.status_code or 0) < 300:
        return _failed(outcome, f"HTTP {outcome.status_code}")
    return outcome
