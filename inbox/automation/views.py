"""Automation rules and their logs as the API shows them. The signing secret appears in the
create response only."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from inbox.automation.documents import (
    ActionType,
    AutomationLog,
    AutomationLogStatus,
    AutomationRule,
    TriggerType,
)
from inbox.crm.documents import SegmentMatch
from inbox.crm.segment_views import SegmentConditionView
from inbox.view_base import View

__all__ = [
    "TriggerStatusView",
    "AutomationTriggerView",
    "AutomationActionView",
    "AutomationRuleView",
    "AutomationRuleCreatedView",
    "ActionOutcomeView",
    "AutomationLogView",
    "automation_rule_view",
    "automation_log_view",
]


class TriggerStatusView(View):
    from_: str | None = Field(alias="from")
    to: str | None


class AutomationTriggerView(View):
    type: TriggerType
    keyword: str | None = Field(description="message_received: the word the message contains")
    status: TriggerStatusView | None = Field(description="order_status_changed: the move")


class AutomationActionView(View):
    type: ActionType
    channel_id: str | None
    template: str | None
    subject: str | None
    tag: str | None
    assignee_id: str | None
    url: str | None


class AutomationRuleView(View):
    id: str
    name: str
    description: str | None
    trigger: AutomationTriggerView
    trigger_type: TriggerType = Field(description="= trigger.type (the sales document's name)")
    segment_id: str | None
    conditions: list[SegmentConditionView]
    match: SegmentMatch
    actions: list[AutomationActionView]
    delay_minutes: int
    is_active: bool
    total_runs: int = Field(description="Executions logged (success, failed and skipped)")
    successful_runs: int
    failed_runs: int
    skipped_runs: int
    total_sent: int = Field(description="Actions that completed: messages sent, tags added ...")
    success_rate: float = Field(
        description="Percentage of executions that succeeded, of those that succeeded or "
        "failed (skipped ones left out); 0 before any"
    )
    last_run_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class AutomationRuleCreatedView(AutomationRuleView):
    signing_secret: str = Field(
        description="Key of call_webhook's `X-Signature-256` HMAC. Shown here once: store it."
    )


class ActionOutcomeView(View):
    index: int
    type: ActionType
    status: str = Field(description="ok, failed or skipped")
    reason: str | None
    message_id: str | None
    ticket_id: str | None
    delivery_status: str | None
    recipient: str | None
    tag: str | None
    assignee_id: str | None
    status_code: int | None


class AutomationLogView(View):
    id: str
    rule_id: str
    customer_id: str
    status: AutomationLogStatus
    reason: str | None
    trigger_type: TriggerType
    event: str | None = Field(description="The event that fired it (none for date triggers)")
    event_id: str | None
    details: list[ActionOutcomeView] = Field(description="One entry per action, in order")
    scheduled_at: datetime = Field(description="When it was due (the trigger plus the delay)")
    executed_at: datetime
    created_at: datetime


def automation_rule_view(rule: AutomationRule) -> AutomationRuleView:
    decided = rule.successful_runs + rule.failed_runs
    trigger = rule.trigger
    status = (
        TriggerStatusView(**{"from": trigger.from_status, "to": trigger.to_status})
        if trigger.type == TriggerType.ORDER_STATUS_CHANGED
        else None
    )
    return AutomationRuleView(
        id=rule.id,
        name=rule.name,
        description=rule.description,
        trigger=AutomationTriggerView(type=trigger.type, keyword=trigger.keyword, status=status),
        trigger_type=trigger.type,
        segment_id=rule.segment_id,
        conditions=[
            SegmentConditionView(field=c.field, operator=c.operator, value=c.value)
            for c in rule.conditions
        ],
        match=rule.match,
        actions=[
            AutomationActionView.model_validate(a, from_attributes=True) for a in rule.actions
        ],
        delay_minutes=rule.delay_minutes,
        is_active=rule.is_active,
        total_runs=rule.total_runs,
        successful_runs=rule.successful_runs,
        failed_runs=rule.failed_runs,
        skipped_runs=rule.skipped_runs,
        total_sent=rule.total_sent,
        success_rate=round(rule.successful_runs * 100 / decided, 2) if decided else 0.0,
        last_run_at=rule.last_run_at,
        created_by=rule.created_by,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def automation_log_view(entry: AutomationLog) -> AutomationLogView:
    return AutomationLogView(
        id=entry.id,
        rule_id=entry.rule_id,
        customer_id=entry.customer_id,
        status=entry.status,
        reason=entry.reason,
        trigger_type=entry.trigger_type,
        event=entry.event,
        event_id=entry.event_id,
        details=[ActionOutcomeView.model_validate(o, from_attributes=True) for o in entry.details],
        scheduled_at=entry.scheduled_at,
        executed_at=entry.executed_at,
        created_at=entry.created_at,
    )
