"""/orgs/{orgId} and its users and invites."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts import orgs as org_service
from inbox.accounts.documents import Role
from inbox.accounts.views import InviteView, OrgView, UserView, invite_view, org_view, user_view
from web import keys
from web import openapi_models as om
from web.accounts.schemas import InviteBody, OrgPatchBody
from web.auth import authenticated, current_user
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body


@spec("Get the organisation", tags=["organisation"], response=OrgView)
@authenticated()
async def get_org(request: web.Request) -> web.Response:
    return web.json_response(
        org_view(await org_service.get_org(current_user(request).org_id)).dump()
    )


@spec("Update the organisation", tags=["organisation"], body=OrgPatchBody, response=OrgView)
@authenticated(Role.ADMIN)
async def patch_org(request: web.Request) -> web.Response:
    body = await json_body(request, OrgPatchBody)
    me = current_user(request)
    org = await org_service.update_org(me.org_id, name=body.name, actor=me)
    return web.json_response(org_view(org).dump())


@spec("List users", tags=["users"], response=UserView, list_response=True)
@authenticated()
async def list_users(request: web.Request) -> web.Response:
    page = page_of(request)
    users, total = await org_service.list_users(current_user(request).org_id, page.skip, page.limit)
    return paged_response(request, [user_view(u).dump() for u in users], total, page)


@spec("Get a user", tags=["users"], response=UserView)
@authenticated()
async def get_user(request: web.Request) -> web.Response:
    user = await org_service.get_user(current_user(request).org_id, request.match_info["userId"])
    return web.json_response(user_view(user).dump())


@spec(
    "Invite a user by email; the invite token is shown once",
    tags=["users"],
    body=InviteBody,
    response=om.InviteCreatedView,
    status=201,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def invite(request: web.Request) -> web.Response:
    body = await json_body(request, InviteBody)
    me = current_user(request)
    inv, token = await org_service.invite(
        request.app[keys.SETTINGS],
        me.org_id,
        email=body.email,
        role=body.role,
        invited_by=me.id,
        actor=me,
    )
    data = invite_view(inv).dump()
    data["token"] = token  # shown once; only its hash is stored
    return web.json_response(data, status=201)


@spec("List invites", tags=["users"], response=InviteView, list_response=True)
@authenticated(Role.ADMIN)
async def list_invites(request: web.Request) -> web.Response:
    page = page_of(request)
    invites, total = await org_service.list_invites(
        current_user(request).org_id, page.skip, page.limit
    )
    return paged_response(request, [invite_view(i).dump() for i in invites], total, page)


@spec(
    "Deactivate a user: their sessions end at once",
    tags=["users"],
    response=om.DeactivatedView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def deactivate(request: web.Request) -> web.Response:
    me = current_user(request)
    user = await org_service.deactivate(
        me.org_id, request.match_info["userId"], acting_user_id=me.id, actor=me
    )
    return web.json_response(
        {
            "success": True,
            "message": f"User {user.email} deactivated",
            "user": user_view(user).dump(),
        }
    )
