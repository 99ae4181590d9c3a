"""Builders for realistic Meta webhook payloads (shapes from Meta's documentation samples).

Three levels, so tests write as little as they need:

* whole deliveries for the common cases: `whatsapp_text(...)`, `messenger_text(...)`,
  `instagram_text(...)`, `whatsapp_status(...)`, `messenger_delivery(...)`, ...;
* envelopes that wrap item builders: `whatsapp_payload(phone_number_id, messages=[...],
  statuses=[...], contacts=[...])`, `messenger_payload(page_id, *events)`;
* items: `wa_message(...)`, `wa_text_message(...)`, `wa_contact(...)`, `wa_status_item(...)`,
  `messaging_event(...)`, ...

`whatsapp_batch(*payloads)` / `messenger_batch(*payloads)` merge deliveries into one with
several entries. `meta_body(payload)` gives the bytes Meta would POST (compact JSON,
non-ASCII as \\uXXXX, "/" as "\\/"), and `signed(payload, app_secret)` those bytes plus the
`X-Hub-Signature-256` header.

Defaults: WhatsApp timestamps are unix **seconds** (sent as strings), Messenger/Instagram
timestamps are unix **milliseconds** (ints). Every argument has a sensible default.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.signature import sign

TS = 1_717_000_000  # a fixed, readable unix time in seconds (2024-05-29 16:26:40 UTC)
TS_MS = TS * 1000

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "15550783881"
WA_ID = "16505551234"
PAGE_ID = "1067280970047460"
PSID = "6783210001234567"
IG_ACCOUNT_ID = "17841400000000000"
IGSID = "1234567890123456"
APP_ID = "1517776481860111"


# ---------------------------------------------------------------------------------------
# Bytes and signatures
# ---------------------------------------------------------------------------------------


def meta_body(payload: dict[str, Any]) -> bytes:
    """The raw bytes as Meta sends them: compact, ASCII-escaped, with escaped slashes."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode()


