"""Request bodies and query strings, as the inbox API document gives them (camelCase)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator
from pydantic.alias_generators import to_camel

from inbox.documents import ChannelType, Priority, Role, TicketStatus
from inbox.security import BCRYPT_MAX_BYTES


class Body(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )


def _fits_bcrypt(password: str) -> str:
    # bcrypt reads at most 72 bytes: refuse longer passwords rather than cut them silently.
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise ValueError(f"must be at most {BCRYPT_MAX_BYTES} bytes in UTF-8")
    return password


NewPassword = Annotated[
    str, Field(min_length=8, max_length=BCRYPT_MAX_BYTES), AfterValidator(_fits_bcrypt)
]


class SignupBody(Body):
    org_name: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: NewPassword


class LoginBody(Body):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)


class RefreshBody(Body):
    refresh_token: str = Field(min_length=1)


class AcceptInviteBody(Body):
    token: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=200)
    password: NewPassword


class OrgPatchBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class InviteBody(Body):
    email: EmailStr
    role: Role = Role.AGENT


class ChannelCreateBody(Body):
    type: ChannelType
    name: str = Field(min_length=1, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)


class ChannelUpdateBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, Any] | None = None
    is_active: bool | None = None


class TicketCreateBody(Body):
    channel_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    subject: str = Field(min_length=1, max_length=500)
    priority: Priority = Priority.MEDIUM


class TicketUpdateBody(Body):
    subject: str | None = Field(default=None, min_length=1, max_length=500)
    status: TicketStatus | None = None
    priority: Priority | None = None


class AssignBody(Body):
    assignee_id: str | None


class MessageBody(Body):
    content: str = Field(min_length=1, max_length=4096)
    metadata: dict[str, Any] = Field(default_factory=dict)


class TicketQuery(Body):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    status: TicketStatus | None = None
    assignee_id: str | None = None
    channel_id: str | None = None
    priority: Priority | None = None
    customer_id: str | None = None

    @field_validator("assignee_id", "channel_id", "customer_id")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None


class Ok(BaseModel):
    success: Literal[True] = True
    message: str
