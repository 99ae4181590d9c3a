"""EMAIL and SMS channels end to end: a real local SMTP server (aiosmtpd) and a local fake
Twilio gateway stand in for the outside world; the web app, the `inbox worker` process and the
embedded servers are real."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import unquote, urlencode

import pytest

from inbox.channels.documents import WebhookDelivery
from tests.fakes.smtp import LocalSmtp, Received
from tests.fakes.twilio import FakeTwilio, signature
from tests.integration.conftest import Api, eventually, signup
from tests.integration.test_auth import invite_agent

pytestmark = pytest.mark.usefixtures("worker")

PUBLIC_URL = "http://testserver"  # the session settings' PUBLIC_URL
SMTP_USER, SMTP_PASSWORD = "shop", "smtp-s3cret-pass"
FROM_NUMBER = "+15005550006"


@pytest.fixture
def smtp() -> Iterator[LocalSmtp]:
    with LocalSmtp(users={SMTP_USER: SMTP_PASSWORD}) as server:
        yield server


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as fake:
        yield fake


def email_config(smtp: LocalSmtp, **over: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": smtp.port,
        "security": "none",
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "fromAddress": "news@shop.example",
        "fromName": "The Shop",
        **over,
    }


async def email_channel(api: Api, smtp: LocalSmtp, **over: Any) -> dict[str, Any]:
    status, channel, _ = await api.post(
        f"/orgs/{api.org_id}/channels",
        {"type": "EMAIL", "name": "Newsletter", "config": email_config(smtp, **over)},
    )
    assert status == 201, channel
    return channel


async def sms_channel(api: Api, twilio: FakeTwilio) -> tuple[dict[str, Any], str]:
    """A channel on its own Twilio account; returns it with its auth token."""
    sid, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    twilio.accounts[sid] = token
    config = {
        "accountSid": sid,
        "authToken": token,
        "fromNumber": FROM_NUMBER,
        "baseUrl": twilio.base_url,
    }
    status, channel, _ = await api.post(
        f"/orgs/{api.org_id}/channels", {"type": "SMS", "name": "Texts", "config": config}
    )
    assert status == 201, channel
    return channel, token


def new_number() -> str:
    return "+1415" + str(time.time_ns())[-7:]


async def post_twilio(
    api: Api, channel_id: str, fields: dict[str, str], token: str, sig: str | None = None
) -> tuple[int, str]:
    """POST a Twilio webhook, signed (unless `sig` is given) for the channel's public URL."""
    url = f"{PUBLIC_URL}/webhook/{channel_id}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers["X-Twilio-Signature"] = sig if sig is not None else signature(token, url, fields)
    if sig == "":
        del headers["X-Twilio-Signature"]
    async with api.http.post(
        f"{api.base}/webhook/{channel_id}", data=urlencode(fields), headers=headers
    ) as resp:
        return resp.status, await resp.text()


def incoming_sms(account_sid: str, sender: str, body: str) -> dict[str, str]:
    sid = "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": FROM_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def status_callback(account_sid: str, message_sid: str, to: str, status: str) -> dict[str, str]:
    fields = {
        "SmsSid": message_sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": FROM_NUMBER,
        "ApiVersion": "2010-04-01",
    }
    if status in ("failed", "undelivered"):
        fields["ErrorCode"] = "30003"
    return fields


async def ticket_for(api: Api, thread_id: str) -> dict[str, Any]:
    async def find() -> dict[str, Any] | None:
        _, tickets, _ = await api.get(f"/orgs/{api.org_id}/tickets?limit=100")
        return next((t for t in tickets if t["externalThreadId"] == thread_id), None)

    return await eventually(find)


async def reply(api: Api, ticket_id: str, content: str) -> dict[str, Any]:
    status, message, _ = await api.post(
        f"/orgs/{api.org_id}/tickets/{ticket_id}/messages", {"content": content}
    )
    assert status == 201, message
    return message


async def message_settled(api: Api, ticket_id: str, message_id: str) -> dict[str, Any]:
    async def settled() -> dict[str, Any] | None:
        _, messages, _ = await api.get(f"/orgs/{api.org_id}/tickets/{ticket_id}/messages")
        found = next(m for m in messages if m["id"] == message_id)
        return found if found["status"] not in ("QUEUED", "SENDING") else None

    return await eventually(settled, timeout=30)