def signed(payload: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
    """(body, headers) for a webhook POST that passes signature verification."""
    body = meta_body(payload)
    return body, {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(app_secret, body),
    }


# ---------------------------------------------------------------------------------------
# WhatsApp Cloud API
# ---------------------------------------------------------------------------------------


def wa_contact(wa_id: str = WA_ID, name: str = "Kerry Fisher") -> dict[str, Any]:
    """An item of `value.contacts[]`: who sent the messages in this change."""
    return {"profile": {"name": name}, "wa_id": wa_id}


def wa_message(
    msg_type: str,
    msg_id: str,
    wa_id: str = WA_ID,
    ts: int | str = TS,
    body: Any = None,
    *,
    context: dict[str, Any] | None = None,
    referral: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An item of `value.messages[]`; `body` goes under the key named by the type."""
    msg: dict[str, Any] = {"from": wa_id, "id": msg_id, "timestamp": str(ts), "type": msg_type}
    if body is not None:
        msg[msg_type] = body
    if context is not None:
        msg["context"] = context
    if referral is not None:
        msg["referral"] = referral
    if errors is not None:
        msg["errors"] = errors
    return msg


def wa_text_message(
    msg_id: str = "wamid.TEXT1",
    body: str = "Hello!",
    wa_id: str = WA_ID,
    ts: int | str = TS,
    **kw: Any,
) -> dict[str, Any]:
    return wa_message("text", msg_id, wa_id, ts, {"body": body}, **kw)


def wa_media_message(
    media_type: str = "image",
    msg_id: str = "wamid.MEDIA1",
    wa_id: str = WA_ID,
    ts: int | str = TS,
    *,
    media_id: str = "1003383421387256",
    mime_type: str = "image/jpeg",
    sha256: str = "nYQ0A6Gf8wvNH0E6V2xD4Nn2Z1UfKyd0Ez2aB3fT9Q8=",
    caption: str | None = None,
    filename: str | None = None,
    animated: bool | None = None,
    voice: bool | None = None,
) -> dict[str, Any]:
    """image / audio / video / document / sticker, as in Meta's media samples."""
    body: dict[str, Any] = {"mime_type": mime_type, "sha256": sha256, "id": media_id}
    for key, value in (
        ("caption", caption),
        ("filename", filename),
        ("animated", animated),
        ("voice", voice),
    ):
        if value is not None:
            body[key] = value
    return wa_message(media_type, msg_id, wa_id, ts, body)


def wa_location_message(
    msg_id: str = "wamid.LOC1",
    wa_id: str = WA_ID,
    ts: int | str = TS,
    *,
    latitude: float = 48.8584,
    longitude: float = 2.2945,
    name: str | None = "Eiffel Tower",
    address: str | None = "Champ de Mars, 5 Av. Anatole France, 75007 Paris",
) -> dict[str, Any]:
    body: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name is not None:
        body["name"] = name
    if address is not None:
        body["address"] = address
    return wa_message("location", msg_id, wa_id, ts, body)


def wa_contacts_message(
    msg_id: str = "wamid.CONTACTS1",
    wa_id: str = WA_ID,
    ts: int | str = TS,
    names: tuple[str, ...] = ("Barbara Johnson",),
) -> dict[str, Any]:
    cards = []
    for full in names:
        first, _, last = full.partition(" ")
        cards.append(
            {
                "name": {"formatted_name": full, "first_name": first, "last_name": last},
                "phones": [{"phone": "+1 (940) 555-1234", "type": "HOME", "wa_id": "19405551234"}],
                "emails": [{"email": f"{first.lower()}@example.com", "type": "WORK"}],
            }
        )
    msg = wa_message("contacts", msg_id, wa_id, ts)
    msg["contacts"] = cards
    return msg


def wa_interactive_message(
    reply_type: str = "button_reply",
    msg_id: str = "wamid.INTERACTIVE1",
    wa_id: str = WA_ID,
    ts: int | str = TS,
    *,
    reply_id: str = "track-order",
    title: str = "Track my order",
    description: str | None = None,
    response_json: str = '{"flow_token": "tok", "rating": "5"}',
    context_id: str | None = "wamid.OUTBOUND1",
) -> dict[str, Any]:
    """button_reply / list_reply / nfm_reply (a WhatsApp Flow's answers)."""
    if reply_type == "nfm_reply":
        reply: dict[str, Any] = {"response_json": response_json, "body": "Sent", "name": "flow"}
    else:
        reply = {"id": reply_id, "title": title}
        if description is not None:
            reply["description"] = description
    context = {"from": DISPLAY_PHONE_NUMBER, "id": context_id} if context_id else None
    return wa_message(
        "interactive", msg_id, wa_id, ts, {"type": reply_type, reply_type: reply}, context=context
    )


def wa_button_message(
    msg_id: str = "wamid.BUTTON1",
    wa_id: str = WA_ID,
    ts: int | str = TS,
    *,
    text: str = "Yes, confirm",
    payload: str = "CONFIRM_ORDER",
    context_id: str = "wamid.TEMPLATE1",
) -> dict[str, Any]:
    """A quick-reply button of a template message."""
    return wa_message(
        "button",
        msg_id,
        wa_id,
        ts,
        {"payload": payload, "text": text},
        context={"from": DISPLAY_PHONE_NUMBER, "id": context_id},
    )


def wa_reaction_message(
    msg_id: str = "wamid.REACTION1",
    wa_id: str = WA_ID,
    ts: int | str = TS,
    *,
    emoji: str = "👍",
    target_id: str = "wamid.OUTBOUND1",
) -> dict[str, Any]:
    """A reaction; `emoji=""` is how WhatsApp reports a removed reaction."""
    return wa_message("reaction", msg_id, wa_id, ts, {"message_id": target_id, "emoji": emoji})


def wa_order_message(
    msg_id: str = "wamid.ORDER1",
    wa_id: str = WA_ID,
    ts: int | str = TS,
    *,
    text: str | None = "Please deliver before noon",
    items: tuple[tuple[str, int, float], ...] = (("SKU-1", 2, 12.5), ("SKU-2", 1, 30.0)),
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "catalog_id": "1537322553466781",
        "product_items": [
            {"product_retailer_id": sku, "quantity": qty, "item_price": price, "currency": "USD"}
            for sku, qty, price in items
        ],
    }
    if text is not None:
        body["text"] = text
    return wa_message("order", msg_id, wa_id, ts, body)


def wa_system_message(
    msg_id: str = "wamid.SYSTEM1",
    wa_id: str = WA_ID,
    ts: int | str = TS,
    *,
    new_wa_id: str = "16505559999",
) -> dict[str, Any]:
    body = {
        "body": f"User A changed from {wa_id} to {new_wa_id}",
        "wa_id": new_wa_id,
        "type": "user_changed_number",
    }
    return wa_message("system", msg_id, wa_id, ts, body)


def wa_referral(headline: str = "Spring sale", **extra: Any) -> dict[str, Any]:
    """The `referral` object of a message that came from a Click-to-WhatsApp ad."""
    return {
        "source_url": "https://fb.me/3cr4Wqqkv",
        "source_id": "120201234567890",
        "source_type": "ad",
        "headline": headline,
        "body": "Up to 50% off",
        "media_type": "image",
        "image_url": "https://scontent.example/ad.jpg",
        "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0",
        **extra,
    }


def wa_unsupported_message(
    msg_id: str = "wamid.UNSUPPORTED1", wa_id: str = WA_ID, ts: int | str = TS
) -> dict[str, Any]:
    errors = [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]
    return wa_message("unsupported", msg_id, wa_id, ts, errors=errors)


def wa_status_item(
    msg_id: str = "wamid.OUTBOUND1",
    status: str = "delivered",
    recipient: str = WA_ID,
    ts: int | str = TS,
    *,
    error_code: int | None = None,
    error_title: str = "Re-engagement message",
    error_details: str = "Message failed to send because more than 24 hours have passed "
    "since the customer last replied to this number.",
) -> dict[str, Any]:
    """An item of `value.statuses[]`; give `error_code` (with status="failed") for errors."""
    item: dict[str, Any] = {
        "id": msg_id,
        "status": status,
        "timestamp": str(ts),
        "recipient_id": recipient,
    }
    if status in ("sent", "delivered"):
        item["conversation"] = {
            "id": "b1b5b3f0c1d2e3f4a5b6c7d8e9f0a1b2",
            "origin": {"type": "service"},
        }
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if error_code is not None:
        item["errors"] = [
            {
                "code": error_code,
                "title": error_title,
                "message": error_title,
                "error_data": {"details": error_details},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    return item


def whatsapp_value(
    phone_number_id: str = PHONE_NUMBER_ID,
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    display_phone_number: str = DISPLAY_PHONE_NUMBER,
) -> dict[str, Any]:
    """The `changes[].value` object."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": display_phone_number,
            "phone_number_id": phone_number_id,
        },
    }
    if contacts is not None:
        value["contacts"] = contacts
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return value


def whatsapp_envelope(*values: dict[str, Any], waba_id: str = WABA_ID) -> dict[str, Any]:
    """One entry whose `changes` are the given values (field "messages")."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": v, "field": "messages"} for v in values]}],
    }


