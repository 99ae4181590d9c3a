"""Automation rules: what admins write (CRUD and validation).

A rule is a trigger, optional conditions on the customer, actions and a delay. Everything a
rule refers to is checked when it is saved, so a typo is a 400 rather than a rule that fails
on every customer: trigger and action types (unknown ones are named), the channel of each send
(it must be the org's and of the action's type), the assignee (an active user of the org),
webhook URLs (http or https), the conditions (the segment compiler's own checks) and the
templates (sandboxed Jinja2 whose variables must be ones the trigger provides).

What a rule's templates may use is inbox/automation/template_variables.py. Running rules is
the stream worker's side: inbox/automation/triggers.py (which rules an event fires),
runs.py (their executions) and actions.py (what the actions do).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base import ChannelType
from inbox import templating
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.automation.documents import (
    ActionType,
    AutomationAction,
    AutomationExecution,
    AutomationLog,
    AutomationLogStatus,
    AutomationRule,
    AutomationTrigger,
    TriggerType,
)
from inbox.automation.template_variables import template_variables
from inbox.automation.views import (
    AutomationLogView,
    AutomationRuleCreatedView,
    AutomationRuleView,
    automation_log_view,
    automation_rule_view,
)
from inbox.channels.documents import Channel
from inbox.commerce.documents import OrderStatus
from inbox.crm import segments as segment_service
from inbox.crm.documents import SegmentCondition, SegmentMatch
from inbox.document_base import utcnow
from inbox.errors import NotFound, ValidationFailed
from inbox.hooks import service as hooks_service
from inbox.queries import get_in_org

MAX_ACTIONS = 10
MAX_DELAY_MINUTES = 365 * 24 * 60
MAX_TEMPLATE_CHARS = 65_536
MAX_SUBJECT_CHARS = 250

SEND_CHANNEL: dict[ActionType, ChannelType] = {
    ActionType.SEND_EMAIL: ChannelType.EMAIL,
    ActionType.SEND_SMS: ChannelType.SMS,
    ActionType.SEND_WHATSAPP: ChannelType.WHATSAPP,
}
# Which action fields each type uses (required ones first); any other field is a 400.
_FIELDS: dict[ActionType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ActionType.SEND_EMAIL: (("channel_id", "subject", "template"), ()),
    ActionType.SEND_SMS: (("channel_id", "template"), ()),
    ActionType.SEND_WHATSAPP: (("channel_id", "template"), ()),
    ActionType.ADD_TAG: (("tag",), ()),
    ActionType.ASSIGN_TICKET: (("assignee_id",), ()),
    ActionType.CALL_WEBHOOK: (("url",), ()),
}
_ACTION_FIELDS = ("channel_id", "template", "subject", "tag", "assignee_id", "url")

# Triggers fired by the daily scan of customers' dates (runs.scan_dates), not by events.
DATE_TRIGGERS = frozenset({TriggerType.BIRTHDAY, TriggerType.ANNIVERSARY})

# -------------------------------------------------------------------------- validation


@dataclass
class RuleInput:
    """A rule as a request gives it (field names in snake_case; raw strings for types)."""

    name: str
    trigger: Mapping[str, Any]
    actions: Sequence[Mapping[str, Any]]
    description: str | None = None
    segment_id: str | None = None
    conditions: Sequence[Mapping[str, Any] | SegmentCondition] = field(default_factory=list)
    match: SegmentMatch | str = SegmentMatch.ALL
    delay_minutes: int = 0
    is_active: bool = True


def _known(values: Sequence[str]) -> str:
    return ", ".join(values)


def _check_trigger(raw: Mapping[str, Any], details: dict[str, str]) -> AutomationTrigger | None:
    kind = raw.get("type")
    try:
        trigger_type = TriggerType(kind)
    except ValueError:
        details["trigger.type"] = (
            f"unknown trigger type {kind!r}; known: {_known([t.value for t in TriggerType])}"
        )
        return None
    keyword = raw.get("keyword")
    if keyword is not None:
        keyword = str(keyword).strip()
        if trigger_type != TriggerType.MESSAGE_RECEIVED:
            details["trigger.keyword"] = "only message_received rules take a keyword"
        elif not keyword:
            details["trigger.keyword"] = "must not be blank"
    status = raw.get("status") or {}
    from_status, to_status = status.get("from"), status.get("to")
    if (from_status or to_status) and trigger_type != TriggerType.ORDER_STATUS_CHANGED:
        details["trigger.status"] = "only order_status_changed rules take a status filter"
    statuses = [s.value for s in OrderStatus]
    for part, value in (("from", from_status), ("to", to_status)):
        if value is not None and value not in statuses:
            details[f"trigger.status.{part}"] = (
                f"unknown order status {value!r}; known: {_known(statuses)}"
            )
    if from_status and to_status and from_status == to_status:
        details["trigger.status"] = "from and to must differ: a status change moves somewhere"
    return AutomationTrigger(
        type=trigger_type,
        keyword=keyword or None,
        from_status=from_status,
        to_status=to_status,
    )


async def _check_actions(
    org_id: str,
    raw_actions: Sequence[Mapping[str, Any]],
    trigger: AutomationTrigger | None,
    details: dict[str, str],
) -> list[AutomationAction]:
    if not raw_actions:
        details["actions"] = "at least one action"
        return []
    if len(raw_actions) > MAX_ACTIONS:
        details["actions"] = f"at most {MAX_ACTIONS} actions"
        return []
    channel_ids = {a.get("channel_id") for a in raw_actions if isinstance(a.get("channel_id"), str)}
    user_ids = {a.get("assignee_id") for a in raw_actions if isinstance(a.get("assignee_id"), str)}
    channels = (
        {
            c.id: c
            for c in await Channel.find(
                {"_id": {"$in": sorted(channel_ids)}, "orgId": org_id, "deletedAt": None}
            ).to_list()
        }
        if channel_ids
        else {}
    )
    users = (
        {
            u.id: u
            for u in await User.find({"_id": {"$in": sorted(user_ids)}, "orgId": org_id}).to_list()
        }
        if user_ids
        else {}
    )
    variables = template_variables(trigger.type) if trigger else None
    out: list[AutomationAction] = []
    for i, raw in enumerate(raw_actions):
        at = f"actions.{i}"
        kind = raw.get("type")
        try:
            action_type = ActionType(kind)
        except ValueError:
            details[f"{at}.type"] = (
                f"unknown action type {kind!r}; known: {_known([a.value for a in ActionType])}"
            )
            continue
        required, _ = _FIELDS[action_type]
        values = {name: raw.get(name) for name in _ACTION_FIELDS}
        for name in _ACTION_FIELDS:
            value = values[name]
            if isinstance(value, str):
                value = value.strip()
                values[name] = value or None
            camel = _camel(name)
            if name in required and not values[name]:
                details[f"{at}.{camel}"] = f"required for {action_type.value}"
            elif name not in required and values[name] is not None:
                details[f"{at}.{camel}"] = f"not used by {action_type.value}"
        if action_type in SEND_CHANNEL and values["channel_id"]:
            channel = channels.get(values["channel_id"])
            wanted = SEND_CHANNEL[action_type]
            if channel is None:
                details[f"{at}.channelId"] = "no such channel in this organisation"
            elif channel.type != wanted:
                details[f"{at}.channelId"] = (
                    f"{action_type.value} needs a {wanted.value} channel; "
                    f"this one is {channel.type.value}"
                )
        for name, limit in (("template", MAX_TEMPLATE_CHARS), ("subject", MAX_SUBJECT_CHARS)):
            text = values[name]
            if text is None or f"{at}.{name}" in details:
                continue
            if len(text) > limit:
                details[f"{at}.{name}"] = f"at most {limit} characters"
            elif variables is not None:
                try:
                    templating.validate_field(text, variables, field=f"{at}.{name}")
                except ValidationFailed as exc:
                    details.update({k: str(v) for k, v in (exc.details or {}).items()})
        if values["tag"] is not None and len(values["tag"]) > 100:
            details[f"{at}.tag"] = "at most 100 characters"
        if action_type == ActionType.ASSIGN_TICKET and values["assignee_id"]:
            user = users.get(values["assignee_id"])
            if user is None or not user.is_active:
                details[f"{at}.assigneeId"] = "not an active user of this organisation"
        if action_type == ActionType.CALL_WEBHOOK and values["url"]:
            try:
                hooks_service.check_url(values["url"])
            except ValidationFailed as exc:
                details[f"{at}.url"] = str((exc.details or {}).get("url", exc.message))
        out.append(AutomationAction(type=action_type, **values))
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


async def _check(org_id: str, rule: RuleInput) -> tuple[AutomationTrigger, list[AutomationAction]]:
    """The trigger and actions to store; ValidationFailed naming every problem at once."""
    details: dict[str, str] = {}
    trigger = _check_trigger(rule.trigger, details)
    actions = await _check_actions(org_id, rule.actions, trigger, details)
    if not 0 <= rule.delay_minutes <= MAX_DELAY_MINUTES:
        details["delayMinutes"] = f"from 0 to {MAX_DELAY_MINUTES}"
    if rule.segment_id is not None:
        try:
            await segment_service.get(org_id, rule.segment_id)
        except NotFound:
            details["segmentId"] = "no such segment in this organisation"
    try:
        segment_service.compile_conditions(list(rule.conditions), rule.match)
    except ValidationFailed as exc:
        details.update({k: str(v) for k, v in (exc.details or {}).items()})
    if details:
        unknown = [v.split(";")[0] for k, v in details.items() if k.endswith(".type")]
        message = "; ".join(unknown).capitalize() if unknown else "Invalid automation rule"
        code = "UNKNOWN_TYPE" if unknown else "VALIDATION_FAILED"
        raise ValidationFailed(message, code=code, details=details)
    assert trigger is not None
    return trigger, actions


def _conditions(raw: Sequence[Mapping[str, Any] | SegmentCondition]) -> list[SegmentCondition]:
    return [
        c if isinstance(c, SegmentCondition) else SegmentCondition.model_validate(dict(c))
        for c in raw
    ]


# ------------------------------------------------------------------------------- CRUD


async def get(org_id: str, rule_id: str) -> AutomationRule:
    return await get_in_org(AutomationRule, org_id, rule_id, "Automation rule")


async def detail(org_id: str, rule_id: str) -> AutomationRuleView:
    """The rule as the API shows it (never its signing secret)."""
    return automation_rule_view(await get(org_id, rule_id))


async def list_rules(
    org_id: str,
    skip: int,
    limit: int,
    *,
    is_active: bool | None = None,
    trigger_type: str | None = None,
) -> tuple[list[AutomationRuleView], int]:
    query: dict[str, Any] = {"orgId": org_id}
    if is_active is not None:
        query["isActive"] = is_active
    if trigger_type is not None:
        try:
            query["trigger.type"] = TriggerType(trigger_type).value
        except ValueError:
            raise ValidationFailed(
                f"Unknown trigger type {trigger_type!r}",
                details={
                    "triggerType": f"unknown trigger type {trigger_type!r}; known: "
                    + _known([t.value for t in TriggerType])
                },
            ) from None
    found = AutomationRule.find(query)
    total = await found.count()
    page = (
        await found.sort(-AutomationRule.created_at, +AutomationRule.id)
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    return [automation_rule_view(r) for r in page], total


def _summary(rule: AutomationRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "trigger": rule.trigger.type.value,
        "actions": [a.type.value for a in rule.actions],
        "delayMinutes": rule.delay_minutes,
        "isActive": rule.is_active,
    }


def generate_secret() -> str:
    return "autosec_" + secrets.token_urlsafe(32)


async def create(
    user: User, rule: RuleInput, signing_secret: str | None = None
) -> AutomationRuleCreatedView:
    """The new rule with its `signingSecret` (generated unless given), shown this once."""
    trigger, actions = await _check(user.org_id, rule)
    doc = AutomationRule(
        org_id=user.org_id,
        name=rule.name,
        description=rule.description,
        trigger=trigger,
        segment_id=rule.segment_id,
        conditions=_conditions(rule.conditions),
        match=SegmentMatch(rule.match),
        actions=actions,
        delay_minutes=rule.delay_minutes,
        is_active=rule.is_active,
        signing_secret=signing_secret or generate_secret(),
        created_by=user.id,
    )
    await doc.insert()
    await audit.record(user, "automation.create", "automation_rule", doc.id, _summary(doc))
    return AutomationRuleCreatedView(
        **automation_rule_view(doc).model_dump(), signing_secret=doc.signing_secret
    )


_UNSET: Any = object()


async def update(
    user: User,
    rule_id: str,
    *,
    name: str | None = None,
    description: str | None = _UNSET,
    trigger: Mapping[str, Any] | None = None,
    segment_id: str | None = _UNSET,
    conditions: Sequence[Mapping[str, Any]] | None = None,
    match: SegmentMatch | str | None = None,
    actions: Sequence[Mapping[str, Any]] | None = None,
    delay_minutes: int | None = None,
    is_active: bool | None = None,
    signing_secret: str | None = None,
) -> AutomationRuleView:
    """Change what is given (the whole rule is checked again); `description=None` and
    `segment_id=None` clear them."""
    rule = await get(user.org_id, rule_id)
    merged = RuleInput(
        name=name if name is not None else rule.name,
        description=rule.description if description is _UNSET else description,
        trigger=trigger if trigger is not None else _trigger_input(rule.trigger),
        actions=actions
        if actions is not None
        else [a.model_dump(exclude={"type"}) | {"type": a.type.value} for a in rule.actions],
        segment_id=rule.segment_id if segment_id is _UNSET else segment_id,
        conditions=conditions if conditions is not None else rule.conditions,
        match=match if match is not None else rule.match,
        delay_minutes=delay_minutes if delay_minutes is not None else rule.delay_minutes,
        is_active=is_active if is_active is not None else rule.is_active,
    )
    new_trigger, new_actions = await _check(user.org_id, merged)
    changes: dict[str, Any] = {
        "name": merged.name,
        "description": merged.description,
        "trigger": new_trigger.model_dump(by_alias=True, mode="json"),
        "segmentId": merged.segment_id,
        "conditions": [
            c.model_dump(by_alias=True, mode="json") for c in _conditions(merged.conditions)
        ],
        "match": SegmentMatch(merged.match).value,
        "actions": [a.model_dump(by_alias=True, mode="json") for a in new_actions],
        "delayMinutes": merged.delay_minutes,
        "isActive": merged.is_active,
        "updatedAt": utcnow(),
    }
    if signing_secret:
        changes["signingSecret"] = signing_secret
    if new_trigger.type != rule.trigger.type:
        changes["dateScannedOn"] = None  # a new birthday rule scans today's customers too
    # $set of the rule's own fields only: the worker's $inc of the counters is never undone.
    await AutomationRule.get_pymongo_collection().update_one(
        {"_id": rule.id, "orgId": rule.org_id}, {"$set": changes}
    )
    updated = await get(user.org_id, rule.id)
    changed = sorted(k for k in changes if k != "updatedAt" and _stored(rule).get(k) != changes[k])
    await audit.record(
        user,
        "automation.update",
        "automation_rule",
        rule.id,
        {"name": updated.name, "changed": changed},
    )
    return automation_rule_view(updated)


def _stored(rule: AutomationRule) -> dict[str, Any]:
    return rule.model_dump(by_alias=True, mode="json")


def _trigger_input(trigger: AutomationTrigger) -> dict[str, Any]:
    return {
        "type": trigger.type.value,
        "keyword": trigger.keyword,
        "status": {"from": trigger.from_status, "to": trigger.to_status},
    }


async def toggle(user: User, rule_id: str) -> AutomationRuleView:
    """Switch a rule on or off (one atomic flip, so two toggles cancel out)."""
    rule = await get(user.org_id, rule_id)
    await AutomationRule.get_pymongo_collection().update_one(
        {"_id": rule.id, "orgId": rule.org_id},
        [{"$set": {"isActive": {"$not": ["$isActive"]}, "updatedAt": utcnow()}}],
    )
    updated = await get(user.org_id, rule.id)
    await audit.record(
        user,
        "automation.toggle",
        "automation_rule",
        rule.id,
        {"name": updated.name, "isActive": updated.is_active},
    )
    return automation_rule_view(updated)


async def delete(user: User, rule_id: str) -> None:
    """Delete a rule, its pending executions (they will not run) and its log."""
    rule = await get(user.org_id, rule_id)
    await AutomationRule.get_pymongo_collection().delete_one({"_id": rule.id})
    await AutomationExecution.get_pymongo_collection().delete_many(
        {"orgId": rule.org_id, "ruleId": rule.id}
    )
    await AutomationLog.get_pymongo_collection().delete_many(
        {"orgId": rule.org_id, "ruleId": rule.id}
    )
    await audit.record(user, "automation.delete", "automation_rule", rule.id, _summary(rule))


async def list_logs(
    org_id: str,
    rule_id: str,
    skip: int,
    limit: int,
    *,
    status: AutomationLogStatus | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[list[AutomationLogView], int]:
    rule = await get(org_id, rule_id)
    query: dict[str, Any] = {"orgId": org_id, "ruleId": rule.id}
    if status is not None:
        query["status"] = status.value
    when: dict[str, Any] = {}
    if start is not None:
        when["$gte"] = start
    if end is not None:
        when["$lte"] = end
    if when:
        query["executedAt"] = when
    found = AutomationLog.find(query)
    total = await found.count()
    page = (
        await found.sort(-AutomationLog.executed_at, -AutomationLog.id)
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    return [automation_log_view(e) for e in page], total


def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """The keyword as a whole word (or phrase) in any case: "sale" matches "Sale!" but not
    "wholesale"."""
    return re.compile(r"(?<!\w)" + re.escape(keyword) + r"(?!\w)", re.IGNORECASE)
