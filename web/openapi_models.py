"""Answers given as plain dicts, written down as models for `/openapi.json`.

Most endpoints answer with a `View` from an area's views and are documented with it directly.
The few answers that are dicts (a session, health, an invite with its one-time token, ...)
are described here field for field; the schemathesis run (tests/integration/
test_schemathesis.py) checks every real response against these schemas.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from inbox.accounts.documents import Role
from inbox.accounts.views import AuthUserView, InviteView, UserView
from inbox.view_base import View


class Error(BaseModel):
    """Every error answer (web/errors.py): never a stack trace."""

    statusCode: int = Field(description="The HTTP status, repeated")  # noqa: N815 - wire name
    error: str = Field(description="The status' reason phrase, e.g. `Bad Request`")
    message: str = Field(description="What went wrong, for people")
    code: str = Field(description="What went wrong, for programs, e.g. `VALIDATION_ERROR`")
    details: dict[str, Any] = Field(
        description='Per-field reasons for validation errors (`{"email": "..."}`); '
        "for `RATE_LIMITED`: `scope`, `limit` and `retryAfter`"
    )


class SessionView(View):
    """Signing up, logging in and accepting an invite all start a session."""

    user: AuthUserView
    access_token: str = Field(description="Bearer token for `Authorization`; short-lived")
    refresh_token: str = Field(description="Opaque; trade it at /auth/refresh (rotated)")


class TokensView(View):
    access_token: str
    refresh_token: str = Field(description="The replacement: the one sent is now spent")


class MeView(View):
    id: str
    email: str
    name: str
    role: Role
    org_id: str
    is_active: bool


class InviteCreatedView(InviteView):
    token: str = Field(description="Shown only here, once: only its hash is stored")


class OkView(BaseModel):
    success: Literal[True] = True
    message: str


class DeactivatedView(OkView):
    user: UserView


class HealthCheck(BaseModel):
    ok: bool
    error: str | None = Field(default=None, description="Why it is down, when it is")
    consuming: int | None = Field(
        default=None, description="Workers with a fresh heartbeat (the `worker` check only)"
    )


class HealthView(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, HealthCheck] = Field(
        description="One entry each for `mongodb`, `kafka`, `redis` and `worker`"
    )
    down: list[str] | None = Field(default=None, description="The checks that failed, if any")


class WebhookAccepted(BaseModel):
    ok: Literal[True] = True


class WebhookPayload(RootModel[dict[str, Any]]):
    """The platform's own JSON (WhatsApp Cloud API, Messenger or Instagram webhook format),
    signed with `X-Hub-Signature-256` by the channel's app secret."""


class WebhookVerifyQuery(BaseModel):
    """Meta's subscription handshake."""

    model_config = ConfigDict(populate_by_name=True)

    hub_mode: str | None = Field(default=None, alias="hub.mode", description="`subscribe`")
    hub_verify_token: str | None = Field(
        default=None, alias="hub.verify_token", description="The channel's `webhookVerifyToken`"
    )
    hub_challenge: str | None = Field(
        default=None, alias="hub.challenge", description="Echoed back as text/plain"
    )


class WebsocketQuery(BaseModel):
    token: str = Field(description="An access token (browsers cannot set headers on sockets)")
    since: str | None = Field(
        default=None, description="The last event id seen: missed events are replayed first"
    )


class OpenAPIDocument(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document."""