def whatsapp_payload(
    phone_number_id: str = PHONE_NUMBER_ID,
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    waba_id: str = WABA_ID,
) -> dict[str, Any]:
    """A delivery with one entry and one change holding these items.

    When `messages` are given without `contacts`, one contact per distinct sender is added
    (named "Customer <wa_id>") as WhatsApp does.
    """
    if messages and contacts is None:
        senders = dict.fromkeys(m["from"] for m in messages if "from" in m)
        contacts = [wa_contact(s, f"Customer {s}") for s in senders]
    value = whatsapp_value(phone_number_id, messages=messages, statuses=statuses, contacts=contacts)
    return whatsapp_envelope(value, waba_id=waba_id)


def whatsapp_text(
    phone_number_id: str = PHONE_NUMBER_ID,
    wa_id: str = WA_ID,
    name: str = "Kerry Fisher",
    msg_id: str = "wamid.TEXT1",
    body: str = "Hello!",
    ts: int | str = TS,
) -> dict[str, Any]:
    """The classic: one text message from one customer."""
    return whatsapp_payload(
        phone_number_id,
        messages=[wa_text_message(msg_id, body, wa_id, ts)],
        contacts=[wa_contact(wa_id, name)],
    )


def whatsapp_message(
    message: dict[str, Any],
    phone_number_id: str = PHONE_NUMBER_ID,
    name: str = "Kerry Fisher",
) -> dict[str, Any]:
    """A delivery of one item from `wa_*_message(...)`, with the sender's contact."""
    return whatsapp_payload(
        phone_number_id, messages=[message], contacts=[wa_contact(message["from"], name)]
    )


