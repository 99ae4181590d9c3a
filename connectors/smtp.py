"""EMAIL: sending through an SMTP server (aiosmtplib).

Config: `host`, `port` (default by `security`: 587 starttls, 465 tls, 25 none), `username` and
`password` (optional, together), `fromAddress`, optional `fromName`, and `security`
("starttls" | "tls" | "none").

Every e-mail is multipart/alternative (plain text and HTML). Its `Message-ID` is derived from
our message id (`<id@from-domain>`), so a retried send of the same message carries the same
Message-ID; the worker claims a message before sending it and never sends a SENT or FAILED one
again (inbox/conversations/messages.py). The Message-ID is the external message id.

SMTP replies decide retries: 4xx, connection errors and timeouts are retryable; 5xx is
permanent, and the message fails with the server's own reply. Connections are pooled per
server and account and reused for the next send (a NOOP checks an idle one first), so a
campaign does not pay a TLS handshake and a login per e-mail.

EMAIL channels receive no webhooks.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import re
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate
from typing import Any, Literal

import aiohttp
import aiosmtplib
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors._common import Event, OptionalStr, RequiredStr
from connectors._email_html import html_to_text, text_to_html
from connectors._graph import load_config, redact
from connectors.base import (
    ChannelType,
    ConnectionResult,
    MalformedPayload,
    OutboundMessage,
    PermanentSendError,
    RetryableSendError,
    SendError,
    SendResult,
    WebhookRequest,
    WebhooksUnsupported,
)

PLATFORM = "SMTP"
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_SUBJECT_CHARS = 250
_HOST = re.compile(r"[A-Za-z0-9._\-]+|\[[0-9A-Fa-f:.]+\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalise_address(raw: str) -> str:
    """An e-mail address as we store it (domain and local part lower-cased), or ValueError
    saying why it is not one. No DNS lookup: deliverability is the SMTP server's call."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.normalized.lower()


class EmailConfig(BaseModel):
    # Unknown keys are kept, like every channel config (notes, future settings).
    model_config = ConfigDict(extra="allow")

    host: RequiredStr
    port: int | None = Field(default=None, ge=1, le=65535)
    username: OptionalStr = None
    password: OptionalStr = None
    fromAddress: RequiredStr  # noqa: N815 - the API's camelCase keys
    fromName: OptionalStr = None  # noqa: N815
    security: Literal["starttls", "tls", "none"] = "starttls"

    @field_validator("host")
    @classmethod
    def _hostname(cls, v: str) -> str:
        if not _HOST.fullmatch(v):
            raise ValueError("a host name or IP address, without scheme or port")
        return v

    @field_validator("fromAddress")
    @classmethod
    def _address(cls, v: str) -> str:
        return normalise_address(v)

    @field_validator("fromName", "username", "password")
    @classmethod
    def _one_line(cls, v: str | None) -> str | None:
        if v is not None and _CONTROL.search(v):
            raise ValueError("must be one line without control characters")
        return v or None

    @model_validator(mode="after")
    def _credentials_together(self) -> EmailConfig:
        if bool(self.username) != bool(self.password):
            missing = "password" if self.username else "username"
            raise ValueError(f"username and password go together: {missing} is missing")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]


# ---------------------------------------------------------------------------------------
# Building the e-mail
# ---------------------------------------------------------------------------------------


def message_id_for(idempotency_key: str, from_address: str) -> str:
    """`<key@domain>`: the same message always gets the same Message-ID."""
    domain = from_address.rsplit("@", 1)[-1]
    try:
        domain.encode("ascii")
    except UnicodeEncodeError:
        domain = domain.encode("idna").decode("ascii")
    local = re.sub(r"[^A-Za-z0-9.\-_]", "-", idempotency_key)
    return f"<{local}@{domain}>"


def _header_text(value: Any, limit: int) -> str:
    text = re.sub(r"\s+", " ", _CONTROL.sub(" ", str(value or ""))).strip()
    return text[:limit]


def _default_subject(content: str) -> str:
    first = content.strip().splitlines()[0] if content.strip() else ""
    return _header_text(first, 78) or "(no subject)"


@dataclass(frozen=True)
class _Parts:
    recipient: str
    subject: str
    text: str
    html: str
    extra: tuple[tuple[str, str], ...]  # In-Reply-To, References


