"""Sign-up, login, tokens, invites and deactivation over HTTP, against real Mongo and Redis."""

from __future__ import annotations

import time

import jwt

from tests.integration.conftest import Api, signup


async def test_signup_creates_an_org_and_its_admin(web_url, http):
    api = await signup(web_url, http, org="Shop One")
    assert api.user["role"] == "ADMIN"
    status, org, _ = await api.get(f"/orgs/{api.org_id}")
    assert status == 200 and org["name"] == "Shop One"
    status, me, _ = await api.get("/auth/me")
    assert status == 200
    assert me == {**api.user, "isActive": True}


async def test_signup_rejects_a_short_password_with_field_details(web_url, http):
    api = Api(web_url, http)
    status, body, _ = await api.post(
        "/auth/signup",
        {"orgName": "X", "name": "Y", "email": "short@example.com", "password": "1234567"},
    )
    assert status == 400
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["code"] == "VALIDATION_ERROR"
    assert "password" in body["details"]


async def test_signup_with_a_taken_email_is_a_conflict(web_url, http, admin):
    status, body, _ = await admin.post(
        "/auth/signup",
        {
            "orgName": "X",
            "name": "Y",
            "email": admin.user["email"].upper(),
            "password": "another-pass",
        },
        token="",
    )
    assert status == 409 and body["code"] == "EMAIL_TAKEN"


async def test_login_returns_tokens_and_wrong_password_is_401(web_url, http, admin):
    api = Api(web_url, http)
    status, body, _ = await api.post(
        "/auth/login", {"email": admin.user["email"], "password": "s3cret-pass"}
    )
    assert status == 200 and body["user"]["id"] == admin.user["id"]
    assert body["accessToken"] and body["refreshToken"]
    status, body, _ = await api.post(
        "/auth/login", {"email": admin.user["email"], "password": "wrong-pass"}
    )
    assert status == 401 and body["code"] == "INVALID_CREDENTIALS"
    assert "Traceback" not in str(body)


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(web_url, http, admin):
    status, first, _ = await admin.post(
        "/auth/refresh", {"refreshToken": admin.refresh_token}, token=""
    )
    assert status == 200 and first["accessToken"] and first["refreshToken"] != admin.refresh_token
    status, body, _ = await admin.post(
        "/auth/refresh", {"refreshToken": admin.refresh_token}, token=""
    )
    assert status == 401 and body["code"] == "TOKEN_REUSED"
    # The reuse revoked the whole family, including the token issued by the rotation.
    status, _, _ = await admin.post(
        "/auth/refresh", {"refreshToken": first["refreshToken"]}, token=""
    )
    assert status == 401


async def test_logout_revokes_the_refresh_token(admin):
    status, _, _ = await admin.post("/auth/logout", {"refreshToken": admin.refresh_token}, token="")
    assert status == 200
    status, _, _ = await admin.post(
        "/auth/refresh", {"refreshToken": admin.refresh_token}, token=""
    )
    assert status == 401


async def test_requests_without_or_with_bad_tokens_are_401(admin, settings):
    assert (await admin.get("/auth/me", token=""))[0] == 401
    assert (await admin.get("/auth/me", token="not-a-jwt"))[0] == 401
    forged = jwt.encode(
        {
            "sub": admin.user["id"],
            "org": admin.org_id,
            "role": "ADMIN",
            "typ": "access",
            "exp": int(time.time()) + 60,
        },
        "some-other-secret",
        algorithm="HS256",
    )
    assert (await admin.get("/auth/me", token=forged))[0] == 401
    expired = jwt.encode(
        {
            "sub": admin.user["id"],
            "org": admin.org_id,
            "role": "ADMIN",
            "typ": "access",
            "exp": int(time.time()) - 5,
        },
        settings.jwt_secret,
        algorithm="HS256",
    )
    status, body, _ = await admin.get("/auth/me", token=expired)
    assert status == 401 and body["code"] == "TOKEN_EXPIRED"


async def invite_agent(admin: Api, web_url, http) -> Api:
    email = f"agent-{time.time_ns()}@example.com"
    status, invite, _ = await admin.post(
        f"/orgs/{admin.org_id}/users/invites", {"email": email, "role": "AGENT"}
    )
    assert status == 201, invite
    assert invite["token"] and invite["expiresAt"]
    agent = Api(web_url, http)
    status, body, _ = await agent.post(
        "/auth/accept-invite",
        {"token": invite["token"], "name": "Ann Agent", "password": "agent-pass-1"},
    )
    assert status == 201, body
    agent.token, agent.user, agent.refresh_token = (
        body["accessToken"],
        body["user"],
        body["refreshToken"],
    )
    return agent