async def message_in_status(
    api: Api, ticket_id: str, message_id: str, status: str
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        _, messages, _ = await api.get(f"/orgs/{api.org_id}/tickets/{ticket_id}/messages")
        found = next(m for m in messages if m["id"] == message_id)
        return found if found["status"] == status else None

    return await eventually(reached)


# -- channels ----------------------------------------------------------------------------------


async def test_an_email_channel_keeps_its_password_secret_and_tests_its_connection(admin, smtp):
    channel = await email_channel(admin, smtp)
    assert channel["type"] == "EMAIL"
    assert channel["config"]["password"] == "********"
    assert channel["config"]["fromAddress"] == "news@shop.example"
    assert channel["config"]["host"] == "127.0.0.1" and channel["config"]["port"] == smtp.port
    path = f"/orgs/{admin.org_id}/channels/{channel['id']}"
    for _, shown, _ in (await admin.get(path), await admin.get(f"/orgs/{admin.org_id}/channels")):
        assert SMTP_PASSWORD not in str(shown)

    status, result, _ = await admin.post(f"{path}/test-connection")
    assert status == 200, result
    assert result["ok"] is True, result
    assert result["message"] == f"Connected to 127.0.0.1:{smtp.port} as {SMTP_USER}"
    assert result["details"]["authenticated"] is True

    # The masked password sent back keeps the stored one.
    status, updated, _ = await admin.put(
        path, {"config": {**channel["config"], "fromName": "Shop news"}}
    )
    assert status == 200 and updated["config"]["fromName"] == "Shop news"
    _, result, _ = await admin.post(f"{path}/test-connection")
    assert result["ok"] is True, result

    await admin.put(path, {"config": {"password": "wrong-password"}})
    _, result, _ = await admin.post(f"{path}/test-connection")
    assert result["ok"] is False and "535" in result["message"]
    assert "wrong-password" not in str(result)

    _, logs, _ = await admin.get(f"/orgs/{admin.org_id}/audit-logs?entity=channel")
    assert logs and SMTP_PASSWORD not in str(logs) and "wrong-password" not in str(logs)


async def test_an_sms_channel_keeps_its_token_secret_and_tests_its_account(admin, twilio):
    channel, token = await sms_channel(admin, twilio)
    assert channel["config"]["authToken"] == "********"
    assert channel["config"]["fromNumber"] == FROM_NUMBER
    assert channel["webhookUrl"] == f"{PUBLIC_URL}/webhook/{channel['id']}"
    path = f"/orgs/{admin.org_id}/channels/{channel['id']}"
    _, shown, _ = await admin.get(path)
    assert token not in str(shown)

    _, result, _ = await admin.post(f"{path}/test-connection")
    assert result == {
        "ok": True,
        "message": "Connected to Test shop account",
        "details": {
            "accountSid": channel["config"]["accountSid"],
            "friendlyName": "Test shop account",
            "status": "active",
            "type": "Full",
        },
    }
    await admin.put(path, {"config": {"authToken": "not-the-token"}})
    _, result, _ = await admin.post(f"{path}/test-connection")
    assert result["ok"] is False and result["details"]["code"] == 20003
    assert "not-the-token" not in str(result)


async def test_email_and_sms_configs_are_checked_field_by_field(admin):
    cases = [
        ("EMAIL", {}, {"config.host", "config.fromAddress"}),
        ("EMAIL", {"host": "smtp.example.com", "fromAddress": "nope"}, {"config.fromAddress"}),
        (
            "EMAIL",
            {"host": "smtp.example.com", "fromAddress": "a@shop.example", "security": "ssl"},
            {"config.security"},
        ),
        (
            "EMAIL",
            {"host": "smtp.example.com", "fromAddress": "a@shop.example", "username": "a"},
            {"config"},
        ),
        ("SMS", {"fromNumber": FROM_NUMBER}, {"config.accountSid", "config.authToken"}),
        ("SMS", {"accountSid": "AC1", "authToken": "t", "fromNumber": "12"}, {"config.fromNumber"}),
        ("SMS", {"accountSid": "AC1", "authToken": "t"}, {"config"}),
        (
            "SMS",
            {"accountSid": "AC1", "authToken": "t", "fromNumber": FROM_NUMBER, "baseUrl": "x"},
            {"config.baseUrl"},
        ),
    ]
    for kind, config, fields in cases:
        status, body, _ = await admin.post(
            f"/orgs/{admin.org_id}/channels", {"type": kind, "name": "Bad", "config": config}
        )
        assert status == 400, (kind, config, body)
        assert set(body["details"]) == fields, (kind, config, body["details"])


async def test_agents_cannot_manage_channels_and_other_orgs_see_404(admin, web_url, http, smtp):
    channel = await email_channel(admin, smtp)
    agent = await invite_agent(admin, web_url, http)
    status, _, _ = await agent.post(
        f"/orgs/{admin.org_id}/channels",
        {"type": "EMAIL", "name": "Mine", "config": email_config(smtp)},
    )
    assert status == 403
    path = f"/orgs/{admin.org_id}/channels/{channel['id']}/test-connection"
    status, _, _ = await agent.post(path)
    assert status == 403
    other = await signup(web_url, http, org="Other")
    status, _, _ = await other.post(
        f"/orgs/{other.org_id}/channels/{channel['id']}/test-connection"
    )
    assert status == 404


async def test_email_channels_take_no_webhooks(admin, smtp):
    channel = await email_channel(admin, smtp)
    status, body, _ = await admin.webhook(channel["id"], {"messages": []}, None)
    assert status == 404 and body["code"] == "WEBHOOKS_UNSUPPORTED"


# -- SMS ---------------------------------------------------------------------------------------


async def test_an_incoming_sms_opens_a_ticket_and_the_reply_goes_out_through_the_gateway(
    admin, twilio
):
    channel, token = await sms_channel(admin, twilio)
    account = channel["config"]["accountSid"]
    sender = new_number()
    status, answer = await post_twilio(
        admin, channel["id"], incoming_sms(account, sender, "Where is my order?"), token
    )
    assert status == 200 and answer.startswith("<?xml") and "<Response>" in answer

    ticket = await ticket_for(admin, sender)
    assert ticket["subject"] == "Where is my order?"
    assert ticket["customer"]["platform"] == "SMS"

    message = await reply(admin, ticket["id"], "It ships today.")
    sent = await message_settled(admin, ticket["id"], message["id"])
    assert sent["status"] == "SENT", sent
    [at_gateway] = twilio.to(sender)
    assert sent["externalMessageId"] == at_gateway["sid"]
    assert at_gateway["form"] == {
        "To": sender,
        "Body": "It ships today.",
        "From": FROM_NUMBER,
        "StatusCallback": f"{PUBLIC_URL}/webhook/{channel['id']}",
    }

    status, _ = await post_twilio(
        admin,
        channel["id"],
        status_callback(account, at_gateway["sid"], sender, "delivered"),
        token,
    )
    assert status == 200
    await message_in_status(admin, ticket["id"], message["id"], "DELIVERED")


async def test_forged_and_unsigned_twilio_posts_store_nothing(admin, twilio, db):
    channel, token = await sms_channel(admin, twilio)
    fields = incoming_sms(channel["config"]["accountSid"], new_number(), "let me in")
    forged = signature("someone-elses-token", f"{PUBLIC_URL}/webhook/{channel['id']}", fields)
    status, body = await post_twilio(admin, channel["id"], fields, token, sig=forged)
    assert status == 403 and "SIGNATURE_INVALID" in body
    status, body = await post_twilio(admin, channel["id"], fields, token, sig="")
    assert status == 401 and "SIGNATURE_MISSING" in body
    # Signed for another URL (another channel's): refused too.
    elsewhere = signature(token, f"{PUBLIC_URL}/webhook/other", fields)
    status, _ = await post_twilio(admin, channel["id"], fields, token, sig=elsewhere)
    assert status == 403

    assert await WebhookDelivery.find(WebhookDelivery.channel_id == channel["id"]).count() == 0
    _, tickets, _ = await admin.get(f"/orgs/{admin.org_id}/tickets?channelId={channel['id']}")
    assert tickets == []


async def test_an_invalid_number_fails_the_reply_with_the_gateways_reason(admin, twilio):
    channel, token = await sms_channel(admin, twilio)
    sender = new_number()
    await post_twilio(
        admin, channel["id"], incoming_sms(channel["config"]["accountSid"], sender, "hi"), token
    )
    ticket = await ticket_for(admin, sender)
    twilio.invalid_numbers.add(sender)
    message = await reply(admin, ticket["id"], "Hello?")
    failed = await message_settled(admin, ticket["id"], message["id"])
    assert failed["status"] == "FAILED"
    assert failed["error"]["code"] == 21211
    assert "is not a valid phone number" in failed["error"]["message"]
    assert twilio.to(sender) == []


async def test_a_gateway_503_is_retried_and_the_sms_is_sent_once(admin, twilio):
    channel, token = await sms_channel(admin, twilio)
    account = channel["config"]["accountSid"]
    sender = new_number()
    await post_twilio(admin, channel["id"], incoming_sms(account, sender, "hi"), token)
    ticket = await ticket_for(admin, sender)

    twilio.fail_next(1, status=503)
    first = await reply(admin, ticket["id"], "First")
    sent = await message_settled(admin, ticket["id"], first["id"])
    assert sent["status"] == "SENT"
    assert [r["status"] for r in twilio.requests if r["form"] and r["form"]["To"] == sender] == [
        503,
        201,
    ]
    assert len(twilio.to(sender)) == 1

    # Created at the gateway but the answer lost: the retry carries the same Idempotency-Key
    # and gets the first answer back, so the customer gets one SMS.
    twilio.lose_answer_next(1)
    second = await reply(admin, ticket["id"], "Second")
    sent = await message_settled(admin, ticket["id"], second["id"])
    assert sent["status"] == "SENT"
    bodies = [m["body"] for m in twilio.to(sender)]
    assert bodies == ["First", "Second"]
    assert sent["externalMessageId"] == twilio.to(sender)[1]["sid"]
    assert twilio.duplicate_keys == 1


async def test_an_sms_campaign_checks_numbers_and_renders_per_recipient(admin, twilio):
    channel, _ = await sms_channel(admin, twilio)
    campaign = await create_campaign(admin, channel["id"], "Hi {{ customer.externalId }}!")
    a, b = new_number(), "+44 20 7946 0958"
    added = await add_recipients(admin, campaign["id"], [a, b, "020 7946 0958", "call me"])
    assert added["added"] == 2
    assert {i["recipient"] for i in added["invalid"]} == {"020 7946 0958", "call me"}
    assert all("E.164" in i["reason"] for i in added["invalid"])
    await start_and_wait(admin, campaign["id"])
    assert [m["body"] for m in twilio.to(a)] == [f"Hi {a}!"]
    assert [m["body"] for m in twilio.to("+442079460958")] == ["Hi +442079460958!"]


# -- e-mail ------------------------------------------------------------------------------------

SALE_URL = "https://shop.example/sale?src=mail&x=1"
TEMPLATE = (
    "<html><body><p>Hello {{ customer.name }},</p>"
    '<p>Our <a href="https://shop.example/sale?src=mail&amp;x=1">spring sale</a> is on.</p>'
    '<p><a href="mailto:help@shop.example">Questions?</a></p></body></html>'
)


async def create_campaign(api: Api, channel_id: str, template: str, **extra: Any) -> dict[str, Any]:
    status, campaign, _ = await api.post(
        f"/orgs/{api.org_id}/campaigns",
        {"channelId": channel_id, "name": "Spring sale", "messageTemplate": template, **extra},
    )
    assert status == 201, campaign
    return campaign


async def add_recipients(api: Api, campaign_id: str, recipients: list[str]) -> dict[str, Any]:
    status, body, _ = await api.post(
        f"/orgs/{api.org_id}/campaigns/{campaign_id}/recipients", {"recipients": recipients}
    )
    assert status == 200, body
    return body


async def start_and_wait(api: Api, campaign_id: str) -> dict[str, Any]:
    status, body, _ = await api.post(f"/orgs/{api.org_id}/campaigns/{campaign_id}/start")
    assert status == 200, body

    async def done() -> dict[str, Any] | None:
        _, campaign, _ = await api.get(f"/orgs/{api.org_id}/campaigns/{campaign_id}")
        return campaign if campaign["status"] == "COMPLETED" else None

    return await eventually(done, timeout=60, interval=0.2)


async def recipients_of(api: Api, campaign_id: str) -> dict[str, dict[str, Any]]:
    _, body, _ = await api.get(f"/orgs/{api.org_id}/campaigns/{campaign_id}/recipients")
    return {r["recipientContact"]: r for r in body}


async def stats_of(api: Api, campaign_id: str) -> dict[str, Any]:
    status, body, _ = await api.get(f"/orgs/{api.org_id}/campaigns/{campaign_id}/stats")
    assert status == 200, body
    return body


async def email_campaign(
    api: Api, smtp: LocalSmtp, addresses: list[str]
) -> tuple[dict[str, Any], dict[str, Received]]:
    channel = await email_channel(api, smtp)
    campaign = await create_campaign(
        api, channel["id"], TEMPLATE, subject="Sale for {{ customer.externalId }}"
    )
    await add_recipients(api, campaign["id"], addresses)
    await start_and_wait(api, campaign["id"])
    return campaign, {m.rcpt_tos[0]: m for m in smtp.messages}


def tracking_links(mail: Received) -> tuple[str, str]:
    """(open pixel URL, click URL of the sale link) in the e-mail's HTML."""
    html = mail.part("html")
    [pixel] = re.findall(r'src="(http://testserver/t/o/[^"]+\.gif)"', html)
    [click] = re.findall(r'href="(http://testserver/t/c/[^"]+)"', html)
    return pixel, click.replace("&amp;", "&")


async def fetch(api: Api, public: str) -> tuple[int, dict[str, str], bytes]:
    """GET a public tracking URL on the test server, without following redirects."""
    async with api.http.get(public.replace(PUBLIC_URL, api.base), allow_redirects=False) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def test_an_email_campaign_reaches_the_smtp_server_rendered_per_recipient(admin, smtp):
    campaign_draft = await email_channel(admin, smtp)
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns",
        {"channelId": campaign_draft["id"], "name": "No subject", "messageTemplate": TEMPLATE},
    )
    assert status == 400 and body["details"] == {"subject": "required for EMAIL campaigns"}
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns",
        {
            "channelId": campaign_draft["id"],
            "name": "Typo",
            "messageTemplate": TEMPLATE,
            "subject": "Hi {{ customer.emial }}",
        },
    )
    assert status == 400 and "customer.emial" in body["details"]["subject"]

    channel = await email_channel(admin, smtp)
    campaign = await create_campaign(
        admin, channel["id"], TEMPLATE, subject="Sale for {{ customer.externalId }}"
    )
    assert campaign["subject"] == "Sale for {{ customer.externalId }}"
    added = await add_recipients(
        admin,
        campaign["id"],
        ["Ada@Example.com", "bo@example.com", "cy@example.com", "ada@example.com", "nobody"],
    )
    assert (added["added"], added["duplicates"]) == (3, 1)
    assert [i["recipient"] for i in added["invalid"]] == ["nobody"]
    assert added["invalid"][0]["reason"].startswith("not an e-mail address")

    done = await start_and_wait(admin, campaign["id"])
    assert done["status"] == "COMPLETED"
    stats = await stats_of(admin, campaign["id"])
    assert (stats["sentCount"], stats["failedCount"], stats["openedCount"]) == (3, 0, 0)

    mails = {m.rcpt_tos[0]: m for m in smtp.messages}
    assert sorted(mails) == ["ada@example.com", "bo@example.com", "cy@example.com"]
    recipients = await recipients_of(admin, campaign["id"])
    tokens = set()
    for address, mail in mails.items():
        assert mail.mail_from == "news@shop.example"
        assert mail.message["From"] == "The Shop <news@shop.example>"
        assert mail.subject == f"Sale for {address}"
        html, text = mail.part("html"), mail.part("plain")
        assert f"Hello {address}," in html and f"Hello {address}," in text
        pixel, click = tracking_links(mail)
        token = pixel.rsplit("/", 1)[1].removesuffix(".gif")
        assert len(token) >= 32 and click.startswith(f"{PUBLIC_URL}/t/c/{token}?u=")
        assert unquote(click.split("?u=", 1)[1]) == SALE_URL
        assert "mailto:help@shop.example" in html  # only http(s) links are tracked
        assert f"spring sale ({SALE_URL})" in text  # the plain part keeps the real link
        tokens.add(token)
        # The Message-ID we generated is the message's external id.
        recipient = recipients[address]
        assert recipient["status"] == "SENT"
        _, messages, _ = await admin.get(
            f"/orgs/{admin.org_id}/tickets/{recipient['ticketId']}/messages"
        )
        [sent] = [m for m in messages if m["id"] == recipient["messageId"]]
        assert sent["externalMessageId"] == mail.message["Message-ID"]
        assert sent["content"] == text.strip()
    assert len(tokens) == 3


