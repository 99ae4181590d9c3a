"""Audit logs: every write by a user is recorded without secrets; admins list, filter and
summarise them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from tests.integration.conftest import Api, signup, whatsapp_config
from tests.integration.test_auth import invite_agent

SECRETS = ("wa-token-secret", "test-app-secret", "rotated-token-secret")


async def logs_of(api: Api, query: str = "") -> list[dict]:
    sep = "&" if "?" in query else "?"
    status, body, _ = await api.get(f"/orgs/{api.org_id}/audit-logs{query}{sep}limit=100")
    assert status == 200, body
    return body


async def mock_ticket(api: Api) -> tuple[dict, dict]:
    """A MOCK channel and a ticket opened by hand for a known customer."""
    from inbox.crm.customer_documents import Customer

    status, channel, _ = await api.post(
        f"/orgs/{api.org_id}/channels", {"type": "MOCK", "name": "Dev", "config": {}}
    )
    assert status == 201, channel
    customer = Customer(
        org_id=api.org_id, platform="MOCK", external_id=uuid.uuid4().hex, name="Cora Customer"
    )
    await customer.insert()
    status, ticket, _ = await api.post(
        f"/orgs/{api.org_id}/tickets",
        {"channelId": channel["id"], "customerId": customer.id, "subject": "Refund"},
    )
    assert status == 201, ticket
    return channel, ticket


async def test_every_write_is_recorded_with_its_actor_and_no_secrets(
    admin, graph, web_url, http, db
):
    org = f"/orgs/{admin.org_id}"
    assert (await admin.patch(org, {"name": "Renamed Co"}))[0] == 200
    agent = await invite_agent(admin, web_url, http)
    leaver = await invite_agent(admin, web_url, http)
    assert (await admin.post(f"{org}/users/{leaver.user['id']}/deactivate"))[0] == 200

    _, wa, _ = await admin.post(
        f"{org}/channels",
        {"type": "WHATSAPP", "name": "WA", "config": whatsapp_config(graph)},
    )
    status, _, _ = await admin.put(
        f"{org}/channels/{wa['id']}",
        {"name": "WA Support", "config": {"accessToken": "rotated-token-secret"}},
    )
    assert status == 200
    assert (await admin.delete(f"{org}/channels/{wa['id']}"))[0] == 200

    mock, ticket = await mock_ticket(admin)
    tpath = f"{org}/tickets/{ticket['id']}"
    assert (await admin.put(tpath, {"priority": "HIGH"}))[0] == 200
    assert (await admin.post(tpath + "/assign", {"assigneeId": agent.user["id"]}))[0] == 200
    status, reply, _ = await agent.post(tpath + "/messages", {"content": "On it"})
    assert status == 201, reply
    assert (await agent.post(tpath + "/close"))[0] == 200

    status, macro, _ = await agent.post(
        f"/orgs/macros/{admin.org_id}", {"name": "Thanks", "content": "Thanks!"}
    )
    assert status == 201
    macro_path = f"/orgs/macros/{admin.org_id}/{macro['id']}"
    assert (await agent.put(macro_path, {"content": "Thank you!"}))[0] == 200
    assert (await admin.delete(macro_path))[0] == 200

    logs = await logs_of(admin)
    by_action: dict[str, list[dict]] = {}
    for entry in logs:
        by_action.setdefault(entry["action"], []).append(entry)
    assert set(by_action) == {
        "org.update",
        "user.invite",
        "user.deactivate",
        "channel.create",
        "channel.update",
        "channel.delete",
        "ticket.create",
        "ticket.update",
        "ticket.assign",
        "message.create",
        "ticket.close",
        "macro.create",
        "macro.update",
        "macro.delete",
    }
    stamps = [e["createdAt"] for e in logs]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    for secret in SECRETS:
        assert secret not in str(logs)
    assert "token" not in str(by_action["user.invite"]).lower()

    admin_ref = {"id": admin.user["id"], "name": "Ada Admin"}
    agent_ref = {"id": agent.user["id"], "name": "Ann Agent"}
    [org_update] = by_action["org.update"]
    assert org_update["entity"] == "org" and org_update["entityId"] == admin.org_id
    assert org_update["metadata"] == {"name": "Renamed Co"} and org_update["user"] == admin_ref
    assert len(by_action["user.invite"]) == 2
    assert by_action["user.invite"][0]["metadata"]["role"] == "AGENT"
    [deactivate] = by_action["user.deactivate"]
    assert deactivate["entity"] == "user" and deactivate["entityId"] == leaver.user["id"]

    created = {e["entityId"]: e for e in by_action["channel.create"]}
    assert created[wa["id"]]["metadata"]["type"] == "WHATSAPP"
    assert "accessToken" in created[wa["id"]]["metadata"]["configKeys"]
    [updated] = by_action["channel.update"]
    assert updated["metadata"] == {"changed": ["name", "config"], "configKeys": ["accessToken"]}
    assert by_action["channel.delete"][0]["entityId"] == wa["id"]

    assert by_action["ticket.create"][0]["entityId"] == ticket["id"]
    assert by_action["ticket.update"][0]["metadata"] == {"changes": {"priority": "HIGH"}}
    [assign] = by_action["ticket.assign"]
    assert assign["metadata"] == {"assigneeId": agent.user["id"], "previousAssigneeId": None}
    [message] = by_action["message.create"]
    assert message["entityId"] == reply["id"] and message["user"] == agent_ref
    assert message["metadata"]["ticketId"] == ticket["id"]
    assert by_action["ticket.close"][0]["user"] == agent_ref
    assert by_action["macro.update"][0]["metadata"]["changed"] == ["content"]
    assert by_action["macro.delete"][0]["user"] == admin_ref


async def test_logs_filter_by_action_entity_user_and_time_and_summarise(admin, web_url, http, db):
    agent = await invite_agent(admin, web_url, http)
    await mock_ticket(admin)
    before = datetime.now(UTC)
    await asyncio.sleep(0.05)
    for name in ("One", "Two"):
        status, _, _ = await agent.post(
            f"/orgs/macros/{admin.org_id}", {"name": name, "content": name}
        )
        assert status == 201

    assert {e["action"] for e in await logs_of(admin, "?action=macro.create")} == {"macro.create"}
    assert len(await logs_of(admin, "?action=macro.create")) == 2
    assert {e["entity"] for e in await logs_of(admin, "?entity=channel")} == {"channel"}
    mine = await logs_of(admin, f"?userId={agent.user['id']}")
    assert len(mine) == 2 and {e["user"]["id"] for e in mine} == {agent.user["id"]}
    since = before.isoformat().replace("+00:00", "Z")
    assert len(await logs_of(admin, f"?from={since}")) == 2
    until = (before - timedelta(milliseconds=1)).isoformat().replace("+00:00", "Z")
    assert {e["action"] for e in await logs_of(admin, f"?to={until}")} >= {
        "user.invite",
        "channel.create",
        "ticket.create",
    }
    status, page, headers = await admin.get(f"/orgs/{admin.org_id}/audit-logs?limit=2")
    assert status == 200 and len(page) == 2 and int(headers["X-Total-Count"]) == 5

    status, summary, _ = await admin.get(f"/orgs/{admin.org_id}/audit-logs/summary")
    assert status == 200
    assert summary["total"] == 5
    assert summary["byAction"] == {
        "macro.create": 2,
        "channel.create": 1,
        "ticket.create": 1,
        "user.invite": 1,
    }
    assert summary["byEntity"]["macro"] == 2
    status, summary, _ = await admin.get(
        f"/orgs/{admin.org_id}/audit-logs/summary?userId={agent.user['id']}"
    )
    assert summary == {"total": 2, "byAction": {"macro.create": 2}, "byEntity": {"macro": 2}}

    status, theirs, headers = await admin.get(
        f"/orgs/{admin.org_id}/audit-logs/user/{agent.user['id']}?action=macro.create"
    )
    assert status == 200 and headers["X-Total-Count"] == "2"
    assert {e["user"]["name"] for e in theirs} == {"Ann Agent"}
    status, none, _ = await admin.get(
        f"/orgs/{admin.org_id}/audit-logs/user/{admin.user['id']}?action=macro.create"
    )
    assert status == 200 and none == []


async def test_bad_filters_are_400_naming_the_field(admin):
    base = f"/orgs/{admin.org_id}/audit-logs"
    status, body, _ = await admin.get(base + "?from=yesterday")
    assert status == 400 and "from" in body["details"]
    status, body, _ = await admin.get(base + "/summary?to=2024-13-45")
    assert status == 400 and "to" in body["details"]
    status, body, _ = await admin.get(base + "?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z")
    assert status == 400 and "from" in body["details"]
    status, body, _ = await admin.get(base + "?page=0")
    assert status == 400 and "page" in body["details"]


async def test_audit_logs_are_for_admins_of_the_org_only(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    other = await signup(web_url, http, org="Other")
    base = f"/orgs/{admin.org_id}/audit-logs"
    for path in (base, base + "/summary", f"{base}/user/{agent.user['id']}"):
        status, body, _ = await agent.get(path)
        assert status == 403 and body["code"] == "FORBIDDEN", path
        assert (await other.get(path))[0] == 404, path
        assert (await admin.get(path, token=""))[0] == 401, path
    status, body, _ = await admin.get(f"{base}/user/{other.user['id']}")
    assert status == 404 and body["code"] == "NOT_FOUND"
    status, body, _ = await admin.get(f"{base}/user/no-such-user")
    assert status == 404
