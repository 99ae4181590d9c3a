"""/auth/*: sign-up, login, refresh, logout, invites accepted, me."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts import auth as auth_service
from inbox.accounts.views import auth_user_view, user_view
from web import keys
from web import openapi_models as om
from web.accounts.schemas import AcceptInviteBody, LoginBody, RefreshBody, SignupBody
from web.auth import authenticated, current_user
from web.openapi import spec
from web.parsing import json_body


def _session(session: auth_service.Session, status: int = 200) -> web.Response:
    return web.json_response(
        {
            "user": auth_user_view(session.user).dump(),
            "accessToken": session.access_token,
            "refreshToken": session.refresh_token,
        },
        status=status,
    )


@spec(
    "Sign up: a new organisation and its first admin",
    tags=["auth"],
    body=SignupBody,
    response=om.SessionView,
    status=201,
    errors=[409],
)
async def signup(request: web.Request) -> web.Response:
    body = await json_body(request, SignupBody)
    session = await auth_service.signup(
        request.app[keys.SETTINGS],
        org_name=body.org_name,
        name=body.name,
        email=body.email,
        password=body.password,
    )
    return _session(session, status=201)


@spec("Log in", tags=["auth"], body=LoginBody, response=om.SessionView, errors=[401])
async def login(request: web.Request) -> web.Response:
    body = await json_body(request, LoginBody)
    return _session(
        await auth_service.login(
            request.app[keys.SETTINGS], email=body.email, password=body.password
        )
    )


@spec(
    "Trade a refresh token for a new access token (the refresh token rotates)",
    tags=["auth"],
    body=RefreshBody,
    response=om.TokensView,
    errors=[401],
)
async def refresh(request: web.Request) -> web.Response:
    body = await json_body(request, RefreshBody)
    session = await auth_service.refresh(request.app[keys.SETTINGS], body.refresh_token)
    # The document returns the access token; the rotated refresh token comes alongside.
    return web.json_response(
        {"accessToken": session.access_token, "refreshToken": session.refresh_token}
    )


@spec("Log out: revoke a refresh token", tags=["auth"], body=RefreshBody, response=om.OkView)
async def logout(request: web.Request) -> web.Response:
    body = await json_body(request, RefreshBody)
    await auth_service.logout(body.refresh_token)
    return web.json_response({"success": True, "message": "Logged out"})


@spec(
    "Accept an invite: create the invited user and start a session",
    tags=["auth"],
    body=AcceptInviteBody,
    response=om.SessionView,
    status=201,
    errors=[404, 409],
)
async def accept_invite(request: web.Request) -> web.Response:
    body = await json_body(request, AcceptInviteBody)
    session = await auth_service.accept_invite(
        request.app[keys.SETTINGS], token=body.token, name=body.name, password=body.password
    )
    return _session(session, status=201)


@spec("The caller's own user", tags=["auth"], response=om.MeView)
@authenticated(org_scoped=False)
async def me(request: web.Request) -> web.Response:
    data = user_view(current_user(request)).dump()
    data.pop("createdAt", None)
    return web.json_response(data)