def _parts(cfg: EmailConfig, message: OutboundMessage) -> _Parts:
    """What an e-mail is made of, checked (PermanentSendError when it cannot be sent)."""
    meta = message.metadata.get("email")
    meta = meta if isinstance(meta, dict) else {}
    try:
        recipient = normalise_address(message.recipient)
    except ValueError as exc:
        raise PermanentSendError(
            f"not an e-mail address: {exc}", code="INVALID_RECIPIENT"
        ) from None
    html_part = meta.get("html") if isinstance(meta.get("html"), str) else None
    text_part = message.content if message.content.strip() else ""
    if not text_part and html_part:
        text_part = html_to_text(html_part)
    if not text_part and not html_part:
        raise PermanentSendError("an e-mail needs a body", code="INVALID_MESSAGE")
    subject = _header_text(meta.get("subject"), MAX_SUBJECT_CHARS) or _default_subject(text_part)
    extra = tuple(
        (header, value)
        for header, key in (("In-Reply-To", "inReplyTo"), ("References", "references"))
        if (value := _header_text(meta.get(key), 2000))
    )
    return _Parts(
        recipient=recipient,
        subject=subject,
        text=text_part or html_to_text(html_part or ""),
        html=html_part or text_to_html(text_part),
        extra=extra,
    )


def build_email(cfg: EmailConfig, message: OutboundMessage) -> EmailMessage:
    """The MIME message for one outbound message.

    `metadata["email"]` may carry `subject`, `html` (else the text is turned into HTML),
    `inReplyTo` and `references` (Message-IDs, for threading in the customer's mail client).
    The plain-text part is `message.content`, or derived from the HTML when that is empty.
    """
    parts = _parts(cfg, message)
    mail = EmailMessage(policy=SMTP_POLICY)
    mail["From"] = formataddr((cfg.fromName or "", cfg.fromAddress))
    mail["To"] = parts.recipient
    mail["Subject"] = parts.subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = message_id_for(message.idempotency_key, cfg.fromAddress)
    for header, value in parts.extra:
        mail[header] = value
    mail.set_content(parts.text)
    mail.add_alternative(parts.html, subtype="html")
    return mail


def email_bytes(cfg: EmailConfig, message: OutboundMessage) -> tuple[str, bytes] | None:
    """(recipient, the e-mail as bytes): the same message as `build_email`, written out
    directly, for sending. `email.message.EmailMessage` parses every header it is given and
    again when it is flattened, which cost a campaign more than everything else it does per
    e-mail; these headers are made of checked parts (control characters removed), so they
    are written as they are, RFC 2047-encoded when not ASCII. None when an address is not
    ASCII (SMTPUTF8): `build_email` and `send_message` take care of those."""
    parts = _parts(cfg, message)
    if not (parts.recipient.isascii() and cfg.fromAddress.isascii()):
        return None
    boundary = f"==============={uuid.uuid4().hex}=="
    lines = [
        "From: " + formataddr((cfg.fromName or "", cfg.fromAddress), charset="utf-8"),
        "To: " + parts.recipient,
        "Subject: " + _header_value("Subject", parts.subject),
        "Date: " + formatdate(usegmt=True),
        "Message-ID: " + message_id_for(message.idempotency_key, cfg.fromAddress),
        *(f"{header}: {_header_value(header, value)}" for header, value in parts.extra),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative;\n boundary="{boundary}"',
    ]
    mark = boundary.encode()
    raw = b"".join(
        [
            "\n".join(lines).encode("ascii"),
            b"\n\n--" + mark + b"\n",
            _qp_part("plain", parts.text),
            b"\n--" + mark + b"\n",
            _qp_part("html", parts.html),
            b"\n--" + mark + b"--\n",
        ]
    )
    return parts.recipient, raw


def _header_value(name: str, value: str) -> str:
    """A header value as written: as it is when short ASCII, else encoded and folded."""
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\n")


def _qp_part(subtype: str, body: str) -> bytes:
    # Quoted-printable keeps every line short and the message 7-bit, whatever the server.
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"  # as `set_content` writes it
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n\n"
    ).encode("ascii") + encoded


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


