"""/auth/*: sign-up, login, refresh, logout, invites accepted, me."""

from __future__ import annotations

from typing import Any

from inbox.accounts import auth as auth_service
from web import openapi_models as om
from web.accounts.schemas import AcceptInviteBody, LoginBody, RefreshBody, SignupBody
from web.endpoints import Call, Routes

routes = Routes("auth")


@routes.post(
    "/auth/signup",
    "Sign up: a new organisation and its first admin",
    auth=False,
    tags=["auth"],
    body=SignupBody,
    response=om.SessionView,
    status=201,
    errors=[409],
)
async def signup(call: Call[SignupBody, None]) -> dict[str, Any]:
    return await auth_service.signup(
        call.settings,
        org_name=call.body.org_name,
        name=call.body.name,
        email=call.body.email,
        password=call.body.password,
    )


@routes.post(
    "/auth/login",
    "Log in",
    auth=False,
    tags=["auth"],
    body=LoginBody,
    response=om.SessionView,
    errors=[401],
)
async def login(call: Call[LoginBody, None]) -> dict[str, Any]:
    return await auth_service.login(
        call.settings, email=call.body.email, password=call.body.password
    )


@routes.post(
    "/auth/refresh",
    "Trade a refresh token for a new access token (the refresh token rotates)",
    auth=False,
    tags=["auth"],
    body=RefreshBody,
    response=om.TokensView,
    errors=[401],
)
async def refresh(call: Call[RefreshBody, None]) -> dict[str, str]:
    return await auth_service.refresh(call.settings, call.body.refresh_token)


@routes.post(
    "/auth/logout",
    "Log out: revoke a refresh token",
    auth=False,
    tags=["auth"],
    body=RefreshBody,
    response=om.OkView,
)
async def logout(call: Call[RefreshBody, None]) -> dict[str, Any]:
    await auth_service.logout(call.body.refresh_token)
    return {"success": True, "message": "Logged out"}


@routes.post(
    "/auth/accept-invite",
    "Accept an invite: create the invited user and start a session",
    auth=False,
    tags=["auth"],
    body=AcceptInviteBody,
    response=om.SessionView,
    status=201,
    errors=[404, 409],
)
async def accept_invite(call: Call[AcceptInviteBody, None]) -> dict[str, Any]:
    return await auth_service.accept_invite(
        call.settings, token=call.body.token, name=call.body.name, password=call.body.password
    )


@routes.get(
    "/auth/me", "The caller's own user", org_scoped=False, tags=["auth"], response=om.MeView
)
async def me(call: Call[None, None]) -> dict[str, Any]:
    return auth_service.me(call.user)