async def test_an_open_and_a_click_are_counted_once_each(admin, smtp):
    campaign, mails = await email_campaign(admin, smtp, ["ada@example.com", "bo@example.com"])
    ada_pixel, ada_click = tracking_links(mails["ada@example.com"])
    _, bo_click = tracking_links(mails["bo@example.com"])

    for _ in range(2):
        status, headers, body = await fetch(admin, ada_pixel)
        assert status == 200 and headers["Content-Type"] == "image/gif"
        assert body.startswith(b"GIF89a") and "no-store" in headers["Cache-Control"]
    stats = await stats_of(admin, campaign["id"])
    assert (stats["openedCount"], stats["clickedCount"]) == (1, 0)

    for _ in range(2):
        status, headers, _ = await fetch(admin, ada_click)
        assert status == 302 and headers["Location"] == SALE_URL
    stats = await stats_of(admin, campaign["id"])
    assert (stats["openedCount"], stats["clickedCount"]) == (1, 1)

    # Bo clicks with images blocked: the click counts as his open too.
    status, headers, _ = await fetch(admin, bo_click)
    assert status == 302 and headers["Location"] == SALE_URL
    _, shown, _ = await admin.get(f"/orgs/{admin.org_id}/campaigns/{campaign['id']}")
    assert (shown["openedCount"], shown["clickedCount"]) == (2, 2)
    recipients = await recipients_of(admin, campaign["id"])
    assert all(r["openedAt"] and r["clickedAt"] for r in recipients.values())

    # Never an open redirect; unknown tokens count nothing.
    token = ada_pixel.rsplit("/", 1)[1].removesuffix(".gif")
    status, _, body = await fetch(admin, f"{PUBLIC_URL}/t/c/{token}?u=https%3A%2F%2Fevil.example")
    assert status == 404 and b"TRACKING_LINK_UNKNOWN" in body
    forged = "x" * 32
    status, _, _ = await fetch(admin, ada_click.replace(token, forged))
    assert status == 404
    status, _, body = await fetch(admin, f"{PUBLIC_URL}/t/o/{forged}.gif")
    assert status == 200 and body.startswith(b"GIF89a")
    stats = await stats_of(admin, campaign["id"])
    assert (stats["openedCount"], stats["clickedCount"]) == (2, 2)


