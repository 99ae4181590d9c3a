"""WhatsApp Cloud API connector: parsing every message type, statuses, sending, checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from connectors import get_connector
from connectors.base import (
    ChannelType,
    DeliveryStatus,
    Direction,
    InboundMessage,
    MalformedPayload,
    OutboundMessage,
    PermanentSendError,
    RetryableSendError,
    StatusUpdate,
)
from connectors.whatsapp import WhatsAppConfig, WhatsAppConnector
from tests.fakes import payloads as p
from tests.fakes.graph import FakeGraph

TOKEN = "EAAG-whatsapp-secret-token"
wa = WhatsAppConnector()


def parse(payload: dict[str, Any]) -> list[InboundMessage | StatusUpdate]:
    return wa.parse(payload, {})


def only_message(payload: dict[str, Any]) -> InboundMessage:
    events = parse(payload)
    assert len(events) == 1
    assert isinstance(events[0], InboundMessage)
    return events[0]


def message_of(item: dict[str, Any]) -> InboundMessage:
    return only_message(p.whatsapp_message(item))


# ---------------------------------------------------------------------------------------
# Registry and config
# ---------------------------------------------------------------------------------------


def test_registry_returns_the_whatsapp_connector() -> None:
    connector = get_connector("WHATSAPP")
    assert isinstance(connector, WhatsAppConnector)
    assert connector.type is ChannelType.WHATSAPP
    assert connector.secret_fields == {"accessToken", "appSecret"}


def test_config_requires_every_credential() -> None:
    with pytest.raises(ValidationError) as info:
        WhatsAppConfig.model_validate({"phoneNumberId": "1"})
    missing = {err["loc"][0] for err in info.value.errors()}
    assert missing == {"businessAccountId", "accessToken", "appSecret", "webhookVerifyToken"}


def test_config_keeps_unknown_keys_and_optional_api_base_url() -> None:
    cfg = WhatsAppConfig.model_validate(
        {
            "phoneNumberId": "1",
            "businessAccountId": "2",
            "accessToken": "t",
            "appSecret": "s",
            "webhookVerifyToken": "v",
            "note": "kept",
        }
    )
    assert cfg.apiBaseUrl is None
    assert cfg.model_extra == {"note": "kept"}


def test_config_rejects_blank_credentials() -> None:
    with pytest.raises(ValidationError):
        WhatsAppConfig.model_validate(
            {
                "phoneNumberId": "1",
                "businessAccountId": "2",
                "accessToken": "  ",
                "appSecret": "s",
                "webhookVerifyToken": "v",
            }
        )


# ---------------------------------------------------------------------------------------
# Parsing messages
# ---------------------------------------------------------------------------------------


def test_text_message_becomes_an_inbound_message_with_the_customer_name() -> None:
    msg = only_message(p.whatsapp_text(wa_id="4915112345678", name="Jörg", body="Hallo"))
    assert msg.thread_id == "4915112345678"
    assert msg.external_message_id == "wamid.TEXT1"
    assert msg.direction is Direction.INBOUND
    assert msg.type == "text"
    assert msg.content == "Hallo"
    assert msg.customer_name == "Jörg"
    assert msg.metadata["phoneNumberId"] == p.PHONE_NUMBER_ID


def test_timestamp_string_in_seconds_becomes_aware_utc_datetime() -> None:
    msg = only_message(p.whatsapp_text(ts="1717000000"))
    assert msg.timestamp == datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["image", "audio", "video", "document", "sticker"])
def test_media_message_keeps_media_id_mime_type_and_sha256(kind: str) -> None:
    msg = message_of(p.wa_media_message(kind, mime_type=f"{kind}/x"))
    assert msg.type == kind
    assert msg.content == f"[{kind}]"
    assert msg.metadata["media"] == {
        "type": kind,
        "id": "1003383421387256",
        "mimeType": f"{kind}/x",
        "sha256": "nYQ0A6Gf8wvNH0E6V2xD4Nn2Z1UfKyd0Ez2aB3fT9Q8=",
    }


def test_image_caption_is_the_content() -> None:
    msg = message_of(p.wa_media_message("image", caption="Is this the blue one?"))
    assert msg.content == "Is this the blue one?"
    assert msg.metadata["media"]["caption"] == "Is this the blue one?"


def test_document_without_caption_shows_its_filename() -> None:
    msg = message_of(
        p.wa_media_message("document", mime_type="application/pdf", filename="invoice-42.pdf")
    )
    assert msg.content == "[document: invoice-42.pdf]"
    assert msg.metadata["media"]["filename"] == "invoice-42.pdf"


def test_animated_sticker_keeps_the_animated_flag() -> None:
    msg = message_of(p.wa_media_message("sticker", mime_type="image/webp", animated=True))
    assert msg.content == "[sticker]"
    assert msg.metadata["media"]["animated"] is True


def test_voice_note_is_summarised_as_voice_message() -> None:
    msg = message_of(p.wa_media_message("audio", mime_type="audio/ogg", voice=True))
    assert msg.content == "[voice message]"
    assert msg.metadata["media"]["voice"] is True


def test_location_shows_pin_name_and_coordinates() -> None:
    msg = message_of(p.wa_location_message(latitude=48.8584, longitude=2.2945))
    assert msg.content == "📍 Eiffel Tower (48.8584, 2.2945)"
    assert msg.metadata["location"]["address"].startswith("Champ de Mars")


def test_location_without_name_shows_only_coordinates() -> None:
    msg = message_of(p.wa_location_message(name=None, address=None, latitude=1.5, longitude=-2))
    assert msg.content == "📍 (1.5, -2)"


def test_shared_contact_is_summarised_by_name_and_kept_whole() -> None:
    msg = message_of(p.wa_contacts_message())
    assert msg.type == "contacts"
    assert msg.content == "[contact: Barbara Johnson]"
    assert msg.metadata["contacts"][0]["phones"][0]["wa_id"] == "19405551234"


def test_several_shared_contacts_are_listed() -> None:
    msg = message_of(p.wa_contacts_message(names=("Ann Lee", "Bo Chan")))
    assert msg.content == "[contacts: Ann Lee, Bo Chan]"


def test_button_reply_shows_its_title_and_keeps_its_id_and_context() -> None:
    msg = message_of(p.wa_interactive_message("button_reply"))
    assert msg.type == "interactive"
    assert msg.content == "Track my order"
    assert msg.metadata["interactive"] == {
        "type": "button_reply",
        "id": "track-order",
        "title": "Track my order",
    }
    assert msg.metadata["replyTo"] == {"messageId": "wamid.OUTBOUND1"}


def test_list_reply_keeps_its_description() -> None:
    msg = message_of(
        p.wa_interactive_message("list_reply", reply_id="size-m", title="M", description="Medium")
    )
    assert msg.content == "M"
    assert msg.metadata["interactive"]["description"] == "Medium"


def test_flow_reply_keeps_the_raw_and_decoded_response() -> None:
    msg = message_of(p.wa_interactive_message("nfm_reply"))
    assert msg.content == "Sent"
    info = msg.metadata["interactive"]
    assert info["type"] == "nfm_reply"
    assert info["responseJson"] == '{"flow_token": "tok", "rating": "5"}'
    assert info["response"] == {"flow_token": "tok", "rating": "5"}


def test_template_quick_reply_button_shows_its_text() -> None:
    msg = message_of(p.wa_button_message())
    assert msg.type == "button"
    assert msg.content == "Yes, confirm"
    assert msg.metadata["button"] == {"payload": "CONFIRM_ORDER", "text": "Yes, confirm"}
    assert msg.metadata["context"]["messageId"] == "wamid.TEMPLATE1"


def test_reaction_names_the_emoji_and_the_message_reacted_to() -> None:
    msg = message_of(p.wa_reaction_message(emoji="🙏", target_id="wamid.OUT9"))
    assert msg.type == "reaction"
    assert msg.content == "reacted 🙏"
    assert msg.metadata["reaction"] == {"emoji": "🙏", "messageId": "wamid.OUT9", "removed": False}


def test_reaction_with_empty_emoji_means_removed() -> None:
    msg = message_of(p.wa_reaction_message(emoji=""))
    assert msg.content == "removed reaction"
    assert msg.metadata["reaction"]["removed"] is True


def test_order_keeps_items_and_shows_the_note() -> None:
    msg = message_of(p.wa_order_message())
    assert msg.type == "order"
    assert msg.content == "Please deliver before noon"
    order = msg.metadata["order"]
    assert order["catalogId"] == "1537322553466781"
    assert order["items"][0] == {
        "productRetailerId": "SKU-1",
        "quantity": 2,
        "itemPrice": 12.5,
        "currency": "USD",
    }


def test_order_without_note_is_summarised_by_item_count() -> None:
    assert message_of(p.wa_order_message(text=None)).content == "[order: 2 items]"


def test_system_message_shows_its_body() -> None:
    msg = message_of(p.wa_system_message(new_wa_id="16505559999"))
    assert msg.type == "system"
    assert "changed from" in msg.content
    assert msg.metadata["system"]["waId"] == "16505559999"


def test_message_from_an_ad_keeps_the_referral() -> None:
    msg = message_of(p.wa_text_message(referral=p.wa_referral(headline="Spring sale")))
    assert msg.content == "Hello!"
    assert msg.metadata["referral"]["headline"] == "Spring sale"
    assert msg.metadata["referral"]["sourceType"] == "ad"


def test_forwarded_message_keeps_the_forwarded_context() -> None:
    msg = message_of(p.wa_text_message(context={"forwarded": True}))
    assert msg.metadata["context"] == {"forwarded": True}
    assert "replyTo" not in msg.metadata


def test_unsupported_message_is_visible_and_keeps_the_platform_errors() -> None:
    msg = message_of(p.wa_unsupported_message())
    assert msg.type == "unsupported"
    assert msg.content == "[unsupported message]"
    assert msg.metadata["errors"][0]["code"] == 131051


def test_unknown_future_type_is_named_and_kept_raw() -> None:
    msg = message_of(p.wa_message("hologram", "wamid.H", body={"depth": 3}))
    assert msg.type == "hologram"
    assert msg.content == "[hologram]"
    assert msg.metadata["raw"] == {"depth": 3}


def test_empty_text_still_has_content() -> None:
    assert message_of(p.wa_text_message(body="")).content == "[empty message]"


# ---------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------


def test_batch_with_several_entries_changes_and_messages_keeps_payload_order() -> None:
    first = p.whatsapp_payload(
        messages=[p.wa_text_message("wamid.A", "a"), p.wa_text_message("wamid.B", "b", "222")]
    )
    second = p.whatsapp_envelope(
        p.whatsapp_value(messages=[p.wa_text_message("wamid.C", "c", "333")]),
        p.whatsapp_value(statuses=[p.wa_status_item("wamid.OUT1", "read")]),
    )
    events = parse(p.whatsapp_batch(first, second))
    assert [e.external_message_id for e in events] == [
        "wamid.A",
        "wamid.B",
        "wamid.C",
        "wamid.OUT1",
    ]
    assert [e.thread_id for e in events] == [p.WA_ID, "222", "333", p.WA_ID]
    assert events[1].customer_name == "Customer 222"
    assert events[2].customer_name is None  # that change carried no contacts


def test_same_message_twice_in_one_batch_is_returned_twice() -> None:
    item = p.wa_text_message("wamid.DUP")
    events = parse(p.whatsapp_payload(messages=[item, item]))
    assert [e.external_message_id for e in events] == ["wamid.DUP", "wamid.DUP"]


def test_item_without_id_is_skipped_and_the_rest_kept() -> None:
    broken = p.wa_text_message("wamid.X")
    del broken["id"]
    events = parse(p.whatsapp_payload(messages=[broken, p.wa_text_message("wamid.OK")]))
    assert [e.external_message_id for e in events] == ["wamid.OK"]


def test_non_message_fields_are_ignored_without_error() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": p.WABA_ID,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {"event": "APPROVED", "message_template_id": 1},
                    }
                ],
            }
        ],
    }
    assert parse(payload) == []


# ---------------------------------------------------------------------------------------
# Statuses
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
    ],
)
def test_status_names_the_message_and_the_customer(raw: str, status: DeliveryStatus) -> None:
    (update,) = parse(p.whatsapp_status(msg_id="wamid.OUT7", status=raw, recipient="999"))
    assert isinstance(update, StatusUpdate)
    assert update.status is status
    assert update.external_message_id == "wamid.OUT7"
    assert update.thread_id == "999"
    assert update.watermark is None
    assert update.error is None
    assert update.timestamp == datetime.fromtimestamp(p.TS, UTC)


def test_failed_status_carries_the_platform_error() -> None:
    (update,) = parse(p.whatsapp_status(status="failed", error_code=131047))
    assert update.status is DeliveryStatus.FAILED
    assert update.error is not None
    assert update.error["code"] == 131047
    assert update.error["title"] == "Re-engagement message"
    assert "24 hours" in update.error["details"]


def test_unknown_status_value_is_ignored() -> None:
    payload = p.whatsapp_payload(
        statuses=[p.wa_status_item("wamid.1", "deleted"), p.wa_status_item("wamid.2", "sent")]
    )
    assert [e.external_message_id for e in parse(payload)] == ["wamid.2"]


# ---------------------------------------------------------------------------------------
# Malformed payloads
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "payload must be an object"),
        ({"object": "page", "entry": []}, "expected object 'whatsapp_business_account'"),
        ({"object": "whatsapp_business_account"}, "'entry' must be a list"),
        ({"object": "whatsapp_business_account", "entry": {"id": "1"}}, "'entry' must be a list"),
    ],
)
def test_wrong_envelope_raises_malformed_payload(payload: Any, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse(payload)


def test_payload_where_nothing_can_be_read_raises_malformed_payload() -> None:
    item = p.wa_text_message()
    del item["id"]
    with pytest.raises(MalformedPayload, match=r"messages\[0\].*without id"):
        parse(p.whatsapp_payload(messages=[item]))


def test_changes_that_are_not_a_list_raise_when_nothing_else_is_readable() -> None:
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": "x"}]}
    with pytest.raises(MalformedPayload, match="changes is not a list"):
        parse(payload)


def test_bad_timestamp_skips_only_that_message() -> None:
    payload = p.whatsapp_payload(
        messages=[p.wa_text_message("wamid.BAD", ts="yesterday"), p.wa_text_message("wamid.OK")]
    )
    assert [e.external_message_id for e in parse(payload)] == ["wamid.OK"]


# ---------------------------------------------------------------------------------------
# Sending and connection checks against the fake Graph API
# ---------------------------------------------------------------------------------------


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph(tokens={TOKEN}) as g:
        yield g


@pytest.fixture
def config(graph: FakeGraph) -> dict[str, Any]:
    return {
        "phoneNumberId": p.PHONE_NUMBER_ID,
        "businessAccountId": p.WABA_ID,
        "accessToken": TOKEN,
        "appSecret": "app-secret",
        "webhookVerifyToken": "verify-me",
        "apiBaseUrl": graph.base_url,
    }


def reply(content: str = "Your order ships today", **metadata: Any) -> OutboundMessage:
    return OutboundMessage(
        recipient=p.WA_ID, content=content, metadata=metadata, idempotency_key="msg-0001"
    )


async def test_send_posts_a_text_message_and_returns_the_wamid(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    result = await wa.send(http, config, reply())
    assert result.external_message_id.startswith("wamid.")
    (sent,) = graph.sent
    assert sent["path"] == f"/v21.0/{p.PHONE_NUMBER_ID}/messages"
    assert sent["json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": p.WA_ID,
        "type": "text",
        "text": {"body": "Your order ships today", "preview_url": False},
    }
    assert sent["headers"]["Authorization"] == "Bearer ***"
    assert sent["response"]["messages"][0]["id"] == result.external_message_id


async def test_send_carries_the_idempotency_key_so_a_retry_is_not_a_new_send(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    first = await wa.send(http, config, reply())
    second = await wa.send(http, config, reply())
    assert graph.sent[0]["headers"]["Idempotency-Key"] == "msg-0001"
    assert first == second
    assert len(graph.sent) == 1
    assert graph.duplicate_keys == 1


async def test_send_with_media_metadata_sends_that_media_type(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    media = {"type": "document", "link": "https://shop.example/i/42.pdf", "filename": "42.pdf"}
    await wa.send(http, config, reply("Here is your invoice", media=media))
    body = graph.sent[0]["json"]
    assert body["type"] == "document"
    assert body["document"] == {
        "link": "https://shop.example/i/42.pdf",
        "caption": "Here is your invoice",
        "filename": "42.pdf",
    }
    assert "text" not in body


async def test_send_as_reply_quotes_the_original_message(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    await wa.send(http, config, reply(replyTo={"messageId": "wamid.IN1"}))
    assert graph.sent[0]["json"]["context"] == {"message_id": "wamid.IN1"}


async def test_unknown_media_type_is_refused_before_calling_the_api(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    with pytest.raises(PermanentSendError):
        await wa.send(http, config, reply(media={"type": "hologram", "link": "x"}))
    assert graph.requests == []


@pytest.mark.parametrize(
    ("status", "code"), [(429, 130429), (400, 131056), (500, 131000), (503, 2), (400, 4)]
)
async def test_rate_limits_and_server_errors_are_retryable(
    graph: FakeGraph,
    http: aiohttp.ClientSession,
    config: dict[str, Any],
    status: int,
    code: int,
) -> None:
    graph.fail_next(status=status, code=code)
    with pytest.raises(RetryableSendError) as info:
        await wa.send(http, config, reply())
    assert info.value.code == code
    assert info.value.details["httpStatus"] == status
    assert graph.sent == []


async def test_retry_after_header_is_parsed(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.fail_next(status=429, code=130429, retry_after=7)
    with pytest.raises(RetryableSendError) as info:
        await wa.send(http, config, reply())
    assert info.value.retry_after == 7.0


async def test_retry_after_is_none_when_the_platform_gives_none(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.fail_next(status=429)
    with pytest.raises(RetryableSendError) as info:
        await wa.send(http, config, reply())
    assert info.value.retry_after is None


async def test_timeout_is_retryable(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.delay_next(0.5)
    with pytest.raises(RetryableSendError) as info:
        await WhatsAppConnector(timeout_seconds=0.1).send(http, config, reply())
    assert info.value.code == "TIMEOUT"


async def test_unreachable_api_is_retryable(
    http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    config = {**config, "apiBaseUrl": "http://127.0.0.1:9/v21.0"}  # discard port: refused
    with pytest.raises(RetryableSendError) as info:
        await wa.send(http, config, reply())
    assert info.value.code == "NETWORK_ERROR"


async def test_send_succeeds_after_a_scripted_failure_is_used_up(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.fail_next(status=500)
    with pytest.raises(RetryableSendError):
        await wa.send(http, config, reply())
    result = await wa.send(http, config, reply())
    assert result.external_message_id.startswith("wamid.")
    assert len(graph.sent) == 1
    assert [r["status"] for r in graph.requests] == [500, 200]


@pytest.mark.parametrize(("status", "code"), [(400, 131047), (400, 131026), (400, 100)])
async def test_refusals_are_permanent(
    graph: FakeGraph,
    http: aiohttp.ClientSession,
    config: dict[str, Any],
    status: int,
    code: int,
) -> None:
    graph.fail_next(status=status, code=code)
    with pytest.raises(PermanentSendError) as info:
        await wa.send(http, config, reply())
    assert info.value.code == code
    assert info.value.details["fbtraceId"]


async def test_re_engagement_error_keeps_meta_details(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.fail_next(status=400, code=131047)
    with pytest.raises(PermanentSendError) as info:
        await wa.send(http, config, reply())
    assert "Re-engagement message" in info.value.message
    assert info.value.details["errorData"]["details"] == "Re-engagement message"
    assert info.value.as_dict()["code"] == 131047


async def test_wrong_token_is_permanent_and_never_echoed(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    bad = {**config, "accessToken": "EAAG-wrong-token"}
    graph.fail_next(status=401, code=190, message="Invalid token EAAG-wrong-token")
    with pytest.raises(PermanentSendError) as info:
        await wa.send(http, bad, reply())
    assert info.value.code == 190
    assert "EAAG-wrong-token" not in str(info.value.as_dict())
    assert "***" in info.value.message


async def test_unknown_token_is_refused_by_the_fake_with_code_190(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    with pytest.raises(PermanentSendError) as info:
        await wa.send(http, {**config, "accessToken": "other"}, reply())
    assert info.value.code == 190
    assert info.value.details["httpStatus"] == 401


async def test_invalid_config_is_permanent_and_names_fields_only(
    http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    broken = {k: v for k, v in config.items() if k != "phoneNumberId"}
    with pytest.raises(PermanentSendError) as info:
        await wa.send(http, broken, reply())
    assert info.value.code == "INVALID_CONFIG"
    assert "phoneNumberId" in info.value.message
    assert TOKEN not in str(info.value.as_dict())


async def test_test_connection_reports_the_verified_name(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.names[p.PHONE_NUMBER_ID] = "Acme Shoes"
    result = await wa.test_connection(http, config)
    assert result.ok
    assert result.message == "Connected to Acme Shoes"
    assert result.details["displayPhoneNumber"] == "+1 555-078-3881"
    assert TOKEN not in str(result.model_dump())
    (request,) = graph.requests
    assert request["method"] == "GET"
    assert request["path"] == f"/v21.0/{p.PHONE_NUMBER_ID}"
    assert request["query"]["fields"] == "display_phone_number,verified_name"


async def test_test_connection_with_bad_token_reports_the_platform_error(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    result = await wa.test_connection(http, {**config, "accessToken": "nope"})
    assert not result.ok
    assert "190" in result.message and "Invalid OAuth access token" in result.message
    assert result.details["code"] == 190


async def test_test_connection_when_unreachable_says_so(
    http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    result = await wa.test_connection(http, {**config, "apiBaseUrl": "http://127.0.0.1:9"})
    assert not result.ok
    assert "unreachable" in result.message
    assert result.details["retryable"] is True


async def test_test_connection_with_incomplete_config_is_not_ok(
    http: aiohttp.ClientSession,
) -> None:
    result = await wa.test_connection(http, {"accessToken": TOKEN})
    assert not result.ok
    assert "phoneNumberId" in result.message
    assert TOKEN not in str(result.model_dump())
