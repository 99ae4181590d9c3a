"""An admin in the browser: channels, invites, campaigns with live progress, analytics."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import live
from tests.e2e.test_browser_inbox import customer_writes, ticket_of
from tests.integration.conftest import APP_SECRET, Api, eventually
from tests.integration.test_pipeline import new_wa_id, wa_channel

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker")]


async def test_an_admin_creates_edits_and_tests_a_channel(admin: Api, graph, tabs):
    tab = await tabs(admin, "/admin/channels")
    page = tab.page
    await live(tab)
    await page.get_by_role("button", name="New channel").click()
    await page.get_by_label("Platform").select_option("WHATSAPP")
    await page.get_by_label("Name").fill("Shop WhatsApp")
    await page.get_by_label("Phone number ID").fill("1000001")
    await page.get_by_label("WhatsApp Business Account ID").fill("2000002")
    await page.get_by_label("Access token").fill("wa-token-secret")
    await page.get_by_label("App secret").fill(APP_SECRET)
    verify = await page.get_by_label("Webhook verify token").input_value()
    assert len(verify) >= 16  # generated for the admin
    await page.get_by_label("Graph API base URL").fill(graph.base_url)
    await page.get_by_role("button", name="Save channel").click()

    card = page.locator("article", has_text="Shop WhatsApp")
    await expect(card).to_contain_text("http://testserver/webhook/")
    await expect(card).to_contain_text(verify)
    await expect(card).not_to_contain_text("wa-token-secret")

    await card.get_by_role("button", name="Test connection").click()
    await expect(card.get_by_role("status")).to_contain_text("Connected")

    # Edit the name only: the secrets stay as stored, so webhooks still verify.
    await card.get_by_role("button", name="Edit").click()
    await expect(page.get_by_label("Access token")).to_have_attribute(
        "placeholder", re.compile("leave empty to keep")
    )
    await page.get_by_label("Name").fill("Shop WhatsApp (EU)")
    await page.get_by_role("button", name="Save channel").click()
    await expect(page.locator("article", has_text="Shop WhatsApp (EU)")).to_be_visible()

    _, channels, _ = await admin.get(f"/orgs/{admin.org_id}/channels")
    (channel,) = channels
    status, challenge = await hub_challenge(admin, channel["id"], verify)
    assert (status, challenge) == (200, "12345")
    wa_id = new_wa_id()
    await customer_writes(admin, channel, wa_id, "Signed Sender", "still verified")
    await ticket_of(admin, wa_id)


async def hub_challenge(api: Api, channel_id: str, token: str) -> tuple[int, str]:
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "12345"}
    async with api.http.get(f"{api.base}/webhook/{channel_id}", params=params) as resp:
        return resp.status, await resp.text()


async def test_a_channel_form_shows_the_fields_the_api_rejects(admin: Api, tabs):
    tab = await tabs(admin, "/admin/channels")
    page = tab.page
    await page.get_by_role("button", name="New channel").click()
    await page.get_by_label("Name").fill("Incomplete")
    await page.get_by_role("button", name="Save channel").click()
    await expect(page.locator("#channel-form .form-error")).to_be_visible()
    await expect(page.get_by_label("Phone number ID")).to_have_attribute("aria-invalid", "true")


async def test_an_admin_invites_an_agent_who_joins_through_the_link(admin: Api, tabs):
    tab = await tabs(admin, "/admin/users")
    page = tab.page
    email = f"new-agent-{uuid.uuid4().hex[:8]}@example.com"
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Role").select_option("AGENT")
    await page.get_by_role("button", name="Create invite").click()
    result = page.locator("#invite-result")
    await expect(result).to_contain_text(f"Invite for {email} created")
    link = await result.locator("code").first.inner_text()
    assert "/login?invite=" in link
    await expect(page.locator("#invite-list")).to_contain_text(email)

    newcomer = await tabs(None)
    await newcomer.page.goto(link.replace("http://testserver", admin.base))
    await newcomer.page.locator("#invite-name").fill("Nia Newcomer")
    await newcomer.page.locator("#invite-password").fill("welcome-aboard-1")
    await newcomer.page.get_by_role("button", name="Accept invite").click()
    await expect(newcomer.page).to_have_url(re.compile(r"/inbox$"))
    await expect(newcomer.page.locator("#user-chip")).to_contain_text("Nia Newcomer · Agent")
    # Agents do not see the admin pages.
    await expect(newcomer.page.get_by_role("link", name="Channels")).to_be_hidden()

    await page.reload()
    await expect(page.locator("#user-list")).to_contain_text("Nia Newcomer")


async def test_an_admin_runs_a_campaign_and_watches_it_complete(admin: Api, graph, tabs):
    channel = await wa_channel(admin, graph)
    numbers = [new_wa_id() for _ in range(3)]
    for n, number in enumerate(numbers):
        await customer_writes(admin, channel, number, f"Buyer {n}", "hi")
    for number in numbers:
        await ticket_of(admin, number)

    tab = await tabs(admin, "/admin/campaigns")
    page = tab.page
    page.on("dialog", lambda dialog: dialog.accept())
    await live(tab)
    await page.get_by_role("button", name="New campaign").click()
    await page.get_by_label("Channel").select_option(channel["id"])
    await page.get_by_label("Name", exact=True).fill("Spring sale")
    await page.get_by_label("Message").fill("Hi {{ customer.name }}, 20% off today!")
    await page.get_by_role("button", name="Create campaign").click()
    detail = page.locator("#campaign-detail")
    await expect(detail.get_by_role("heading", name="Spring sale")).to_be_visible()

    await page.get_by_label("Add recipients").fill(
        "\n".join([*numbers, numbers[0], "not-a-number"])
    )
    await page.get_by_role("button", name="Add recipients").click()
    await expect(page.locator("#recipients-result")).to_contain_text("3 recipients added")
    await expect(page.locator("#recipients-result")).to_contain_text("not-a-number")
    await expect(detail.locator("[data-stat=recipients] .value")).to_have_text("3")

    sent_before = len(graph.sent)
    started = time.monotonic()
    await page.get_by_role("button", name="Start campaign").click()
    await expect(detail.locator("[data-stat=sent] .value")).to_have_text("3")
    await expect(detail.locator(".pill").first).to_have_text("COMPLETED")
    await expect(detail.locator("#recipient-table")).to_contain_text("SENT")
    assert time.monotonic() - started < 30

    async def campaign_sends() -> list[dict[str, Any]]:
        return [
            s
            for s in graph.sent[sent_before:]
            if s["json"].get("to") in numbers and "20% off" in str(s["json"])
        ]

    sends = await eventually(campaign_sends)
    assert sorted(s["json"]["to"] for s in sends) == sorted(numbers)
    assert "Hi Buyer 0, 20% off today!" in {s["json"]["text"]["body"] for s in sends}


async def test_the_analytics_dashboard_draws_its_charts(admin: Api, graph, tabs):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await customer_writes(admin, channel, wa_id, "Counted Customer", "count me")
    ticket = await ticket_of(admin, wa_id)
    await admin.post(f"/orgs/{admin.org_id}/tickets/{ticket['id']}/close")

    tab = await tabs(admin, "/admin/analytics")
    page = tab.page
    cards = page.locator("#ticket-cards")
    await expect(cards).to_contain_text("Total tickets")
    await expect(cards.locator(".stat").first.locator(".value")).to_have_text("1")
    await expect(page.locator("#daily-chart svg[role=img]")).to_have_attribute(
        "aria-label", re.compile(r"1 created and 1 closed")
    )
    await expect(page.locator("#status-chart svg")).to_have_attribute(
        "aria-label", re.compile("CLOSED 1")
    )
    await expect(page.locator("#channel-table")).to_contain_text("WhatsApp")
    await expect(page.locator("#agent-table")).to_contain_text("Ada Admin")

    # A period the API refuses shows its reason.
    await page.get_by_label("From").fill("2030-01-02")
    await page.get_by_label("To").fill("2030-01-01")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#period-error")).to_be_visible()
