"""The shapes every connector speaks, so the rest of the product never sees a platform payload.

A connector turns one webhook delivery into a list of `InboundEvent`s (messages and
status updates), and turns an agent's reply into one platform API call.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

import aiohttp
from pydantic import BaseModel, ConfigDict, Field


class ChannelType(StrEnum):
    WHATSAPP = "WHATSAPP"
    INSTAGRAM = "INSTAGRAM"
    FACEBOOK = "FACEBOOK"
    TWITTER = "TWITTER"
    LINKEDIN = "LINKEDIN"
    EMAIL = "EMAIL"
    SMS = "SMS"
    MOCK = "MOCK"


class Direction(StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class DeliveryStatus(StrEnum):
    """Life of an outbound message; inbound messages are RECEIVED."""

    RECEIVED = "RECEIVED"
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    thread_id: str
    """The customer's id on the platform (WhatsApp wa_id, Messenger PSID, Instagram IGSID).

    One conversation per (channel, thread_id); it is also the Kafka key suffix.
    """


class InboundMessage(_Event):
    """One message seen on the channel: sent by the customer, or an echo of one sent by the
    business from elsewhere (direction OUTBOUND)."""

    kind: Literal["message"] = "message"
    external_message_id: str
    direction: Direction = Direction.INBOUND
    timestamp: datetime
    type: str
    """Platform message type as the platform names it: text, image, audio, video, document,
    sticker, location, contacts, interactive, button, postback, reaction, unsupported, ..."""
    content: str
    """Human-readable text for the inbox: the body, the caption, or a short summary such as
    "[image]" or "📍 Eiffel Tower" so no type shows as blank."""
    customer_name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Everything else worth keeping: media {id, url, mimeType, sha256, filename, caption},
    location, contacts, interactive/button reply ids, postback payload, reaction
    {emoji, messageId}, reply context, platform errors for unsupported types."""


class StatusUpdate(_Event):
    """The platform's word on an outbound message: sent, delivered, read or failed.

    WhatsApp names the message (`external_message_id`); Messenger and Instagram may instead
    give a `watermark`: every outbound message in the thread up to that time has the status.
    """

    kind: Literal["status"] = "status"
    external_message_id: str | None = None
    watermark: datetime | None = None
    status: DeliveryStatus
    timestamp: datetime
    error: dict[str, Any] | None = None


InboundEvent = Annotated[InboundMessage | StatusUpdate, Field(discriminator="kind")]


class OutboundMessage(BaseModel):
    """What an agent (or a campaign) sends to a customer."""

    recipient: str
    """The thread id: WhatsApp wa_id / phone, PSID or IGSID."""
    content: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str
    """Our message id; sent as a header so a retried send can be recognised downstream."""


class SendResult(BaseModel):
    external_message_id: str


class ConnectionResult(BaseModel):
    ok: bool
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ConnectorError(Exception):
    """Base of everything a connector raises."""


class MalformedPayload(ConnectorError):
    """The webhook body is JSON but not a payload this connector understands."""


class SendError(ConnectorError):
    def __init__(self, message: str, *, code: str | int | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, "details": self.details}


class RetryableSendError(SendError):
    """Rate limits (e.g. WhatsApp 130429, HTTP 429), 5xx and timeouts: try again later."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """The platform refused for good (e.g. 131047 re-engagement window, 190 bad token)."""


class Connector(Protocol):
    """One per platform; stateless, so one instance serves every channel of its type."""

    type: ChannelType
    config_model: type[BaseModel]
    secret_fields: frozenset[str]

    def parse(
        self, payload: dict[str, Any], config: dict[str, Any]
    ) -> list[InboundMessage | StatusUpdate]:
        """Every message and status in one webhook delivery, in payload order (may repeat)."""
        ...

    async def send(
        self, http: aiohttp.ClientSession, config: dict[str, Any], message: OutboundMessage
    ) -> SendResult: ...

    async def test_connection(
        self, http: aiohttp.ClientSession, config: dict[str, Any]
    ) -> ConnectionResult: ...


# -- connectors that check and read their own webhooks ---------------------------------------


class WebhookRequest(BaseModel):
    """One webhook POST, as a connector with its own webhook format needs to see it."""

    body: bytes
    headers: dict[str, str]
    """Header names lower-cased."""
    urls: list[str]
    """The URLs the platform may have signed: the channel's public webhook URL first, then
    the URL as this process received it (they differ behind a proxy)."""


class WebhookRejected(ConnectorError):
    """The webhook is not the platform's: no signature (`missing`) or a wrong one."""

    def __init__(self, message: str, *, missing: bool = False):
        super().__init__(message)
        self.message = message
        self.missing = missing


class WebhooksUnsupported(ConnectorError):
    """This channel type receives no webhooks at all (EMAIL)."""


@runtime_checkable
class OwnWebhookFormat(Protocol):
    """Implemented by connectors whose webhooks are not Meta's signed JSON (SMS: Twilio's
    signed form posts; EMAIL: none at all). Connectors without it get the Meta treatment:
    `X-Hub-Signature-256` with the channel's `appSecret`, and a JSON object body."""

    webhook_reply: tuple[str, str]
    """(body, content type) answered to an accepted delivery."""

    def verify_webhook(self, request: WebhookRequest, config: dict[str, Any]) -> None:
        """Raise WebhookRejected (or WebhooksUnsupported) unless the platform sent it."""
        ...

    def decode_webhook(self, body: bytes) -> dict[str, Any]:
        """The body as the payload `parse` takes; MalformedPayload when unreadable."""
        ...
