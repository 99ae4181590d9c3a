"""/orgs/{orgId} and its users and invites."""

from __future__ import annotations

from typing import Any

from inbox.accounts import orgs as org_service
from inbox.accounts.documents import Role
from inbox.accounts.views import InviteView, OrgView, UserView, invite_view, org_view, user_view
from web import openapi_models as om
from web.accounts.schemas import InviteBody, OrgPatchBody
from web.endpoints import Call, Paged, Routes

routes = Routes("orgs")


@routes.get("/orgs/{orgId}", "Get the organisation", tags=["organisation"], response=OrgView)
async def get_org(call: Call[None, None]) -> OrgView:
    return org_view(await org_service.get_org(call.org_id))


@routes.patch(
    "/orgs/{orgId}",
    "Update the organisation",
    role=Role.ADMIN,
    tags=["organisation"],
    body=OrgPatchBody,
    response=OrgView,
)
async def patch_org(call: Call[OrgPatchBody, None]) -> OrgView:
    org = await org_service.update_org(call.org_id, name=call.body.name, actor=call.user)
    return org_view(org)


@routes.get(
    "/orgs/{orgId}/users", "List users", tags=["users"], response=UserView, list_response=True
)
async def list_users(call: Call[None, None]) -> Paged:
    users, total = await org_service.list_users(call.org_id, call.page.skip, call.page.limit)
    return Paged([user_view(u) for u in users], total)


@routes.post(
    "/orgs/{orgId}/users/invites",
    "Invite a user by email; the invite token is shown once",
    role=Role.ADMIN,
    tags=["users"],
    body=InviteBody,
    response=om.InviteCreatedView,
    status=201,
    errors=[409],
)
async def invite(call: Call[InviteBody, None]) -> dict[str, Any]:
    me = call.user
    inv, token = await org_service.invite(
        call.settings,
        me.org_id,
        email=call.body.email,
        role=call.body.role,
        invited_by=me.id,
        actor=me,
    )
    data = invite_view(inv).dump()
    data["token"] = token  # shown once; only its hash is stored
    return data


@routes.get(
    "/orgs/{orgId}/users/invites/list",
    "List invites",
    role=Role.ADMIN,
    tags=["users"],
    response=InviteView,
    list_response=True,
)
async def list_invites(call: Call[None, None]) -> Paged:
    invites, total = await org_service.list_invites(call.org_id, call.page.skip, call.page.limit)
    return Paged([invite_view(i) for i in invites], total)


@routes.get("/orgs/{orgId}/users/{userId}", "Get a user", tags=["users"], response=UserView)
async def get_user(call: Call[None, None]) -> UserView:
    return user_view(await org_service.get_user(call.org_id, call.path("userId")))


@routes.post(
    "/orgs/{orgId}/users/{userId}/deactivate",
    "Deactivate a user: their sessions end at once",
    role=Role.ADMIN,
    tags=["users"],
    response=om.DeactivatedView,
    errors=[409],
)
async def deactivate(call: Call[None, None]) -> dict[str, Any]:
    me = call.user
    user = await org_service.deactivate(
        me.org_id, call.path("userId"), acting_user_id=me.id, actor=me
    )
    return {
        "success": True,
        "message": f"User {user.email} deactivated",
        "user": user_view(user).dump(),
    }