def _certificate_problem(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: BaseException | None = exc
    for _ in range(5):  # aiosmtplib wraps the ssl error in its own
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def classify_smtp_error(exc: BaseException, secrets: tuple[str, ...] = ()) -> SendError:
    """An aiosmtplib (or socket) failure as RetryableSendError or PermanentSendError.

    SMTP's own rule: a 4xx reply is transient and a 5xx reply is permanent. Connection
    failures and timeouts are retryable; a certificate the server cannot prove and a missing
    extension (STARTTLS, AUTH) are configuration problems, so permanent."""
    code: int | None = None
    reply = ""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        code, reply = first.code, first.message
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        code, reply = exc.code, exc.message
    if code is not None:
        message = redact(f"SMTP {code} {reply}".strip(), secrets)
        details = {"smtpCode": code, "smtpReply": redact(reply, secrets)}
        if 400 <= code < 500:
            return RetryableSendError(message, code=code, details=details)
        return PermanentSendError(message, code=code, details=details)

    if (cert := _certificate_problem(exc)) is not None:
        return PermanentSendError(
            f"SMTP server's TLS certificate was refused: "
            f"{getattr(cert, 'verify_message', None) or cert}",
            code="TLS_CERTIFICATE",
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or (
        # aiosmtplib says so with a plain SMTPException for STARTTLS
        type(exc) is aiosmtplib.SMTPException and "not supported" in str(exc)
    ):
        return PermanentSendError(
            redact(f"SMTP server does not support it: {exc}", secrets), code="NOT_SUPPORTED"
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return RetryableSendError(f"SMTP server did not answer in time: {exc}", code="TIMEOUT")
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected | OSError):
        return RetryableSendError(
            redact(f"SMTP server unreachable: {type(exc).__name__}: {exc}", secrets),
            code="NETWORK_ERROR",
        )
    return PermanentSendError(
        redact(f"SMTP error: {type(exc).__name__}: {exc}", secrets), code="SMTP_ERROR"
    )


# ---------------------------------------------------------------------------------------
# Connections
# ---------------------------------------------------------------------------------------


def _client(cfg: EmailConfig, timeout: float) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=cfg.host,
        port=cfg.effective_port,
        username=cfg.username,
        password=cfg.password,
        use_tls=cfg.security == "tls",
        # starttls: required (refuse to go on in clear); none: never, even if offered.
        start_tls=cfg.security == "starttls",
        timeout=timeout,
        # EHLO with the sender's domain instead of a reverse lookup of this machine.
        local_hostname=cfg.fromAddress.rsplit("@", 1)[-1],
    )


async def _close(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    try:
        await asyncio.wait_for(client.quit(), timeout=2.0)
    except Exception:  # noqa: BLE001 - closing a connection we are done with
        client.close()


class SmtpPool:
    """Idle SMTP connections per (event loop, server, account), reused for the next send.

    One connection serves one send at a time. An idle connection older than `max_idle_seconds`
    is closed; one idle for more than a moment is checked with a NOOP before reuse (servers
    close idle sessions). A connection is closed after `max_uses` messages, or after any
    error, so a half-finished SMTP transaction is never reused."""

    def __init__(
        self, *, max_idle: int = 8, max_uses: int = 100, max_idle_seconds: float = 30.0
    ) -> None:
        self.max_idle = max_idle
        self.max_uses = max_uses
        self.max_idle_seconds = max_idle_seconds
        self._idle: dict[tuple[Any, ...], list[tuple[aiosmtplib.SMTP, float, int]]] = {}

    @staticmethod
    def _key(cfg: EmailConfig) -> tuple[Any, ...]:
        secret = hashlib.sha256((cfg.password or "").encode()).hexdigest()
        return (
            id(asyncio.get_running_loop()),
            cfg.host,
            cfg.effective_port,
            cfg.security,
            cfg.username,
            secret,
            cfg.fromAddress.rsplit("@", 1)[-1],
        )

    async def _take(self, key: tuple[Any, ...]) -> tuple[aiosmtplib.SMTP, int] | None:
        idle = self._idle.get(key, [])
        while idle:
            client, since, uses = idle.pop()
            age = time.monotonic() - since
            if age > self.max_idle_seconds or not client.is_connected:
                await _close(client)
                continue
            if age > 1.0:
                try:
                    await asyncio.wait_for(client.noop(), timeout=5.0)
                except Exception:  # noqa: BLE001 - a dead idle connection: open a new one
                    client.close()
                    continue
            return client, uses
        return None

    @asynccontextmanager
    async def connection(self, cfg: EmailConfig, timeout: float) -> AsyncIterator[aiosmtplib.SMTP]:
        key = self._key(cfg)
        taken = await self._take(key)
        if taken is None:
            client = _client(cfg, timeout)
            await client.connect()
            uses = 0
        else:
            client, uses = taken
        ok = False
        try:
            yield client
            ok = True
        finally:
            idle = self._idle.setdefault(key, [])
            if ok and uses + 1 < self.max_uses and len(idle) < self.max_idle:
                idle.append((client, time.monotonic(), uses + 1))
            else:
                await _close(client)

    async def close_all(self) -> None:
        for idle in self._idle.values():
            while idle:
                await _close(idle.pop()[0])


# ---------------------------------------------------------------------------------------
# The connector
# ---------------------------------------------------------------------------------------


class EmailConnector:
    type = ChannelType.EMAIL
    config_model = EmailConfig
    secret_fields = frozenset({"password"})
    webhook_reply = ('{"ok": true}', "application/json")

    def __init__(self, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds
        self.pool = SmtpPool()

    # EMAIL channels have no inbound webhook: any POST to theirs is refused.
    def verify_webhook(self, request: WebhookRequest, config: dict[str, Any]) -> None:
        raise WebhooksUnsupported("EMAIL channels receive no webhooks")

    def decode_webhook(self, body: bytes) -> dict[str, Any]:
        raise MalformedPayload("EMAIL channels receive no webhooks")

    def parse(self, payload: dict[str, Any], config: dict[str, Any]) -> list[Event]:
        raise MalformedPayload("EMAIL channels receive no webhooks")

    async def send(
        self, http: aiohttp.ClientSession, config: dict[str, Any], message: OutboundMessage
    ) -> SendResult:
        cfg = load_config(EmailConfig, config, "EMAIL")
        written = email_bytes(cfg, message)
        mail = build_email(cfg, message) if written is None else None
        secrets = (cfg.password or "",)
        try:
            async with self.pool.connection(cfg, self.timeout_seconds) as client:
                if written is not None:
                    recipient, raw = written
                    await client.sendmail(cfg.fromAddress, [recipient], raw)
                else:
                    assert mail is not None
                    await client.send_message(
                        mail, sender=cfg.fromAddress, recipients=[str(mail["To"])]
                    )
        except SendError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes raw
            raise classify_smtp_error(exc, secrets) from None
        return SendResult(
            external_message_id=message_id_for(message.idempotency_key, cfg.fromAddress)
        )

    async def test_connection(
        self, http: aiohttp.ClientSession, config: dict[str, Any]
    ) -> ConnectionResult:
        """Connect, EHLO, STARTTLS and log in as configured, then QUIT; nothing is sent."""
        try:
            cfg = load_config(EmailConfig, config, "EMAIL")
        except PermanentSendError as exc:
            return ConnectionResult(ok=False, message=exc.message, details=exc.details or {})
        client = _client(cfg, min(self.timeout_seconds, 15.0))
        details: dict[str, Any] = {
            "host": cfg.host,
            "port": cfg.effective_port,
            "security": cfg.security,
        }
        try:
            greeting = await client.connect()
            details |= {
                "greeting": greeting.message,
                "tls": cfg.security != "none",
                "authenticated": cfg.username is not None,
                "extensions": sorted(ext.upper() for ext in client.esmtp_extensions or {}),
            }
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            err = classify_smtp_error(exc, (cfg.password or "",))
            client.close()
            return ConnectionResult(
                ok=False,
                message=err.message,
                details={
                    **details,
                    **(err.details or {}),
                    "code": err.code,
                    "retryable": isinstance(err, RetryableSendError),
                },
            )
        await _close(client)
        who = f" as {cfg.username}" if cfg.username else ""
        return ConnectionResult(
            ok=True,
            message=f"Connected to {cfg.host}:{cfg.effective_port}{who}",
            details=details,
        )
