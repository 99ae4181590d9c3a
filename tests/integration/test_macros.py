"""Macros: canned replies at /orgs/macros/{orgId}, and sending one rendered for a customer."""

from __future__ import annotations

import pytest

from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, Api, eventually, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_pipeline import (
    PHONE_ID,
    messages_of,
    new_wa_id,
    wa_channel,
    wait_for_messages,
)

pytestmark = pytest.mark.usefixtures("worker")


def macros_path(api: Api) -> str:
    return f"/orgs/macros/{api.org_id}"


async def create_macro(api: Api, name: str, content: str) -> dict:
    status, macro, _ = await api.post(macros_path(api), {"name": name, "content": content})
    assert status == 201, macro
    return macro


async def test_a_macro_is_created_listed_updated_and_deleted_with_its_creator(admin):
    macro = await create_macro(admin, "Greeting", "Hi {{ customer.name }}!")
    assert macro["name"] == "Greeting" and macro["content"] == "Hi {{ customer.name }}!"
    assert macro["createdByUser"] == {"id": admin.user["id"], "name": "Ada Admin"}
    assert macro["id"] and macro["createdAt"]
    await create_macro(admin, "Apology", "Sorry for the wait, {{ customer.name }}.")

    status, listed, headers = await admin.get(macros_path(admin))
    assert status == 200 and headers["X-Total-Count"] == "2"
    assert [m["name"] for m in listed] == ["Apology", "Greeting"]  # by name, for pickers
    assert listed[1]["createdByUser"]["name"] == "Ada Admin"
    status, found, _ = await admin.get(macros_path(admin) + "?search=gree")
    assert status == 200 and [m["id"] for m in found] == [macro["id"]]

    path = f"{macros_path(admin)}/{macro['id']}"
    status, updated, _ = await admin.put(path, {"content": "Hello {{ customer.name }}"})
    assert status == 200 and updated["content"] == "Hello {{ customer.name }}"
    assert updated["name"] == "Greeting" and updated["updatedAt"] >= macro["updatedAt"]
    status, renamed, _ = await admin.put(path, {"name": "Hello"})
    assert status == 200 and renamed["name"] == "Hello"

    status, body, _ = await admin.delete(path)
    assert status == 200 and body == {"success": True, "message": "Macro deleted"}
    _, listed, _ = await admin.get(macros_path(admin))
    assert [m["name"] for m in listed] == ["Apology"]
    assert (await admin.put(path, {"name": "gone"}))[0] == 404
    assert (await admin.delete(path))[0] == 404


