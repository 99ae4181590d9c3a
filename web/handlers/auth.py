"""/auth/*: sign-up, login, refresh, logout, invites accepted, me."""

from __future__ import annotations

from aiohttp import web

from inbox.services import auth as auth_service
from inbox.views import auth_user_view, user_view
from web import keys
from web.auth import authenticated, current_user
from web.parsing import json_body
from web.schemas import AcceptInviteBody, LoginBody, RefreshBody, SignupBody


def _session(session: auth_service.Session, status: int = 200) -> web.Response:
    return web.json_response(
        {
            "user": auth_user_view(session.user).dump(),
            "accessToken": session.access_token,
            "refreshToken": session.refresh_token,
        },
        status=status,
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


async def login(request: web.Request) -> web.Response:
    body = await json_body(request, LoginBody)
    return _session(
        await auth_service.login(
            request.app[keys.SETTINGS], email=body.email, password=body.password
        )
    )


async def refresh(request: web.Request) -> web.Response:
    body = await json_body(request, RefreshBody)
    session = await auth_service.refresh(request.app[keys.SETTINGS], body.refresh_token)
    # The document returns the access token; the rotated refresh token comes alongside.
    return web.json_response(
        {"accessToken": session.access_token, "refreshToken": session.refresh_token}
    )


async def logout(request: web.Request) -> web.Response:
    body = await json_body(request, RefreshBody)
    await auth_service.logout(body.refresh_token)
    return web.json_response({"success": True, "message": "Logged out"})


async def accept_invite(request: web.Request) -> web.Response:
    body = await json_body(request, AcceptInviteBody)
    session = await auth_service.accept_invite(
        request.app[keys.SETTINGS], token=body.token, name=body.name, password=body.password
    )
    return _session(session, status=201)


@authenticated(org_scoped=False)
async def me(request: web.Request) -> web.Response:
    data = user_view(current_user(request)).dump()
    data.pop("createdAt", None)
    return web.json_response(data)
