"""The SMS connector: Twilio's webhook signature (checked against Twilio's published vectors),
webhook parsing, error classification, and calls against the local fake Twilio gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import aiohttp
import pytest

from connectors.base import (
    DeliveryStatus,
    InboundMessage,
    MalformedPayload,
    OutboundMessage,
    PermanentSendError,
    RetryableSendError,
    StatusUpdate,
    WebhookRejected,
    WebhookRequest,
)
from connectors.sms import (
    SmsConfig,
    SmsConnector,
    classify_error,
    compute_signature,
    decode_form,
    normalise_phone,
    parse_payload,
    verify_signature,
)
from tests.fakes.twilio import FakeTwilio, signature

SID = "AC" + "0" * 31 + "1"
TOKEN = "twilio-auth-token"
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)

# Twilio's documented example (its request validator tests in every helper library).
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}

INBOUND = {
    "ToCountry": "US",
    "SmsMessageSid": "SM1f0e0000000000000000000000000001",
    "NumMedia": "0",
    "FromCity": "SAN FRANCISCO",
    "SmsSid": "SM1f0e0000000000000000000000000001",
    "FromCountry": "US",
    "SmsStatus": "received",
    "Body": "Where is my order?",
    "To": "+15005550006",
    "NumSegments": "1",
    "MessageSid": "SM1f0e0000000000000000000000000001",
    "AccountSid": SID,
    "From": "+14155552671",
    "ApiVersion": "2010-04-01",
}


def test_signatures_match_twilios_published_vectors():
    assert compute_signature("12345", DOC_URL, list(DOC_PARAMS.items())) == (
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    repeated = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert compute_signature("12345", DOC_URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_a_signature_is_checked_against_the_url_with_and_without_its_port():
    params = list(DOC_PARAMS.items())
    signed = compute_signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params)
    assert verify_signature("12345", [DOC_URL], params, signed)
    assert not verify_signature("12345", [DOC_URL], params, "RSOYDt4T1cUTdK1PDd93/VVr8B8X")
    assert not verify_signature("12345", [DOC_URL + "&x=1"], params, signed)
    assert not verify_signature("other", [DOC_URL], params, signed)
    assert not verify_signature("12345", [DOC_URL], params, None)


def test_the_fake_gateway_signs_like_the_connector_verifies():
    url = "http://testserver/webhook/ch1"
    assert verify_signature(TOKEN, [url], list(INBOUND.items()), signature(TOKEN, url, INBOUND))


def test_verify_webhook_rejects_missing_and_forged_signatures():
    connector = SmsConnector()
    body = urlencode(INBOUND).encode()
    url = "http://testserver/webhook/ch1"
    good = signature(TOKEN, url, INBOUND)
    config = {"authToken": TOKEN}
    connector.verify_webhook(
        WebhookRequest(body=body, headers={"x-twilio-signature": good}, urls=[url]), config
    )
    with pytest.raises(WebhookRejected) as missing:
        connector.verify_webhook(WebhookRequest(body=body, headers={}, urls=[url]), config)
    assert missing.value.missing
    tampered = body.replace(b"order", b"refund")
    with pytest.raises(WebhookRejected) as forged:
        connector.verify_webhook(
            WebhookRequest(body=tampered, headers={"x-twilio-signature": good}, urls=[url]), config
        )
    assert not forged.value.missing


def test_an_incoming_sms_becomes_a_message_in_the_senders_conversation():
    [event] = parse_payload(INBOUND, NOW)
    assert isinstance(event, InboundMessage)
    assert event.thread_id == "+14155552671"
    assert event.external_message_id == "SM1f0e0000000000000000000000000001"
    assert event.content == "Where is my order?" and event.type == "text"
    assert event.timestamp == NOW
    assert event.metadata["to"] == "+15005550006" and event.metadata["fromCity"] == "SAN FRANCISCO"


def test_an_mms_keeps_its_media():
    fields = {
        **INBOUND,
        "Body": "",
        "NumMedia": "2",
        "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        "MediaContentType1": "application/pdf",
    }
    [event] = parse_payload(fields, NOW)
    assert isinstance(event, InboundMessage)
    assert event.type == "image" and event.content == "[image]"
    assert event.metadata["media"]["mimeType"] == "image/jpeg"
    assert len(event.metadata["attachments"]) == 2


@pytest.mark.parametrize(
    ("twilio_status", "ours"),
    [
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("undelivered", DeliveryStatus.FAILED),
        ("failed", DeliveryStatus.FAILED),
        ("read", DeliveryStatus.READ),
    ],
)
def test_status_callbacks_become_status_updates(twilio_status, ours):
    fields = {
        "SmsSid": "SMabc",
        "SmsStatus": twilio_status,
        "MessageStatus": twilio_status,
        "To": "+14155552671",
        "MessageSid": "SMabc",
        "AccountSid": SID,
        "From": "+15005550006",
        "ApiVersion": "2010-04-01",
    }
    if ours == DeliveryStatus.FAILED:
        fields["ErrorCode"] = "30003"
    [event] = parse_payload(fields, NOW)
    assert isinstance(event, StatusUpdate)
    assert (event.thread_id, event.external_message_id, event.status) == (
        "+14155552671",
        "SMabc",
        ours,
    )
    if ours == DeliveryStatus.FAILED:
        assert event.error == {
            "code": "30003",
            "message": f"Unreachable destination handset ({twilio_status})",
            "status": twilio_status,
        }


def test_steps_before_sent_are_ignored_and_unknown_bodies_refused():
    queued = {"MessageSid": "SMabc", "MessageStatus": "queued", "To": "+14155552671"}
    assert parse_payload(queued, NOW) == []
    with pytest.raises(MalformedPayload):
        parse_payload({"hello": "world"}, NOW)
    with pytest.raises(MalformedPayload):
        parse_payload({"MessageStatus": "delivered", "To": "+1"}, NOW)  # no MessageSid
    with pytest.raises(MalformedPayload):
        decode_form(b"\xff\xfe")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 (20) 7946-0958", "+442079460958"),
        ("+1.415.555.2671", "+14155552671"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["020 7946 0958", "+0123456789", "+12", "phone", "+1234567890123456"]
)
def test_national_or_malformed_numbers_are_refused(raw):
    with pytest.raises(ValueError, match="E.164"):
        normalise_phone(raw)


def test_the_config_needs_credentials_and_a_sender():
    with pytest.raises(ValueError, match="fromNumber"):
        SmsConfig(accountSid=SID, authToken=TOKEN)
    with pytest.raises(ValueError, match="baseUrl"):
        SmsConfig(accountSid=SID, authToken=TOKEN, fromNumber="+15005550006", baseUrl="ftp://x")
    alpha = SmsConfig(accountSid=SID, authToken=TOKEN, fromNumber="ACME Shop")
    assert alpha.fromNumber == "ACME Shop"
    cfg = SmsConfig(accountSid=SID, authToken=TOKEN, fromNumber="+1 500 555 0006")
    assert cfg.fromNumber == "+15005550006"
    assert cfg.account_url == f"https://api.twilio.com/2010-04-01/Accounts/{SID}"


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (429, 20429, True),
        (500, 20500, True),
        (503, None, True),
        (400, 21211, False),
        (401, 20003, False),
    ],
)
def test_gateway_errors_are_classified(status, code, retryable):
    body = {"code": code, "message": f"problem with {TOKEN}", "status": status}
    err = classify_error(status, body if code else None, "", None, TOKEN)
    assert isinstance(err, RetryableSendError if retryable else PermanentSendError)
    assert TOKEN not in err.message
    assert err.code == (code if code else f"HTTP_{status}")


# -- against the fake gateway ----------------------------------------------------------------


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as fake:
        fake.accounts[SID] = TOKEN
        yield fake


def config(twilio: FakeTwilio, **over: object) -> dict:
    return {
        "accountSid": SID,
        "authToken": TOKEN,
        "fromNumber": "+15005550006",
        "baseUrl": twilio.base_url,
        "statusCallbackUrl": "https://inbox.example/webhook/ch1",
        **over,
    }


def sms(recipient: str = "+14155552671", key: str = "msg-1") -> OutboundMessage:
    return OutboundMessage(recipient=recipient, content="Your order shipped", idempotency_key=key)


async def test_a_send_posts_twilios_form_and_returns_the_sid(twilio):
    async with aiohttp.ClientSession() as http:
        result = await SmsConnector().send(http, config(twilio), sms())
    [sent] = twilio.sent
    assert result.external_message_id == sent["sid"] and sent["sid"].startswith("SM")
    assert sent["form"] == {
        "To": "+14155552671",
        "Body": "Your order shipped",
        "From": "+15005550006",
        "StatusCallback": "https://inbox.example/webhook/ch1",
    }
    assert twilio.requests[0]["idempotencyKey"] == "msg-1"


async def test_an_invalid_number_is_permanent_and_a_503_retryable(twilio):
    twilio.invalid_numbers.add("+15005550001")
    async with aiohttp.ClientSession() as http:
        with pytest.raises(PermanentSendError, match="21211") as invalid:
            await SmsConnector().send(http, config(twilio), sms("+15005550001"))
        twilio.fail_next(1, status=503)
        with pytest.raises(RetryableSendError):
            await SmsConnector().send(http, config(twilio), sms(key="msg-2"))
    assert invalid.value.details["moreInfo"] == "https://www.twilio.com/docs/errors/21211"
    assert twilio.sent == []


async def test_test_connection_reads_the_account(twilio):
    async with aiohttp.ClientSession() as http:
        ok = await SmsConnector().test_connection(http, config(twilio))
        bad = await SmsConnector().test_connection(http, config(twilio, authToken="wrong"))
    assert ok.ok and ok.message == "Connected to Test shop account"
    assert ok.details == {
        "accountSid": SID,
        "friendlyName": "Test shop account",
        "status": "active",
        "type": "Full",
    }
    assert not bad.ok and bad.details["code"] == 20003 and "wrong" not in bad.message
