"""MOCK connector: our own development format, no network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from connectors import CONNECTED_TYPES, get_connector
from connectors.base import (
    ChannelType,
    DeliveryStatus,
    InboundMessage,
    MalformedPayload,
    OutboundMessage,
    StatusUpdate,
)
from connectors.mock import MockConfig, MockConnector
from tests.fakes import payloads as p

mock = MockConnector()


def parse(payload: Any) -> list[InboundMessage | StatusUpdate]:
    return mock.parse(payload, {})


def test_connected_types_are_the_ones_with_a_connector() -> None:
    assert CONNECTED_TYPES == {
        ChannelType.WHATSAPP,
        ChannelType.INSTAGRAM,
        ChannelType.FACEBOOK,
        ChannelType.EMAIL,
        ChannelType.SMS,
        ChannelType.MOCK,
    }
    assert isinstance(get_connector(ChannelType.MOCK), MockConnector)
    assert isinstance(get_connector("mock"), MockConnector)


def test_config_needs_nothing_and_keeps_extra_keys() -> None:
    cfg = MockConfig.model_validate({"colour": "green"})
    assert cfg.appSecret is None and cfg.webhookVerifyToken is None and cfg.apiBaseUrl is None
    assert cfg.model_extra == {"colour": "green"}


def test_message_becomes_an_inbound_text_message() -> None:
    (msg,) = parse(p.mock_text("mock-1", "alice", "Hi there", p.TS, "Alice"))
    assert isinstance(msg, InboundMessage)
    assert msg.external_message_id == "mock-1"
    assert msg.thread_id == "alice"
    assert msg.customer_name == "Alice"
    assert msg.content == "Hi there"
    assert msg.type == "text"
    assert msg.timestamp == datetime.fromtimestamp(p.TS, UTC)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (1717000000, datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)),
        ("1717000000", datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)),
        ("2024-05-29T16:26:40Z", datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)),
        ("2024-05-29T18:26:40+02:00", datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)),
        ("2024-05-29T16:26:40", datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC)),
    ],
)
def test_timestamp_may_be_unix_seconds_or_iso(timestamp: Any, expected: datetime) -> None:
    (msg,) = parse(p.mock_text(timestamp=timestamp))
    assert msg.timestamp == expected
    assert msg.timestamp.tzinfo is not None


def test_missing_timestamp_means_now() -> None:
    (msg,) = parse(p.mock_text(timestamp=None))
    assert datetime.now(UTC) - msg.timestamp < timedelta(seconds=5)


def test_message_without_text_still_has_content() -> None:
    (msg,) = parse({"messages": [{"id": "1", "from": "bob"}]})
    assert msg.content == "[empty message]"
    assert msg.customer_name is None


@pytest.mark.parametrize("raw", ["sent", "DELIVERED", "read", "failed"])
def test_status_becomes_a_status_update(raw: str) -> None:
    (status,) = parse(p.mock_status("out-1", "alice", raw))
    assert isinstance(status, StatusUpdate)
    assert status.status is DeliveryStatus(raw.upper())
    assert status.external_message_id == "out-1"
    assert status.thread_id == "alice"


def test_messages_and_statuses_together_keep_order_and_duplicates() -> None:
    payload = p.mock_payload(
        messages=[p.mock_message("a"), p.mock_message("b"), p.mock_message("a")],
        statuses=[{"id": "out-1", "recipient": "customer-1", "status": "read"}],
    )
    assert [e.external_message_id for e in parse(payload)] == ["a", "b", "a", "out-1"]


def test_item_without_id_is_skipped_and_the_rest_kept() -> None:
    payload = p.mock_payload(messages=[{"from": "x", "text": "no id"}, p.mock_message("ok")])
    assert [e.external_message_id for e in parse(payload)] == ["ok"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (["x"], "payload must be an object"),
        ({"hello": 1}, "needs 'messages' and/or 'statuses'"),
        ({"messages": "hi"}, "messages is not a list"),
        ({"messages": [{"from": "x"}]}, "without id"),
        ({"statuses": [{"id": "1", "recipient": "x", "status": "lost"}]}, "unknown status"),
        (
            {"messages": [{"id": "1", "from": "x", "timestamp": "last tuesday"}]},
            "invalid timestamp",
        ),
    ],
)
def test_unreadable_payload_raises_malformed_payload(payload: Any, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse(payload)


def test_empty_lists_are_an_empty_delivery() -> None:
    assert parse({"messages": [], "statuses": []}) == []


async def test_send_posts_nothing_and_returns_an_id_from_the_idempotency_key() -> None:
    message = OutboundMessage(recipient="alice", content="hi", idempotency_key="k-42")
    async with aiohttp.ClientSession() as http:
        first = await mock.send(http, {}, message)
        again = await mock.send(http, {}, message)
    assert first.external_message_id == "mock-k-42"
    assert again == first


async def test_test_connection_is_always_ok() -> None:
    async with aiohttp.ClientSession() as http:
        result = await mock.test_connection(http, {})
    assert result.ok
    assert result.message == "Mock channel: nothing to connect"
