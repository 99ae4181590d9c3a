"""Request bodies and query strings of /orgs/{orgId}/webhooks (outbound webhooks)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from inbox.hooks import service as hooks_service
from inbox.hooks.documents import HookDeliveryStatus
from web.schemas import Body

EventName = Annotated[str, Field(min_length=1, max_length=100)]


def _list_event_names(schema: dict[str, Any]) -> None:
    """Show the names in /openapi.json. They are checked by the service rather than by an
    enum, so that an unknown name is a 400 naming it."""
    items = schema.get("items")
    names = ["*", *hooks_service.subscribable_events()]
    if isinstance(items, dict):
        items["enum"] = names
    for option in schema.get("anyOf", []):
        if option.get("type") == "array" and isinstance(option.get("items"), dict):
            option["items"]["enum"] = names


_URL = Field(
    min_length=1,
    max_length=2048,
    description="Where events are POSTed: an absolute http(s) URL",
    examples=["https://your-shop.example/hooks/inbox"],
)
_EVENTS_DESCRIPTION = (
    'Event names (GET .../webhooks/events lists them), or ["*"] for every event; an '
    "unknown name is a 400 naming it"
)
_SECRET_DESCRIPTION = (
    "HMAC-SHA256 key of `X-Signature-256`; generated when left out. Shown once, in the create "
    "response."
)


class WebhookCreateBody(Body):
    url: str = _URL
    events: list[EventName] = Field(
        min_length=1,
        max_length=100,
        description=_EVENTS_DESCRIPTION,
        json_schema_extra=_list_event_names,
    )
    secret: str | None = Field(
        default=None, min_length=16, max_length=256, description=_SECRET_DESCRIPTION
    )
    description: str | None = Field(default=None, max_length=500)
    is_active: bool = True


class WebhookUpdateBody(Body):
    """Fields left out keep their value; a new `secret` signs every attempt from now on."""

    url: str | None = Field(
        default=None, min_length=1, max_length=2048, description="An absolute http(s) URL"
    )
    events: list[EventName] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description=_EVENTS_DESCRIPTION,
        json_schema_extra=_list_event_names,
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=256,
        description="A new signing key (write-only; never shown again)",
    )
    description: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None


class DeliveryQuery(Body):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", str_strip_whitespace=True
    )

    status: HookDeliveryStatus | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v
