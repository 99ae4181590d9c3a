"""WhatsApp Cloud API: webhook parsing, sending and connection checks.

Webhook shape (`object: whatsapp_business_account`):
`entry[].changes[] {field: "messages", value: {metadata, contacts[], messages[], statuses[]}}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict

from connectors._common import (
    Batch,
    Event,
    OptionalStr,
    RequiredStr,
    SkipItem,
    camel_dict,
    compact,
    format_coordinates,
    from_unix_seconds,
    list_field,
    nonempty_str,
    require_object,
)
from connectors._graph import (
    DEFAULT_TIMEOUT_SECONDS,
    base_url,
    check_connection,
    graph_request,
    load_config,
)
from connectors.base import (
    ChannelType,
    ConnectionResult,
    DeliveryStatus,
    InboundMessage,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    StatusUpdate,
)

PLATFORM = "WhatsApp"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
_CAPTIONED = ("image", "video", "document")
_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


class WhatsAppConfig(BaseModel):
    # Unknown keys are kept: admins may store notes or future settings on a channel.
    model_config = ConfigDict(extra="allow")

    phoneNumberId: RequiredStr  # noqa: N815 - the API's camelCase keys
    businessAccountId: RequiredStr  # noqa: N815
    accessToken: RequiredStr  # noqa: N815
    appSecret: RequiredStr  # noqa: N815
    webhookVerifyToken: RequiredStr  # noqa: N815
    apiBaseUrl: OptionalStr = None  # noqa: N815


# ---------------------------------------------------------------------------------------
# Parsing: one summariser per message type -> (content, metadata)
# ---------------------------------------------------------------------------------------

Summary = tuple[str, dict[str, Any]]


def _text(body: dict[str, Any], _msg: dict[str, Any]) -> Summary:
    return body.get("body") or "", {}


def _media(kind: str) -> Callable[[dict[str, Any], dict[str, Any]], Summary]:
    def summarise(body: dict[str, Any], _msg: dict[str, Any]) -> Summary:
        media = camel_dict(body)
        media["type"] = kind
        caption = body.get("caption")
        if caption:
            return caption, {"media": media}
        if kind == "document" and body.get("filename"):
            return f"[document: {body['filename']}]", {"media": media}
        if kind == "audio" and body.get("voice"):
            return "[voice message]", {"media": media}
        return f"[{kind}]", {"media": media}

    return summarise


def _location(body: dict[str, Any], _msg: dict[str, Any]) -> Summary:
    lat, long = body.get("latitude"), body.get("longitude")
    label = body.get("name") or body.get("address")
    where = format_coordinates(lat, long)
    content = f"📍 {label} {where}" if label else f"📍 {where}"
    return content, {"location": camel_dict(body)}


def _contacts(_body: Any, msg: dict[str, Any]) -> Summary:
    cards = msg.get("contacts") if isinstance(msg.get("contacts"), list) else []
    names = [
        (card.get("name") or {}).get("formatted_name") or "unnamed"
        for card in cards
        if isinstance(card, dict)
    ]
    if len(names) == 1:
        content = f"[contact: {names[0]}]"
    elif names:
        content = f"[contacts: {', '.join(names)}]"
    else:
        content = "[contact]"
    return content, {"contacts": cards}


def _interactive(body: dict[str, Any], _msg: dict[str, Any]) -> Summary:
    kind = body.get("type")
    reply = body.get(kind) if isinstance(kind, str) and isinstance(body.get(kind), dict) else {}
    info = {"type": kind, **camel_dict(reply)}
    if kind == "nfm_reply":
        # Flow replies carry the form's answers as a JSON string; keep both forms.
        raw = reply.get("response_json")
        if isinstance(raw, str):
            try:
                info["response"] = json.loads(raw)
            except ValueError:
                pass
        return reply.get("body") or "[form reply]", {"interactive": info}
    return reply.get("title") or reply.get("id") or "[interactive reply]", {"interactive": info}


def _button(body: dict[str, Any], _msg: dict[str, Any]) -> Summary:
    return body.get("text") or body.get("payload") or "[button]", {"button": camel_dict(body)}


def _reaction(body: dict[str, Any], _msg: dict[str, Any]) -> Summary:
    emoji = body.get("emoji") or ""
    # WhatsApp signals "reaction removed" with an empty (or missing) emoji.
    removed = not emoji
    info = {"emoji": emoji, "messageId": body.get("message_id"), "removed": removed}
    return ("removed reaction" if removed else f"reacted {emoji}"), {"reaction": info}


def _order(body: dict[str, Any], _msg: dict[str, Any]) -> Summary:
    items = body.get("product_items") if isinstance(body.get("product_items"), list) else []
    info = camel_dict(body, product_items="items")
    info["items"] = [camel_dict(item) for item in items if isinstance(item, dict)]
    count = len(info["items"])
    summary = f"[order: {count} item{'s' if count != 1 else ''}]"
    return body.get("text") or summary, {"order": info}


def _system(body: dict[str, Any], _msg: dict[str, Any]) -> Summary:
    return body.get("body") or "[system message]", {"system": camel_dict(body)}


def _referral(_body: Any, msg: dict[str, Any]) -> Summary:
    # Referral info rides on the message (added below for every type); this only names it.
    ref = msg.get("referral") if isinstance(msg.get("referral"), dict) else {}
    return ref.get("headline") or ref.get("body") or "[ad referral]", {}


def _unsupported(_body: Any, _msg: dict[str, Any]) -> Summary:
    return "[unsupported message]", {}


_SUMMARISERS: dict[str, Callable[[Any, dict[str, Any]], Summary]] = {
    "text": _text,
    **{kind: _media(kind) for kind in MEDIA_TYPES},
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
    "order": _order,
    "system": _system,
    "referral": _referral,
    "unsupported": _unsupported,
}


def _parse_message(msg: Any, names: dict[str, str], phone_number_id: str | None) -> InboundMessage:
    if not isinstance(msg, dict):
        raise SkipItem("message is not an object")
    msg_id, sender = nonempty_str(msg.get("id")), nonempty_str(msg.get("from"))
    if not msg_id or not sender:
        raise SkipItem("message without id or from")
    timestamp = from_unix_seconds(msg.get("timestamp"))
    mtype = nonempty_str(msg.get("type")) or "unknown"
    body = msg.get(mtype) if isinstance(msg.get(mtype), dict) else {}

    summarise = _SUMMARISERS.get(mtype)
    if summarise is not None:
        content, metadata = summarise(body, msg)
    else:
        # A type this code does not know yet: keep it visible and keep the raw object.
        content, metadata = f"[{mtype}]", ({"raw": body} if body else {})

    context = msg.get("context")
    if isinstance(context, dict) and context:
        metadata["context"] = camel_dict(context, id="messageId")
        if context.get("id"):
            metadata["replyTo"] = {"messageId": context["id"]}
    if isinstance(msg.get("referral"), dict):
        metadata["referral"] = camel_dict(msg["referral"])
    if msg.get("errors"):
        metadata["errors"] = msg["errors"]
    if phone_number_id:
        metadata["phoneNumberId"] = phone_number_id

    return InboundMessage(
        thread_id=sender,
        external_message_id=msg_id,
        timestamp=timestamp,
        type=mtype,
        content=content or "[empty message]",
        customer_name=names.get(sender),
        metadata=metadata,
    )


def _status_error(errors: Any) -> dict[str, Any] | None:
    if not isinstance(errors, list) or not errors:
        return None
    first = errors[0] if isinstance(errors[0], dict) else {}
    data = first.get("error_data") if isinstance(first.get("error_data"), dict) else {}
    error = compact(
        code=first.get("code"),
        title=first.get("title"),
        message=first.get("message"),
        details=data.get("details"),
        href=first.get("href"),
    )
    if len(errors) > 1:
        error["errors"] = errors
    return error


def _parse_status(item: Any) -> StatusUpdate | None:
    if not isinstance(item, dict):
        raise SkipItem("status is not an object")
    msg_id, recipient = nonempty_str(item.get("id")), nonempty_str(item.get("recipient_id"))
    if not msg_id or not recipient:
        raise SkipItem("status without id or recipient_id")
    status = _STATUSES.get(str(item.get("status", "")).lower())
    if status is None:
        return None  # e.g. the retired "deleted"/"warning" statuses: nothing to record.
    error = _status_error(item.get("errors"))
    if status is DeliveryStatus.FAILED and error is None:
        error = {"message": "failed without error details"}
    return StatusUpdate(
        thread_id=recipient,
        external_message_id=msg_id,
        status=status,
        timestamp=from_unix_seconds(item.get("timestamp")),
        error=error,
    )


def parse_payload(payload: dict[str, Any]) -> list[Event]:
    """Every message and status of one WhatsApp webhook delivery, in payload order.

    Duplicates are returned as they come; dedup happens downstream by external id.
    """
    envelope = require_object(payload, "whatsapp_business_account")
    batch = Batch()
    for e, entry in enumerate(envelope["entry"]):
        if not isinstance(entry, dict):
            batch.skip(f"entry[{e}] is not an object")
            continue
        for c, change in enumerate(list_field(entry, "changes", f"entry[{e}]", batch)):
            where = f"entry[{e}].changes[{c}]"
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                batch.skip(f"{where} has no value object")
                continue
            if change.get("field", "messages") != "messages":
                continue  # account/template/quality updates: not conversation events
            value = change["value"]
            metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            phone_number_id = nonempty_str(metadata.get("phone_number_id"))
            names = {
                str(contact["wa_id"]): contact["profile"]["name"]
                for contact in list_field(value, "contacts", where, batch)
                if isinstance(contact, dict)
                and contact.get("wa_id")
                and isinstance(contact.get("profile"), dict)
                and isinstance(contact["profile"].get("name"), str)
            }
            for i, msg in enumerate(list_field(value, "messages", where, batch)):
                batch.add(f"{where}.messages[{i}]", _parse_message, msg, names, phone_number_id)
            for i, item in enumerate(list_field(value, "statuses", where, batch)):
                batch.add(f"{where}.statuses[{i}]", _parse_status, item)
    return batch.finish()


# ---------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------


def build_send_body(message: OutboundMessage) -> dict[str, Any]:
    """The Cloud API body for a reply: text, or the media in `metadata["media"]`.

    `metadata["media"] = {"type": "image"|"video"|"document"|"audio"|"sticker",
    "link" or "id", "caption"?, "filename"?}`; without a caption the message content is
    used as caption for image/video/document. `metadata["replyTo"]["messageId"]` makes it
    a quoted reply.
    """
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.recipient,
    }
    media = message.metadata.get("media")
    if isinstance(media, dict) and media:
        kind = media.get("type")
        if kind not in MEDIA_TYPES:
            raise PermanentSendError(
                f"unsupported WhatsApp media type {kind!r}", code="INVALID_MESSAGE"
            )
        ref = compact(link=media.get("link") or media.get("url"), id=media.get("id"))
        if not ref:
            raise PermanentSendError("media needs a link or an id", code="INVALID_MESSAGE")
        if kind in _CAPTIONED and (media.get("caption") or message.content):
            ref["caption"] = media.get("caption") or message.content
        if kind == "document" and media.get("filename"):
            ref["filename"] = media["filename"]
        body |= {"type": kind, kind: ref}
    else:
        body |= {"type": "text", "text": {"body": message.content, "preview_url": False}}
    reply_to = message.metadata.get("replyTo")
    if isinstance(reply_to, dict) and reply_to.get("messageId"):
        body["context"] = {"message_id": reply_to["messageId"]}
    return body


class WhatsAppConnector:
    type = ChannelType.WHATSAPP
    config_model = WhatsAppConfig
    secret_fields = frozenset({"accessToken", "appSecret"})

    def __init__(self, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds

    def parse(self, payload: dict[str, Any], config: dict[str, Any]) -> list[Event]:
        return parse_payload(payload)

    async def send(
        self, http: aiohttp.ClientSession, config: dict[str, Any], message: OutboundMessage
    ) -> SendResult:
        cfg = load_config(WhatsAppConfig, config, PLATFORM)
        answer = await graph_request(
            http,
            "POST",
            f"{base_url(cfg)}/{cfg.phoneNumberId}/messages",
            token=cfg.accessToken,
            platform=PLATFORM,
            timeout_seconds=self.timeout_seconds,
            json_body=build_send_body(message),
            idempotency_key=message.idempotency_key,
        )
        messages = answer.get("messages")
        msg_id = (
            messages[0].get("id")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict)
            else None
        )
        if not nonempty_str(msg_id):
            raise PermanentSendError(
                "WhatsApp API accepted the message but returned no message id",
                code="BAD_RESPONSE",
            )
        return SendResult(external_message_id=msg_id)

    async def test_connection(
        self, http: aiohttp.ClientSession, config: dict[str, Any]
    ) -> ConnectionResult:
        try:
            cfg = load_config(WhatsAppConfig, config, PLATFORM)
        except PermanentSendError as exc:
            return ConnectionResult(ok=False, message=exc.message, details=exc.details or {})

        def describe(node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            name = (
                node.get("verified_name") or node.get("display_phone_number") or cfg.phoneNumberId
            )
            details = compact(
                phoneNumberId=node.get("id") or cfg.phoneNumberId,
                displayPhoneNumber=node.get("display_phone_number"),
                verifiedName=node.get("verified_name"),
            )
            return name, details

        return await check_connection(
            http,
            url=f"{base_url(cfg)}/{cfg.phoneNumberId}",
            token=cfg.accessToken,
            fields="display_phone_number,verified_name",
            platform=PLATFORM,
            timeout_seconds=self.timeout_seconds,
            describe=describe,
        )
