"""Ticket, message and macro request bodies and query strings (camelCase)."""

from __future__ import annotations

from typing import Any

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from inbox.conversations.documents import Priority, TicketStatus
from web.schemas import Body, _Query


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


class MacroBody(Body):
    name: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=4096)


class MacroUpdateBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, min_length=1, max_length=4096)


class MacroQuery(_Query):
    search: str | None = Field(default=None, max_length=200)
