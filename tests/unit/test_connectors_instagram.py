"""Instagram Messaging connector: the Messenger shape with `object: "instagram"`."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
from connectors.instagram import InstagramConfig, InstagramConnector
from connectors.messenger import MessengerPlatformConnector
from tests.fakes import payloads as p
from tests.fakes.graph import FakeGraph

TOKEN = "EAAB-ig-page-token"
ig = InstagramConnector()


def parse(payload: dict[str, Any]) -> list[InboundMessage | StatusUpdate]:
    return ig.parse(payload, {})


def only_message(payload: dict[str, Any]) -> InboundMessage:
    events = parse(payload)
    assert len(events) == 1
    assert isinstance(events[0], InboundMessage)
    return events[0]


def test_registry_returns_the_instagram_connector_sharing_messenger_code() -> None:
    connector = get_connector("INSTAGRAM")
    assert isinstance(connector, InstagramConnector)
    assert isinstance(connector, MessengerPlatformConnector)
    assert connector.type is ChannelType.INSTAGRAM


def test_config_also_requires_the_instagram_account_id() -> None:
    base = {
        "facebookPageId": p.PAGE_ID,
        "pageAccessToken": TOKEN,
        "appSecret": "s",
        "appId": p.APP_ID,
        "webhookVerifyToken": "v",
    }
    with pytest.raises(ValidationError) as info:
        InstagramConfig.model_validate(base)
    assert [err["loc"][0] for err in info.value.errors()] == ["instagramAccountId"]
    assert InstagramConfig.model_validate({**base, "instagramAccountId": p.IG_ACCOUNT_ID})


def test_direct_message_is_threaded_by_the_igsid() -> None:
    msg = only_message(p.instagram_text(igsid="IGSID-1", text="Is this in stock?"))
    assert msg.thread_id == "IGSID-1"
    assert msg.direction is Direction.INBOUND
    assert msg.content == "Is this in stock?"


def test_echo_is_stored_as_outbound_on_customer_thread() -> None:
    msg = only_message(p.instagram_echo(igsid="IGSID-2", text="Yes, it is!"))
    assert msg.direction is Direction.OUTBOUND
    assert msg.thread_id == "IGSID-2"


def test_story_reply_keeps_the_story_reference() -> None:
    msg = only_message(p.instagram_story_reply(text="Love this!"))
    assert msg.content == "Love this!"
    assert msg.metadata["replyTo"]["story"]["id"] == "1791"


@pytest.mark.parametrize(
    ("kind", "summary"),
    [("story_mention", "[story mention]"), ("share", "[shared post]"), ("ig_reel", "[reel]")],
)
def test_instagram_attachments_are_summarised(kind: str, summary: str) -> None:
    msg = only_message(p.instagram_attachments(attachments=[p.attachment(kind, "https://ig/x")]))
    assert msg.type == kind
    assert msg.content == summary
    assert msg.metadata["attachments"][0]["url"] == "https://ig/x"


def test_unsent_message_becomes_a_deletion_notice_beside_the_original() -> None:
    msg = only_message(p.instagram_deleted(mid="aWdf-original"))
    assert msg.type == "deleted"
    assert msg.content == "[message deleted]"
    assert msg.external_message_id == "aWdf-original#deleted"
    assert msg.metadata == {"deleted": True, "deletedMessageId": "aWdf-original"}


def test_seen_receipt_names_the_message_read() -> None:
    (event,) = parse(p.instagram_seen(mid="aWdf-echo"))
    assert isinstance(event, StatusUpdate)
    assert event.status is DeliveryStatus.READ
    assert event.external_message_id == "aWdf-echo"
    assert event.watermark is None


def test_reaction_and_postback_work_as_on_messenger() -> None:
    reaction = only_message(
        p.messenger_reaction(p.IG_ACCOUNT_ID, p.IGSID, "aWdf-1", "❤", object_="instagram")
    )
    postback = only_message(
        p.messenger_postback(p.IG_ACCOUNT_ID, p.IGSID, "Shop now", "SHOP", object_="instagram")
    )
    assert reaction.content == "reacted ❤"
    assert postback.content == "Shop now"


def test_comment_changes_are_ignored_without_error() -> None:
    assert parse(p.instagram_comment()) == []


def test_comments_beside_messages_do_not_hide_the_messages() -> None:
    batch = p.messenger_batch(p.instagram_comment(), p.instagram_text(mid="aWdf-2"))
    assert [e.external_message_id for e in parse(batch)] == ["aWdf-2"]


def test_messenger_payload_is_not_an_instagram_payload() -> None:
    with pytest.raises(MalformedPayload, match="expected object 'instagram', got 'page'"):
        parse(p.messenger_text())


def test_message_without_sender_raises_when_nothing_else_is_readable() -> None:
    payload = p.instagram_text()
    del payload["entry"][0]["messaging"][0]["sender"]
    with pytest.raises(MalformedPayload, match="without sender.id"):
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
        "instagramAccountId": p.IG_ACCOUNT_ID,
        "pageAccessToken": TOKEN,
        "appSecret": "app-secret",
        "appId": p.APP_ID,
        "webhookVerifyToken": "verify-me",
        "apiBaseUrl": graph.base_url,
    }


def reply(content: str = "It ships tomorrow") -> OutboundMessage:
    return OutboundMessage(recipient=p.IGSID, content=content, idempotency_key="msg-ig-1")


async def test_send_posts_to_me_messages_with_the_page_token(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    result = await ig.send(http, config, reply())
    (sent,) = graph.sent
    assert sent["path"] == "/v21.0/me/messages"
    assert sent["json"] == {
        "recipient": {"id": p.IGSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "It ships tomorrow"},
    }
    assert sent["headers"]["Idempotency-Key"] == "msg-ig-1"
    assert result.external_message_id == sent["response"]["message_id"]


async def test_rate_limit_is_retryable_with_retry_after(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.fail_next(status=429, code=4, retry_after=12)
    with pytest.raises(RetryableSendError) as info:
        await ig.send(http, config, reply())
    assert info.value.retry_after == 12.0


async def test_outside_the_messaging_window_is_permanent(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.fail_next(status=400, code=10, subcode=2534022, message="outside of allowed window")
    with pytest.raises(PermanentSendError) as info:
        await ig.send(http, config, reply())
    assert info.value.code == 10
    assert info.value.details["subcode"] == 2534022


async def test_test_connection_checks_the_linked_page(
    graph: FakeGraph, http: aiohttp.ClientSession, config: dict[str, Any]
) -> None:
    graph.names[p.PAGE_ID] = "Acme on Instagram"
    result = await ig.test_connection(http, config)
    assert result.ok
    assert result.message == "Connected to Acme on Instagram"
    assert result.details["instagramAccountId"] == p.IG_ACCOUNT_ID
    assert graph.requests[0]["path"] == f"/v21.0/{p.PAGE_ID}"
    assert TOKEN not in str(result.model_dump())