async def test_an_invite_makes_an_agent_of_the_same_org_and_works_once(admin, web_url, http):
    email = f"once-{time.time_ns()}@example.com"
    _, invite, _ = await admin.post(
        f"/orgs/{admin.org_id}/users/invites", {"email": email, "role": "AGENT"}
    )
    guest = Api(web_url, http)
    status, body, _ = await guest.post(
        "/auth/accept-invite", {"token": invite["token"], "name": "Ann", "password": "agent-pass-1"}
    )
    assert (
        status == 201 and body["user"]["orgId"] == admin.org_id and body["user"]["role"] == "AGENT"
    )
    status, body, _ = await guest.post(
        "/auth/accept-invite", {"token": invite["token"], "name": "Ann", "password": "agent-pass-1"}
    )
    assert status == 409 and body["code"] == "INVITE_USED"
    status, invites, _ = await admin.get(f"/orgs/{admin.org_id}/users/invites/list")
    assert status == 200
    assert [i["accepted"] for i in invites if i["email"] == email] == [True]
    assert all("token" not in i and "tokenHash" not in i for i in invites)


async def test_an_expired_invite_is_refused(admin, web_url, http, db):
    from inbox.accounts.documents import Invite
    from inbox.document_base import utcnow

    email = f"late-{time.time_ns()}@example.com"
    _, invite, _ = await admin.post(f"/orgs/{admin.org_id}/users/invites", {"email": email})
    await Invite.get_pymongo_collection().update_one(
        {"_id": invite["id"]}, {"$set": {"expiresAt": utcnow()}}
    )
    status, body, _ = await Api(web_url, http).post(
        "/auth/accept-invite",
        {"token": invite["token"], "name": "Late", "password": "agent-pass-1"},
    )
    assert status == 409 and body["code"] == "INVITE_EXPIRED"


async def test_agents_cannot_use_admin_endpoints(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    status, body, _ = await agent.post(
        f"/orgs/{admin.org_id}/users/invites", {"email": "x@example.com"}
    )
    assert status == 403 and body["code"] == "FORBIDDEN"
    assert (await agent.get(f"/orgs/{admin.org_id}/users/invites/list"))[0] == 403
    assert (await agent.patch(f"/orgs/{admin.org_id}", {"name": "Hijack"}))[0] == 403
    status, users, headers = await agent.get(f"/orgs/{admin.org_id}/users")
    assert status == 200 and headers["X-Total-Count"] == "2"
    assert {u["role"] for u in users} == {"ADMIN", "AGENT"}
    assert all("passwordHash" not in u for u in users)


async def test_a_deactivated_user_can_neither_log_in_nor_use_an_earlier_token(admin, web_url, http):
    agent = await invite_agent(admin, web_url, http)
    assert (await agent.get("/auth/me"))[0] == 200
    status, _, _ = await admin.post(f"/orgs/{admin.org_id}/users/{agent.user['id']}/deactivate")
    assert status == 200
    status, body, _ = await agent.get("/auth/me")
    assert status == 401 and body["code"] == "USER_DEACTIVATED"
    status, _, _ = await agent.post(
        "/auth/login", {"email": agent.user["email"], "password": "agent-pass-1"}
    )
    assert status == 401
    status, _, _ = await agent.post(
        "/auth/refresh", {"refreshToken": agent.refresh_token}, token=""
    )
    assert status == 401
    status, user, _ = await admin.get(f"/orgs/{admin.org_id}/users/{agent.user['id']}")
    assert status == 200 and user["isActive"] is False


async def test_another_orgs_data_is_not_found(web_url, http):
    one = await signup(web_url, http, org="One")
    two = await signup(web_url, http, org="Two")
    status, body, _ = await one.get(f"/orgs/{two.org_id}")
    assert status == 404 and body["code"] == "NOT_FOUND"
    assert (await one.get(f"/orgs/{two.org_id}/users"))[0] == 404
    assert (await one.get(f"/orgs/{one.org_id}/users/{two.user['id']}"))[0] == 404
    assert (await one.post(f"/orgs/{one.org_id}/users/{two.user['id']}/deactivate"))[0] == 404


async def test_org_name_can_be_changed_by_an_admin(admin):
    status, org, _ = await admin.patch(f"/orgs/{admin.org_id}", {"name": "Renamed"})
    assert status == 200 and org["name"] == "Renamed"
    status, body, _ = await admin.patch(f"/orgs/{admin.org_id}", {"name": ""})
    assert status == 400 and "name" in body["details"]


async def test_malformed_json_bodies_are_400_not_500(admin):
    status, body, _ = await admin.call(
        "POST", "/auth/login", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and body["code"] == "INVALID_JSON"
    status, body, _ = await admin.post("/auth/login", [1, 2])
    assert status == 400


async def test_users_list_is_paged_with_total_and_links(admin):
    status, body, headers = await admin.get(f"/orgs/{admin.org_id}/users?page=1&limit=1")
    assert status == 200 and len(body) == 1 and headers["X-Total-Count"] == "1"
    assert 'rel="first"' in headers["Link"]
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/users?limit=1000")
    assert status == 400 and "limit" in body["details"]
