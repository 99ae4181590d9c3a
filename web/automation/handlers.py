"""/orgs/{orgId}/automation/rules: automation rules and their execution logs.

Any member may read rules and logs; creating, changing, switching and deleting rules is for
ADMINs. The stream worker runs them (streams/automation.py)."""

from __future__ import annotations

from typing import Any

from inbox.accounts.documents import Role
from inbox.automation import rules as automation_service
from inbox.automation.views import (
    AutomationLogView,
    AutomationRuleCreatedView,
    AutomationRuleView,
)
from web.automation.schemas import LogsQuery, RuleBody, RulesQuery, RuleUpdateBody, TriggerBody
from web.endpoints import Call, Paged, Routes
from web.schemas import Ok

routes = Routes("automation")

_TAGS = ["automation"]
_CHECKS = (
    " Unknown trigger or action types are a 400 naming them (`trigger.type`, "
    "`actions.<i>.type`); so are a send's channel that is not the org's or not of the action's "
    "type (send_email: EMAIL, send_sms: SMS, send_whatsapp: WHATSAPP), an assignee who is not "
    "an active user of the org, a call_webhook URL that is not http(s), a template variable "
    "the trigger does not provide, and bad conditions (as for segments)."
)
_BEHAVIOUR = (
    "Triggers: customer_registered (customer.created/registered), order_placed, "
    "order_delivered, order_status_changed (optional `status.from`/`status.to`), "
    "message_received (optional `keyword`, a whole word in any case), ticket_created, "
    "birthday and anniversary (a daily scan, once per customer per year), cart_abandoned (on a "
    "`cart.abandoned` event: this product has no cart yet). Events caused by an automation's "
    "own actions never trigger rules."
)


def _trigger(body: TriggerBody) -> dict[str, Any]:
    status = body.status
    return {
        "type": body.type,
        "keyword": body.keyword,
        "status": {"from": status.from_, "to": status.to} if status else {},
    }


@routes.get(
    "/orgs/{orgId}/automation/rules",
    "List automation rules, newest first",
    description="Filters: `isActive`, `triggerType`.",
    tags=_TAGS,
    query=RulesQuery,
    response=AutomationRuleView,
    list_response=True,
)
async def list_rules(call: Call[None, RulesQuery]) -> Paged:
    return Paged(
        *await automation_service.list_rules(
            call.org_id,
            call.page.skip,
            call.page.limit,
            is_active=call.query.is_active,
            trigger_type=call.query.trigger_type,
        )
    )


@routes.post(
    "/orgs/{orgId}/automation/rules",
    "Create an automation rule (ADMIN)",
    role=Role.ADMIN,
    description=_BEHAVIOUR + _CHECKS,
    tags=_TAGS,
    body=RuleBody,
    response=AutomationRuleCreatedView,
    status=201,
)
async def create(call: Call[RuleBody, None]) -> AutomationRuleCreatedView:
    body = call.body
    return await automation_service.create(
        call.user,
        automation_service.RuleInput(
            name=body.name,
            description=body.description,
            trigger=_trigger(body.trigger),
            actions=[a.as_input() for a in body.actions],
            segment_id=body.segment_id,
            conditions=[c.model_dump() for c in body.conditions],
            match=body.match,
            delay_minutes=body.delay_minutes,
            is_active=body.is_active,
        ),
        signing_secret=body.signing_secret,
    )


@routes.get(
    "/orgs/{orgId}/automation/rules/{ruleId}",
    "Get an automation rule",
    tags=_TAGS,
    response=AutomationRuleView,
)
async def get(call: Call[None, None]) -> AutomationRuleView:
    return await automation_service.detail(call.org_id, call.path("ruleId"))


@routes.put(
    "/orgs/{orgId}/automation/rules/{ruleId}",
    "Update an automation rule (ADMIN)",
    role=Role.ADMIN,
    description="Only the fields given change (`isActive` too); the whole rule is checked "
    "again. `description: null` and `segmentId: null` clear them." + _CHECKS,
    tags=_TAGS,
    body=RuleUpdateBody,
    response=AutomationRuleView,
)
async def update(call: Call[RuleUpdateBody, None]) -> AutomationRuleView:
    body = call.body
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    if "description" in given:
        changes["description"] = body.description
    if "segment_id" in given:
        changes["segment_id"] = body.segment_id
    return await automation_service.update(
        call.user,
        call.path("ruleId"),
        name=body.name,
        trigger=_trigger(body.trigger) if body.trigger is not None else None,
        conditions=[c.model_dump() for c in body.conditions]
        if body.conditions is not None
        else None,
        match=body.match,
        actions=[a.as_input() for a in body.actions] if body.actions is not None else None,
        delay_minutes=body.delay_minutes,
        is_active=body.is_active,
        signing_secret=body.signing_secret,
        **changes,
    )


@routes.delete(
    "/orgs/{orgId}/automation/rules/{ruleId}",
    "Delete an automation rule (ADMIN)",
    role=Role.ADMIN,
    description="Its scheduled runs and its log go with it.",
    tags=_TAGS,
    response=Ok,
)
async def delete(call: Call[None, None]) -> Ok:
    await automation_service.delete(call.user, call.path("ruleId"))
    return Ok(message="Automation rule deleted")


@routes.post(
    "/orgs/{orgId}/automation/rules/{ruleId}/toggle",
    "Switch an automation rule on or off (ADMIN)",
    role=Role.ADMIN,
    description="Flips `isActive`. Runs already scheduled for a rule switched off are logged "
    "as skipped when their time comes.",
    tags=_TAGS,
    response=AutomationRuleView,
)
async def toggle(call: Call[None, None]) -> AutomationRuleView:
    return await automation_service.toggle(call.user, call.path("ruleId"))


@routes.get(
    "/orgs/{orgId}/automation/rules/{ruleId}/logs",
    "An automation rule's executions, newest first",
    description="One entry per run for one customer: its status (success, failed, skipped) "
    "and what each action did. Filters: `status`, `startDate`/`endDate` (on executedAt).",
    tags=_TAGS,
    query=LogsQuery,
    response=AutomationLogView,
    list_response=True,
    page_size=50,
)
async def logs(call: Call[None, LogsQuery]) -> Paged:
    q = call.query
    return Paged(
        *await automation_service.list_logs(
            call.org_id,
            call.path("ruleId"),
            call.page.skip,
            call.page.limit,
            status=q.status,
            start=q.start_date,
            end=q.end_date,
        )
    )
