"""/orgs/{orgId}/automation/rules: automation rules and their execution logs.

Any member may read rules and logs; creating, changing, switching and deleting rules is for
ADMINs. The stream worker runs them (streams/automation.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.automation import rules as automation_service
from inbox.automation.views import (
    AutomationLogView,
    AutomationRuleCreatedView,
    AutomationRuleView,
    automation_log_view,
    automation_rule_view,
)
from web.auth import authenticated, current_user
from web.automation.schemas import LogsQuery, RuleBody, RulesQuery, RuleUpdateBody, TriggerBody
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query
from web.schemas import Ok

OPERATION_PREFIX = "automation"  # operation ids in /openapi.json

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


@spec(
    "List automation rules, newest first",
    description="Filters: `isActive`, `triggerType`.",
    tags=_TAGS,
    query=RulesQuery,
    response=AutomationRuleView,
    list_response=True,
)
@authenticated()
async def list_rules(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, RulesQuery)
    found, total = await automation_service.list_rules(
        current_user(request).org_id,
        page.skip,
        page.limit,
        is_active=q.is_active,
        trigger_type=q.trigger_type,
    )
    return paged_response(request, [automation_rule_view(r).dump() for r in found], total, page)


@spec(
    "Create an automation rule (ADMIN)",
    description=_BEHAVIOUR + _CHECKS,
    tags=_TAGS,
    body=RuleBody,
    response=AutomationRuleCreatedView,
    status=201,
)
@authenticated(Role.ADMIN)
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, RuleBody)
    rule = await automation_service.create(
        current_user(request),
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
    view = AutomationRuleCreatedView(
        **automation_rule_view(rule).model_dump(), signing_secret=rule.signing_secret
    )
    return web.json_response(view.dump(), status=201)


@spec("Get an automation rule", tags=_TAGS, response=AutomationRuleView)
@authenticated()
async def get(request: web.Request) -> web.Response:
    rule = await automation_service.get(current_user(request).org_id, request.match_info["ruleId"])
    return web.json_response(automation_rule_view(rule).dump())


@spec(
    "Update an automation rule (ADMIN)",
    description="Only the fields given change (`isActive` too); the whole rule is checked "
    "again. `description: null` and `segmentId: null` clear them." + _CHECKS,
    tags=_TAGS,
    body=RuleUpdateBody,
    response=AutomationRuleView,
)
@authenticated(Role.ADMIN)
async def update(request: web.Request) -> web.Response:
    body = await json_body(request, RuleUpdateBody)
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    if "description" in given:
        changes["description"] = body.description
    if "segment_id" in given:
        changes["segment_id"] = body.segment_id
    rule = await automation_service.update(
        current_user(request),
        request.match_info["ruleId"],
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
    return web.json_response(automation_rule_view(rule).dump())


@spec(
    "Switch an automation rule on or off (ADMIN)",
    description="Flips `isActive`. Runs already scheduled for a rule switched off are logged "
    "as skipped when their time comes.",
    tags=_TAGS,
    response=AutomationRuleView,
)
@authenticated(Role.ADMIN)
async def toggle(request: web.Request) -> web.Response:
    rule = await automation_service.toggle(current_user(request), request.match_info["ruleId"])
    return web.json_response(automation_rule_view(rule).dump())


@spec(
    "Delete an automation rule (ADMIN)",
    description="Its scheduled runs and its log go with it.",
    tags=_TAGS,
    response=Ok,
)
@authenticated(Role.ADMIN)
async def delete(request: web.Request) -> web.Response:
    await automation_service.delete(current_user(request), request.match_info["ruleId"])
    return web.json_response(Ok(message="Automation rule deleted").model_dump())


@spec(
    "An automation rule's executions, newest first",
    description="One entry per run for one customer: its status (success, failed, skipped) "
    "and what each action did. Filters: `status`, `startDate`/`endDate` (on executedAt).",
    tags=_TAGS,
    query=LogsQuery,
    response=AutomationLogView,
    list_response=True,
    page_size=50,
)
@authenticated()
async def logs(request: web.Request) -> web.Response:
    page = page_of(request, default_limit=50)
    q = query(request, LogsQuery)
    found, total = await automation_service.list_logs(
        current_user(request).org_id,
        request.match_info["ruleId"],
        page.skip,
        page.limit,
        status=q.status,
        start=q.start_date,
        end=q.end_date,
    )
    return paged_response(request, [automation_log_view(e).dump() for e in found], total, page)
