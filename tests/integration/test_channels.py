"""Channel admin: per-type config validation, write-only secrets, test-connection."""

from __future__ import annotations

from tests.integration.conftest import messenger_config, whatsapp_config
from tests.integration.test_auth import invite_agent

SECRETS = ("wa-token-secret", "fb-token-secret", "test-app-secret")


def assert_no_secrets(body) -> None:
    text = str(body)
    for secret in SECRETS:
        assert secret not in text


async def test_whatsapp_channel_is_created_with_secrets_write_only(admin, graph):
    status, channel, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels",
        {"type": "WHATSAPP", "name": "Support WA", "config": whatsapp_config(graph)},
    )
    assert status == 201, channel
    assert channel["type"] == "WHATSAPP" and channel["isActive"] is True
    assert channel["config"]["phoneNumberId"] == "1000001"
    assert channel["webhookUrl"].endswith(f"/webhook/{channel['id']}")
    assert_no_secrets(channel)
    for path in (
        f"/orgs/{admin.org_id}/channels",
        f"/orgs/{admin.org_id}/channels/{channel['id']}",
    ):
        status, body, _ = await admin.get(path)
        assert status == 200
        assert_no_secrets(body)


async def test_a_missing_config_key_is_a_400_naming_it(admin, graph):
    config = whatsapp_config(graph)
    del config["phoneNumberId"]
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "WHATSAPP", "name": "WA", "config": config}
    )
    assert status == 400 and body["code"] == "VALIDATION_ERROR"
    assert any("phoneNumberId" in k for k in body["details"])
    config = messenger_config(graph)
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "INSTAGRAM", "name": "IG", "config": config}
    )
    assert status == 400 and any("instagramAccountId" in k for k in body["details"])
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "FAX", "name": "Fax", "config": {}}
    )
    assert status == 400 and "type" in body["details"]


async def test_updating_a_channel_keeps_secrets_that_are_not_resent(admin, graph, db):
    from inbox.channels.documents import Channel

    _, channel, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels",
        {"type": "FACEBOOK", "name": "Page", "config": messenger_config(graph)},
    )
    masked = dict(channel["config"])
    masked["facebookPageId"] = "3000999"
    status, updated, _ = await admin.put(
        f"/orgs/{admin.org_id}/channels/{channel['id']}", {"name": "Page 2", "config": masked}
    )
    assert status == 200 and updated["name"] == "Page 2"
    stored = await Channel.find_one(Channel.id == channel["id"])
    assert stored.config["pageAccessToken"] == "fb-token-secret"
    assert stored.config["facebookPageId"] == "3000999"


async def test_agents_read_channels_but_only_admins_write(admin, web_url, http, graph):
    agent = await invite_agent(admin, web_url, http)
    status, _, _ = await agent.post(
        f"/orgs/{admin.org_id}/channels", {"type": "MOCK", "name": "Dev", "config": {}}
    )
    assert status == 403
    _, channel, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "MOCK", "name": "Dev", "config": {}}
    )
    assert (await agent.get(f"/orgs/{admin.org_id}/channels/{channel['id']}"))[0] == 200
    assert (await agent.delete(f"/orgs/{admin.org_id}/channels/{channel['id']}"))[0] == 403
    assert (await agent.post(f"/orgs/{admin.org_id}/channels/{channel['id']}/test-connection"))[
        0
    ] == 403


async def test_deleted_channel_is_gone_from_the_api_and_its_webhook(admin):
    _, channel, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "MOCK", "name": "Old", "config": {}}
    )
    assert (await admin.delete(f"/orgs/{admin.org_id}/channels/{channel['id']}"))[0] == 200
    assert (await admin.get(f"/orgs/{admin.org_id}/channels/{channel['id']}"))[0] == 404
    status, _, _ = await admin.webhook(channel["id"], {"messages": []}, secret=None)
    assert status == 404


async def test_test_connection_reports_the_platform_answer(admin, graph):
    _, wa, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels",
        {"type": "WHATSAPP", "name": "WA", "config": whatsapp_config(graph)},
    )
    status, result, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels/{wa['id']}/test-connection"
    )
    assert status == 200 and result["ok"] is True, result
    assert any(r["path"].endswith("/1000001") for r in graph.requests)
    graph.fail_next(1, status=401, code=190, message="Error validating access token")
    status, result, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels/{wa['id']}/test-connection"
    )
    assert status == 200 and result["ok"] is False
    assert "access token" in result["message"].lower()
    assert_no_secrets(result)


async def test_channels_without_a_connector_say_so(admin):
    _, tw, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels",
        {"type": "TWITTER", "name": "X", "config": {"handle": "@shop"}},
    )
    status, result, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels/{tw['id']}/test-connection"
    )
    assert status == 200 and result["ok"] is False and "no connector" in result["message"]


async def test_another_orgs_channel_is_not_found(web_url, http, admin):
    from tests.integration.conftest import signup

    other = await signup(web_url, http, org="Other")
    _, channel, _ = await other.post(
        f"/orgs/{other.org_id}/channels", {"type": "MOCK", "name": "Theirs", "config": {}}
    )
    assert (await admin.get(f"/orgs/{admin.org_id}/channels/{channel['id']}"))[0] == 404
    assert (await admin.put(f"/orgs/{admin.org_id}/channels/{channel['id']}", {"name": "Mine"}))[
        0
    ] == 404
    assert (await admin.get(f"/orgs/{other.org_id}/channels"))[0] == 404
