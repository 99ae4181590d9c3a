"""Request bodies and query strings of /orgs/{orgId}/automation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator, model_validator

from inbox.automation.documents import ActionType, AutomationLogStatus, TriggerType
from inbox.automation.rules import MAX_ACTIONS, MAX_DELAY_MINUTES, MAX_TEMPLATE_CHARS
from inbox.crm.documents import SegmentMatch
from inbox.crm.segments import MAX_CONDITIONS
from web.commerce.order_schemas import _field_error, _utc
from web.crm.segment_schemas import ConditionBody
from web.schemas import Body, _Query


def _enum_of(values: list[str]) -> Any:
    """Show the known values in /openapi.json. They are checked by the service rather than
    by an enum, so that an unknown type is a 400 naming it."""

    def extra(schema: dict[str, Any]) -> None:
        for option in [schema, *schema.get("anyOf", [])]:
            if option.get("type") == "string":
                option["enum"] = values

    return extra


_TRIGGERS = [t.value for t in TriggerType]
_ACTIONS = [a.value for a in ActionType]
_TEMPLATE = (
    "Sandboxed Jinja2: `customer.*` (name, email, phone, city, tags, totalOrders, totalRevenue "
    "...), `rule.name`, and per trigger `order.*`, `message.*` and `ticket.*`, or `cart.*`. "
    "An unknown variable is a 400. HTML for send_email."
)


class TriggerStatusBody(Body):
    from_: str | None = Field(
        default=None, alias="from", max_length=40, description="An order status, or any"
    )
    to: str | None = Field(default=None, max_length=40, description="An order status, or any")


class TriggerBody(Body):
    type: str = Field(
        min_length=1,
        max_length=60,
        description="What fires the rule",
        json_schema_extra=_enum_of(_TRIGGERS),
    )
    keyword: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="message_received only: a word (or phrase) the message must contain, "
        "in any case",
    )
    status: TriggerStatusBody | None = Field(
        default=None, description="order_status_changed only: the move `from` and/or `to`"
    )


class ActionBody(Body):
    type: str = Field(min_length=1, max_length=60, json_schema_extra=_enum_of(_ACTIONS))
    channel_id: str | None = Field(
        default=None,
        max_length=100,
        description="send_email / send_sms / send_whatsapp: an EMAIL / SMS / WHATSAPP channel",
    )
    template: str | None = Field(
        default=None, max_length=MAX_TEMPLATE_CHARS, description="send_*: " + _TEMPLATE
    )
    subject: str | None = Field(
        default=None, max_length=250, description="send_email: the subject, a template too"
    )
    tag: str | None = Field(default=None, max_length=100, description="add_tag")
    assignee_id: str | None = Field(
        default=None, max_length=100, description="assign_ticket: an active user of the org"
    )
    url: str | None = Field(
        default=None, max_length=2048, description="call_webhook: an absolute http(s) URL"
    )

    def as_input(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=False)


_CONDITIONS = (
    "Field conditions in the segment format `[{field, operator, value}]` (see segments); "
    "combined by `match`. With `segmentId` too, both must hold."
)


class RuleBody(Body):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    trigger: TriggerBody
    segment_id: str | None = Field(
        default=None, max_length=100, description="Only customers in this segment"
    )
    conditions: list[ConditionBody] = Field(
        default_factory=list, max_length=MAX_CONDITIONS, description=_CONDITIONS
    )
    match: SegmentMatch = SegmentMatch.ALL
    actions: list[ActionBody] = Field(min_length=1, max_length=MAX_ACTIONS)
    delay_minutes: int = Field(
        default=0, ge=0, le=MAX_DELAY_MINUTES, description="Run this long after the trigger"
    )
    is_active: bool = True
    signing_secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=256,
        description="HMAC key of call_webhook's `X-Signature-256`; generated when left out. "
        "Shown once, in the create response.",
    )


class RuleUpdateBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000, description="null clears it")
    trigger: TriggerBody | None = None
    segment_id: str | None = Field(default=None, max_length=100, description="null clears it")
    conditions: list[ConditionBody] | None = Field(
        default=None, max_length=MAX_CONDITIONS, description=_CONDITIONS
    )
    match: SegmentMatch | None = None
    actions: list[ActionBody] | None = Field(default=None, min_length=1, max_length=MAX_ACTIONS)
    delay_minutes: int | None = Field(default=None, ge=0, le=MAX_DELAY_MINUTES)
    is_active: bool | None = None
    signing_secret: str | None = Field(
        default=None, min_length=16, max_length=256, description="A new key; not shown back"
    )

    @field_validator("name", "trigger", "match", "actions", "delay_minutes", "is_active")
    @classmethod
    def _not_null(cls, v: Any) -> Any:
        if v is None:
            raise ValueError("must not be null (leave it out to keep it)")
        return v


class RulesQuery(_Query):
    is_active: bool | None = None
    trigger_type: str | None = Field(
        default=None, max_length=60, json_schema_extra=_enum_of(_TRIGGERS)
    )


class LogsQuery(_Query):
    status: AutomationLogStatus | None = None
    start_date: datetime | None = Field(default=None, description="Executed at or after")
    end_date: datetime | None = Field(default=None, description="Executed at or before")

    @field_validator("start_date", "end_date")
    @classmethod
    def _zones(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _order(self) -> LogsQuery:
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise _field_error(
                "LogsQuery", "startDate", "must not be after endDate", self.start_date.isoformat()
            )
        return self
