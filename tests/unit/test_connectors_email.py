"""The EMAIL connector: config, MIME building, SMTP error classification, and sending through
a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import aiohttp
import aiosmtplib
import pytest

from connectors._email_html import (
    append_before_body_end,
    html_to_text,
    links_in,
    rewrite_links,
    text_to_html,
)
from connectors.base import (
    OutboundMessage,
    PermanentSendError,
    RetryableSendError,
    WebhooksUnsupported,
)
from connectors.smtp import (
    EmailConfig,
    EmailConnector,
    build_email,
    classify_smtp_error,
    message_id_for,
)
from tests.fakes.smtp import LocalSmtp

CONFIG = {
    "host": "127.0.0.1",
    "port": 2525,
    "security": "none",
    "fromAddress": "Shop@Example.COM",
    "fromName": "The Shop",
}


def outbound(**over: object) -> OutboundMessage:
    fields: dict = {
        "recipient": "ada@example.com",
        "content": "Hello Ada,\n\nyour order <#12> & more.",
        "metadata": {},
        "idempotency_key": "0b5f6a52-7f5e-4c1e-9a53-2b7c1f0e8d21",
        **over,
    }
    return OutboundMessage(**fields)


# -- config --------------------------------------------------------------------------------


def test_the_port_defaults_by_security_and_the_from_address_is_normalised():
    assert EmailConfig.model_validate({**CONFIG, "port": None}).effective_port == 25
    assert EmailConfig(host="smtp.example.com", fromAddress="a@example.com").effective_port == 587
    tls = EmailConfig(host="smtp.example.com", fromAddress="a@example.com", security="tls")
    assert tls.effective_port == 465
    assert EmailConfig.model_validate(CONFIG).fromAddress == "shop@example.com"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"host": ""}, "host"),
        ({"host": "smtp://mail.example.com"}, "host"),
        ({"fromAddress": "not-an-address"}, "fromAddress"),
        ({"security": "ssl"}, "security"),
        ({"port": 70000}, "port"),
        ({"fromName": "Shop\r\nBcc: everyone@example.com"}, "fromName"),
    ],
)
def test_an_invalid_config_names_the_field(change, field):
    with pytest.raises(ValueError) as caught:
        EmailConfig.model_validate({**CONFIG, **change})
    assert field in str(caught.value)


def test_a_username_needs_its_password():
    with pytest.raises(ValueError, match="password is missing"):
        EmailConfig.model_validate({**CONFIG, "username": "shop"})


# -- building the e-mail ---------------------------------------------------------------------


def test_a_reply_is_multipart_with_an_escaped_html_part_and_a_stable_message_id():
    cfg = EmailConfig.model_validate(CONFIG)
    mail = build_email(cfg, outbound(metadata={"email": {"subject": "Order #12"}}))
    assert mail["From"] == "The Shop <shop@example.com>"
    assert mail["To"] == "ada@example.com"
    assert mail["Subject"] == "Order #12"
    assert mail["Message-ID"] == "<0b5f6a52-7f5e-4c1e-9a53-2b7c1f0e8d21@example.com>"
    assert mail.get_content_type() == "multipart/alternative"
    plain, html = (part.get_content() for part in mail.iter_parts())
    assert "your order <#12> & more." in plain
    assert "your order &lt;#12&gt; &amp; more.</p>" in html
    # The same message always gets the same Message-ID: a retry is recognisable downstream.
    again = build_email(cfg, outbound())
    assert again["Message-ID"] == mail["Message-ID"]


def test_a_subject_cannot_inject_headers_and_falls_back_to_the_first_line():
    cfg = EmailConfig.model_validate(CONFIG)
    mail = build_email(cfg, outbound(metadata={"email": {"subject": "Hi\r\nBcc: x@evil.com"}}))
    assert mail["Subject"] == "Hi Bcc: x@evil.com"
    assert mail["Bcc"] is None
    assert build_email(cfg, outbound())["Subject"] == "Hello Ada,"


def test_an_html_body_gets_a_plain_text_alternative_when_the_text_is_empty():
    cfg = EmailConfig.model_validate(CONFIG)
    html = '<html><body><h1>Sale</h1><p>See <a href="https://shop.example/sale">it</a></p>'
    mail = build_email(cfg, outbound(content="", metadata={"email": {"html": html}}))
    plain, sent_html = (part.get_content() for part in mail.iter_parts())
    assert "Sale" in plain and "it (https://shop.example/sale)" in plain
    assert sent_html.strip() == html


def test_an_invalid_recipient_is_a_permanent_failure():
    cfg = EmailConfig.model_validate(CONFIG)
    with pytest.raises(PermanentSendError) as caught:
        build_email(cfg, outbound(recipient="nobody"))
    assert caught.value.code == "INVALID_RECIPIENT"


def test_message_ids_use_the_sender_domain():
    assert message_id_for("abc", "shop@exämple.com") == "<abc@xn--exmple-cua.com>"


# -- HTML helpers ------------------------------------------------------------------------------


def test_links_are_found_and_rewritten_but_other_hrefs_are_kept():
    html = (
        '<a href="https://shop.example/a?x=1&amp;y=2">A</a> <a href="mailto:me@example.com">m</a>'
        " <A HREF='http://shop.example/b'>B</A> <a href=\"https://shop.example/a?x=1&amp;y=2\">"
    )
    assert links_in(html) == ["https://shop.example/a?x=1&y=2", "http://shop.example/b"]
    out = rewrite_links(html, lambda url: f"https://t.example/?u={url}" if "/a" in url else None)
    assert 'href="https://t.example/?u=https://shop.example/a?x=1&amp;y=2"' in out
    assert "mailto:me@example.com" in out and "HREF='http://shop.example/b'" in out


def test_text_and_html_convert_both_ways():
    assert text_to_html("a < b\nc\n\nd").count("<p>") == 2
    assert html_to_text("<style>p{}</style><ul><li>one</li><li>two</li></ul>") == "- one\n\n- two"
    assert append_before_body_end("<body>x</body>", "<img>") == "<body>x<img></body>"
    assert append_before_body_end("x", "<img>") == "x<img>"


# -- errors ------------------------------------------------------------------------------------


def test_smtp_4xx_is_retryable_and_5xx_permanent_with_the_server_reply():
    temporary = classify_smtp_error(aiosmtplib.SMTPDataError(451, "4.3.0 Try again later"))
    assert isinstance(temporary, RetryableSendError)
    assert temporary.message == "SMTP 451 4.3.0 Try again later"
    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "5.1.1 User unknown", "gone@example.com")]
    )
    permanent = classify_smtp_error(refused)
    assert isinstance(permanent, PermanentSendError)
    assert permanent.code == 550 and "5.1.1 User unknown" in permanent.message
    auth = classify_smtp_error(
        aiosmtplib.SMTPAuthenticationError(535, "bad credentials for s3cret"), ("s3cret",)
    )
    assert isinstance(auth, PermanentSendError) and "s3cret" not in auth.message


@pytest.mark.parametrize(
    "exc",
    [
        aiosmtplib.SMTPConnectError("Error connecting to 127.0.0.1 on port 1"),
        aiosmtplib.SMTPServerDisconnected("Connection lost"),
        aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response"),
        TimeoutError(),
        ConnectionResetError(),
    ],
)
def test_connection_failures_and_timeouts_are_retryable(exc):
    assert isinstance(classify_smtp_error(exc), RetryableSendError)


def test_a_refused_certificate_and_a_missing_extension_are_permanent():
    try:
        raise aiosmtplib.SMTPConnectError("TLS failed") from ssl.SSLCertVerificationError(
            "self-signed certificate"
        )
    except aiosmtplib.SMTPConnectError as exc:
        assert classify_smtp_error(exc).code == "TLS_CERTIFICATE"
    missing = classify_smtp_error(aiosmtplib.SMTPNotSupported("STARTTLS not supported"))
    assert isinstance(missing, PermanentSendError) and missing.code == "NOT_SUPPORTED"


def test_email_channels_take_no_webhooks():
    connector = EmailConnector()
    with pytest.raises(WebhooksUnsupported):
        connector.verify_webhook(None, CONFIG)  # type: ignore[arg-type]


# -- against a real SMTP server ---------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[LocalSmtp]:
    with LocalSmtp(users={"shop": "s3cret"}) as server:
        yield server


def server_config(smtp: LocalSmtp, **over: object) -> dict:
    return {**CONFIG, "port": smtp.port, "username": "shop", "password": "s3cret", **over}


async def test_sends_reuse_one_logged_in_connection(smtp):
    connector = EmailConnector()
    async with aiohttp.ClientSession() as http:
        first = await connector.send(http, server_config(smtp), outbound(idempotency_key="m1"))
        second = await connector.send(
            http, server_config(smtp), outbound(idempotency_key="m2", recipient="bo@example.com")
        )
    await connector.pool.close_all()
    assert first.external_message_id == "<m1@example.com>"
    assert second.external_message_id == "<m2@example.com>"
    assert [m.rcpt_tos for m in smtp.messages] == [["ada@example.com"], ["bo@example.com"]]
    assert all(m.mail_from == "shop@example.com" for m in smtp.messages)
    assert smtp.messages[0].message["Message-ID"] == "<m1@example.com>"


async def test_a_temporary_reply_is_raised_as_retryable_and_the_retry_gets_through(smtp):
    connector = EmailConnector()
    smtp.fail_next(1, "451 4.3.0 Mailbox busy")
    async with aiohttp.ClientSession() as http:
        with pytest.raises(RetryableSendError, match="451 4.3.0 Mailbox busy"):
            await connector.send(http, server_config(smtp), outbound())
        await connector.send(http, server_config(smtp), outbound())
    await connector.pool.close_all()
    assert smtp.data_attempts == 2 and len(smtp.messages) == 1


async def test_a_rejected_recipient_is_permanent(smtp):
    smtp.reject("gone@example.com")
    connector = EmailConnector()
    async with aiohttp.ClientSession() as http:
        with pytest.raises(PermanentSendError, match="550 5.1.1"):
            await connector.send(http, server_config(smtp), outbound(recipient="gone@example.com"))
    await connector.pool.close_all()
    assert smtp.messages == []


async def test_test_connection_logs_in_or_reports_the_server_error(smtp):
    connector = EmailConnector()
    async with aiohttp.ClientSession() as http:
        ok = await connector.test_connection(http, server_config(smtp))
        wrong = await connector.test_connection(http, server_config(smtp, password="nope"))
        no_tls = await connector.test_connection(http, server_config(smtp, security="starttls"))
        closed = await connector.test_connection(http, {**server_config(smtp), "port": 1})
    assert ok.ok and ok.message == f"Connected to 127.0.0.1:{smtp.port} as shop"
    assert ok.details["authenticated"] is True and "AUTH" in ok.details["extensions"]
    assert not wrong.ok and "535" in wrong.message and wrong.details["retryable"] is False
    assert not no_tls.ok and no_tls.details["code"] == "NOT_SUPPORTED"
    assert not closed.ok and closed.details["retryable"] is True
    for result in (ok, wrong, no_tls, closed):
        assert "s3cret" not in str(result.model_dump()) and "nope" not in result.message
