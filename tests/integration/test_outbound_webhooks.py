"""Outbound webhooks over HTTP, delivered by a real `inbox worker` to local aiohttp receivers.

Events come from the product's own flows (an inbound MOCK message, a reply, a campaign), go
through the events topic, and are POSTed by the worker; each receiver checks the signature
and timestamp the way a customer's endpoint would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from adapters.kafka import KafkaStream
from inbox import topics
from inbox.config import Settings
from tests.integration.conftest import Api, eventually, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_crash_recovery import restartable_worker  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("worker")


# -- a customer's endpoint -------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["X-Webhook-Id"]


class Receiver:
    """A webhook endpoint per path: answers 200, or a set status, or 500 for the first n
    requests, or holds requests until its gate opens."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status: dict[str, int] = {}
        self.fail_first: dict[str, int] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self.base = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        for gate in self.gates.values():
            gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        received = Received(path, dict(request.headers), await request.read())
        self.requests.append(received)
        if path in self.gates:
            await self.gates[path].wait()
        seen = len(self.at(path))
        status = 500 if seen <= self.fail_first.get(path, 0) else self.status.get(path, 200)
        received.answered = status
        return web.Response(status=status, text="ok" if status < 300 else "nope")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


def verify(received: Received, secret: str) -> dict[str, Any]:
    """What a receiver does: check the signature over the raw body, and that the timestamp
    is fresh; returns the parsed body."""
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received.headers["X-Signature-256"], expected)
    assert abs(time.time() - int(received.headers["X-Webhook-Timestamp"])) < 300
    body = received.json
    assert set(body) == {"id", "event", "timestamp", "orgId", "data"}
    assert received.headers["X-Webhook-Event"] == body["event"]
    assert received.headers["X-Webhook-Id"]
    assert received.headers["Content-Type"].startswith("application/json")
    return body


# -- helpers ---------------------------------------------------------------------------------


