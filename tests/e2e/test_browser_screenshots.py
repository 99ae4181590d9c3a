"""Screenshots of the main pages over a realistic org, which also checks that every page
renders its data without a script error.

`INBOX_SCREENSHOTS=1 python -m pytest tests/e2e/test_browser_screenshots.py` refreshes the
images in docs/screenshots/ (shown in README); otherwise they go to a temporary directory.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import LAPTOP, PHONE, SCREENSHOTS, live
from tests.e2e.test_browser_inbox import ticket_of
from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, Api, eventually, signup
from tests.integration.test_pipeline import PHONE_ID, new_wa_id, wa_channel
from tests.integration.test_presence import invite_agent

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker")]

CUSTOMERS = [
    ("Kerry Fisher", "Hi! Where is my order #1042? It was supposed to arrive yesterday."),
    ("Maria Gonzalez", "Do you ship to Spain? And how long does it take?"),
    ("Tom Becker", "The jacket I got is the wrong size, can I exchange it for an L?"),
    ("Aiko Tanaka", "Thanks, that worked!"),
    ("Liam O'Brien", "Is the blue backpack back in stock?"),
    ("Sofia Rossi", "Can I change the delivery address on my order?"),
]


async def webhook(api: Api, channel: dict[str, Any], payload: dict[str, Any]) -> None:
    status, body, _ = await api.webhook(channel["id"], payload, APP_SECRET)
    assert status == 200, body


async def demo_org(web_url: str, http: Any, graph: Any) -> dict[str, Any]:
    """An org with channels, conversations, an agent, macros, a campaign and history."""
    admin = await signup(web_url, http, org="Acme Outdoor")
    channel = await wa_channel(admin, graph)
    await admin.put(f"/orgs/{admin.org_id}/channels/{channel['id']}", {"name": "Support WhatsApp"})
    status, _, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels",
        {"type": "MOCK", "name": "Web chat (sandbox)", "config": {"webhookVerifyToken": "dev"}},
    )
    assert status == 201
    agent = await invite_agent(admin, name="Bea Agent")
    status, body, _ = await agent.post(
        "/auth/login", {"email": agent.user["email"], "password": "agent-pass-1"}
    )
    agent.token, agent.refresh_token = body["accessToken"], body["refreshToken"]

    now = int(time.time())
    numbers = {}
    for i, (name, text) in enumerate(reversed(CUSTOMERS)):
        number = new_wa_id()
        numbers[name] = number
        msg = p.whatsapp_text(
            PHONE_ID, number, name, f"wamid.{uuid.uuid4().hex}", text, now - 600 * (6 - i)
        )
        await webhook(admin, channel, msg)
    tickets = {name: await ticket_of(admin, number) for name, number in numbers.items()}

    kerry = tickets["Kerry Fisher"]
    await admin.post(
        f"/orgs/{admin.org_id}/tickets/{kerry['id']}/messages",
        {"content": "Hi Kerry, sorry about that! Where are you, and what does the label say?"},
    )
    number = numbers["Kerry Fisher"]
    for payload in (
        p.wa_location_message(f"wamid.{uuid.uuid4().hex}", number, now + 5),
        p.wa_media_message(
            "image", f"wamid.{uuid.uuid4().hex}", number, now + 10, caption="The label on the box"
        ),
        p.wa_text_message(
            f"wamid.{uuid.uuid4().hex}", "Is that the right address?", number, now + 15
        ),
    ):
        await webhook(admin, channel, p.whatsapp_message(payload, PHONE_ID, "Kerry Fisher"))
    await admin.post(
        f"/orgs/{admin.org_id}/tickets/{kerry['id']}/assign", {"assigneeId": admin.user["id"]}
    )
    await admin.put(f"/orgs/{admin.org_id}/tickets/{kerry['id']}", {"priority": "HIGH"})
    await admin.post(
        f"/orgs/{admin.org_id}/tickets/{tickets['Tom Becker']['id']}/assign",
        {"assigneeId": agent.user["id"]},
    )
    for name in ("Aiko Tanaka", "Liam O'Brien"):
        await admin.post(
            f"/orgs/{admin.org_id}/tickets/{tickets[name]['id']}/messages",
            {"content": "Happy to help! Anything else?"},
        )
        await admin.post(f"/orgs/{admin.org_id}/tickets/{tickets[name]['id']}/close")

    for name, content in (
        ("Greeting", "Hi {{ customer.name }}, thanks for reaching out! How can I help?"),
        ("Shipping times", "Orders ship within 2 business days; tracking follows by email."),
        ("Closing", "Glad I could help, {{ customer.name }}. Have a great day!"),
    ):
        await admin.post(f"/orgs/macros/{admin.org_id}", {"name": name, "content": content})

    _, campaign, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns",
        {
            "channelId": channel["id"],
            "name": "Spring sale",
            "messageTemplate": "Hi {{ customer.name }}! Our spring sale starts today: 20% off.",
        },
    )
    await admin.post(
        f"/orgs/{admin.org_id}/campaigns/{campaign['id']}/recipients",
        {"recipients": list(numbers.values())[:4]},
    )
    await admin.post(f"/orgs/{admin.org_id}/campaigns/{campaign['id']}/start")

    async def completed() -> bool:
        _, c, _ = await admin.get(f"/orgs/{admin.org_id}/campaigns/{campaign['id']}")
        return c["status"] == "COMPLETED"

    await eventually(completed, timeout=30)
    await admin.post(
        f"/orgs/{admin.org_id}/campaigns",
        {
            "channelId": channel["id"],
            "name": "Back in stock alert",
            "messageTemplate": "Good news {{ customer.name }}: the blue backpack is back!",
        },
    )
    return {"admin": admin, "agent": agent, "kerry": kerry, "campaign": campaign}


async def test_screenshots_of_the_main_pages(web_url, http, graph, tabs, tmp_path: Path):
    out = SCREENSHOTS if os.environ.get("INBOX_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    org = await demo_org(web_url, http, graph)
    admin, agent, kerry = org["admin"], org["agent"], org["kerry"]

    login = await tabs(None, viewport={"width": 1100, "height": 700})
    await login.page.goto(f"{web_url}/login")
    await expect(login.page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    await login.page.screenshot(path=str(out / "login.png"))

    # Bea looks at Kerry's conversation too, so the inbox shows her presence.
    bea = await tabs(agent, f"/inbox/{kerry['id']}")
    await live(bea)
    inbox = await tabs(admin, f"/inbox/{kerry['id']}", viewport=LAPTOP)
    await live(inbox)
    page = inbox.page
    await expect(page.locator("#messages .msg")).to_have_count(5)
    await expect(page.locator("#presence-line")).to_contain_text("Bea Agent")
    await expect(page.locator("#messages .msg.OUTBOUND .m-status")).to_have_attribute(
        "data-status", "SENT"
    )
    await expect(page.locator("#customer-body")).to_contain_text("Tickets")
    await page.get_by_label("Reply to the customer").fill("Yes, that's the one. ")
    await page.get_by_role("button", name="Macros").click()
    await expect(page.locator("#macro-menu li").first).to_be_visible()
    await page.screenshot(path=str(out / "inbox.png"))

    phone = await tabs(admin, "/inbox", viewport=PHONE)
    await live(phone)
    await expect(phone.page.locator(".ticket-item").first).to_be_visible()
    await phone.page.screenshot(path=str(out / "inbox-phone.png"))
    await phone.page.locator(".ticket-item", has_text="Kerry Fisher").click()
    await expect(phone.page.locator("#messages .msg")).to_have_count(5)
    await phone.page.screenshot(path=str(out / "conversation-phone.png"))

    admin_tab = await tabs(admin, "/admin/channels", viewport={"width": 1366, "height": 900})
    apage = admin_tab.page
    await expect(apage.locator("article")).to_have_count(2)
    await apage.screenshot(path=str(out / "channels.png"))

    await apage.goto(f"{web_url}/admin/campaigns?campaign={org['campaign']['id']}")
    await expect(apage.locator("#campaign-detail .pill").first).to_have_text("COMPLETED")
    await expect(apage.locator("#recipient-table")).to_contain_text("SENT")
    await apage.screenshot(path=str(out / "campaigns.png"), full_page=True)

    await apage.goto(f"{web_url}/admin/analytics")
    await expect(apage.locator("#agent-table")).to_contain_text("Bea Agent")
    await expect(apage.locator("#campaign-table")).to_contain_text("Spring sale")
    await apage.screenshot(path=str(out / "analytics.png"), full_page=True)

    for name in ("login", "inbox", "inbox-phone", "conversation-phone", "channels"):
        assert (out / f"{name}.png").stat().st_size > 5_000
