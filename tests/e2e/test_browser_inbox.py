"""An agent's day in the browser: log in, see messages arrive live, reply, assign, close, use
macros, see who else is on a ticket, and survive a dropped connection."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import PASSWORD, PHONE, Tab, live
from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, Api, eventually
from tests.integration.test_pipeline import PHONE_ID, new_wa_id, wa_channel
from tests.integration.test_presence import invite_agent

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker")]


async def customer_writes(
    api: Api, channel: dict[str, Any], wa_id: str, name: str, text: str
) -> None:
    payload = p.whatsapp_text(
        PHONE_ID, wa_id, name, f"wamid.{uuid.uuid4().hex}", text, ts=int(time.time())
    )
    status, body, _ = await api.webhook(channel["id"], payload, APP_SECRET)
    assert status == 200, body


async def ticket_of(api: Api, wa_id: str) -> dict[str, Any]:
    async def find() -> dict[str, Any] | None:
        _, tickets, _ = await api.get(f"/orgs/{api.org_id}/tickets")
        return next((t for t in tickets if t["externalThreadId"] == wa_id), None)

    return await eventually(find)


@dataclass
class Conversation:
    """A customer's first message, threaded, and the agent's tab open on its ticket (live)."""

    channel: dict[str, Any]
    wa_id: str
    ticket: dict[str, Any]
    tab: Tab

    @property
    def page(self) -> Any:
        return self.tab.page


async def open_conversation(
    admin: Api, graph: Any, tabs: Any, name: str, text: str
) -> Conversation:
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await customer_writes(admin, channel, wa_id, name, text)
    ticket = await ticket_of(admin, wa_id)
    tab = await tabs(admin, f"/inbox/{ticket['id']}")
    await live(tab)
    return Conversation(channel, wa_id, ticket, tab)


async def test_an_agent_logs_in_with_the_form(admin: Api, tabs):
    tab = await tabs(None)
    page = tab.page
    await page.goto(f"{admin.base}/")
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.get_by_label("Email").and_(page.locator("#login-email")).fill(admin.user["email"])
    password = page.get_by_label("Password", exact=True)
    await password.fill("wrong-password")
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("Invalid email or password")

    await password.fill(PASSWORD)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/inbox$"))
    await expect(page.locator("#user-chip")).to_contain_text("Ada Admin")
    await live(tab)


async def test_a_webhook_message_appears_live_and_the_reply_reaches_the_platform(
    admin: Api, graph, tabs
):
    channel = await wa_channel(admin, graph)
    tab = await tabs(admin, "/inbox")
    page = tab.page
    await live(tab)

    wa_id = new_wa_id()
    await customer_writes(admin, channel, wa_id, "Kerry Fisher", "Where is my order #1042?")
    item = page.locator(".ticket-item", has_text="Kerry Fisher")
    await expect(item).to_contain_text("Where is my order #1042?")
    await expect(item).to_have_class(re.compile(r"\bunread\b"))

    # Keyboard: focus the ticket and press Enter.
    await item.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#conv-title")).to_have_text("Kerry Fisher")
    await expect(page).to_have_url(re.compile(r"/inbox/[0-9a-f-]+$"))
    await expect(item).not_to_have_class(re.compile(r"\bunread\b"))
    messages = page.locator("#messages .msg")
    await expect(messages).to_have_count(1)

    # A second message lands in the open conversation without a reload.
    await customer_writes(admin, channel, wa_id, "Kerry Fisher", "It was due yesterday")
    await expect(messages).to_have_count(2)
    await expect(messages.last).to_contain_text("It was due yesterday")
    await expect(page.locator("#announcer")).to_contain_text("It was due yesterday")

    sent_before = len(graph.sent)
    await page.get_by_label("Reply to the customer").fill("It ships today, sorry for the wait!")
    await page.keyboard.press("Enter")
    reply = page.locator("#messages .msg.OUTBOUND", has_text="It ships today")
    await expect(reply).to_be_visible()
    await expect(page.get_by_label("Reply to the customer")).to_have_value("")
    # The status moves QUEUED -> SENT live, once the worker sent it to the (fake) platform.
    await expect(reply.locator(".m-status")).to_have_attribute("data-status", "SENT")

    async def sent() -> list[dict[str, Any]]:
        return [
            s
            for s in graph.sent[sent_before:]
            if s["json"].get("to") == wa_id
            and s["json"].get("text", {}).get("body") == "It ships today, sorry for the wait!"
        ]

    assert len(await eventually(sent)) == 1


async def test_a_failed_send_shows_its_reason(admin: Api, graph, tabs):
    conv = await open_conversation(admin, graph, tabs, "Fail Case", "hello")
    page = conv.page
    graph.fail_next(1, status=400, code=131047)
    await page.get_by_label("Reply to the customer").fill("Too late for this one")
    await page.get_by_role("button", name="Send", exact=True).click()
    status = page.locator("#messages .msg.OUTBOUND", has_text="Too late").locator(".m-status")
    await expect(status).to_have_attribute("data-status", "FAILED")
    await expect(status).to_contain_text("Re-engagement")


async def test_a_late_answer_to_an_earlier_change_does_not_undo_a_later_one(
    admin: Api, graph, tabs
):
    conv = await open_conversation(admin, graph, tabs, "Lena Late", "Is it in stock?")
    page = conv.page
    # The network holds the assign's answer back until the priority change that follows it is
    # on screen, as a slow connection can; the assign's event arrives live meanwhile.
    release = asyncio.Event()

    async def hold_assign_answer(route: Any) -> None:
        answer = await route.fetch()
        await release.wait()
        await route.fulfill(response=answer)

    await page.route(re.compile(r"/tickets/[^/]+/assign$"), hold_assign_answer)
    await page.get_by_role("button", name="Assign to me").click()
    await expect(page.locator("#c-assignee")).to_have_value(admin.user["id"])
    await page.locator("#c-priority").select_option("HIGH")
    await expect(page.locator("#conv-head .pill-HIGH")).to_be_visible()
    release.set()

    await expect(page.get_by_role("status").filter(has_text="Assigned to you")).to_be_visible()
    await expect(page.locator("#c-priority")).to_have_value("HIGH")
    await expect(page.locator("#conv-head .pill-HIGH")).to_be_visible()
    await expect(
        page.locator(".ticket-item", has_text="Lena Late").locator(".pill-HIGH")
    ).to_be_visible()


async def test_a_ticket_that_arrives_before_the_first_list_answer_stays_in_the_list(
    admin: Api, graph, tabs
):
    channel = await wa_channel(admin, graph)
    tab = await tabs(admin, "/admin/macros")
    page = tab.page
    # The network holds the inbox's first list answer (an empty page) back until the new
    # ticket's event is on screen, as a slow first count can in a new org.
    release = asyncio.Event()

    async def hold_list_answer(route: Any) -> None:
        answer = await route.fetch()
        await release.wait()
        await route.fulfill(response=answer)

    await page.route(re.compile(r"/orgs/[^/]+/tickets\?"), hold_list_answer)
    await page.goto(f"{admin.base}/inbox")
    await live(tab)
    await customer_writes(admin, channel, new_wa_id(), "Nina Early", "Are you open on Sunday?")
    item = page.locator(".ticket-item", has_text="Nina Early")
    await expect(item).to_contain_text("Are you open on Sunday?")
    release.set()

    await expect(page.locator("#ticket-count")).to_have_text("1 ticket")
    await expect(item).to_contain_text("Are you open on Sunday?")


async def test_an_agent_assigns_changes_priority_and_closes_a_ticket(admin: Api, graph, tabs):
    conv = await open_conversation(admin, graph, tabs, "Tom Becker", "Wrong size, can I exchange?")
    page = conv.page
    await expect(page.locator("#conv-title")).to_have_text("Tom Becker")

    await page.get_by_role("button", name="Assign to me").click()
    await expect(page.locator("#c-assignee")).to_have_value(admin.user["id"])
    await page.locator("#c-priority").select_option("HIGH")
    item = page.locator(".ticket-item", has_text="Tom Becker")
    await expect(item).to_contain_text("→ me")
    await expect(item.locator(".pill-HIGH")).to_be_visible()

    await page.get_by_role("button", name="Close ticket").click()
    await expect(page.locator("#conv-head .pill-CLOSED")).to_be_visible()
    # The list shows open tickets: the closed one leaves it.
    await expect(item).to_have_count(0)

    _, stored, _ = await admin.get(f"/orgs/{admin.org_id}/tickets/{conv.ticket['id']}")
    assert (stored["status"], stored["priority"], stored["assigneeId"]) == (
        "CLOSED",
        "HIGH",
        admin.user["id"],
    )

    # Filters: "Closed" and "Mine" show it again.
    await page.locator("#f-status").select_option("CLOSED")
    await page.locator("#f-assignee").select_option("mine")
    await expect(page.locator(".ticket-item", has_text="Tom Becker")).to_be_visible()
    await page.locator("#f-assignee").select_option("unassigned")
    await expect(page.locator(".ticket-item", has_text="Tom Becker")).to_have_count(0)


async def test_an_agent_inserts_a_macro_and_sends_one(admin: Api, graph, tabs):
    channel = await wa_channel(admin, graph)
    status, _, _ = await admin.post(
        f"/orgs/macros/{admin.org_id}",
        {"name": "Greeting", "content": "Hi {{ customer.name }}, thanks for writing!"},
    )
    assert status == 201
    wa_id = new_wa_id()
    await customer_writes(admin, channel, wa_id, "Maria Gonzalez", "Do you ship to Spain?")
    ticket = await ticket_of(admin, wa_id)
    tab = await tabs(admin, f"/inbox/{ticket['id']}")
    page = tab.page
    await live(tab)
    await expect(page.locator("#customer-body")).to_contain_text("Maria Gonzalez")

    await page.get_by_role("button", name="Macros").click()
    await page.get_by_label("Filter macros").fill("greet")
    await page.get_by_role("button", name="Insert macro Greeting").click()
    reply_box = page.get_by_label("Reply to the customer")
    await expect(reply_box).to_have_value("Hi Maria Gonzalez, thanks for writing!")
    await expect(reply_box).to_be_focused()

    # "Send" posts {"macroId"}: the server renders it for the customer.
    await reply_box.fill("")
    await page.get_by_role("button", name="Macros").click()
    await page.get_by_role("button", name="Send macro Greeting now").click()
    await expect(
        page.locator("#messages .msg.OUTBOUND", has_text="Hi Maria Gonzalez, thanks for writing!")
    ).to_be_visible()


async def test_agents_see_who_else_views_and_types_in_a_ticket(admin: Api, graph, tabs):
    channel = await wa_channel(admin, graph)
    agent = await invite_agent(admin, name="Bea Agent")
    agent.refresh_token = ""
    status, body, _ = await agent.post(
        "/auth/login", {"email": agent.user["email"], "password": "agent-pass-1"}
    )
    assert status == 200, body
    agent.token, agent.refresh_token = body["accessToken"], body["refreshToken"]
    wa_id = new_wa_id()
    await customer_writes(admin, channel, wa_id, "Aiko Tanaka", "Is it in stock?")
    ticket = await ticket_of(admin, wa_id)

    ada = await tabs(admin, f"/inbox/{ticket['id']}")
    bea = await tabs(agent, f"/inbox/{ticket['id']}")
    await live(ada)
    await live(bea)
    await expect(ada.page.locator("#presence-line")).to_contain_text("Bea Agent is also viewing")
    await expect(ada.page.locator("#online-list [aria-label='Bea Agent']")).to_be_visible()

    await bea.page.get_by_label("Reply to the customer").type("Let me check", delay=20)
    await expect(ada.page.locator("#presence-line")).to_contain_text("Bea Agent is typing")
    await expect(ada.page.locator("#collision")).to_contain_text("Bea Agent is replying")

    await bea.context.close()
    await expect(ada.page.locator("#presence-line")).to_have_text("")
    await expect(ada.page.locator("#online-list [aria-label='Bea Agent']")).to_have_count(0)


async def test_a_dropped_connection_catches_up_with_what_it_missed(admin: Api, graph, tabs):
    conv = await open_conversation(admin, graph, tabs, "Liam O'Brien", "first")
    page = conv.page
    await expect(page.locator("#messages .msg")).to_have_count(1)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))

    # The network goes away (the socket dies and stays down) while the customer writes.
    await page.evaluate("() => { inboxRealtime.stopped = true; inboxRealtime.simulateDrop(); }")
    await expect(page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    await customer_writes(
        admin, conv.channel, conv.wa_id, "Liam O'Brien", "sent while you were away"
    )

    async def stored() -> bool:
        _, msgs, _ = await admin.get(f"/orgs/{admin.org_id}/tickets/{conv.ticket['id']}/messages")
        return len(msgs) == 2

    await eventually(stored)
    await expect(page.locator("#messages .msg")).to_have_count(1)

    # The network is back: the reconnect asks for what came after the last event it saw.
    await page.evaluate("() => { inboxRealtime.stopped = false; inboxRealtime.wake(); }")
    await live(conv.tab)
    await expect(page.locator("#messages .msg")).to_have_count(2)
    await expect(page.locator("#messages .msg").last).to_contain_text("sent while you were away")
    assert sockets and "since=" in sockets[-1]


async def test_the_inbox_works_at_phone_width(admin: Api, graph, tabs):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await customer_writes(admin, channel, wa_id, "Phone Customer", "hi from my phone")
    tab = await tabs(admin, "/inbox", viewport=PHONE)
    page = tab.page
    await live(tab)
    item = page.locator(".ticket-item", has_text="Phone Customer")
    await item.click()
    await expect(page.locator("#conv-title")).to_be_visible()
    await expect(item).to_be_hidden()  # one pane at a time
    await page.get_by_role("button", name="← Back").click()
    await expect(item).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/inbox$"))


async def test_the_customer_panel_shows_lifetime_value_and_recent_orders(admin: Api, graph, tabs):
    channel = await wa_channel(admin, graph)
    wa_id = new_wa_id()
    await customer_writes(admin, channel, wa_id, "Nadia Petrova", "Did my order ship?")
    ticket = await ticket_of(admin, wa_id)
    status, product, _ = await admin.post(
        f"/orgs/{admin.org_id}/products", {"name": "Linen shirt", "price": 45.5, "stockQuantity": 9}
    )
    assert status == 201, product
    status, order, _ = await admin.post(
        f"/orgs/{admin.org_id}/orders",
        {
            "customerId": ticket["customer"]["id"],
            "items": [{"productId": product["id"], "quantity": 2}],
        },
    )
    assert status == 201, order

    tab = await tabs(admin, f"/inbox/{ticket['id']}")
    page = tab.page
    await live(tab)
    panel = page.locator("#customer-body")
    await expect(panel).to_contain_text("Lifetime value")
    await expect(panel).to_contain_text("91.00 · 1 order")
    await expect(panel.locator(".orders li")).to_contain_text(order["orderNumber"])
    await expect(panel.locator(".orders li")).to_contain_text("pending")
