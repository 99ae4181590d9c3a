"""Facebook Messenger connector: messaging events, echoes, receipts, sending, checks."""

from __future__ import annotations

import asyncio
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
from connectors.messenger import MessengerConfig, MessengerConnector
from tests.fakes import payloads as p
from tests.fakes.graph import FakeGraph

TOKEN = "EAAB-page-secret-token"
fb = MessengerConnector()
WHEN = datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)


def parse(payload: dict[str, Any]) -> list[InboundMessage | StatusUpdate]:
    return fb.parse(payload, {})


def only_message(payload: dict[str, Any]) -> InboundMessage:
    events = parse(payload)
    assert len(events) == 1
    assert isinstance(events[0], InboundMessage)
    return events[0]


# ---------------------------------------------------------------------------------------
# Registry and config
# ---------------------------------------------------------------------------------------


def test_registry_returns_the_messenger_connector_for_facebook() -> None:
    connector = get_connector("FACEBOOK")
    assert isinstance(connector, MessengerConnector)
    assert connector.type is ChannelType.FACEBOOK
    assert connector.secret_fields == {"pageAccessToken", "appSecret"}


def test_channel_types_without_connector_give_none() -> None:
    assert get_connector("TWITTER") is None
    assert get_connector("LINKEDIN") is None
    assert get_connector("SMOKE_SIGNALS") is None


def test_config_requires_page_credentials_and_allows_webhook_url() -> None:
    with pytest.raises(ValidationError) as info:
        MessengerConfig.model_validate({"webhookUrl": "https://x"})
    missing = {err["loc"][0] for err in info.value.errors()}
    assert missing == {
        "facebookPageId",
        "pageAccessToken",
        "appSecret",
        "appId",
        "webhookVerifyToken",
    }


# ---------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------


def test_text_message_is_threaded_by_the_sender_psid() -> None:
    msg = only_message(p.messenger_text(psid="PSID-1", mid="m_1", text="Where is my order?"))
    assert msg.thread_id == "PSID-1"
    assert msg.external_message_id == "m_1"
    assert msg.direction is Direction.INBOUND
    assert msg.type == "text"
    assert msg.content == "Where is my order?"
    assert msg.customer_name is None


def test_millisecond_timestamp_becomes_aware_utc_datetime() -> None:
    msg = only_message(p.messenger_text(ts_ms=p.TS_MS + 250))
    assert msg.timestamp == datetime(2024, 5, 29, 16, 26, 40, 250000, tzinfo=UTC)


def test_echo_is_stored_as_outbound_on_customer_thread() -> None:
    msg = only_message(p.messenger_echo(psid="PSID-7", mid="m_echo", text="On its way"))
    assert msg.direction is Direction.OUTBOUND
    assert msg.thread_id == "PSID-7"  # the recipient, not the page that sent it
    assert msg.content == "On its way"
    assert msg.metadata["echo"] == {"appId": int(p.APP_ID), "metadata": "agent-reply"}


def test_quick_reply_keeps_its_payload() -> None:
    msg = only_message(p.messenger_text(text="Red", quick_reply="COLOR_RED"))
    assert msg.content == "Red"
    assert msg.metadata["quickReply"] == {"payload": "COLOR_RED"}


def test_reply_keeps_the_message_replied_to() -> None:
    msg = only_message(p.messenger_text(reply_to="m_earlier"))
    assert msg.metadata["replyTo"] == {"messageId": "m_earlier"}


@pytest.mark.parametrize("kind", ["image", "audio", "video", "file"])
def test_media_attachment_is_summarised_and_keeps_its_url(kind: str) -> None:
    url = f"https://cdn.fbsbx.com/{kind}"
    msg = only_message(p.messenger_attachments(attachments=[p.attachment(kind, url)]))
    assert msg.type == kind
    assert msg.content == f"[{kind}]"
    assert msg.metadata["media"] == {"type": kind, "url": url}


def test_sticker_sent_as_image_is_recognised_as_sticker() -> None:
    msg = only_message(p.messenger_attachments(attachments=[p.sticker_attachment(369239263222822)]))
    assert msg.type == "sticker"
    assert msg.content == "[sticker]"
    assert msg.metadata["media"]["stickerId"] == 369239263222822


def test_location_attachment_shows_pin_title_and_coordinates() -> None:
    msg = only_message(
        p.messenger_attachments(attachments=[p.location_attachment(1.25, 2.5, "Shop")])
    )
    assert msg.type == "location"
    assert msg.content == "📍 Shop (1.25, 2.5)"
    assert msg.metadata["attachments"][0]["coordinates"] == {"lat": 1.25, "long": 2.5}


