"""SMS through an HTTP gateway speaking Twilio's Messages API (Twilio itself by default).

Config: `accountSid`, `authToken` (secret), `fromNumber` (E.164, or an alphanumeric sender
id) or `messagingServiceSid`, `baseUrl` (default `https://api.twilio.com`), and optionally
`statusCallbackUrl` (by default the channel's own webhook URL, filled in by the channels
service as the resolved config's `statusCallbackUrl`).

Sending: `POST {baseUrl}/2010-04-01/Accounts/{accountSid}/Messages.json`, form-encoded `To`,
`From` or `MessagingServiceSid`, `Body` (and `MediaUrl`, `StatusCallback`), HTTP basic auth
accountSid:authToken. Answer `{"sid", "status", ...}`; errors `{"code", "message",
"more_info", "status"}`: 429 and 5xx are retryable, other 4xx (21211 invalid number, 20003
bad credentials, ...) permanent. Our message id goes along as `Idempotency-Key`, so a gateway
that honours it never sends a retry twice.

Webhooks: Twilio posts form-encoded fields to the channel's webhook URL, signed with
`X-Twilio-Signature` = base64(HMAC-SHA1(authToken, URL + every field name and value, sorted
by name)). An incoming SMS (`From`, `Body`, `MessageSid`, `NumMedia`, ...) becomes an
InboundMessage in the conversation of the sender's number; a status callback
(`MessageStatus` = sent | delivered | undelivered | failed | read) becomes a StatusUpdate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from connectors._common import (
    Batch,
    Event,
    OptionalStr,
    RequiredStr,
    SkipItem,
    compact,
    nonempty_str,
)
from connectors._graph import load_config, parse_retry_after, redact
from connectors.base import (
    ChannelType,
    ConnectionResult,
    DeliveryStatus,
    InboundMessage,
    MalformedPayload,
    OutboundMessage,
    PermanentSendError,
    RetryableSendError,
    SendError,
    SendResult,
    StatusUpdate,
    WebhookRejected,
    WebhookRequest,
)

PLATFORM = "SMS gateway"
DEFAULT_BASE_URL = "https://api.twilio.com"
API_VERSION = "2010-04-01"
DEFAULT_TIMEOUT_SECONDS = 15.0
SIGNATURE_HEADER = "X-Twilio-Signature"
# An empty TwiML answer: "received, nothing to reply" (Twilio reads the answer as TwiML).
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

E164 = re.compile(r"\+[1-9]\d{6,14}")
_PHONE_FORMATTING = re.compile(r"[\s\-().]")
_ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_SID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_RETRYABLE_CODES = frozenset({20429, 20500, 20503, 30001})  # too many requests, 5xx, queue

_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
# queued, accepted, scheduled, sending: steps before "sent" that our SENT already covers.

# Carrier-side reasons Twilio gives in status callbacks, for a readable failure.
_ERROR_TEXTS = {
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
    "30034": "Message from an unregistered number",
    "21610": "The recipient unsubscribed (replied STOP)",
}


def normalise_phone(raw: str) -> str:
    """A phone number in E.164 (`+` and 7 to 15 digits); spaces, dashes, dots and brackets
    are dropped and a leading 00 is read as `+`. ValueError when it is not international."""
    compact_number = _PHONE_FORMATTING.sub("", raw.strip())
    if compact_number.startswith("00"):
        compact_number = "+" + compact_number[2:]
    if not E164.fullmatch(compact_number):
        raise ValueError(
            "not an international (E.164) phone number: + and the country code, 7 to 15 digits"
        )
    return compact_number


class SmsConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    accountSid: RequiredStr  # noqa: N815 - the API's camelCase keys
    authToken: RequiredStr  # noqa: N815
    fromNumber: OptionalStr = None  # noqa: N815
    messagingServiceSid: OptionalStr = None  # noqa: N815
    baseUrl: OptionalStr = None  # noqa: N815
    statusCallbackUrl: OptionalStr = None  # noqa: N815

    @field_validator("accountSid", "messagingServiceSid")
    @classmethod
    def _sid(cls, v: str | None) -> str | None:
        if v and not _SID.fullmatch(v):
            raise ValueError("letters, digits, '-' and '_' only (e.g. AC0123...)")
        return v or None

    @field_validator("fromNumber")
    @classmethod
    def _sender(cls, v: str | None) -> str | None:
        if not v:
            return None
        try:
            return normalise_phone(v)
        except ValueError:
            if _ALPHANUMERIC_SENDER.fullmatch(v):
                return v  # an alphanumeric sender id, where carriers allow one
            raise ValueError(
                "an E.164 phone number (+ and country code) or an alphanumeric sender id "
                "of at most 11 characters"
            ) from None

    @field_validator("baseUrl", "statusCallbackUrl")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if not v:
            return None
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("an http(s) URL")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _has_sender(self) -> SmsConfig:
        if not self.fromNumber and not self.messagingServiceSid:
            raise ValueError("fromNumber (or messagingServiceSid) is required")
        return self

    @property
    def api_base(self) -> str:
        return (self.baseUrl or DEFAULT_BASE_URL).rstrip("/")

    @property
    def account_url(self) -> str:
        return f"{self.api_base}/{API_VERSION}/Accounts/{quote(self.accountSid, safe='')}"


# ---------------------------------------------------------------------------------------
# Webhook signatures
# ---------------------------------------------------------------------------------------


def compute_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's `X-Twilio-Signature` for a form POST: HMAC-SHA1 over the URL followed by each
    parameter name and value, sorted by name (a repeated name: its distinct values, sorted),
    base64-encoded."""
    data = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """The URL as given, without its default port and with it: Twilio signs whichever form
    it was configured with, and proxies add or drop the port."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    without = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    port = parts.port or default
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}")) if port else url
    return list(dict.fromkeys([url, without, with_port]))


def verify_signature(
    auth_token: str, urls: list[str], params: list[tuple[str, str]], signature: str | None
) -> bool:
    if not signature or not auth_token:
        return False
    given = signature.strip().encode()
    for url in urls:
        for variant in _port_variants(url):
            expected = compute_signature(auth_token, variant, params).encode()
            if hmac.compare_digest(expected, given):
                return True
    return False


def decode_form(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPayload("the body is not UTF-8") from None
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError as exc:
        raise MalformedPayload(f"the body is not form-encoded: {exc}") from None


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def _media_kind(mime: str | None) -> str:
    major = (mime or "").split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "document"


def _inbound(fields: dict[str, str], now: datetime) -> InboundMessage:
    sid = nonempty_str(fields.get("MessageSid") or fields.get("SmsMessageSid"))
    sender = nonempty_str(fields.get("From"))
    if not sid or not sender:
        raise SkipItem("incoming message without MessageSid or From")
    try:
        count = max(0, int(fields.get("NumMedia") or 0))
    except ValueError:
        count = 0
    media = [
        compact(url=fields.get(f"MediaUrl{i}"), mimeType=fields.get(f"MediaContentType{i}"))
        for i in range(min(count, 10))
        if fields.get(f"MediaUrl{i}")
    ]
    body = fields.get("Body") or ""
    kind = _media_kind(media[0].get("mimeType")) if media else "text"
    content = body or (f"[{kind}]" if media else "[empty message]")
    metadata: dict[str, Any] = compact(
        to=fields.get("To"),
        accountSid=fields.get("AccountSid"),
        messagingServiceSid=fields.get("MessagingServiceSid"),
        numSegments=fields.get("NumSegments"),
        fromCity=fields.get("FromCity") or None,
        fromState=fields.get("FromState") or None,
        fromCountry=fields.get("FromCountry") or None,
    )
    if media:
        metadata["media"] = {**media[0], "type": kind}
        if len(media) > 1:
            metadata["attachments"] = media
    return InboundMessage(
        thread_id=sender,
        external_message_id=sid,
        # Twilio's webhooks carry no time: the moment it reached us stands in.
        timestamp=now,
        type=kind,
        content=content,
        customer_name=nonempty_str(fields.get("ProfileName")),
        metadata=metadata,
    )


def _status(fields: dict[str, str], now: datetime) -> StatusUpdate | None:
    sid = nonempty_str(fields.get("MessageSid") or fields.get("SmsSid"))
    recipient = nonempty_str(fields.get("To"))
    if not sid or not recipient:
        raise SkipItem("status callback without MessageSid or To")
    raw = str(fields.get("MessageStatus", "")).lower()
    status = _STATUSES.get(raw)
    if status is None:
        return None
    error = None
    code = nonempty_str(fields.get("ErrorCode"))
    if status is DeliveryStatus.FAILED:
        text = fields.get("ErrorMessage") or _ERROR_TEXTS.get(code or "") or f"message {raw}"
        error = compact(code=code, message=f"{text} ({raw})" if code else text, status=raw)
    return StatusUpdate(
        thread_id=recipient,
        external_message_id=sid,
        status=status,
        timestamp=now,
        error=error,
    )


def parse_payload(payload: dict[str, Any], now: datetime | None = None) -> list[Event]:
    """One Twilio webhook (its form fields as a dict): a status callback when it names a
    `MessageStatus`, else an incoming message."""
    if not isinstance(payload, dict):
        raise MalformedPayload("payload must be an object")
    fields = {str(k): v if isinstance(v, str) else str(v) for k, v in payload.items()}
    now = now or datetime.now(UTC)
    batch = Batch()
    if "MessageStatus" in fields:
        batch.add("status callback", _status, fields, now)
    elif "From" in fields and ("Body" in fields or "NumMedia" in fields):
        batch.add("incoming message", _inbound, fields, now)
    else:
        raise MalformedPayload("neither an incoming message nor a status callback")
    return batch.finish()


# ---------------------------------------------------------------------------------------
# Gateway calls
# ---------------------------------------------------------------------------------------


def classify_error(
    status: int, body: Any, text: str, retry_after: float | None, token: str
) -> SendError:
    """A non-2xx answer as RetryableSendError (429, 5xx) or PermanentSendError."""
    answer = body if isinstance(body, dict) else {}
    code = answer.get("code")
    reason = answer.get("message") or text.strip()[:300] or "empty response"
    details = compact(
        httpStatus=status,
        code=code,
        moreInfo=answer.get("more_info"),
    )
    shown = code if code is not None else f"HTTP_{status}"
    message = redact(f"SMS gateway error {shown} (HTTP {status}): {reason}", (token,))
    if status == 429 or status >= 500 or code in _RETRYABLE_CODES:
        return RetryableSendError(message, code=shown, details=details, retry_after=retry_after)
    return PermanentSendError(message, code=shown, details=details)


async def gateway_request(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    cfg: SmsConfig,
    *,
    timeout_seconds: float,
    form: dict[str, str] | list[tuple[str, str]] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    credentials = base64.b64encode(f"{cfg.accountSid}:{cfg.authToken}".encode()).decode()
    headers = {"Accept": "application/json", "Authorization": f"Basic {credentials}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    try:
        async with http.request(
            method,
            url,
            data=form,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        ) as resp:
            status = resp.status
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            text = await resp.text(errors="replace")
    except TimeoutError:
        raise RetryableSendError(
            f"SMS gateway did not answer within {timeout_seconds:g}s", code="TIMEOUT"
        ) from None
    except aiohttp.ClientError as exc:
        raise RetryableSendError(
            redact(f"SMS gateway unreachable: {type(exc).__name__}: {exc}", (cfg.authToken,)),
            code="NETWORK_ERROR",
        ) from None
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = None
    if 200 <= status < 300:
        if not isinstance(body, dict):
            # It may have acted on the request: retrying could send twice, so permanent.
            raise PermanentSendError(
                f"SMS gateway answered HTTP {status} without a JSON object",
                code="BAD_RESPONSE",
                details={"httpStatus": status},
            )
        return body
    raise classify_error(status, body, text, retry_after, cfg.authToken)


def build_send_form(
    cfg: SmsConfig, message: OutboundMessage, status_callback: str | None
) -> list[tuple[str, str]]:
    try:
        to = normalise_phone(message.recipient)
    except ValueError as exc:
        raise PermanentSendError(str(exc), code="INVALID_RECIPIENT") from None
    form = [("To", to), ("Body", message.content)]
    if cfg.messagingServiceSid:
        form.append(("MessagingServiceSid", cfg.messagingServiceSid))
    if cfg.fromNumber:
        form.append(("From", cfg.fromNumber))
    media = message.metadata.get("media")
    if isinstance(media, dict) and (media.get("link") or media.get("url")):
        form.append(("MediaUrl", str(media.get("link") or media.get("url"))))
    if status_callback:
        form.append(("StatusCallback", status_callback))
    return form


class SmsConnector:
    type = ChannelType.SMS
    config_model = SmsConfig
    secret_fields = frozenset({"authToken"})
    webhook_reply = (TWIML_EMPTY, "text/xml")

    def __init__(self, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds

    def verify_webhook(self, request: WebhookRequest, config: dict[str, Any]) -> None:
        token = config.get("authToken")
        signature = request.headers.get(SIGNATURE_HEADER.lower())
        if not signature:
            raise WebhookRejected(f"Missing {SIGNATURE_HEADER}", missing=True)
        params = decode_form(request.body)
        if not isinstance(token, str) or not verify_signature(
            token, request.urls, params, signature
        ):
            raise WebhookRejected(f"Invalid {SIGNATURE_HEADER}")

    def decode_webhook(self, body: bytes) -> dict[str, Any]:
        return dict(decode_form(body))

    def parse(self, payload: dict[str, Any], config: dict[str, Any]) -> list[Event]:
        return parse_payload(payload)

    async def send(
        self, http: aiohttp.ClientSession, config: dict[str, Any], message: OutboundMessage
    ) -> SendResult:
        cfg = load_config(SmsConfig, config, "SMS")
        form = build_send_form(cfg, message, cfg.statusCallbackUrl)
        answer = await gateway_request(
            http,
            "POST",
            f"{cfg.account_url}/Messages.json",
            cfg,
            timeout_seconds=self.timeout_seconds,
            form=form,
            idempotency_key=message.idempotency_key,
        )
        sid = nonempty_str(answer.get("sid"))
        if not sid:
            raise PermanentSendError(
                "SMS gateway accepted the message but returned no sid", code="BAD_RESPONSE"
            )
        if str(answer.get("status", "")).lower() in ("failed", "undelivered"):
            code = answer.get("error_code")
            raise PermanentSendError(
                f"SMS gateway refused the message {sid}: "
                f"{answer.get('error_message') or _ERROR_TEXTS.get(str(code), 'failed')}",
                code=code or "FAILED",
                details=compact(sid=sid, errorCode=code),
            )
        return SendResult(external_message_id=sid)

    async def test_connection(
        self, http: aiohttp.ClientSession, config: dict[str, Any]
    ) -> ConnectionResult:
        """GET the Account resource with the channel's credentials."""
        try:
            cfg = load_config(SmsConfig, config, "SMS")
        except PermanentSendError as exc:
            return ConnectionResult(ok=False, message=exc.message, details=exc.details or {})
        try:
            account = await gateway_request(
                http, "GET", f"{cfg.account_url}.json", cfg, timeout_seconds=self.timeout_seconds
            )
        except SendError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            return ConnectionResult(
                ok=False,
                message=exc.message,
                details={
                    **details,
                    "code": exc.code,
                    "retryable": isinstance(exc, RetryableSendError),
                },
            )
        name = account.get("friendly_name") or account.get("sid") or cfg.accountSid
        status = str(account.get("status") or "active")
        details = compact(
            accountSid=account.get("sid") or cfg.accountSid,
            friendlyName=account.get("friendly_name"),
            status=status,
            type=account.get("type"),
        )
        if status != "active":
            return ConnectionResult(
                ok=False, message=f"The account {name} is {status}", details=details
            )
        return ConnectionResult(ok=True, message=f"Connected to {name}", details=details)
