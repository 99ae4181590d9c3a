"""The sales document's /emails/* and /messages/* paths, as views over campaigns and templates,
sent through a real local SMTP server and a fake Twilio gateway by the real worker."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.fakes.smtp import LocalSmtp
from tests.fakes.twilio import FakeTwilio
from tests.integration.conftest import Api, eventually, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_campaign_audiences import address, customer
from tests.integration.test_email_sms import (
    PUBLIC_URL,
    SMTP_PASSWORD,
    SMTP_USER,
    email_channel,
    new_number,
    post_twilio,
    sms_channel,
    status_callback,
)

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
def smtp() -> Any:
    with LocalSmtp(users={SMTP_USER: SMTP_PASSWORD}) as server:
        yield server


@pytest.fixture
async def twilio() -> Any:
    async with FakeTwilio() as fake:
        yield fake


def url(api: Api, path: str) -> str:
    return f"/orgs/{api.org_id}{path}"


async def sent_email_campaign(api: Api, campaign_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        _, found, _ = await api.get(url(api, f"/emails/campaigns/{campaign_id}"))
        return found if found["status"] == "sent" else None

    return await eventually(done, timeout=60, interval=0.2)


# -- templates ---------------------------------------------------------------------------------


async def test_email_templates_are_created_listed_changed_and_deleted_by_admins(
    admin, web_url, http
):
    path = url(admin, "/emails/templates")
    body = {
        "name": "Welcome",
        "type": "welcome",
        "subject": "Welcome to {{ company_name }}!",
        "body": "<p>Hi {{ customer_name }}, {{ customer.metadata.code | default('') }}</p>",
    }
    status, created, _ = await admin.post(path, body)
    assert status == 201, created
    assert created["type"] == "welcome" and created["subject"] == body["subject"]
    assert created["variables"] == ["company_name", "customer_name", "customer.metadata.code"]

    status, listed, headers = await admin.get(path)
    assert status == 200 and [t["id"] for t in listed] == [created["id"]]
    assert headers["X-Total-Count"] == "1"

    status, changed, _ = await admin.put(
        f"{path}/{created['id']}", {"subject": "Hello {{ customer.name }}", "type": None}
    )
    assert status == 200, changed
    assert changed["subject"] == "Hello {{ customer.name }}" and changed["type"] is None
    assert changed["body"] == body["body"]
    assert changed["variables"] == ["customer.name", "customer_name", "customer.metadata.code"]

    # Bad input names the field; a taken name is a 409.
    status, bad, _ = await admin.post(path, {**body, "name": "Typo", "body": "{{ customer.nmae }}"})
    assert status == 400 and bad["details"] == {"body": "undefined variable customer.nmae"}
    status, bad, _ = await admin.post(path, {**body, "name": "X", "subject": "{{ order_number }}"})
    assert status == 400 and "subject" in bad["details"]
    status, bad, _ = await admin.post(path, {"name": "No subject", "body": "<p>x</p>"})
    assert status == 400 and "subject" in bad["details"]
    status, bad, _ = await admin.post(path, body)
    assert status == 409 and bad["code"] == "TEMPLATE_NAME_TAKEN"

    # Agents read but do not write; other orgs see nothing; SMS templates are not here.
    agent = await invite_agent(admin, web_url, http)
    assert (await agent.get(path))[0] == 200
    assert (await agent.post(path, {**body, "name": "Agent's"}))[0] == 403
    assert (await agent.put(f"{path}/{created['id']}", {"name": "Mine"}))[0] == 403
    assert (await agent.delete(f"{path}/{created['id']}"))[0] == 403
    other = await signup(web_url, http, org="Other")
    assert (await other.put(url(other, f"/emails/templates/{created['id']}"), {"name": "x"}))[
        0
    ] == 404
    assert (await other.delete(url(other, f"/emails/templates/{created['id']}")))[0] == 404
    status, sms, _ = await admin.post(
        url(admin, "/messages/templates"), {"name": "Short", "type": "sms", "content": "Hi"}
    )
    assert status == 201
    assert (await admin.put(f"{path}/{sms['id']}", {"name": "x"}))[0] == 404
    assert (await admin.delete(f"{path}/{sms['id']}"))[0] == 404

    status, _, _ = await admin.delete(f"{path}/{created['id']}")
    assert status == 200
    assert (await admin.get(path))[1] == []
    status, logs, _ = await admin.get(url(admin, "/audit-logs?entity=template"))
    actions = sorted(e["action"] for e in logs)
    assert actions == ["template.create", "template.create", "template.delete", "template.update"]


async def test_message_templates_are_kept_per_type(admin):
    path = url(admin, "/messages/templates")
    made = {}
    for kind in ("sms", "whatsapp"):
        status, made[kind], _ = await admin.post(
            path,
            {
                "name": "Order confirmation",
                "type": kind,
                "content": "Hi {{ customer_name }}, thanks for order {{ customer.totalOrders }}!",
            },
        )
        assert status == 201, made[kind]
    assert made["sms"]["variables"] == ["customer_name", "customer.totalOrders"]
    status, only_sms, _ = await admin.get(f"{path}?type=sms")
    assert status == 200 and [t["id"] for t in only_sms] == [made["sms"]["id"]]
    status, both, _ = await admin.get(path)
    assert {t["type"] for t in both} == {"sms", "whatsapp"}
    status, changed, _ = await admin.put(f"{path}/{made['sms']['id']}", {"content": "Hello!"})
    assert status == 200 and changed["content"] == "Hello!" and changed["variables"] == []

    status, bad, _ = await admin.post(path, {"name": "Long", "type": "sms", "content": "x" * 1601})
    assert status == 400 and "content" in bad["details"]
    status, bad, _ = await admin.post(path, {"name": "Typo", "type": "sms", "content": "{{ x }}"})
    assert status == 400 and bad["details"] == {"content": "undefined variable x"}
    status, bad, _ = await admin.post(path, {"name": "Nope", "type": "fax", "content": "x"})
    assert status == 400 and "type" in bad["details"]
    status, bad, _ = await admin.get(f"{path}?type=fax")
    assert status == 400 and "type" in bad["details"]


# -- e-mail campaigns --------------------------------------------------------------------------


async def test_an_email_campaign_is_created_sent_counted_and_listed_through_the_sales_paths(
    admin, smtp
):
    await email_channel(admin, smtp)
    ada = await customer(admin, "Ada", email=address("ada"), tags=["VIP"])
    await customer(admin, "Bo", email=address("bo"))
    path = url(admin, "/emails/campaigns")

    status, created, _ = await admin.post(
        path,
        {
            "name": "Black Friday",
            "subject": "50% off, {{ customer.name }}!",
            "body": '<p>Hi {{ customer.name }}, <a href="https://shop.example/bf">shop</a></p>',
            "templateType": "promotion",
            "recipientType": "vip",
        },
    )
    assert status == 201, created
    assert (created["status"], created["recipientType"], created["templateType"]) == (
        "draft",
        "vip",
        "promotion",
    )
    assert created["estimatedRecipients"] == 1 and created["sentCount"] == 0
    status, listed, _ = await admin.get(f"{path}?status=draft")
    assert status == 200 and [c["id"] for c in listed] == [created["id"]]

    status, sending, _ = await admin.post(f"{path}/{created['id']}/send")
    assert status == 200, sending
    assert sending["campaignId"] == created["id"] and sending["status"] in ("sending", "sent")
    assert sending["sentAt"]
    done = await sent_email_campaign(admin, created["id"])
    assert (done["sentCount"], done["recipientCount"], done["openRate"]) == (1, 1, 0.0)
    [mail] = smtp.messages
    assert mail.rcpt_tos == [ada["email"]] and mail.subject == "50% off, Ada!"

    # Opening the e-mail moves the open rate.
    [pixel] = re.findall(r'src="(http://testserver/t/o/[^"]+\.gif)"', mail.part("html"))
    async with admin.http.get(pixel.replace(PUBLIC_URL, admin.base)) as resp:
        assert resp.status == 200
    _, shown, _ = await admin.get(f"{path}/{created['id']}")
    assert (shown["openedCount"], shown["openRate"], shown["clickRate"]) == (1, 100.0, 0.0)
    status, stats, _ = await admin.get(f"{path}/stats")
    assert status == 200
    assert stats == {
        "totalCampaigns": 1,
        "totalSent": 1,
        "totalOpened": 1,
        "totalClicked": 0,
        "averageOpenRate": 100.0,
        "averageClickRate": 0.0,
    }
    status, sent_list, _ = await admin.get(f"{path}?status=sent")
    assert [c["id"] for c in sent_list] == [created["id"]]

    status, again, _ = await admin.post(f"{path}/{created['id']}/send")
    assert status == 409 and again["code"] == "CAMPAIGN_ALREADY_STARTED"


async def test_email_campaign_paths_check_input_roles_and_orgs(admin, smtp, web_url, http):
    path = url(admin, "/emails/campaigns")
    body = {"name": "x", "subject": "s", "body": "<p>b</p>", "recipientType": "all"}
    status, bad, _ = await admin.post(path, body)
    assert status == 400 and bad["code"] == "NO_CHANNEL"  # no EMAIL channel yet
    channel = await email_channel(admin, smtp)
    status, bad, _ = await admin.post(path, {k: v for k, v in body.items() if k != "recipientType"})
    assert status == 400 and "recipientType" in bad["details"]
    status, bad, _ = await admin.post(path, {**body, "subject": None})
    assert status == 400 and "subject" in bad["details"]
    status, bad, _ = await admin.post(path, {**body, "body": "{{ customer.nmae }}"})
    assert status == 400 and bad["details"] == {"body": "undefined variable customer.nmae"}
    status, bad, _ = await admin.post(path, {**body, "scheduleAt": "2000-01-01T00:00:00Z"})
    assert status == 400 and "scheduleAt" in bad["details"]
    status, bad, _ = await admin.post(path, {**body, "recipientType": "friends"})
    assert status == 400 and "recipientType" in bad["details"]
    status, bad, _ = await admin.get(f"{path}?status=lost")
    assert status == 400 and "status" in bad["details"]

    status, scheduled, _ = await admin.post(
        path, {**body, "scheduleAt": "2999-01-01T00:00:00Z", "channelId": channel["id"]}
    )
    assert status == 201 and scheduled["status"] == "scheduled" and scheduled["scheduleAt"]

    agent = await invite_agent(admin, web_url, http)
    assert (await agent.get(path))[0] == 200
    assert (await agent.post(path, body))[0] == 403
    assert (await agent.post(f"{path}/{scheduled['id']}/send"))[0] == 403
    other = await signup(web_url, http, org="Other")
    assert (await other.get(url(other, f"/emails/campaigns/{scheduled['id']}")))[0] == 404
    assert (await other.post(url(other, f"/emails/campaigns/{scheduled['id']}/send")))[0] == 404
    assert (await admin.get(f"{path}/no-such-campaign"))[0] == 404


# -- SMS / WhatsApp messages -------------------------------------------------------------------


async def test_messages_send_an_sms_to_one_customer_and_count_its_delivery(admin, twilio):
    channel, token = await sms_channel(admin, twilio)
    tess = await customer(admin, "Tess", phone=new_number())
    status, sent, _ = await admin.post(
        url(admin, "/messages/send"),
        {
            "type": "sms",
            "content": "Hi {{ customer_name }}, your order is on the way!",
            "recipientType": "custom",
            "recipientIds": [tess["id"]],
        },
    )
    assert status == 201, sent
    assert sent["type"] == "sms" and sent["status"] in ("sending", "sent")
    assert sent["estimatedRecipients"] == 1 and sent["channelId"] == channel["id"]

    async def sent_once() -> list[dict[str, Any]] | None:
        _, found, _ = await admin.get(url(admin, "/messages?type=sms"))
        return found if found and found[0]["status"] == "sent" else None

    [listed] = await eventually(sent_once, timeout=60)
    assert (listed["id"], listed["sentCount"], listed["deliveredCount"]) == (sent["id"], 1, 0)
    [at_gateway] = twilio.to(tess["phone"])
    assert at_gateway["form"]["Body"] == "Hi Tess, your order is on the way!"

    # The gateway's delivery receipt counts on the message.
    callback = status_callback(
        channel["config"]["accountSid"], at_gateway["sid"], tess["phone"], "delivered"
    )
    assert (await post_twilio(admin, channel["id"], callback, token))[0] == 200

    async def delivered() -> dict[str, Any] | None:
        _, found, _ = await admin.get(url(admin, "/messages"))
        return found[0] if found[0]["deliveredCount"] == 1 else None

    shown = await eventually(delivered)
    assert shown["deliveryRate"] == 100.0
    status, stats, _ = await admin.get(url(admin, "/messages/stats"))
    assert status == 200
    assert stats == {
        "totalSmsSent": 1,
        "totalWhatsAppSent": 0,
        "totalMessages": 1,
        "averageDeliveryRate": 100.0,
    }
    assert (await admin.get(url(admin, "/messages?type=whatsapp")))[1] == []


async def test_messages_send_to_contacts_from_a_template_and_check_input(
    admin, twilio, smtp, web_url, http
):
    await sms_channel(admin, twilio)
    path = url(admin, "/messages/send")
    status, template, _ = await admin.post(
        url(admin, "/messages/templates"),
        {"name": "Hello", "type": "sms", "content": "Hello from {{ company_name }}"},
    )
    assert status == 201
    stranger = new_number()
    status, sent, _ = await admin.post(
        path, {"type": "sms", "templateId": template["id"], "contacts": [stranger]}
    )
    assert status == 201, sent
    assert sent["content"] == "Hello from {{ company_name }}" and sent["recipientType"] is None

    async def arrived() -> list[dict[str, Any]] | None:
        return twilio.to(stranger) or None

    [message] = await eventually(arrived, timeout=60)
    assert message["form"]["Body"] == "Hello from Acme"

    status, bad, _ = await admin.post(
        path, {"type": "sms", "content": "x", "contacts": ["call me"]}
    )
    assert status == 400 and bad["code"] == "INVALID_RECIPIENTS"
    assert bad["details"]["contacts"][0]["recipient"] == "call me"
    status, bad, _ = await admin.post(path, {"type": "sms", "content": "x"})
    assert status == 400 and "recipientType" in bad["details"]
    status, bad, _ = await admin.post(
        path, {"type": "sms", "content": "x", "subject": "s", "recipientType": "all"}
    )
    assert status == 400 and "subject" in str(bad["details"])
    status, bad, _ = await admin.post(
        path, {"type": "whatsapp", "content": "x", "recipientType": "all"}
    )
    assert status == 400 and bad["code"] == "NO_CHANNEL"
    status, bad, _ = await admin.post(
        path, {"type": "pigeon", "content": "x", "recipientType": "all"}
    )
    assert status == 400 and "type" in bad["details"]
    agent = await invite_agent(admin, web_url, http)
    assert (await agent.post(path, {"type": "sms", "content": "x", "recipientType": "all"}))[
        0
    ] == 403
    assert (await agent.get(url(admin, "/messages")))[0] == 200

    # An e-mail to one address, with a subject, through the same path.
    await email_channel(admin, smtp)
    to = address("one-off")
    status, mail, _ = await admin.post(
        path,
        {"type": "email", "subject": "Your receipt", "content": "<p>Thanks!</p>", "contacts": [to]},
    )
    assert status == 201 and mail["type"] == "email", mail

    async def delivered() -> list[Any] | None:
        return smtp.messages or None

    [received] = await eventually(delivered, timeout=60)
    assert received.rcpt_tos == [to] and received.subject == "Your receipt"