def test_fallback_link_attachment_shows_its_title() -> None:
    link = {"type": "fallback", "title": "Our spring catalogue", "url": "https://shop.example"}
    msg = only_message(p.messenger_attachments(attachments=[link]))
    assert msg.type == "fallback"
    assert msg.content == "[link: Our spring catalogue]"


def test_template_attachment_keeps_its_template_type() -> None:
    template = p.attachment("template", template_type="generic")
    msg = only_message(p.messenger_attachments(attachments=[template]))
    assert msg.content == "[template]"
    assert msg.metadata["attachments"][0]["templateType"] == "generic"


def test_several_attachments_are_all_summarised() -> None:
    two = [p.attachment("image", "https://a"), p.attachment("image", "https://b")]
    msg = only_message(p.messenger_attachments(attachments=two))
    assert msg.content == "[image] [image]"
    assert [a["url"] for a in msg.metadata["attachments"]] == ["https://a", "https://b"]


def test_text_with_attachment_shows_the_text() -> None:
    msg = only_message(
        p.messenger_attachments(attachments=[p.attachment("image", "https://a")], text="Look")
    )
    assert msg.type == "text"
    assert msg.content == "Look"
    assert msg.metadata["media"]["url"] == "https://a"


def test_unsupported_message_is_visible() -> None:
    event = p.messaging_event(p.PSID, p.PAGE_ID, message={"mid": "m_u", "is_unsupported": True})
    msg = only_message(p.messenger_payload(p.PAGE_ID, event))
    assert msg.type == "unsupported"
    assert msg.content == "[unsupported message]"


# ---------------------------------------------------------------------------------------
# Postbacks and reactions
# ---------------------------------------------------------------------------------------


def test_postback_shows_the_button_title_and_keeps_the_payload() -> None:
    msg = only_message(p.messenger_postback(title="Talk to a human", payload="HUMAN", mid="m_pb"))
    assert msg.type == "postback"
    assert msg.external_message_id == "m_pb"
    assert msg.content == "Talk to a human"
    assert msg.metadata["postback"] == {
        "title": "Talk to a human",
        "payload": "HUMAN",
        "messageId": "m_pb",
    }


def test_postback_without_mid_gets_a_stable_derived_id() -> None:
    first = only_message(p.messenger_postback(mid=None))
    again = only_message(p.messenger_postback(mid=None))
    later = only_message(p.messenger_postback(mid=None, ts_ms=p.TS_MS + 1))
    assert first.external_message_id.startswith("postback-")
    assert first.external_message_id == again.external_message_id
    assert first.external_message_id != later.external_message_id


def test_reaction_names_the_emoji_and_message() -> None:
    msg = only_message(p.messenger_reaction(mid="m_out", emoji="😮", reaction="wow"))
    assert msg.type == "reaction"
    assert msg.content == "reacted 😮"
    assert msg.metadata["reaction"] == {
        "emoji": "😮",
        "messageId": "m_out",
        "action": "react",
        "reaction": "wow",
        "removed": False,
    }


def test_unreact_is_a_removed_reaction_with_its_own_id() -> None:
    react = only_message(p.messenger_reaction(action="react"))
    unreact = only_message(p.messenger_reaction(action="unreact", emoji=""))
    assert unreact.content == "removed reaction love"
    assert unreact.metadata["reaction"]["removed"] is True
    assert unreact.external_message_id != react.external_message_id


# ---------------------------------------------------------------------------------------
# Delivery and read receipts
# ---------------------------------------------------------------------------------------


def test_delivery_with_mids_gives_one_delivered_status_per_mid() -> None:
    events = parse(p.messenger_delivery(psid="PSID-2", mids=["m_a", "m_b"]))
    assert [e.external_message_id for e in events] == ["m_a", "m_b"]
    for event in events:
        assert isinstance(event, StatusUpdate)
        assert event.status is DeliveryStatus.DELIVERED
        assert event.thread_id == "PSID-2"
        assert event.watermark == WHEN


def test_delivery_without_mids_gives_one_watermark_status() -> None:
    (event,) = parse(p.messenger_delivery(mids=None, watermark_ms=p.TS_MS - 5000))
    assert isinstance(event, StatusUpdate)
    assert event.external_message_id is None
    assert event.status is DeliveryStatus.DELIVERED
    assert event.watermark == datetime(2024, 5, 29, 16, 26, 35, tzinfo=UTC)


def test_delivery_without_timestamp_uses_the_watermark() -> None:
    (event,) = parse(p.messenger_delivery(mids=None, ts_ms=None))
    assert event.timestamp == WHEN


