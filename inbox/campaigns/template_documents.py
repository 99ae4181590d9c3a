"""Message templates: named, reusable subject/body pairs for e-mail, SMS and WhatsApp.

The sales document's `/emails/templates` and `/messages/templates` are two views of these
(inbox/campaigns/message_templates.py). A campaign made from a template copies its subject and
body when it is created, so editing or deleting a template never changes a campaign already
made from it.
"""

from __future__ import annotations

from enum import StrEnum

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from connectors.base import ChannelType
from inbox.document_base import _Base

__all__ = ["TemplateChannel", "MessageTemplate", "TEMPLATE_DOCUMENTS"]


class TemplateChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"

    @property
    def channel_type(self) -> ChannelType:
        return ChannelType(self.value.upper())


class MessageTemplate(_Base):
    org_id: str
    name: str  # unique per org and channel
    channel: TemplateChannel
    category: str | None = None  # the e-mail document's `type`: welcome, promotion ...
    subject: str | None = None  # e-mail only; a template like the body
    body: str
    variables: list[str] = Field(default_factory=list)  # read from subject and body
    created_by: str

    class Settings:
        name = "message_templates"
        indexes = [
            IndexModel(
                [("orgId", ASCENDING), ("channel", ASCENDING), ("name", ASCENDING)], unique=True
            ),
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
        ]


TEMPLATE_DOCUMENTS: list[type[Document]] = [MessageTemplate]