async def create_hook(api: Api, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    status, hook, _ = await api.post(
        f"/orgs/{api.org_id}/webhooks", {"url": url, "events": events, **extra}
    )
    assert status == 201, hook
    return hook


async def mock_channel(api: Api) -> dict[str, Any]:
    status, channel, _ = await api.post(
        f"/orgs/{api.org_id}/channels", {"type": "MOCK", "name": "Dev", "config": {}}
    )
    assert status == 201, channel
    return channel


async def inbound(api: Api, channel_id: str, text: str, sender: str = "cust-1") -> None:
    """A customer writes on the MOCK channel: the worker threads it and emits events."""
    payload = {
        "messages": [{"id": f"m-{uuid.uuid4().hex}", "from": sender, "name": "Cy", "text": text}]
    }
    status, body, _ = await api.webhook(channel_id, payload, None)
    assert status == 200, body


async def deliveries(api: Api, hook_id: str, **params: Any) -> list[dict[str, Any]]:
    status, body, _ = await api.get(
        f"/orgs/{api.org_id}/webhooks/{hook_id}/deliveries", params={"limit": 100, **params}
    )
    assert status == 200, body
    return body


def with_event(requests: list[Received], event: str) -> list[Received]:
    return [r for r in requests if r.json["event"] == event]


# -- subscriptions ---------------------------------------------------------------------------


async def test_admins_manage_webhooks_and_the_secret_is_shown_only_once(admin):
    base = f"/orgs/{admin.org_id}/webhooks"
    created = await create_hook(
        admin, "https://shop.example.invalid/hooks", ["order.created"], description="Shop"
    )
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert created["events"] == ["order.created"] and created["isActive"] is True

    status, got, _ = await admin.get(f"{base}/{created['id']}")
    assert status == 200 and "secret" not in got
    assert got["url"] == "https://shop.example.invalid/hooks" and got["description"] == "Shop"

    mine = await create_hook(admin, "http://127.0.0.1:9/x", ["*"], secret="my-own-secret-1234")
    assert mine["secret"] == "my-own-secret-1234" and mine["events"] == ["*"]

    status, listed, headers = await admin.get(base)
    assert status == 200 and headers["X-Total-Count"] == "2"
    assert [h["id"] for h in listed] == [mine["id"], created["id"]]  # newest first
    assert all("secret" not in h for h in listed)

    status, updated, _ = await admin.put(
        f"{base}/{created['id']}",
        {"events": ["order.created", "order.updated"], "isActive": False, "secret": "rotated-" * 3},
    )
    assert status == 200, updated
    assert updated["events"] == ["order.created", "order.updated"]
    assert updated["isActive"] is False and updated["description"] == "Shop"
    assert "secret" not in updated

    status, events, _ = await admin.get(f"{base}/events")
    assert status == 200 and "order.created" in events["events"]
    assert "notification.created" not in events["events"]

    # The audit log records the writes, but never a secret or the full URL.
    status, logs, _ = await admin.get(f"/orgs/{admin.org_id}/audit-logs", params={"limit": 100})
    assert status == 200
    actions = [entry["action"] for entry in logs]
    assert "webhook.create" in actions and "webhook.update" in actions
    dumped = json.dumps(logs)
    assert secret not in dumped and "my-own-secret-1234" not in dumped
    assert "rotated-" not in dumped and "/hooks" not in dumped

    status, body, _ = await admin.delete(f"{base}/{created['id']}")
    assert status == 200 and body["success"] is True
    status, body, _ = await admin.get(f"{base}/{created['id']}")
    assert status == 404 and body["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.example.invalid/x", "events": ["order.created"]}, "url"),
        ({"url": "hooks.example.invalid/hook", "events": ["order.created"]}, "url"),
        ({"url": "https://hooks.example.invalid/x", "events": []}, "events"),
        ({"url": "https://hooks.example.invalid/x"}, "events"),
        ({"url": "https://hooks.example.invalid/x", "events": ["*"], "secret": "short"}, "secret"),
        ({"url": "https://hooks.example.invalid/x", "events": ["*"], "colour": "red"}, "colour"),
    ],
)
async def test_bad_webhooks_are_400s_with_field_details(admin, body, field):
    status, err, _ = await admin.post(f"/orgs/{admin.org_id}/webhooks", body)
    assert status == 400, err
    assert field in err["details"], err


async def test_unknown_event_names_are_a_400_that_names_them(admin):
    base = f"/orgs/{admin.org_id}/webhooks"
    status, err, _ = await admin.post(
        base,
        {
            "url": "https://hooks.example.invalid/x",
            "events": ["order.created", "order.exploded", "x.y"],
        },
    )
    assert status == 400 and err["code"] == "UNKNOWN_EVENTS"
    assert "order.exploded" in err["message"] and "x.y" in err["message"]
    assert "order.exploded" in err["details"]["events"]
    assert "order.created" not in err["details"]["events"]

    hook = await create_hook(admin, "https://hooks.example.invalid/x", ["order.created"])
    status, err, _ = await admin.put(f"{base}/{hook['id']}", {"events": ["order.vanished"]})
    assert status == 400 and "order.vanished" in err["details"]["events"]
    status, err, _ = await admin.put(
        f"{base}/{hook['id']}", {"url": "gopher://hooks.example.invalid"}
    )
    assert status == 400 and "url" in err["details"]
    status, err, _ = await admin.get(f"{base}/{hook['id']}/deliveries", params={"status": "lost"})
    assert status == 400 and "status" in err["details"]