def test_read_gives_a_read_status_with_watermark() -> None:
    (event,) = parse(p.messenger_read(psid="PSID-3", watermark_ms=p.TS_MS - 1000))
    assert isinstance(event, StatusUpdate)
    assert event.status is DeliveryStatus.READ
    assert event.thread_id == "PSID-3"
    assert event.external_message_id is None
    assert event.watermark == datetime(2024, 5, 29, 16, 26, 39, tzinfo=UTC)
    assert event.timestamp == WHEN


# ---------------------------------------------------------------------------------------
# Batches, ignored events and malformed payloads
# ---------------------------------------------------------------------------------------


def test_batch_with_several_entries_and_events_keeps_payload_order() -> None:
    one = p.messenger_payload(
        p.PAGE_ID,
        p.messaging_event("U1", p.PAGE_ID, message={"mid": "m_1", "text": "one"}),
        p.messaging_event("U2", p.PAGE_ID, message={"mid": "m_2", "text": "two"}),
    )
    batch = p.messenger_batch(one, p.messenger_read(psid="U1"), p.messenger_echo(mid="m_3"))
    events = parse(batch)
    assert [e.kind for e in events] == ["message", "message", "status", "message"]
    assert [e.thread_id for e in events] == ["U1", "U2", "U1", p.PSID]


def test_same_message_twice_in_one_batch_is_returned_twice() -> None:
    twice = p.messenger_batch(p.messenger_text(mid="m_dup"), p.messenger_text(mid="m_dup"))
    assert [e.external_message_id for e in parse(twice)] == ["m_dup", "m_dup"]


def test_non_message_events_are_ignored() -> None:
    optin = p.messaging_event(p.PSID, p.PAGE_ID, optin={"ref": "landing"})
    handover = p.messaging_event(p.PSID, p.PAGE_ID, pass_thread_control={"new_owner_app_id": 1})
    assert parse(p.messenger_payload(p.PAGE_ID, optin, handover)) == []


def test_entry_without_messaging_is_ignored() -> None:
    assert parse({"object": "page", "entry": [{"id": p.PAGE_ID, "time": p.TS_MS}]}) == []


def test_message_without_mid_is_skipped_and_the_rest_kept() -> None:
    payload = p.messenger_payload(
        p.PAGE_ID,
        p.messaging_event(p.PSID, p.PAGE_ID, message={"text": "no id"}),
        p.messaging_event(p.PSID, p.PAGE_ID, message={"mid": "m_ok", "text": "ok"}),
    )
    assert [e.external_message_id for e in parse(payload)] == ["m_ok"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("not a dict", "payload must be an object"),
        ({"object": "instagram", "entry": []}, "expected object 'page', got 'instagram'"),
        ({"object": "page", "entry": "x"}, "'entry' must be a list"),
        ({"object": "page", "entry": [{"messaging": {"x": 1}}]}, "messaging is not a list"),
        ({"object": "page", "entry": ["x"]}, r"entry\[0\] is not an object"),
        (p.messenger_payload(p.PAGE_ID, {"message": {"mid": "m"}}), "without sender.id"),
        (p.messenger_payload(p.PAGE_ID, {"sender": "x", "recipient": "y"}), "without sender.id"),
        (
            p.messenger_payload(
                p.PAGE_ID, p.messaging_event("U", "P", "soon", message={"mid": "m"})
            ),
            "invalid timestamp",
        ),
        (
            p.messenger_payload(p.PAGE_ID, p.messaging_event("U", "P", delivery={})),
            "delivery without mids or watermark",
        ),
    ],
)
def test_unreadable_payload_raises_malformed_payload(payload: Any, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse(payload)


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
        "facebookPageId": p.PAGE_ID,
        "pageAccessToken": TOKEN,
        "appSecret": "app-secret",
        "appId": p.APP_ID,
        "webhookVerifyToken": "verify-me",
        "apiBaseUrl": graph.base_url + "/",  # a trailing slash must not double up
    }


def reply(content: str = "Thanks for waiting!", **metadata: Any) -> OutboundMessage:
    return OutboundMessage(
        recipient=p.PSID, content=content, metadata=metadata, idempotency_key="msg-fb-1"
    )


