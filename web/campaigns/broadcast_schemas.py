"""Request bodies and query strings of /orgs/{orgId}/emails/* and /orgs/{orgId}/messages/*,
with the sales document's field names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from inbox.campaigns.broadcasts import MAX_CONTACTS
from inbox.campaigns.message_templates import MAX_EMAIL_BODY_CHARS
from web.campaigns.schemas import TEMPLATE_HELP, AudienceFields
from web.schemas import Body, _Query

_SCHEDULE = "When to send (future, UTC; `scheduledAt` is accepted too); now when left out"
Status = Literal["draft", "scheduled", "sending", "sent"]


def _utc(v: datetime | None) -> datetime | None:
    # A time without a zone is read as UTC, like every time the API returns.
    return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v


class EmailCampaignBody(AudienceFields):
    name: str = Field(min_length=1, max_length=200)
    subject: str | None = Field(
        default=None, max_length=250, description="Required unless templateId gives one"
    )
    body: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_EMAIL_BODY_CHARS,
        description="The HTML body (required unless templateId gives one). " + TEMPLATE_HELP,
    )
    template_type: str | None = Field(
        default=None, max_length=50, description="blank, welcome, promotion, reminder ..."
    )
    template_id: str | None = Field(default=None, max_length=100)
    schedule_at: datetime | None = Field(
        default=None,
        validation_alias=AliasChoices("scheduleAt", "scheduledAt", "schedule_at"),
        description=_SCHEDULE,
    )
    channel_id: str | None = Field(
        default=None, max_length=100, description="An EMAIL channel; the org's only one if left out"
    )

    @field_validator("schedule_at")
    @classmethod
    def _schedule_utc(cls, v: datetime | None) -> datetime | None:
        return _utc(v)


class EmailCampaignQuery(_Query):
    status: Status | None = None


class MessageQuery(_Query):
    type: Literal["sms", "whatsapp"] | None = None
    status: Status | None = None


class SendMessageBody(AudienceFields):
    type: Literal["sms", "whatsapp", "email"]
    content: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_EMAIL_BODY_CHARS,
        description="The message (HTML for email), required unless templateId gives it. "
        + TEMPLATE_HELP,
    )
    subject: str | None = Field(default=None, max_length=250, description="email only")
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="Defaults to type and time"
    )
    template_id: str | None = Field(default=None, max_length=100)
    contacts: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=list,
        max_length=MAX_CONTACTS,
        description="Phone numbers (E.164 for SMS; digits for WhatsApp) or e-mail addresses to "
        "send to as well, customers or not; with them, recipientType may be left out",
    )
    schedule_at: datetime | None = Field(
        default=None,
        validation_alias=AliasChoices("scheduleAt", "scheduledAt", "schedule_at"),
        description=_SCHEDULE,
    )
    channel_id: str | None = Field(
        default=None, max_length=100, description="The org's only channel of the type if left out"
    )

    @field_validator("schedule_at")
    @classmethod
    def _schedule_utc(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _subject_for_email_only(self) -> SendMessageBody:
        if self.subject is not None and self.type != "email":
            raise ValueError("subject is for type email only")
        return self


class EmailTemplateBody(Body):
    name: str = Field(min_length=1, max_length=200)
    type: str | None = Field(
        default=None, max_length=50, description="The kind: blank, welcome, promotion ..."
    )
    subject: str = Field(min_length=1, max_length=250, description="A template too")
    body: str = Field(min_length=1, max_length=MAX_EMAIL_BODY_CHARS, description=TEMPLATE_HELP)


class EmailTemplateUpdateBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: str | None = Field(default=None, max_length=50, description="null clears it")
    subject: str | None = Field(default=None, min_length=1, max_length=250)
    body: str | None = Field(default=None, min_length=1, max_length=MAX_EMAIL_BODY_CHARS)


class TextTemplateBody(Body):
    name: str = Field(min_length=1, max_length=200)
    type: Literal["sms", "whatsapp"]
    content: str = Field(
        min_length=1, max_length=4096, description="SMS: at most 1600. " + TEMPLATE_HELP
    )
    category: str | None = Field(default=None, max_length=50)


class TextTemplateUpdateBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, min_length=1, max_length=4096)
    category: str | None = Field(default=None, max_length=50, description="null clears it")


class TextTemplateQuery(_Query):
    type: Literal["sms", "whatsapp"] | None = None
