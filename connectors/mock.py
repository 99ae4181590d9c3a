"""MOCK: our own simple development format, so the inbox works offline.

Webhook body:
    {"messages": [{"id", "from", "name"?, "text", "timestamp"?}],
     "statuses": [{"id", "recipient", "status", "timestamp"?}]}
`timestamp` is unix seconds or ISO-8601 (missing -> now). Sending posts nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict

from connectors._common import (
    Batch,
    Event,
    OptionalStr,
    SkipItem,
    from_seconds_or_iso,
    list_field,
    nonempty_str,
    require_dict,
)
from connectors.base import (
    ChannelType,
    ConnectionResult,
    DeliveryStatus,
    InboundMessage,
    MalformedPayload,
    OutboundMessage,
    SendResult,
    StatusUpdate,
)


class MockConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    appSecret: OptionalStr = None  # noqa: N815 - the API's camelCase keys
    webhookVerifyToken: OptionalStr = None  # noqa: N815
    apiBaseUrl: OptionalStr = None  # noqa: N815


def _timestamp(value: Any) -> datetime:
    # Dev convenience: hand-written payloads may leave the time out.
    return datetime.now(UTC) if value in (None, "") else from_seconds_or_iso(value)


def _message(item: Any) -> Event:
    if not isinstance(item, dict):
        raise SkipItem("message is not an object")
    msg_id, sender = nonempty_str(item.get("id")), nonempty_str(item.get("from"))
    if not msg_id or not sender:
        raise SkipItem("message without id or from")
    text = item.get("text")
    return InboundMessage(
        thread_id=sender,
        external_message_id=msg_id,
        timestamp=_timestamp(item.get("timestamp")),
        type="text",
        content=text if isinstance(text, str) and text else "[empty message]",
        customer_name=nonempty_str(item.get("name")),
    )


def _status(item: Any) -> Event:
    if not isinstance(item, dict):
        raise SkipItem("status is not an object")
    msg_id, recipient = nonempty_str(item.get("id")), nonempty_str(item.get("recipient"))
    if not msg_id or not recipient:
        raise SkipItem("status without id or recipient")
    try:
        status = DeliveryStatus(str(item.get("status", "")).upper())
    except ValueError:
        raise SkipItem(f"unknown status {item.get('status')!r}") from None
    error = item.get("error")
    return StatusUpdate(
        thread_id=recipient,
        external_message_id=msg_id,
        status=status,
        timestamp=_timestamp(item.get("timestamp")),
        error=error if isinstance(error, dict) else None,
    )


def parse_payload(payload: dict[str, Any]) -> list[Event]:
    payload = require_dict(payload, "payload")
    if "messages" not in payload and "statuses" not in payload:
        raise MalformedPayload("a MOCK payload needs 'messages' and/or 'statuses'")
    batch = Batch()
    for i, item in enumerate(list_field(payload, "messages", "payload", batch)):
        batch.add(f"messages[{i}]", _message, item)
    for i, item in enumerate(list_field(payload, "statuses", "payload", batch)):
        batch.add(f"statuses[{i}]", _status, item)
    return batch.finish()


class MockConnector:
    type = ChannelType.MOCK
    config_model = MockConfig
    secret_fields = frozenset({"appSecret"})

    def parse(self, payload: dict[str, Any], config: dict[str, Any]) -> list[Event]:
        return parse_payload(payload)

    async def send(
        self, http: aiohttp.ClientSession, config: dict[str, Any], message: OutboundMessage
    ) -> SendResult:
        # Nothing leaves the machine; the id is derived from the key so a retry matches.
        return SendResult(external_message_id=f"mock-{message.idempotency_key}")

    async def test_connection(
        self, http: aiohttp.ClientSession, config: dict[str, Any]
    ) -> ConnectionResult:
        return ConnectionResult(ok=True, message="Mock channel: nothing to connect")