async def test_send_posts_to_the_page_and_returns_the_message_id(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    result = await fb.send(http, config, reply())
    assert result.external_message_id.startswith("m_")
    (sent,) = graph.sent
    assert sent["path"] == f"/v21.0/{p.PAGE_ID}/messages"
    assert sent["json"] == {
        "recipient": {"id": p.PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Thanks for waiting!"},
    }
    assert sent["headers"]["Idempotency-Key"] == "msg-fb-1"
    assert sent["headers"]["Authorization"] == "Bearer ***"


async def test_send_with_media_sends_an_attachment(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    await fb.send(http, config, reply(media={"type": "document", "link": "https://x/a.pdf"}))
    assert graph.sent[0]["json"]["message"] == {
        "attachment": {"type": "file", "payload": {"url": "https://x/a.pdf", "is_reusable": True}}
    }


async def test_send_with_tag_is_a_tagged_message(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    await fb.send(http, config, reply(tag="HUMAN_AGENT"))
    body = graph.sent[0]["json"]
    assert body["messaging_type"] == "MESSAGE_TAG"
    assert body["tag"] == "HUMAN_AGENT"


async def test_repeated_idempotency_key_is_not_sent_twice(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    first = await fb.send(http, config, reply())
    again = await fb.send(http, config, reply())
    assert first == again
    assert len(graph.sent) == 1
    assert graph.duplicate_keys == 1


@pytest.mark.parametrize(
    ("status", "code"), [(429, 4), (400, 613), (400, 32), (500, 1), (503, 2), (400, 80007)]
)
async def test_throttling_and_server_errors_are_retryable(
    graph: FakeGraph,
    http: aiohttp.ClientSession,
    config: dict[str, Any],
    status: int,
    code: int,
) -> None:
    graph.fail_next(status=status, code=code, retry_after="3")
    with pytest.raises(RetryableSendError) as info:
        await fb.send(http, config, reply())
    assert info.value.code == code
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize(("status", "code"), [(400, 551), (403, 10), (403, 200), (400, 100)])
async def test_refusals_are_permanent(
    graph: FakeGraph,
    http: aiohttp.ClientSession,
    config: dict[str, Any],
    status: int,
    code: int,
) -> None:
    graph.fail_next(status=status, code=code)
    with pytest.raises(PermanentSendError) as info:
        await fb.send(http, config, reply())
    assert info.value.code == code


async def test_expired_token_is_permanent_and_not_in_the_error(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    with pytest.raises(PermanentSendError) as info:
        await fb.send(http, {**config, "pageAccessToken": "EAAB-expired"}, reply())
    assert info.value.code == 190
    assert "EAAB-expired" not in repr(info.value.as_dict())
    assert TOKEN not in repr(info.value.as_dict())


async def test_timeout_is_retryable(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.delay_next(0.5)
    with pytest.raises(RetryableSendError) as info:
        await MessengerConnector(timeout_seconds=0.1).send(http, config, reply())
    assert info.value.code == "TIMEOUT"
    await asyncio.sleep(0.6)  # let the fake finish its delayed handler
    assert graph.sent == []  # the client gave up before the platform acted
    assert [r["status"] for r in graph.requests] == [499]


async def test_timeout_after_the_platform_sent_is_recognised_on_retry(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.delay_next(0.5, after_send=True)
    with pytest.raises(RetryableSendError):
        await MessengerConnector(timeout_seconds=0.1).send(http, config, reply())
    result = await fb.send(http, config, reply())
    assert len(graph.sent) == 1
    assert graph.duplicate_keys == 1
    assert result.external_message_id == graph.sent[0]["response"]["message_id"]


async def test_non_json_server_error_is_retryable_with_http_code(
    http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    from aiohttp import web

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>")

    app = web.Application()
    app.router.add_post("/v21.0/{node}/messages", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        with pytest.raises(RetryableSendError) as info:
            await fb.send(http, {**config, "apiBaseUrl": f"http://127.0.0.1:{port}/v21.0"}, reply())
        assert info.value.code == "HTTP_502"
        assert "Bad Gateway" in info.value.message
    finally:
        await runner.cleanup()


async def test_test_connection_reports_the_page_name(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.names[p.PAGE_ID] = "Acme Shoes"
    result = await fb.test_connection(http, config)
    assert result.ok
    assert result.message == "Connected to Acme Shoes"
    assert result.details == {"pageId": p.PAGE_ID, "pageName": "Acme Shoes"}
    (request,) = graph.requests
    assert request["path"] == f"/v21.0/{p.PAGE_ID}"
    assert request["query"] == {"fields": "name,id"}


async def test_test_connection_reports_the_platform_error(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.fail_next(status=403, code=10, message="Requires pages_messaging permission")
    result = await fb.test_connection(http, config)
    assert not result.ok
    assert "pages_messaging" in result.message
    assert result.details["code"] == 10
    assert result.details["retryable"] is False


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    from connectors._graph import parse_retry_after

    now = datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("Wed, 29 May 2024 16:27:10 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 29 May 2024 16:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