async def test_agents_get_403_and_other_orgs_get_404(admin, web_url, http):
    base = f"/orgs/{admin.org_id}/webhooks"
    hook = await create_hook(admin, "https://hooks.example.invalid/x", ["*"])
    agent = await invite_agent(admin, web_url, http)
    for method, path, body in [
        ("GET", base, None),
        ("POST", base, {"url": "https://hooks.example.invalid/y", "events": ["*"]}),
        ("GET", f"{base}/{hook['id']}", None),
        ("PUT", f"{base}/{hook['id']}", {"isActive": False}),
        ("DELETE", f"{base}/{hook['id']}", None),
        ("GET", f"{base}/{hook['id']}/deliveries", None),
        ("POST", f"{base}/{hook['id']}/test", None),
    ]:
        status, err, _ = await agent.call(method, path, body)
        assert status == 403, (method, path, err)

    other = await signup(web_url, http, org="Other")
    status, _, _ = await other.get(base)  # another org's path
    assert status == 404
    theirs = f"/orgs/{other.org_id}/webhooks/{hook['id']}"  # own path, another org's id
    for method, path in [
        ("GET", theirs),
        ("PUT", theirs),
        ("DELETE", theirs),
        ("GET", f"{theirs}/deliveries"),
        ("POST", f"{theirs}/test"),
        ("POST", f"{theirs}/deliveries/{uuid.uuid4()}/redeliver"),
    ]:
        status, err, _ = await other.call(method, path, {} if method == "PUT" else None)
        assert status == 404, (method, path, err)
    status, _, _ = await admin.get(f"{base}/{hook['id']}")
    assert status == 200  # untouched


async def test_unauthenticated_calls_get_401(admin):
    status, err, _ = await admin.get(f"/orgs/{admin.org_id}/webhooks", token="")
    assert status == 401, err


# -- delivery --------------------------------------------------------------------------------


async def test_events_reach_only_the_subscribed_urls_signed_and_timestamped(admin, receiver):
    messages_hook = await create_hook(admin, receiver.url("messages"), ["message.created"])
    campaigns_hook = await create_hook(admin, receiver.url("campaigns"), ["campaign.created"])
    all_hook = await create_hook(admin, receiver.url("all"), ["*"])
    channel = await mock_channel(admin)

    await inbound(admin, channel["id"], "Where is my parcel?")

    got = await eventually(lambda: _async(receiver.at("messages")))
    body = verify(got[0], messages_hook["secret"])
    assert body["event"] == "message.created" and body["orgId"] == admin.org_id
    assert body["data"]["content"] == "Where is my parcel?"
    assert body["data"]["direction"] == "INBOUND"
    assert body["timestamp"].endswith("Z")

    everything = await eventually(
        lambda: _async(
            with_event(receiver.at("all"), "message.created")
            and with_event(receiver.at("all"), "ticket.created")
        )
    )
    assert everything
    for request in receiver.at("all"):
        assert verify(request, all_hook["secret"])["orgId"] == admin.org_id
    # Each POST is signed with its own subscription's secret.
    with pytest.raises(AssertionError):
        verify(receiver.at("messages")[0], all_hook["secret"])

    # Deliveries of one event to every subscription are recorded together, so by now the
    # campaign-only subscription would have one if it were (wrongly) matched.
    assert await deliveries(admin, campaigns_hook["id"]) == []
    assert receiver.at("campaigns") == []

    [logged] = await eventually(
        lambda: _succeeded(admin, messages_hook["id"]), timeout=20, interval=0.2
    )
    assert logged["event"] == "message.created" and logged["attempts"] == 1
    assert logged["lastStatusCode"] == 200 and logged["lastError"] is None
    assert logged["responseTimeMs"] is not None and logged["nextAttemptAt"] is None
    assert logged["id"] == got[0].delivery_id and logged["eventId"] == body["id"]