def whatsapp_status(
    phone_number_id: str = PHONE_NUMBER_ID,
    msg_id: str = "wamid.OUTBOUND1",
    status: str = "delivered",
    recipient: str = WA_ID,
    ts: int | str = TS,
    error_code: int | None = None,
) -> dict[str, Any]:
    """A status delivery: sent / delivered / read / failed (give `error_code` for failed)."""
    item = wa_status_item(msg_id, status, recipient, ts, error_code=error_code)
    return whatsapp_payload(phone_number_id, statuses=[item])


def whatsapp_batch(*payloads: dict[str, Any]) -> dict[str, Any]:
    """Several WhatsApp deliveries merged into one with all their entries, in order."""
    return {
        "object": "whatsapp_business_account",
        "entry": [entry for p in payloads for entry in p["entry"]],
    }


# ---------------------------------------------------------------------------------------
# Messenger and Instagram (Messenger Platform shape)
# ---------------------------------------------------------------------------------------


def messaging_event(
    sender_id: str, recipient_id: str, ts_ms: int = TS_MS, **fields: Any
) -> dict[str, Any]:
    """An item of `entry[].messaging[]`, e.g. `messaging_event(psid, page, message={...})`."""
    return {
        "sender": {"id": sender_id},
        "recipient": {"id": recipient_id},
        "timestamp": ts_ms,
        **fields,
    }


def messenger_payload(
    page_id: str = PAGE_ID,
    *events: dict[str, Any],
    object_: str = "page",
    time_ms: int = TS_MS,
) -> dict[str, Any]:
    """One entry (id = page id, or IG account id for Instagram) holding these events."""
    return {
        "object": object_,
        "entry": [{"id": page_id, "time": time_ms, "messaging": list(events)}],
    }


def messenger_batch(*payloads: dict[str, Any]) -> dict[str, Any]:
    """Several deliveries merged into one with all their entries, in order."""
    return {"object": payloads[0]["object"], "entry": [e for p in payloads for e in p["entry"]]}


def messenger_text(
    page_id: str = PAGE_ID,
    psid: str = PSID,
    mid: str = "m_TEXT1",
    text: str = "Hello!",
    ts_ms: int = TS_MS,
    *,
    quick_reply: str | None = None,
    reply_to: str | None = None,
    object_: str = "page",
) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": mid, "text": text}
    if quick_reply is not None:
        message["quick_reply"] = {"payload": quick_reply}
    if reply_to is not None:
        message["reply_to"] = {"mid": reply_to}
    return messenger_payload(
        page_id, messaging_event(psid, page_id, ts_ms, message=message), object_=object_
    )


def attachment(kind: str, url: str | None = None, **payload: Any) -> dict[str, Any]:
    """One item of `message.attachments[]`, e.g. `attachment("image", "https://...")`."""
    body = dict(payload)
    if url is not None:
        body["url"] = url
    return {"type": kind, "payload": body}


def location_attachment(
    lat: float = 48.8584, long: float = 2.2945, title: str = "Eiffel Tower"
) -> dict[str, Any]:
    return {
        "type": "location",
        "title": title,
        "url": "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.bing.com%2Fmaps",
        "payload": {"coordinates": {"lat": lat, "long": long}},
    }


def sticker_attachment(sticker_id: int = 369239263222822) -> dict[str, Any]:
    """The Messenger "like" sticker: an image attachment carrying a sticker_id."""
    return attachment(
        "image", "https://scontent.xx.fbcdn.net/v/t39.1997-6/like.png", sticker_id=sticker_id
    )


def messenger_attachments(
    page_id: str = PAGE_ID,
    psid: str = PSID,
    mid: str = "m_ATTACH1",
    attachments: list[dict[str, Any]] | None = None,
    ts_ms: int = TS_MS,
    *,
    text: str | None = None,
    object_: str = "page",
) -> dict[str, Any]:
    """A message with attachments (default: one image)."""
    message: dict[str, Any] = {
        "mid": mid,
        "attachments": attachments
        if attachments is not None
        else [attachment("image", "https://scontent.xx.fbcdn.net/v/photo.jpg")],
    }
    if text is not None:
        message["text"] = text
    return messenger_payload(
        page_id, messaging_event(psid, page_id, ts_ms, message=message), object_=object_
    )


