"""Automation rules: "when this happens to a customer, do these things", run by the worker.

* `AutomationRule`: a trigger (an event type, with an optional keyword or order-status
  filter), optional conditions on the customer (a saved segment and/or field conditions in
  the segment format), actions, a delay, and counters kept with `$inc`.
* `AutomationExecution`: one firing of one rule for one customer, persisted before anything
  runs. Its unique (ruleId, triggerKey) index is what keeps a replayed event (a worker
  restart, a Kafka redelivery) or a second scan of the same birthday from firing twice.
  `dueAt` is when it is to run (now, or after the delay) and, while a worker runs it, that
  worker's lease: a worker that dies mid-run leaves it due again once the lease runs out.
* `AutomationLog`: what an execution did, per action; its id is the execution's.

inbox/automation/rules.py has the rules; streams/automation.py runs them (with
inbox/automation/triggers.py, runs.py and actions.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import Document
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pymongo import ASCENDING, DESCENDING, IndexModel

from inbox.crm.documents import SegmentCondition, SegmentMatch
from inbox.document_base import _Base

__all__ = [
    "TriggerType",
    "ActionType",
    "AutomationTrigger",
    "AutomationAction",
    "AutomationRule",
    "ExecutionStatus",
    "AutomationExecution",
    "AutomationLogStatus",
    "ActionOutcome",
    "AutomationLog",
    "AUTOMATION_DOCUMENTS",
]


class TriggerType(StrEnum):
    CUSTOMER_REGISTERED = "customer_registered"
    ORDER_PLACED = "order_placed"
    ORDER_DELIVERED = "order_delivered"
    ORDER_STATUS_CHANGED = "order_status_changed"
    CART_ABANDONED = "cart_abandoned"
    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"
    MESSAGE_RECEIVED = "message_received"
    TICKET_CREATED = "ticket_created"


class ActionType(StrEnum):
    SEND_EMAIL = "send_email"
    SEND_SMS = "send_sms"
    SEND_WHATSAPP = "send_whatsapp"
    ADD_TAG = "add_tag"
    ASSIGN_TICKET = "assign_ticket"
    CALL_WEBHOOK = "call_webhook"


class _Sub(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class AutomationTrigger(_Sub):
    type: TriggerType
    # message_received: fires only when the message contains this word (any case).
    keyword: str | None = None
    # order_status_changed: only moves from / to these statuses (either may be left out).
    from_status: str | None = None
    to_status: str | None = None


class AutomationAction(_Sub):
    type: ActionType
    channel_id: str | None = None  # send_*
    template: str | None = None  # send_*: the message (HTML for send_email)
    subject: str | None = None  # send_email
    tag: str | None = None  # add_tag
    assignee_id: str | None = None  # assign_ticket
    url: str | None = None  # call_webhook


class AutomationRule(_Base):
    org_id: str
    name: str
    description: str | None = None
    trigger: AutomationTrigger
    segment_id: str | None = None
    conditions: list[SegmentCondition] = Field(default_factory=list)
    match: SegmentMatch = SegmentMatch.ALL
    actions: list[AutomationAction]
    delay_minutes: int = 0
    is_active: bool = True
    # HMAC key of call_webhook's `X-Signature-256`; shown in the create response only.
    signing_secret: str
    created_by: str
    # Counters, moved with $inc when an execution finishes (never recomputed).
    total_runs: int = 0
    successful_runs: int = 0
    failed_runs: int = 0
    skipped_runs: int = 0
    total_sent: int = 0  # actions that completed ok
    last_run_at: datetime | None = None
    # birthday/anniversary: the last UTC day ("YYYY-MM-DD") whose scan finished.
    date_scanned_on: str | None = None

    class Settings:
        name = "automation_rules"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
            # The worker's look-up of an org's active rules.
            IndexModel([("orgId", ASCENDING), ("isActive", ASCENDING)]),
            # The daily birthday/anniversary scan.
            IndexModel(
                [("trigger.type", ASCENDING), ("isActive", ASCENDING), ("dateScannedOn", ASCENDING)]
            ),
        ]


class ExecutionStatus(StrEnum):
    PENDING = "pending"  # waiting for `dueAt`
    RUNNING = "running"  # claimed; `dueAt` is the lease
    DONE = "done"  # ran (the log says how it went)


class AutomationExecution(_Base):
    org_id: str
    rule_id: str
    # "event:<eventId>" for an event of the events topic, "<trigger>:<customerId>:<year>" for
    # a birthday or anniversary: unique per rule.
    trigger_key: str
    trigger_type: TriggerType
    event: str | None = None  # the event's name
    event_id: str | None = None
    customer_id: str
    # What the templates and actions see besides the customer: the order, message, ticket
    # or cart of the event, as it was then.
    context: dict[str, Any] = Field(default_factory=dict)
    run_at: datetime
    status: ExecutionStatus = ExecutionStatus.PENDING
    # When it is due (run_at, then the lease while running); None once done.
    due_at: datetime | None = None
    attempts: int = 0

    class Settings:
        name = "automation_executions"
        keep_nulls = True
        indexes = [
            IndexModel([("ruleId", ASCENDING), ("triggerKey", ASCENDING)], unique=True),
            # The due scan, and claims as compare-and-set on (id, dueAt).
            IndexModel([("dueAt", ASCENDING)]),
            IndexModel([("_id", ASCENDING), ("dueAt", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("ruleId", ASCENDING)]),
        ]


class AutomationLogStatus(StrEnum):
    SUCCESS = "success"  # every action that applied went through
    FAILED = "failed"  # at least one action failed
    SKIPPED = "skipped"  # nothing applied (no identity, rule switched off meanwhile ...)


class ActionOutcome(_Sub):
    index: int
    type: ActionType
    status: str  # ok | failed | skipped
    reason: str | None = None
    message_id: str | None = None
    ticket_id: str | None = None
    delivery_status: str | None = None
    recipient: str | None = None
    tag: str | None = None
    assignee_id: str | None = None
    status_code: int | None = None


class AutomationLog(_Base):
    org_id: str
    rule_id: str
    execution_id: str
    trigger_type: TriggerType
    trigger_key: str
    event: str | None = None
    event_id: str | None = None
    customer_id: str
    status: AutomationLogStatus
    reason: str | None = None
    details: list[ActionOutcome] = Field(default_factory=list)
    scheduled_at: datetime
    executed_at: datetime

    class Settings:
        name = "automation_logs"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("ruleId", ASCENDING), ("executedAt", DESCENDING)]),
            IndexModel(
                [
                    ("orgId", ASCENDING),
                    ("ruleId", ASCENDING),
                    ("status", ASCENDING),
                    ("executedAt", DESCENDING),
                ]
            ),
        ]


AUTOMATION_DOCUMENTS: list[type[Document]] = [AutomationRule, AutomationExecution, AutomationLog]