async def test_a_receiver_that_fails_three_times_then_succeeds_gets_the_event_exactly_once_more(
    admin, receiver
):
    receiver.fail_first["flaky"] = 3
    hook = await create_hook(admin, receiver.url("flaky"), ["message.created"])
    channel = await mock_channel(admin)
    await inbound(admin, channel["id"], "first")

    [done] = await eventually(lambda: _succeeded(admin, hook["id"]), timeout=60, interval=0.2)
    assert done["attempts"] == 4 and done["lastStatusCode"] == 200

    requests = receiver.at("flaky")
    assert [r.answered for r in requests] == [500, 500, 500, 200]
    bodies = [verify(r, hook["secret"]) for r in requests]
    assert all(b == bodies[0] for b in bodies)  # the same bytes every time
    assert {r.delivery_id for r in requests} == {done["id"]}

    status, detail, _ = await admin.get(
        f"/orgs/{admin.org_id}/webhooks/{hook['id']}/deliveries/{done['id']}"
    )
    assert status == 200
    assert [a["statusCode"] for a in detail["attemptLog"]] == [500, 500, 500, 200]
    assert [a["error"] for a in detail["attemptLog"]][:3] == ["HTTP 500"] * 3
    assert detail["payload"] == bodies[0]

    # A later event arrives after it, and the first one was not sent again in between.
    await inbound(admin, channel["id"], "second")
    await eventually(lambda: _async(len(receiver.at("flaky")) == 5))
    assert receiver.at("flaky")[-1].json["data"]["content"] == "second"
    assert len([r for r in receiver.at("flaky") if r.delivery_id == done["id"]]) == 4


async def test_a_receiver_that_hangs_does_not_delay_delivery_to_another_subscription(
    admin, receiver
):
    receiver.gates["hang"] = asyncio.Event()  # holds every request until the test opens it
    hanging = await create_hook(admin, receiver.url("hang"), ["message.created"])
    await create_hook(admin, receiver.url("fast"), ["message.created"])
    channel = await mock_channel(admin)
    for i in range(6):
        await inbound(admin, channel["id"], f"message {i}", sender=f"cust-{i}")

    # Every event reaches the healthy endpoint while the other one still holds its requests.
    await eventually(lambda: _async(len(receiver.at("fast")) == 6), timeout=30)
    assert not receiver.gates["hang"].is_set()
    assert all(r.answered is None for r in receiver.at("hang"))
    assert 1 <= len(receiver.at("hang")) <= 4  # at most 4 in flight to one subscription

    receiver.gates["hang"].set()
    await eventually(lambda: _succeeded(admin, hanging["id"], count=6), timeout=90, interval=0.5)


async def test_test_events_and_redeliveries_are_sent_and_logged(admin, receiver):
    hook = await create_hook(admin, receiver.url("ok"), ["order.created"])
    base = f"/orgs/{admin.org_id}/webhooks/{hook['id']}"

    status, test, _ = await admin.post(f"{base}/test")
    assert status == 202 and test["event"] == "webhook.test" and test["status"] == "pending"
    [first] = await eventually(lambda: _async(receiver.at("ok")))
    body = verify(first, hook["secret"])
    assert body["event"] == "webhook.test" and body["data"]["webhookId"] == hook["id"]
    assert first.delivery_id == test["id"]
    await eventually(lambda: _succeeded(admin, hook["id"]))

    status, again, _ = await admin.post(f"{base}/deliveries/{test['id']}/redeliver")
    assert status == 202, again
    assert again["redeliveryOf"] == test["id"] and again["id"] != test["id"]
    await eventually(lambda: _async(len(receiver.at("ok")) == 2))
    second = receiver.at("ok")[1]
    assert verify(second, hook["secret"]) == body  # the same event, signed again
    assert second.delivery_id == again["id"]

    logged = await eventually(lambda: _succeeded(admin, hook["id"], count=2))
    assert [d["id"] for d in logged] == [again["id"], test["id"]]  # newest first
    status, audit, _ = await admin.get(
        f"/orgs/{admin.org_id}/audit-logs", params={"action": "webhook.redeliver"}
    )
    assert status == 200 and len(audit) == 1

    status, err, _ = await admin.post(f"{base}/deliveries/{uuid.uuid4()}/redeliver")
    assert status == 404, err


