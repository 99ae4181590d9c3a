"""Campaign audiences end to end: segments and recipient types resolved by the worker into
recipients, sent through a real local SMTP server (aiosmtpd) and a fake Twilio gateway."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.smtp import LocalSmtp
from tests.fakes.twilio import FakeTwilio
from tests.integration.conftest import Api, eventually, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_email_sms import (
    SMTP_PASSWORD,
    SMTP_USER,
    email_channel,
    new_number,
    sms_channel,
)
from tests.integration.test_orders import placed, product

pytestmark = pytest.mark.usefixtures("worker")

BODY = (
    "<html><body><p>Hello {{ customer.name }} from {{ company_name }}!</p>"
    "<p>You have {{ customer.totalOrders }} orders in {{ customer.city }}.</p></body></html>"
)


@pytest.fixture
def smtp() -> Any:
    with LocalSmtp(users={SMTP_USER: SMTP_PASSWORD}) as server:
        yield server


@pytest.fixture
async def twilio() -> Any:
    async with FakeTwilio() as fake:
        yield fake


def address(name: str) -> str:
    return f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"


async def customer(api: Api, name: str, **fields: Any) -> dict[str, Any]:
    status, body, _ = await api.post(f"/orgs/{api.org_id}/customers", {"name": name, **fields})
    assert status == 201, body
    return body


async def segment(api: Api, conditions: list[dict[str, Any]]) -> dict[str, Any]:
    status, body, _ = await api.post(
        f"/orgs/{api.org_id}/segments",
        {"name": f"seg-{uuid.uuid4().hex[:6]}", "conditions": conditions},
    )
    assert status == 201, body
    return body


async def campaign(api: Api, channel_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "channelId": channel_id,
        "name": "Audience test",
        "messageTemplate": BODY,
        "subject": "For {{ customer.name }}",
        **fields,
    }
    status, created, _ = await api.post(f"/orgs/{api.org_id}/campaigns", body)
    assert status == 201, created
    return created


async def start(api: Api, campaign_id: str) -> dict[str, Any]:
    status, body, _ = await api.post(f"/orgs/{api.org_id}/campaigns/{campaign_id}/start")
    assert status == 200, body
    return body


async def completed(api: Api, campaign_id: str, timeout: float = 60) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        _, found, _ = await api.get(f"/orgs/{api.org_id}/campaigns/{campaign_id}")
        return found if found["status"] == "COMPLETED" else None

    return await eventually(done, timeout=timeout, interval=0.2)


async def contacts_of(api: Api, campaign_id: str) -> list[str]:
    _, body, _ = await api.get(f"/orgs/{api.org_id}/campaigns/{campaign_id}/recipients?limit=100")
    return sorted(r["recipientContact"] for r in body)


async def test_a_segment_campaign_reaches_exactly_the_matching_active_customers_by_email(
    admin, smtp
):
    channel = await email_channel(admin, smtp)
    ada = await customer(admin, "Ada", email=address("ada"), city="Lagos")
    fay = await customer(admin, "Fay", email=address("fay"), city="Lagos", tags=["vip"])
    await customer(admin, "Bo", email=address("bo"), city="Lagos", status="blocked")
    await customer(admin, "Ed", email=address("ed"), city="Lagos", status="inactive")
    await customer(admin, "Cy", phone=new_number(), city="Lagos")  # no e-mail: skipped
    await customer(admin, "Di", email=address("di"), city="Abuja")  # not in the segment
    lagos = await segment(admin, [{"field": "city", "operator": "eq", "value": "Lagos"}])

    draft = await campaign(admin, channel["id"], segmentId=lagos["id"])
    assert draft["segmentId"] == lagos["id"] and draft["recipientCount"] == 0
    await start(admin, draft["id"])
    done = await completed(admin, draft["id"])

    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted([ada["email"], fay["email"]])
    assert (done["recipientCount"], done["sentCount"], done["failedCount"]) == (2, 2, 0)
    assert done["skippedCount"] == 1 and done["audienceResolvedAt"]
    mails = {m.rcpt_tos[0]: m for m in smtp.messages}
    assert mails[ada["email"]].subject == "For Ada"
    assert "Hello Ada from Acme!" in mails[ada["email"]].part("html")
    assert "You have 0 orders in Lagos." in mails[ada["email"]].part("plain")
    assert "Hello Fay from Acme!" in mails[fay["email"]].part("html")

    status, stats, _ = await admin.get(f"/orgs/{admin.org_id}/campaigns/{draft['id']}/stats")
    assert status == 200
    assert (stats["totalRecipients"], stats["sentCount"], stats["skippedCount"]) == (2, 2, 1)
    # Threaded like replies: each customer's conversation on the EMAIL channel holds it.
    _, recipients, _ = await admin.get(
        f"/orgs/{admin.org_id}/campaigns/{draft['id']}/recipients?limit=10"
    )
    _, ticket, _ = await admin.get(f"/orgs/{admin.org_id}/tickets/{recipients[0]['ticketId']}")
    assert ticket["status"] == "PENDING" and ticket["channelId"] == channel["id"]
    assert ticket["customerId"] in {ada["id"], fay["id"]}


async def test_recipient_types_choose_customers_with_or_without_orders_and_vips(admin, smtp, db):
    channel = await email_channel(admin, smtp)
    buyer = await customer(admin, "Buyer", email=address("buyer"))
    vip = await customer(admin, "Vera", email=address("vera"), tags=["VIP", "Frequent Buyer"])
    also_vip = await customer(admin, "Vic", email=address("vic"), tags=["vip"])
    browser = await customer(admin, "Browser", email=address("browser"), tags=["vipish"])
    item = await product(admin.org_id, "Kente bag", 20.0, 10)
    await placed(admin, buyer["id"], [(item, 1)])
    await placed(admin, vip["id"], [(item, 2)])

    expected = {
        "with_orders": [buyer, vip],
        "without_orders": [also_vip, browser],
        "vip": [vip, also_vip],
        "all": [buyer, vip, also_vip, browser],
    }
    made = {
        kind: await campaign(admin, channel["id"], recipientType=kind, name=kind)
        for kind in expected
    }
    custom = await campaign(
        admin, channel["id"], recipientType="custom", recipientIds=[browser["id"], buyer["id"]]
    )
    for c in [*made.values(), custom]:
        await start(admin, c["id"])
    for kind, c in made.items():
        await completed(admin, c["id"])
        wanted = sorted(x["email"] for x in expected[kind])
        assert await contacts_of(admin, c["id"]) == wanted, kind
    await completed(admin, custom["id"])
    assert await contacts_of(admin, custom["id"]) == sorted([browser["email"], buyer["email"]])
    assert len(smtp.messages) == 2 + 2 + 2 + 4 + 2


async def test_starting_twice_or_resolving_again_never_duplicates_recipients(admin, smtp, db):
    from inbox.campaigns.documents import Campaign
    from inbox.document_base import utcnow

    channel = await email_channel(admin, smtp)
    people = [await customer(admin, f"P{i}", email=address(f"p{i}")) for i in range(5)]
    c = await campaign(admin, channel["id"], recipientType="all")
    # One of them added by hand as well: still one recipient, one e-mail.
    status, added, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns/{c['id']}/recipients", {"recipients": [people[0]["email"]]}
    )
    assert status == 200 and added["added"] == 1

    path = f"/orgs/{admin.org_id}/campaigns/{c['id']}/start"
    results = await asyncio.gather(*(admin.post(path) for _ in range(3)))
    assert sorted(s for s, _, _ in results) == [200, 409, 409]
    await completed(admin, c["id"])
    assert await contacts_of(admin, c["id"]) == sorted(p["email"] for p in people)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(p["email"] for p in people)

    # A worker that died half way through a resolution: another runs it again from scratch.
    await Campaign.get_pymongo_collection().update_one(
        {"_id": c["id"]},
        {
            "$set": {
                "status": "SENDING",
                "audienceResolvedAt": None,
                "audienceLeaseUntil": utcnow() - timedelta(seconds=1),
            }
        },
    )
    again = await completed(admin, c["id"])
    assert again["audienceResolvedAt"] and again["recipientCount"] == 5
    assert await contacts_of(admin, c["id"]) == sorted(p["email"] for p in people)
    await asyncio.sleep(0.5)  # anything sent twice would have arrived by now
    assert len(smtp.messages) == 5


async def test_an_sms_audience_goes_to_phones_and_skips_customers_without_one(admin, twilio):
    channel, _ = await sms_channel(admin, twilio)
    with_phone = await customer(admin, "Tess", phone=new_number(), tags=["vip"])
    await customer(admin, "Una", email=address("una"), tags=["VIP"])  # no phone: skipped
    c = await campaign(
        admin,
        channel["id"],
        recipientType="vip",
        messageTemplate="Hi {{ customer_name }}, a treat from {{ company_name }}",
        subject=None,
    )
    await start(admin, c["id"])
    done = await completed(admin, c["id"])
    assert (done["sentCount"], done["skippedCount"]) == (1, 1)
    [sent] = [m for m in twilio.sent if m["form"]["To"] == with_phone["phone"]]
    assert sent["form"]["Body"] == "Hi Tess, a treat from Acme"


async def test_audiences_are_checked_and_only_set_by_admins_on_drafts(admin, smtp, web_url, http):
    channel = await email_channel(admin, smtp)
    path = f"/orgs/{admin.org_id}/campaigns"
    base = {"channelId": channel["id"], "name": "x", "messageTemplate": BODY, "subject": "s"}
    mine = await segment(admin, [])

    status, body, _ = await admin.post(
        path, {**base, "segmentId": mine["id"], "recipientType": "all"}
    )
    assert status == 400 and "segmentId" in body["details"]
    status, body, _ = await admin.post(path, {**base, "recipientType": "custom"})
    assert status == 400 and "recipientIds" in body["details"]
    status, body, _ = await admin.post(
        path, {**base, "recipientType": "all", "recipientIds": ["a"]}
    )
    assert status == 400 and "recipientIds" in body["details"]
    status, body, _ = await admin.post(path, {**base, "recipientType": "everyone"})
    assert status == 400 and "recipientType" in body["details"]

    other = await signup(web_url, http, org="Other")
    theirs = await customer(other, "Them", email=address("them"))
    their_segment = await segment(other, [])
    status, body, _ = await admin.post(path, {**base, "segmentId": their_segment["id"]})
    assert status == 400 and body["details"] == {"segmentId": "no such segment"}
    status, body, _ = await admin.post(
        path, {**base, "recipientType": "custom", "recipientIds": [theirs["id"]]}
    )
    assert status == 400 and theirs["id"] in body["details"]["recipientIds"]

    # Set later on a draft; agents may not; other orgs' campaigns are not found.
    draft = await campaign(admin, channel["id"])
    audience = f"{path}/{draft['id']}/audience"
    status, body, _ = await admin.put(audience, {"segmentId": mine["id"]})
    assert status == 200 and body["segmentId"] == mine["id"] and body["recipientType"] is None
    status, body, _ = await admin.put(audience, {"recipientType": "vip"})
    assert status == 200 and (body["segmentId"], body["recipientType"]) == (None, "vip")
    agent = await invite_agent(admin, web_url, http)
    assert (await agent.put(audience, {"recipientType": "all"}))[0] == 403
    status, _, _ = await other.put(
        f"/orgs/{other.org_id}/campaigns/{draft['id']}/audience", {"recipientType": "all"}
    )
    assert status == 404
    await start(admin, draft["id"])
    status, body, _ = await admin.put(audience, {"recipientType": "all"})
    assert status == 409 and body["code"] == "CAMPAIGN_NOT_EDITABLE"

    # Neither recipients nor audience: nothing to start.
    empty = await campaign(admin, channel["id"])
    status, body, _ = await admin.post(f"{path}/{empty['id']}/start")
    assert status == 400 and body["code"] == "NO_RECIPIENTS"


async def test_an_audience_of_nobody_completes_with_nothing_sent(admin, smtp):
    channel = await email_channel(admin, smtp)
    nobody = await segment(admin, [{"field": "city", "operator": "eq", "value": "Atlantis"}])
    c = await campaign(admin, channel["id"], segmentId=nobody["id"])
    await start(admin, c["id"])
    done = await completed(admin, c["id"])
    assert (done["recipientCount"], done["sentCount"], done["skippedCount"]) == (0, 0, 0)
    assert smtp.messages == []


async def test_a_campaign_made_from_a_template_copies_its_subject_and_body(admin, smtp):
    channel = await email_channel(admin, smtp)
    status, template, _ = await admin.post(
        f"/orgs/{admin.org_id}/emails/templates",
        {"name": "Welcome", "type": "welcome", "subject": "Welcome, {{ customer.name }}",
         "body": "<p>Welcome to {{ company_name }}, {{ customer_name }}.</p>"},
    )  # fmt: skip
    assert status == 201, template
    person = await customer(admin, "Gus", email=address("gus"))
    status, c, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns",
        {"channelId": channel["id"], "name": "From template", "templateId": template["id"],
         "recipientType": "custom", "recipientIds": [person["id"]]},
    )  # fmt: skip
    assert status == 201, c
    assert c["templateId"] == template["id"] and c["templateType"] == "welcome"
    assert c["subject"] == template["subject"] and c["messageTemplate"] == template["body"]
    await start(admin, c["id"])
    await completed(admin, c["id"])
    [mail] = smtp.messages
    assert mail.subject == "Welcome, Gus"
    assert "Welcome to Acme, Gus." in mail.part("plain")

    # A template of another kind, or none at all: 400 naming templateId.
    status, sms_template, _ = await admin.post(
        f"/orgs/{admin.org_id}/messages/templates",
        {"name": "Short", "type": "sms", "content": "Hi {{ customer_name }}"},
    )
    assert status == 201
    for template_id in (sms_template["id"], "nope"):
        status, body, _ = await admin.post(
            f"/orgs/{admin.org_id}/campaigns",
            {"channelId": channel["id"], "name": "x", "templateId": template_id},
        )
        assert status == 400 and "templateId" in body["details"], body
