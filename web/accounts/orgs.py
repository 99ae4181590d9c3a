"""/orgs/{orgId} and its users and invites."""

from __future__ import annotations

from typing import Any

from inbox.accounts import orgs as org_service
from inbox.accounts.documents import Role
from inbox.accounts.views import InviteView, OrgView, UserView
from web import openapi_models as om
from web.accounts.schemas import InviteBody, OrgPatchBody
from web.endpoints import Call, Paged, Routes

routes = Routes("orgs")


@routes.get("/orgs/{orgId}", "Get the organisation", tags=["organisation"], response=OrgView)
async def get_org(call: Call[None, None]) -> OrgView:
    return await org_service.org_detail(call.org_id)


@routes.patch(
    "/orgs/{orgId}",
    "Update the organisation",
    role=Role.ADMIN,
    tags=["organisation"],
    body=OrgPatchBody,
    response=OrgView,
)
async def patch_org(call: Call[OrgPatchBody, None]) -> OrgView:
    return await org_service.update_org(call.org_id, name=call.body.name, actor=call.user)


@routes.get(
    "/orgs/{orgId}/users", "List users", tags=["users"], response=UserView, list_response=True
)
async def list_users(call: Call[None, None]) -> Paged:
    return Paged(*await org_service.list_users(call.org_id, call.page.skip, call.page.limit))


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
    return await org_service.invite(
        call.settings,
        me.org_id,
        email=call.body.email,
        role=call.body.role,
        invited_by=me.id,
        actor=me,
    )


@routes.get(
    "/orgs/{orgId}/users/invites/list",
    "List invites",
    role=Role.ADMIN,
    tags=["users"],
    response=InviteView,
    list_response=True,
)
async def list_invites(call: Call[None, None]) -> Paged:
    return Paged(*await org_service.list_invites(call.org_id, call.page.skip, call.page.limit))


@routes.get("/orgs/{orgId}/users/{userId}", "Get a user", tags=["users"], response=UserView)
async def get_user(call: Call[None, None]) -> UserView:
    return await org_service.user_detail(call.org_id, call.path("userId"))


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
    return await org_service.deactivate(
        me.org_id, call.path("userId"), acting_user_id=me.id, actor=me
    )