async def test_message_sent_and_campaign_created_are_delivered(admin, receiver):
    hook = await create_hook(admin, receiver.url("crm"), ["message.sent", "campaign.created"])
    channel = await mock_channel(admin)
    await inbound(admin, channel["id"], "hello")
    ticket = (await eventually(lambda: _tickets(admin)))[0]
    status, reply, _ = await admin.post(
        f"/orgs/{admin.org_id}/tickets/{ticket['id']}/messages", {"content": "On its way!"}
    )
    assert status == 201, reply
    status, campaign, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns",
        {"channelId": channel["id"], "name": "Sale", "messageTemplate": "Hi {{ customer.name }}"},
    )
    assert status == 201, campaign

    await eventually(
        lambda: _async(
            with_event(receiver.at("crm"), "message.sent")
            and with_event(receiver.at("crm"), "campaign.created")
        )
    )
    [sent] = with_event(receiver.at("crm"), "message.sent")
    sent_body = verify(sent, hook["secret"])
    assert sent_body["data"]["id"] == reply["id"] and sent_body["data"]["status"] == "SENT"
    [created] = with_event(receiver.at("crm"), "campaign.created")
    assert verify(created, hook["secret"])["data"]["id"] == campaign["id"]


async def test_a_replayed_event_is_never_delivered_twice(admin, receiver, settings: Settings):
    hook = await create_hook(admin, receiver.url("once"), ["*"])
    stream = KafkaStream(settings)
    await stream.start()
    try:
        record = {
            "id": f"{int(time.time() * 1000)}-0",
            "orgId": admin.org_id,
            "event": "order.created",
            "data": {"id": "ord-1"},
        }
        await stream.send(topics.events(settings), admin.org_id, record)
        await eventually(lambda: _async(receiver.at("once")))
        # The same record again (a replay after a restart), then a fresh one behind it on
        # the org's partition: once the fresh one arrives, the replay has been seen.
        await stream.send(topics.events(settings), admin.org_id, record)
        fresh = {**record, "id": f"{int(time.time() * 1000) + 1}-0", "data": {"id": "ord-2"}}
        await stream.send(topics.events(settings), admin.org_id, fresh)
        await stream.producer.flush()
        await eventually(lambda: _async(len(receiver.at("once")) >= 2))
    finally:
        await stream.stop()
    assert [r.json["data"]["id"] for r in receiver.at("once")] == ["ord-1", "ord-2"]
    assert len(await deliveries(admin, hook["id"])) == 2


async def test_pending_retries_are_delivered_after_a_worker_restart(
    admin,
    receiver,
    restartable_worker,  # noqa: F811 - fixture
):
    receiver.status["down"] = 503
    hook = await create_hook(admin, receiver.url("down"), ["message.created"])
    channel = await mock_channel(admin)
    await inbound(admin, channel["id"], "are you there?")

    async def retrying() -> list[dict[str, Any]]:
        found = await deliveries(admin, hook["id"], status="retrying")
        return found if found and found[0]["lastStatusCode"] == 503 else []

    await eventually(retrying, timeout=30, interval=0.2)
    restartable_worker.kill()  # SIGKILL: nothing in memory survives
    receiver.status["down"] = 200
    restartable_worker.start()

    [done] = await eventually(lambda: _succeeded(admin, hook["id"]), timeout=120, interval=0.5)
    assert done["attempts"] >= 2
    answered_ok = [r for r in receiver.at("down") if r.answered == 200]
    assert len(answered_ok) == 1 and answered_ok[0].delivery_id == done["id"]
    verify(answered_ok[0], hook["secret"])
    # The restarted worker may re-read events it had read before: still one delivery.
    assert len(await deliveries(admin, hook["id"])) == 1


# -- small async helpers for eventually() ----------------------------------------------------


async def _async(value: Any) -> Any:
    return value


async def _succeeded(api: Api, hook_id: str, count: int = 1) -> list[dict[str, Any]]:
    found = await deliveries(api, hook_id)
    ok = [d for d in found if d["status"] == "succeeded"]
    return ok if len(ok) >= count and len(ok) == len(found) else []


async def _tickets(api: Api) -> list[dict[str, Any]]:
    status, tickets, _ = await api.get(f"/orgs/{api.org_id}/tickets")
    return tickets if status == 200 else []
