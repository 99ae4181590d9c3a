"""Notifications: made by the worker from domain events, pushed live, private to their user."""

from __future__ import annotations

import uuid

import pytest

from adapters.kafka import KafkaStream
from inbox import topics
from tests.integration.conftest import Api, eventually, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_customers import mock_channel, say
from tests.integration.test_pipeline import messages_of, tickets_of
from tests.integration.test_realtime import next_event

pytestmark = pytest.mark.usefixtures("worker")


async def notifications_of(api: Api, query: str = "") -> list[dict]:
    status, body, _ = await api.get(f"/orgs/{api.org_id}/notifications{query}")
    assert status == 200, body
    return body


async def wait_notifications(api: Api, count: int, type_: str | None = None) -> list[dict]:
    async def enough():
        found = [
            n
            for n in await notifications_of(api, "?limit=100")
            if type_ is None or n["type"] == type_
        ]
        return found if len(found) >= count else None

    return await eventually(enough)


async def first_ticket(api: Api) -> dict:
    return (await eventually(lambda: tickets_of(api)))[0]


async def test_a_message_on_an_unassigned_ticket_notifies_every_active_user(
    admin, web_url, http, db
):
    from inbox.notifications.documents import Notification

    agent = await invite_agent(admin, web_url, http)
    leaver = await invite_agent(admin, web_url, http)
    await admin.post(f"/orgs/{admin.org_id}/users/{leaver.user['id']}/deactivate")
    channel = await mock_channel(admin)
    await say(admin, channel, "n-1", "Nora Newcomer", "Do you ship to Norway?")

    [mine] = await wait_notifications(admin, 1)
    [theirs] = await wait_notifications(agent, 1)
    ticket = await first_ticket(admin)
    assert mine["type"] == "NEW_MESSAGE" and mine["title"] == "New message from Nora Newcomer"
    assert mine["message"] == "Do you ship to Norway?"
    assert mine["isRead"] is False and mine["readAt"] is None and mine["createdAt"]
    assert mine["data"]["ticketId"] == ticket["id"]
    assert mine["data"]["customerName"] == "Nora Newcomer"
    assert theirs["id"] != mine["id"] and theirs["data"] == mine["data"]
    assert await Notification.find(Notification.user_id == leaver.user["id"]).count() == 0


async def test_the_assignee_alone_hears_of_the_assignment_and_the_customers_replies(
    admin, web_url, http
):
    agent = await invite_agent(admin, web_url, http)
    channel = await mock_channel(admin)
    await say(admin, channel, "r-1", "Rita", "Hello?")
    ticket = await first_ticket(admin)
    await wait_notifications(agent, 1)

    status, _, _ = await admin.post(
        f"/orgs/{admin.org_id}/tickets/{ticket['id']}/assign", {"assigneeId": agent.user["id"]}
    )
    assert status == 200
    [assigned] = await wait_notifications(agent, 1, "TICKET_ASSIGNED")
    assert assigned["title"] == "Ticket assigned to you"
    assert assigned["message"] == "“Hello?” was assigned to you by Ada Admin"
    assert assigned["data"]["ticketId"] == ticket["id"]
    assert assigned["data"]["assignedBy"] == {"id": admin.user["id"], "name": "Ada Admin"}

    await say(admin, channel, "r-1", "Rita", "Anyone there?")
    [reply] = await wait_notifications(agent, 1, "CUSTOMER_REPLY")
    assert reply["title"] == "Rita replied" and reply["message"] == "Anyone there?"
    assert reply["data"]["ticketId"] == ticket["id"]
    # Newest first; the admin heard only of the first message.
    assert [n["type"] for n in await notifications_of(agent)] == [
        "CUSTOMER_REPLY",
        "TICKET_ASSIGNED",
        "NEW_MESSAGE",
    ]
    assert [n["type"] for n in await notifications_of(admin)] == ["NEW_MESSAGE"]


