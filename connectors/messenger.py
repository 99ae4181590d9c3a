"""Facebook Messenger (and, through `MessengerPlatformConnector`, Instagram Messaging).

Both use the Messenger Platform webhook shape:
`{"object": "page"|"instagram", "entry": [{"id", "time", "messaging": [event]}]}` where an
event has `sender.id`, `recipient.id`, `timestamp` (ms) and one of `message`, `postback`,
`reaction`, `delivery`, `read`. Other events (optins, referrals, handover, message edits,
Instagram `changes` such as comments) are not conversation messages and are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

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
    derived_id,
    format_coordinates,
    from_unix_millis,
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
    Direction,
    InboundMessage,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    StatusUpdate,
)


class MessengerConfig(BaseModel):
    # Unknown keys are kept: admins may store notes or future settings on a channel.
    model_config = ConfigDict(extra="allow")

    facebookPageId: RequiredStr  # noqa: N815 - the API's camelCase keys
    pageAccessToken: RequiredStr  # noqa: N815
    appSecret: RequiredStr  # noqa: N815
    appId: RequiredStr  # noqa: N815
    webhookVerifyToken: RequiredStr  # noqa: N815
    webhookUrl: OptionalStr = None  # noqa: N815
    apiBaseUrl: OptionalStr = None  # noqa: N815


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------

_ATTACHMENT_LABELS = {
    "image": "[image]",
    "audio": "[audio]",
    "video": "[video]",
    "file": "[file]",
    "sticker": "[sticker]",
    "template": "[template]",
    "story_mention": "[story mention]",
    "share": "[shared post]",
    "ig_reel": "[reel]",
    "reel": "[reel]",
    "animated_image": "[gif]",
}


def _attachment(att: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(summary, normalised attachment) for one entry of `message.attachments`."""
    payload = att.get("payload") if isinstance(att.get("payload"), dict) else {}
    kind = str(att.get("type") or "unknown")
    if kind == "image" and payload.get("sticker_id"):
        kind = "sticker"  # Messenger sends stickers (the thumbs-up too) as images
    info: dict[str, Any] = compact(
        type=kind, url=payload.get("url"), title=att.get("title") or payload.get("title")
    )
    if payload.get("sticker_id"):
        info["stickerId"] = payload["sticker_id"]
    if kind == "location":
        coords = payload.get("coordinates") if isinstance(payload.get("coordinates"), dict) else {}
        info["coordinates"] = camel_dict(coords)
        where = format_coordinates(coords.get("lat"), coords.get("long"))
        label = info.get("title")
        return (f"📍 {label} {where}" if label else f"📍 {where}"), info
    if kind == "fallback":
        label = info.get("title") or info.get("url")
        return (f"[link: {label}]" if label else "[link]"), info
    if kind == "template":
        info["templateType"] = payload.get("template_type")
    return _ATTACHMENT_LABELS.get(kind, f"[{kind}]"), info


def _message(
    msg: dict[str, Any], sender: str, recipient: str, timestamp: datetime
) -> InboundMessage:
    mid = nonempty_str(msg.get("mid"))
    if not mid:
        raise SkipItem("message without mid")
    echo = msg.get("is_echo") is True
    metadata: dict[str, Any] = {}
    attachments = [a for a in (msg.get("attachments") or []) if isinstance(a, dict)]
    summaries: list[str] = []
    if attachments:
        parsed = [_attachment(a) for a in attachments]
        summaries = [summary for summary, _ in parsed]
        metadata["attachments"] = [info for _, info in parsed]
        if parsed[0][1]["type"] in ("image", "audio", "video", "file", "sticker"):
            metadata["media"] = parsed[0][1]

    text = msg.get("text") if isinstance(msg.get("text"), str) else ""
    if msg.get("is_deleted") is True:
        # Instagram: the customer unsent message `mid`. It gets its own (stable) id so it is
        # stored as a notice beside the original instead of being dropped as a duplicate.
        mtype, content = "deleted", "[message deleted]"
        metadata |= {"deleted": True, "deletedMessageId": mid}
        mid = f"{mid}#deleted"
    elif msg.get("is_unsupported") is True:
        mtype, content = "unsupported", "[unsupported message]"
    elif text:
        mtype, content = "text", text
    elif attachments:
        mtype, content = metadata["attachments"][0]["type"], " ".join(summaries)
    else:
        mtype, content = "unknown", "[empty message]"

    if isinstance(msg.get("quick_reply"), dict):
        metadata["quickReply"] = camel_dict(msg["quick_reply"])
    reply_to = msg.get("reply_to")
    if isinstance(reply_to, dict):
        # Messenger: {"mid"}; Instagram may instead name a story {"story": {"url", "id"}}.
        metadata["replyTo"] = camel_dict(reply_to, mid="messageId")
    if isinstance(msg.get("referral"), dict):
        metadata["referral"] = camel_dict(msg["referral"])
    if echo:
        metadata["echo"] = compact(appId=msg.get("app_id"), metadata=msg.get("metadata"))

    return InboundMessage(
        # An echo is the page talking to the customer: the customer is the recipient.
        thread_id=recipient if echo else sender,
        external_message_id=mid,
        direction=Direction.OUTBOUND if echo else Direction.INBOUND,
        timestamp=timestamp,
        type=mtype,
        content=content,
        metadata=metadata,
    )


