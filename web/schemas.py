"""Request bodies and query strings, as the inbox API document gives them (camelCase)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from inbox.documents import ChannelType, CustomerStatus, Priority, Role, TicketStatus
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
    """A reply: its `content`, or a `macroId` whose macro is rendered for the customer."""

    content: str | None = Field(default=None, min_length=1, max_length=4096)
    macro_id: str | None = Field(default=None, min_length=1, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _content_or_macro(self) -> MessageBody:
        if (self.content is None) == (self.macro_id is None):
            # Raised as a field error so the 400's details name `content`, not the body.
            raise ValidationError.from_exception_data(
                "MessageBody",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "content_or_macro", "give either content or macroId (not both)"
                        ),
                        loc=("content",),
                        input=self.content,
                    )
                ],
            )
        return self


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


class _Query(Body):
    """Query strings: paging keys pass through; an empty value means "not given"."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", str_strip_whitespace=True
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        if isinstance(v, str) and "\x00" in v:
            # MongoDB refuses NUL in a regular expression (searches), so say so up front.
            raise ValueError("must not contain NUL characters")
        return None if isinstance(v, str) and not v.strip() else v


class MacroBody(Body):
    name: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=4096)


class MacroUpdateBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, min_length=1, max_length=4096)


class MacroQuery(_Query):
    search: str | None = Field(default=None, max_length=200)


class CustomerQuery(_Query):
    platform: ChannelType | None = Field(default=None, description="Any identity on it")
    search: str | None = Field(
        default=None, max_length=200, description="Part of the name, e-mail or phone, any case"
    )
    filter: Literal["all", "with_orders", "without_orders"] = "all"
    status: CustomerStatus | None = None
    tag: str | None = Field(default=None, max_length=100)
    sort_by: Literal["lastMessageAt", "createdAt", "name", "totalRevenue", "totalOrders"] = Field(
        default="lastMessageAt", description="Default: most recently heard from first"
    )
    sort_order: Literal["asc", "desc"] | None = Field(
        default=None, description="Default desc (asc when sorting by name)"
    )


class _CustomerFields(Body):
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40, description="Stored as E.164")
    tags: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=10_000)
    city: str | None = Field(default=None, max_length=200)
    birthday: datetime | None = None
    anniversary: datetime | None = None
    avatar: str | None = Field(default=None, max_length=2_000)
    metadata: dict[str, Any] | None = None


class CustomerCreateBody(_CustomerFields):
    name: str = Field(min_length=1, max_length=200)
    status: CustomerStatus = CustomerStatus.ACTIVE


class CustomerUpdateBody(_CustomerFields):
    """Fields not given stay as they are; `null` clears e-mail, phone, notes and the like."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: CustomerStatus | None = None


class CustomerMergeBody(Body):
    other_id: str = Field(min_length=1, description="The customer folded into this one")


class AuditQuery(_Query):
    action: str | None = Field(default=None, max_length=100)
    entity: str | None = Field(default=None, max_length=100)
    user_id: str | None = Field(default=None, max_length=100)
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None

    @field_validator("from_", "to")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        # A time without a zone is read as UTC, like every time the API returns.
        return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v

    @model_validator(mode="after")
    def _ordered(self) -> AuditQuery:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValidationError.from_exception_data(
                "AuditQuery",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("range_order", "must not be after `to`"),
                        loc=("from",),
                        input=self.from_.isoformat(),
                    )
                ],
            )
        return self


class NotificationQuery(_Query):
    unread_only: bool = False


class Ok(BaseModel):
    success: Literal[True] = True
    message: str