def messenger_echo(
    page_id: str = PAGE_ID,
    psid: str = PSID,
    mid: str = "m_ECHO1",
    text: str = "Thanks, we are on it",
    ts_ms: int = TS_MS,
    *,
    app_id: int = int(APP_ID),
    object_: str = "page",
) -> dict[str, Any]:
    """A message sent by the page (from any app or the Page inbox) echoed back."""
    message = {
        "is_echo": True,
        "app_id": app_id,
        "metadata": "agent-reply",
        "mid": mid,
        "text": text,
    }
    return messenger_payload(
        page_id, messaging_event(page_id, psid, ts_ms, message=message), object_=object_
    )


def messenger_postback(
    page_id: str = PAGE_ID,
    psid: str = PSID,
    title: str = "Get Started",
    payload: str = "GET_STARTED",
    ts_ms: int = TS_MS,
    *,
    mid: str | None = "m_POSTBACK1",
    object_: str = "page",
) -> dict[str, Any]:
    """A button tap; `mid=None` gives the older shape without an id."""
    postback: dict[str, Any] = {"title": title, "payload": payload}
    if mid is not None:
        postback["mid"] = mid
    return messenger_payload(
        page_id, messaging_event(psid, page_id, ts_ms, postback=postback), object_=object_
    )


def messenger_reaction(
    page_id: str = PAGE_ID,
    psid: str = PSID,
    mid: str = "m_OUTBOUND1",
    emoji: str = "❤",
    action: str = "react",
    ts_ms: int = TS_MS,
    *,
    reaction: str = "love",
    object_: str = "page",
) -> dict[str, Any]:
    """A reaction to message `mid`; action "unreact" removes it."""
    body: dict[str, Any] = {"mid": mid, "action": action, "reaction": reaction}
    if emoji:
        body["emoji"] = emoji
    return messenger_payload(
        page_id, messaging_event(psid, page_id, ts_ms, reaction=body), object_=object_
    )


def messenger_delivery(
    page_id: str = PAGE_ID,
    psid: str = PSID,
    mids: list[str] | None = None,
    watermark_ms: int = TS_MS,
    ts_ms: int | None = TS_MS,
    *,
    object_: str = "page",
) -> dict[str, Any]:
    """Messages delivered to the customer: listed `mids` and/or everything up to watermark."""
    delivery: dict[str, Any] = {"watermark": watermark_ms}
    if mids is not None:
        delivery["mids"] = mids
    event = messaging_event(psid, page_id, ts_ms if ts_ms is not None else 0, delivery=delivery)
    if ts_ms is None:
        del event["timestamp"]
    return messenger_payload(page_id, event, object_=object_)


def messenger_read(
    page_id: str = PAGE_ID,
    psid: str = PSID,
    watermark_ms: int = TS_MS,
    ts_ms: int = TS_MS,
    *,
    object_: str = "page",
) -> dict[str, Any]:
    """Everything the page sent up to `watermark_ms` was read."""
    return messenger_payload(
        page_id,
        messaging_event(psid, page_id, ts_ms, read={"watermark": watermark_ms}),
        object_=object_,
    )


# Instagram: the same shapes with object "instagram" and the IG account as page.


def instagram_text(
    ig_account_id: str = IG_ACCOUNT_ID,
    igsid: str = IGSID,
    mid: str = "aWdfZAG1faXRlbTox",
    text: str = "Is this in stock?",
    ts_ms: int = TS_MS,
    **kw: Any,
) -> dict[str, Any]:
    return messenger_text(ig_account_id, igsid, mid, text, ts_ms, object_="instagram", **kw)


def instagram_attachments(
    ig_account_id: str = IG_ACCOUNT_ID,
    igsid: str = IGSID,
    mid: str = "aWdfZAG1faXRlbTpATTACH",
    attachments: list[dict[str, Any]] | None = None,
    ts_ms: int = TS_MS,
    **kw: Any,
) -> dict[str, Any]:
    return messenger_attachments(
        ig_account_id, igsid, mid, attachments, ts_ms, object_="instagram", **kw
    )