def _postback(postback: dict[str, Any], sender: str, raw_ts: Any, timestamp: datetime) -> Event:
    title, payload = postback.get("title"), postback.get("payload")
    # Older postbacks carry no mid: derive one that is stable across redeliveries.
    mid = nonempty_str(postback.get("mid")) or derived_id("postback", sender, raw_ts, payload)
    return InboundMessage(
        thread_id=sender,
        external_message_id=mid,
        timestamp=timestamp,
        type="postback",
        content=title or payload or "[postback]",
        metadata={"postback": camel_dict(postback, mid="messageId")},
    )


def _reaction(reaction: dict[str, Any], sender: str, raw_ts: Any, timestamp: datetime) -> Event:
    target, action = reaction.get("mid"), reaction.get("action") or "react"
    emoji = reaction.get("emoji") or ""
    removed = action == "unreact"
    label = emoji or reaction.get("reaction") or ""  # "reaction" names it, e.g. "love"
    content = f"{'removed reaction' if removed else 'reacted'} {label}".rstrip()
    return InboundMessage(
        thread_id=sender,
        # A reaction has no id of its own; this one is stable across redeliveries.
        external_message_id=derived_id("reaction", sender, raw_ts, target, action, emoji),
        timestamp=timestamp,
        type="reaction",
        content=content,
        metadata={
            "reaction": compact(
                emoji=emoji,
                messageId=target,
                action=action,
                reaction=reaction.get("reaction"),
                removed=removed,
            )
        },
    )


def _watermark(value: Any) -> datetime | None:
    return from_unix_millis(value) if value is not None else None


def _delivery(delivery: dict[str, Any], sender: str, raw_ts: Any) -> list[Event]:
    """DELIVERED per listed mid; without mids, one update carrying only the watermark."""
    watermark = _watermark(delivery.get("watermark"))
    mids = [m for m in (delivery.get("mids") or []) if nonempty_str(m)]
    if watermark is None and not mids:
        raise SkipItem("delivery without mids or watermark")
    timestamp = from_unix_millis(raw_ts) if raw_ts is not None else watermark
    return [
        StatusUpdate(
            thread_id=sender,
            external_message_id=mid,
            watermark=watermark,
            status=DeliveryStatus.DELIVERED,
            timestamp=timestamp,
        )
        for mid in (mids or [None])
    ]


def _read(read: dict[str, Any], sender: str, raw_ts: Any) -> Event:
    """READ with the watermark (Messenger) or the read message's mid (Instagram)."""
    watermark = _watermark(read.get("watermark"))
    mid = nonempty_str(read.get("mid"))
    timestamp = from_unix_millis(raw_ts) if raw_ts is not None else watermark
    if timestamp is None:
        raise SkipItem("read without timestamp or watermark")
    if watermark is None and mid is None:
        watermark = timestamp  # "seen now": everything sent before this event was read
    return StatusUpdate(
        thread_id=sender,
        external_message_id=mid,
        watermark=watermark,
        status=DeliveryStatus.READ,
        timestamp=timestamp,
    )


def _party_id(party: Any) -> str | None:
    return nonempty_str(party.get("id")) if isinstance(party, dict) else None


def _messaging_event(event: Any) -> Event | list[Event] | None:
    if not isinstance(event, dict):
        raise SkipItem("event is not an object")
    sender, recipient = _party_id(event.get("sender")), _party_id(event.get("recipient"))
    if not sender or not recipient:
        raise SkipItem("event without sender.id or recipient.id")
    raw_ts = event.get("timestamp")
    if isinstance(event.get("delivery"), dict):
        return _delivery(event["delivery"], sender, raw_ts)
    if isinstance(event.get("read"), dict):
        return _read(event["read"], sender, raw_ts)
    kinds = ("message", "postback", "reaction")
    if not any(isinstance(event.get(kind), dict) for kind in kinds):
        return None  # optin, referral, handover, message_edit, ...: not a message
    timestamp = from_unix_millis(raw_ts)
    if isinstance(event.get("message"), dict):
        return _message(event["message"], sender, recipient, timestamp)
    if isinstance(event.get("postback"), dict):
        return _postback(event["postback"], sender, raw_ts, timestamp)
    return _reaction(event["reaction"], sender, raw_ts, timestamp)