async def test_agents_create_macros_but_change_only_their_own(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    admins = await create_macro(admin, "Admin's", "From the admin")
    mine = await create_macro(agent, "Agent's", "From {{ agent.name }}")
    assert mine["createdByUser"] == {"id": agent.user["id"], "name": "Ann Agent"}

    status, listed, _ = await agent.get(macros_path(agent))
    assert status == 200 and {m["id"] for m in listed} == {admins["id"], mine["id"]}
    status, body, _ = await agent.put(f"{macros_path(agent)}/{admins['id']}", {"name": "Mine"})
    assert status == 403 and body["code"] == "FORBIDDEN"
    assert (await agent.delete(f"{macros_path(agent)}/{admins['id']}"))[0] == 403
    assert (await agent.put(f"{macros_path(agent)}/{mine['id']}", {"name": "Ann's"}))[0] == 200
    # An ADMIN may change anyone's.
    assert (await admin.put(f"{macros_path(admin)}/{mine['id']}", {"name": "Tidied"}))[0] == 200
    assert (await admin.delete(f"{macros_path(admin)}/{mine['id']}"))[0] == 200


async def test_a_template_with_unknown_variables_or_bad_syntax_is_a_400_naming_content(admin):
    for content, expected in [
        ("Hi {{ customer.nmae }}", "customer.nmae"),
        ("Hi {{ user.name }}", "user"),
        ("Hi {% if customer.name %}", "syntax error"),
        ("{{ 1 / 0 }}", "division"),
        ("{{ ''.__class__ }}", "unsafe"),
    ]:
        status, body, _ = await admin.post(macros_path(admin), {"name": "Bad", "content": content})
        assert status == 400, (content, body)
        assert expected in body["details"]["content"], (content, body)
    status, body, _ = await admin.post(macros_path(admin), {"content": "no name"})
    assert status == 400 and "name" in body["details"]
    status, body, _ = await admin.post(macros_path(admin), {"name": "Empty", "content": "  "})
    assert status == 400 and "content" in body["details"]
    status, body, _ = await admin.post(
        macros_path(admin), {"name": "X", "content": "x", "color": "red"}
    )
    assert status == 400 and "color" in body["details"]

    macro = await create_macro(admin, "Fine", "Order {{ customer.metadata.orderId }} is on its way")
    status, body, _ = await admin.put(
        f"{macros_path(admin)}/{macro['id']}", {"content": "{{ ticket.nope }}"}
    )
    assert status == 400 and "ticket.nope" in body["details"]["content"]
    status, body, _ = await admin.post(macros_path(admin), {"name": "Fine", "content": "again"})
    assert status == 409 and body["code"] == "MACRO_NAME_TAKEN" and "name" in body["details"]


async def test_another_orgs_macros_are_not_found(admin, web_url, http):
    other = await signup(web_url, http, org="Other")
    theirs = await create_macro(other, "Theirs", "secret wording")
    assert (await admin.get(macros_path(other)))[0] == 404
    assert (await admin.post(macros_path(other), {"name": "x", "content": "y"}))[0] == 404
    assert (await admin.put(f"{macros_path(admin)}/{theirs['id']}", {"name": "z"}))[0] == 404
    assert (await admin.delete(f"{macros_path(admin)}/{theirs['id']}"))[0] == 404
    _, listed, _ = await admin.get(macros_path(admin))
    assert theirs["id"] not in {m["id"] for m in listed}
    assert (await admin.get(macros_path(admin), token=""))[0] == 401


async def _conversation(api: Api, graph, name: str = "Kerry Fisher") -> tuple[dict, str]:
    channel = await wa_channel(api, graph)
    wa_id = new_wa_id()
    await api.webhook(
        channel["id"],
        p.whatsapp_text(PHONE_ID, wa_id, name, f"wamid.{wa_id}.in", "Where is my order?"),
        APP_SECRET,
    )
    ticket, _ = await wait_for_messages(api, wa_id, 1)
    return ticket, wa_id


async def test_a_reply_with_a_macro_id_sends_the_macro_rendered_for_the_customer(admin, graph, db):
    from inbox.crm.customer_documents import Customer

    ticket, wa_id = await _conversation(admin, graph)
    await Customer.get_pymongo_collection().update_one(
        {"_id": ticket["customerId"]}, {"$set": {"metadata": {"orderId": "A-1001"}}}
    )
    macro = await create_macro(
        admin,
        "Shipped",
        "Hi {{ customer.name }}, order {{ customer.metadata.orderId }} has shipped."
        " ({{ ticket.subject }}) – {{ agent.name }}",
    )
    status, reply, _ = await admin.post(
        f"/orgs/{admin.org_id}/tickets/{ticket['id']}/messages", {"macroId": macro["id"]}
    )
    expected = "Hi Kerry Fisher, order A-1001 has shipped. (Where is my order?) – Ada Admin"
    assert status == 201, reply
    assert reply["content"] == expected and reply["metadata"]["macroId"] == macro["id"]

    async def sent():
        return [r for r in graph.sent if r["json"].get("to") == wa_id]

    [request] = await eventually(sent)
    assert request["json"]["text"]["body"] == expected
    msgs = await messages_of(admin, ticket["id"])
    assert msgs[-1]["content"] == expected and msgs[-1]["senderUser"]["id"] == admin.user["id"]


async def test_a_macro_needing_a_value_the_customer_lacks_is_a_400_and_sends_nothing(admin, graph):
    ticket, wa_id = await _conversation(admin, graph)
    macro = await create_macro(admin, "Order", "Order {{ customer.metadata.orderId }} shipped")
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/tickets/{ticket['id']}/messages", {"macroId": macro["id"]}
    )
    assert status == 400 and body["code"] == "MACRO_RENDER_FAILED"
    assert "orderId" in body["details"]["macroId"]
    assert len(await messages_of(admin, ticket["id"])) == 1
    assert not [r for r in graph.sent if r["json"].get("to") == wa_id]


async def test_a_reply_needs_content_or_a_known_macro_id(admin, graph, web_url, http):
    ticket, _ = await _conversation(admin, graph)
    path = f"/orgs/{admin.org_id}/tickets/{ticket['id']}/messages"
    macro = await create_macro(admin, "Hello", "Hello!")
    status, body, _ = await admin.post(path, {})
    assert status == 400 and "content" in body["details"]
    status, body, _ = await admin.post(path, {"content": "typed", "macroId": macro["id"]})
    assert status == 400 and "content" in body["details"]
    status, body, _ = await admin.post(path, {"macroId": "no-such-macro"})
    assert status == 400 and "macroId" in body["details"]
    other = await signup(web_url, http, org="Other")
    theirs = await create_macro(other, "Theirs", "Not yours")
    status, body, _ = await admin.post(path, {"macroId": theirs["id"]})
    assert status == 400 and "macroId" in body["details"]
