"""An admin sets up EMAIL and SMS channels and an e-mail campaign in the browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests.fakes.smtp import LocalSmtp
from tests.integration.conftest import Api, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker")]


@pytest.fixture
def smtp() -> Iterator[LocalSmtp]:
    with LocalSmtp(users={"shop": "smtp-pass-1"}) as server:
        yield server


async def test_an_admin_sets_up_an_email_channel_and_sends_a_campaign(
    admin: Api, smtp: LocalSmtp, tabs
):
    tab = await tabs(admin, "/admin/channels")
    page = tab.page
    await page.get_by_role("button", name="New channel").click()
    await page.get_by_label("Platform").select_option("EMAIL")
    await page.get_by_label("Name", exact=True).fill("Newsletter")
    await page.get_by_label("SMTP host").fill("127.0.0.1")
    await page.get_by_label("Port").fill(str(smtp.port))
    await page.get_by_label("Security").fill("none")
    await page.get_by_label("Username").fill("shop")
    await page.get_by_label("Password").fill("smtp-pass-1")
    await page.get_by_label("From address").fill("news@shop.example")
    await expect(page.get_by_label("Graph API base URL")).to_have_count(0)
    await page.get_by_role("button", name="Save channel").click()

    card = page.locator("article", has_text="Newsletter")
    await expect(card).to_contain_text("127.0.0.1 as news@shop.example")
    await expect(card).not_to_contain_text("smtp-pass-1")
    await card.get_by_role("button", name="Test connection").click()
    await expect(card.get_by_role("status")).to_contain_text("Connected to 127.0.0.1")

    _, channels, _ = await admin.get(f"/orgs/{admin.org_id}/channels")
    (channel,) = channels
    tab = await tabs(admin, "/admin/campaigns")
    page = tab.page
    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="New campaign").click()
    await page.get_by_label("Channel").select_option(channel["id"])
    await page.get_by_label("Name", exact=True).fill("Spring letter")
    await page.get_by_label("Subject").fill("Spring, {{ customer.externalId }}")
    await page.get_by_label("Message").fill("<p>Hello <a href='https://shop.example/'>shop</a></p>")
    await page.get_by_role("button", name="Create campaign").click()
    detail = page.locator("#campaign-detail")
    await expect(detail.get_by_role("heading", name="Spring letter")).to_be_visible()
    await page.get_by_label("Add recipients").fill("ada@example.com\nnot-an-address")
    await page.get_by_role("button", name="Add recipients").click()
    await expect(page.locator("#recipients-result")).to_contain_text("not-an-address")
    await page.get_by_role("button", name="Start campaign").click()
    await expect(detail.locator("[data-stat=sent] .value")).to_have_text("1")

    [mail] = await eventually(lambda: _messages(smtp))
    assert mail.subject == "Spring, ada@example.com"
    tab.assert_clean()


async def _messages(smtp: LocalSmtp) -> list:
    return smtp.messages


async def test_an_sms_channel_shows_its_webhook_url_and_no_verify_token(admin: Api, tabs):
    tab = await tabs(admin, "/admin/channels")
    page = tab.page
    await page.get_by_role("button", name="New channel").click()
    await page.get_by_label("Platform").select_option("SMS")
    await page.get_by_label("Name", exact=True).fill("Texts")
    await page.get_by_label("Account SID").fill("AC0123456789abcdef0123456789abcdef")
    await page.get_by_label("Auth token").fill("twilio-token-1")
    await page.get_by_label("From number").fill("+1 500 555 0006")
    await page.get_by_role("button", name="Save channel").click()

    card = page.locator("article", has_text="Texts")
    await expect(card).to_contain_text("http://testserver/webhook/")
    await expect(card).to_contain_text("A message comes in")
    await expect(card).not_to_contain_text("Verify token")
    await expect(card).not_to_contain_text("twilio-token-1")
    _, channels, _ = await admin.get(f"/orgs/{admin.org_id}/channels")
    assert channels[0]["config"]["fromNumber"] == "+15005550006"
    tab.assert_clean()