async def test_an_agent_reply_on_an_email_ticket_uses_the_ticket_subject(admin, smtp):
    campaign, _ = await email_campaign(admin, smtp, ["dee@example.com"])
    recipient = (await recipients_of(admin, campaign["id"]))["dee@example.com"]
    message = await reply(admin, recipient["ticketId"], "Thanks for asking,\n\nit is 20% off.")
    sent = await message_settled(admin, recipient["ticketId"], message["id"])
    assert sent["status"] == "SENT"
    [_, answer] = smtp.to("dee@example.com")
    assert answer.subject == "Spring sale"  # the ticket's subject
    assert answer.message["Message-ID"] == sent["externalMessageId"]
    assert sent["externalMessageId"] == f"<{message['id']}@shop.example>"
    assert "it is 20% off." in answer.part("plain")
    assert "<p>it is 20% off.</p>" in answer.part("html")


async def test_a_rejected_address_fails_with_the_smtp_servers_reply(admin, smtp):
    smtp.reject("gone@example.com")
    campaign, mails = await email_campaign(admin, smtp, ["gone@example.com", "eve@example.com"])
    assert list(mails) == ["eve@example.com"]
    recipients = await recipients_of(admin, campaign["id"])
    gone = recipients["gone@example.com"]
    assert gone["status"] == "FAILED"
    assert gone["error"] == "SMTP 550 5.1.1 Recipient address rejected: User unknown"
    _, messages, _ = await admin.get(f"/orgs/{admin.org_id}/tickets/{gone['ticketId']}/messages")
    [failed] = messages
    assert failed["status"] == "FAILED" and failed["error"]["code"] == 550
    stats = await stats_of(admin, campaign["id"])
    assert (stats["sentCount"], stats["failedCount"]) == (1, 1)


async def test_a_temporary_smtp_failure_is_retried_and_the_email_sent_once(admin, smtp):
    smtp.fail_next(1, "451 4.7.1 Greylisted, try again")
    campaign, mails = await email_campaign(admin, smtp, ["fay@example.com"])
    assert list(mails) == ["fay@example.com"]
    assert smtp.data_attempts == 2 and len(smtp.messages) == 1
    recipient = (await recipients_of(admin, campaign["id"]))["fay@example.com"]
    assert recipient["status"] == "SENT"