def parse_messenger_payload(payload: dict[str, Any], webhook_object: str) -> list[Event]:
    """Every message and status of one Messenger-Platform delivery, in payload order.

    `webhook_object` is "page" for Messenger and "instagram" for Instagram. Duplicates are
    returned as they come; dedup happens downstream by external id.
    """
    envelope = require_object(payload, webhook_object)
    batch = Batch()
    for e, entry in enumerate(envelope["entry"]):
        if not isinstance(entry, dict):
            batch.skip(f"entry[{e}] is not an object")
            continue
        # `changes` (Instagram comments, mentions...) and `standby` are deliberately skipped.
        for i, event in enumerate(list_field(entry, "messaging", f"entry[{e}]", batch)):
            batch.add(f"entry[{e}].messaging[{i}]", _messaging_event, event)
    return batch.finish()


# ---------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------

_SEND_ATTACHMENT_TYPES = {
    "image": "image",
    "audio": "audio",
    "video": "video",
    "file": "file",
    "document": "file",
}


def build_send_body(message: OutboundMessage) -> dict[str, Any]:
    """The Send API body: text, or the attachment in `metadata["media"]`.

    `metadata["media"] = {"type": image|audio|video|file|document, "link"|"url"}` sends an
    attachment (the Send API has no captions, so the content is not sent with it).
    `metadata["tag"]` (e.g. "HUMAN_AGENT") sends a tagged message outside the 24 h window.
    """
    media = message.metadata.get("media")
    if isinstance(media, dict) and media:
        kind = _SEND_ATTACHMENT_TYPES.get(str(media.get("type")))
        url = media.get("link") or media.get("url")
        if kind is None or not url:
            raise PermanentSendError(
                "media needs a type (image, audio, video, file) and a link",
                code="INVALID_MESSAGE",
            )
        content: dict[str, Any] = {
            "attachment": {"type": kind, "payload": {"url": url, "is_reusable": True}}
        }
    else:
        content = {"text": message.content}
    body: dict[str, Any] = {
        "recipient": {"id": message.recipient},
        "messaging_type": "RESPONSE",
        "message": content,
    }
    tag = message.metadata.get("tag")
    if isinstance(tag, str) and tag:
        body |= {"messaging_type": "MESSAGE_TAG", "tag": tag}
    return body


class MessengerPlatformConnector:
    """Parsing, sending and checks common to Messenger and Instagram.

    Subclasses set the class attributes and `_send_node`, the Graph node that sends.
    """

    type: ClassVar[ChannelType]
    config_model: ClassVar[type[MessengerConfig]]
    webhook_object: ClassVar[str]
    platform: ClassVar[str]
    secret_fields = frozenset({"pageAccessToken", "appSecret"})

    def __init__(self, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds

    def _send_node(self, cfg: MessengerConfig) -> str:
        raise NotImplementedError

    def parse(self, payload: dict[str, Any], config: dict[str, Any]) -> list[Event]:
        return parse_messenger_payload(payload, self.webhook_object)

    async def send(
        self, http: aiohttp.ClientSession, config: dict[str, Any], message: OutboundMessage
    ) -> SendResult:
        cfg = load_config(self.config_model, config, self.platform)
        answer = await graph_request(
            http,
            "POST",
            f"{base_url(cfg)}/{self._send_node(cfg)}/messages",
            token=cfg.pageAccessToken,
            platform=self.platform,
            timeout_seconds=self.timeout_seconds,
            json_body=build_send_body(message),
            idempotency_key=message.idempotency_key,
        )
        mid = nonempty_str(answer.get("message_id"))
        if not mid:
            raise PermanentSendError(
                f"{self.platform} API accepted the message but returned no message_id",
                code="BAD_RESPONSE",
            )
        return SendResult(external_message_id=mid)

    def _describe(self, cfg: MessengerConfig, node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = node.get("name") or cfg.facebookPageId
        return name, compact(pageId=node.get("id") or cfg.facebookPageId, pageName=node.get("name"))

    async def test_connection(
        self, http: aiohttp.ClientSession, config: dict[str, Any]
    ) -> ConnectionResult:
        try:
            cfg = load_config(self.config_model, config, self.platform)
        except PermanentSendError as exc:
            return ConnectionResult(ok=False, message=exc.message, details=exc.details or {})
        return await check_connection(
            http,
            url=f"{base_url(cfg)}/{cfg.facebookPageId}",
            token=cfg.pageAccessToken,
            fields="name,id",
            platform=self.platform,
            timeout_seconds=self.timeout_seconds,
            describe=lambda node: self._describe(cfg, node),
        )


class MessengerConnector(MessengerPlatformConnector):
    """Facebook Messenger: webhooks with `object: "page"`, sends as the page."""

    type = ChannelType.FACEBOOK
    config_model = MessengerConfig
    webhook_object = "page"
    platform = "Messenger"

    def _send_node(self, cfg: MessengerConfig) -> str:
        return cfg.facebookPageId