async def test_assigning_yourself_or_unassigning_notifies_nobody(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    other = await invite_agent(admin, web_url, http)
    channel = await mock_channel(admin)
    await say(admin, channel, "s-1", "Sam", "hi")
    ticket = await first_ticket(admin)
    await wait_notifications(agent, 1)  # who hears of a message depends on who holds it then
    path = f"/orgs/{admin.org_id}/tickets/{ticket['id']}/assign"
    assert (await agent.post(path, {"assigneeId": agent.user["id"]}))[0] == 200
    assert (await agent.post(path, {"assigneeId": None}))[0] == 200
    # Events of one org are handled in order: once `other` hears, the rest were handled.
    assert (await admin.post(path, {"assigneeId": other.user["id"]}))[0] == 200
    await wait_notifications(other, 1, "TICKET_ASSIGNED")
    assert [n["type"] for n in await notifications_of(agent)] == ["NEW_MESSAGE"]


async def test_a_repeated_event_creates_its_notifications_once(admin, web_url, http, settings):
    agent = await invite_agent(admin, web_url, http)
    channel = await mock_channel(admin)
    await say(admin, channel, "d-1", "Dee", "first")
    ticket = await first_ticket(admin)
    await wait_notifications(agent, 1)
    [message] = await messages_of(admin, ticket["id"])
    view = {**ticket, "assigneeId": agent.user["id"]}
    assigned = {
        "id": f"{10**12}-7",
        "orgId": admin.org_id,
        "event": "ticket.assigned",
        "data": {**view, "previousAssigneeId": None, "assignedBy": None},
    }
    stream = KafkaStream(settings)
    await stream.start()
    try:
        for record in (
            assigned,
            assigned,  # Kafka redelivery: the very same record
            # A re-run threading record: the same message under a new event id.
            {**assigned, "id": f"{10**12}-8", "event": "message.created", "data": message},
            {**assigned, "id": f"{10**12}-9", "data": {**assigned["data"], "subject": "sentinel"}},
        ):
            await stream.send(topics.events(settings), admin.org_id, record)
    finally:
        await stream.stop()

    async def sentinel_seen():
        return [
            n for n in await notifications_of(agent, "?limit=100") if "sentinel" in n["message"]
        ]

    await eventually(sentinel_seen)
    types = [n["type"] for n in await notifications_of(agent, "?limit=100")]
    assert sorted(types) == ["NEW_MESSAGE", "TICKET_ASSIGNED", "TICKET_ASSIGNED"]
    assert len(await notifications_of(admin)) == 1


async def test_a_new_notification_is_pushed_on_the_websocket(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    channel = await mock_channel(admin)
    await say(admin, channel, "w-1", "Wes", "hello")
    ticket = await first_ticket(admin)
    async with http.ws_connect(f"{web_url}/ws?token={agent.token}") as ws:
        await admin.post(
            f"/orgs/{admin.org_id}/tickets/{ticket['id']}/assign",
            {"assigneeId": agent.user["id"]},
        )
        assigned = await next_event(ws, "ticket.assigned")
        assert assigned["data"]["id"] == ticket["id"]
        assert assigned["data"]["previousAssigneeId"] is None
        while True:
            pushed = await next_event(ws, "notification.created")
            if pushed["data"]["notification"]["type"] == "TICKET_ASSIGNED":
                break
    assert pushed["data"]["userId"] == agent.user["id"]
    [stored] = await wait_notifications(agent, 1, "TICKET_ASSIGNED")
    assert pushed["data"]["notification"] == stored


async def test_users_read_only_their_own_notifications_and_mark_them_read(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    channel = await mock_channel(admin)
    for n in range(3):
        await say(admin, channel, f"m-{n}", f"Customer {n}", f"question {n}")
    mine = await wait_notifications(admin, 3)
    theirs = await wait_notifications(agent, 3)
    assert not {n["id"] for n in mine} & {n["id"] for n in theirs}
    base = f"/orgs/{admin.org_id}/notifications"

    status, read, _ = await admin.patch(f"{base}/{mine[0]['id']}/read")
    assert status == 200 and read["id"] == mine[0]["id"]
    assert read["isRead"] is True and read["readAt"]
    status, again, _ = await admin.patch(f"{base}/{mine[0]['id']}/read")
    assert status == 200 and again["readAt"] == read["readAt"]
    status, body, _ = await admin.patch(f"{base}/{theirs[0]['id']}/read")
    assert status == 404 and body["code"] == "NOT_FOUND"
    assert (await admin.patch(f"{base}/{uuid.uuid4()}/read"))[0] == 404

    status, unread, headers = await admin.get(f"{base}?unreadOnly=true")
    assert status == 200 and [n["id"] for n in unread] == [n["id"] for n in mine[1:]]
    assert headers["X-Total-Count"] == "2" and headers["X-Unread-Count"] == "2"
    status, everything, headers = await admin.get(f"{base}?unreadOnly=false&limit=2")
    assert len(everything) == 2 and headers["X-Total-Count"] == "3"
    assert headers["X-Unread-Count"] == "2"

    status, body, _ = await admin.patch(f"{base}/mark-all-read")
    assert status == 200
    assert body == {"success": True, "message": "2 notifications marked as read", "count": 2}
    assert await notifications_of(admin, "?unreadOnly=true") == []
    assert len(await notifications_of(agent, "?unreadOnly=true")) == 3  # theirs untouched
    status, body, _ = await admin.patch(f"{base}/mark-all-read")
    assert body["count"] == 0


async def test_bad_queries_and_other_orgs_are_refused(admin, web_url, http):
    other = await signup(web_url, http, org="Other")
    base = f"/orgs/{admin.org_id}/notifications"
    status, body, _ = await admin.get(f"{base}?unreadOnly=perhaps")
    assert status == 400 and "unreadOnly" in body["details"]
    status, body, _ = await admin.get(f"{base}?limit=0")
    assert status == 400 and "limit" in body["details"]
    assert (await other.get(base))[0] == 404
    assert (await other.patch(f"{base}/mark-all-read"))[0] == 404
    assert (await other.patch(f"{base}/whatever/read"))[0] == 404
    assert (await admin.get(base, token=""))[0] == 401


async def test_a_notification_is_pushed_only_to_its_own_user(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    channel = await mock_channel(admin)
    await say(admin, channel, "p-1", "Pia", "hello")
    ticket = await first_ticket(admin)
    async with http.ws_connect(f"{web_url}/ws?token={admin.token}") as admin_ws:
        await admin.post(
            f"/orgs/{admin.org_id}/tickets/{ticket['id']}/assign",
            {"assigneeId": agent.user["id"]},
        )
        await next_event(admin_ws, "ticket.assigned")
        await wait_notifications(agent, 1, "TICKET_ASSIGNED")
        # The agent's notification exists; the admin's socket must not carry it.
        with pytest.raises(TimeoutError):
            while True:
                pushed = await next_event(admin_ws, "notification.created", timeout=2.0)
                assert pushed["data"]["userId"] == admin.user["id"]


async def test_a_batch_of_events_notifies_as_its_records_would_one_by_one(admin, web_url, http):
    from inbox.notifications import service as notification_service
    from inbox.notifications.documents import Notification

    agent = await invite_agent(admin, web_url, http)
    other = await signup(web_url, http, org="Elsewhere")
    channel = await mock_channel(admin)
    await say(admin, channel, "b-1", "Bea", "Is it in stock?")
    ticket = await first_ticket(admin)
    [message] = await eventually(lambda: messages_of(admin, ticket["id"]))
    await wait_notifications(agent, 1)
    await wait_notifications(admin, 1)  # the worker is done with this message
    await Notification.find(Notification.org_id == admin.org_id).delete()

    pushed: list[tuple[str, str, dict]] = []

    class Log:
        async def publish(self, org_id: str, event: str, data: dict) -> str:
            pushed.append((org_id, event, data))
            return "1-0"

    def record(org_id: str, event: str, data: dict) -> dict:
        return {"id": uuid.uuid4().hex, "orgId": org_id, "event": event, "data": data}

    inbound = {"id": message["id"], "ticketId": ticket["id"], "direction": "INBOUND"}
    batch = [
        record(admin.org_id, "message.created", inbound),
        record(other.org_id, "message.created", inbound),  # another org's ids: nothing
        record(admin.org_id, "ticket.updated", {"id": ticket["id"]}),  # not a notifying event
        record(
            admin.org_id,
            "ticket.assigned",
            {
                "id": ticket["id"],
                "assigneeId": agent.user["id"],
                "assignedBy": {"id": admin.user["id"], "name": "Ada Admin"},
            },
        ),
    ]
    made = await notification_service.from_events(Log(), batch)

    assert sorted((n.user_id, n.type.value) for n in made) == sorted(
        [
            (admin.user["id"], "NEW_MESSAGE"),
            (agent.user["id"], "NEW_MESSAGE"),
            (agent.user["id"], "TICKET_ASSIGNED"),
        ]
    )
    assert [(o, e) for o, e, _ in pushed] == [(admin.org_id, "notification.created")] * 3
    assert await notification_service.from_events(Log(), batch) == []  # a repeat: none