def instagram_echo(
    ig_account_id: str = IG_ACCOUNT_ID,
    igsid: str = IGSID,
    mid: str = "aWdfZAG1faXRlbTpECHO",
    text: str = "Yes, it is!",
    ts_ms: int = TS_MS,
    **kw: Any,
) -> dict[str, Any]:
    return messenger_echo(ig_account_id, igsid, mid, text, ts_ms, object_="instagram", **kw)


def instagram_story_reply(
    ig_account_id: str = IG_ACCOUNT_ID,
    igsid: str = IGSID,
    mid: str = "aWdfZAG1faXRlbTpSTORYREPLY",
    text: str = "Love this!",
    ts_ms: int = TS_MS,
) -> dict[str, Any]:
    message = {
        "mid": mid,
        "text": text,
        "reply_to": {"story": {"url": "https://lookaside.fbsbx.com/story.mp4", "id": "1791"}},
    }
    return messenger_payload(
        ig_account_id,
        messaging_event(igsid, ig_account_id, ts_ms, message=message),
        object_="instagram",
    )


def instagram_deleted(
    ig_account_id: str = IG_ACCOUNT_ID,
    igsid: str = IGSID,
    mid: str = "aWdfZAG1faXRlbTox",
    ts_ms: int = TS_MS,
) -> dict[str, Any]:
    """The customer unsent message `mid`."""
    return messenger_payload(
        ig_account_id,
        messaging_event(igsid, ig_account_id, ts_ms, message={"mid": mid, "is_deleted": True}),
        object_="instagram",
    )


def instagram_seen(
    ig_account_id: str = IG_ACCOUNT_ID,
    igsid: str = IGSID,
    mid: str = "aWdfZAG1faXRlbTpECHO",
    ts_ms: int = TS_MS,
) -> dict[str, Any]:
    """Instagram's read receipt names the message read (`read.mid`) instead of a watermark."""
    return messenger_payload(
        ig_account_id,
        messaging_event(igsid, ig_account_id, ts_ms, read={"mid": mid}),
        object_="instagram",
    )


def instagram_comment(
    ig_account_id: str = IG_ACCOUNT_ID, comment_id: str = "17865799348089039", text: str = "Nice!"
) -> dict[str, Any]:
    """A comment webhook (`entry[].changes`): not a direct message, connectors ignore it."""
    return {
        "object": "instagram",
        "entry": [
            {
                "id": ig_account_id,
                "time": TS,
                "changes": [
                    {
                        "field": "comments",
                        "value": {
                            "from": {"id": IGSID, "username": "customer"},
                            "media": {"id": "17887498072083520", "media_product_type": "FEED"},
                            "id": comment_id,
                            "text": text,
                        },
                    }
                ],
            }
        ],
    }


# ---------------------------------------------------------------------------------------
# MOCK (our own development format)
# ---------------------------------------------------------------------------------------


def mock_payload(
    messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if messages is not None:
        payload["messages"] = messages
    if statuses is not None:
        payload["statuses"] = statuses
    return payload


def mock_message(
    msg_id: str = "mock-msg-1",
    sender: str = "customer-1",
    text: str = "Hello from the mock channel",
    timestamp: int | str | None = TS,
    name: str | None = "Dev Customer",
) -> dict[str, Any]:
    item: dict[str, Any] = {"id": msg_id, "from": sender, "text": text}
    if name is not None:
        item["name"] = name
    if timestamp is not None:
        item["timestamp"] = timestamp
    return item


def mock_text(
    msg_id: str = "mock-msg-1",
    sender: str = "customer-1",
    text: str = "Hello from the mock channel",
    timestamp: int | str | None = TS,
    name: str | None = "Dev Customer",
) -> dict[str, Any]:
    """A MOCK delivery with one message."""
    return mock_payload(messages=[mock_message(msg_id, sender, text, timestamp, name)])


def mock_status(
    msg_id: str = "mock-out-1",
    recipient: str = "customer-1",
    status: str = "delivered",
    timestamp: int | str | None = TS,
) -> dict[str, Any]:
    """A MOCK delivery with one status update."""
    item: dict[str, Any] = {"id": msg_id, "recipient": recipient, "status": status}
    if timestamp is not None:
        item["timestamp"] = timestamp
    return mock_payload(statuses=[item])
