"""/orgs/{orgId}/channels: channel admin; secrets are accepted but never shown."""

from __future__ import annotations

from typing import Any

from connectors.base import ConnectionResult
from inbox.accounts.documents import Role
from inbox.channels import service as channel_service
from inbox.channels.views import ChannelView
from inbox.crm.customer_views import CustomerView
from web import openapi_models as om
from web.channels.schemas import ChannelCreateBody, ChannelUpdateBody
from web.endpoints import Call, Paged, Routes

routes = Routes("channels")  # operation ids in /openapi.json


@routes.post(
    "/orgs/{orgId}/channels",
    "Create a channel (secrets are write-only)",
    role=Role.ADMIN,
    tags=["channels"],
    body=ChannelCreateBody,
    response=ChannelView,
    status=201,
)
async def create(call: Call[ChannelCreateBody, None]) -> ChannelView:
    return await channel_service.create(
        call.settings,
        call.org_id,
        type=call.body.type,
        name=call.body.name,
        config=call.body.config,
        actor=call.user,
    )


@routes.get(
    "/orgs/{orgId}/channels",
    "List channels",
    tags=["channels"],
    response=ChannelView,
    list_response=True,
)
async def list_channels(call: Call[None, None]) -> Paged:
    return Paged(
        *await channel_service.list_channels(
            call.settings, call.org_id, call.page.skip, call.page.limit
        )
    )


@routes.get(
    "/orgs/{orgId}/channels/{channelId}", "Get a channel", tags=["channels"], response=ChannelView
)
async def get(call: Call[None, None]) -> ChannelView:
    return await channel_service.detail(call.settings, call.org_id, call.path("channelId"))


@routes.put(
    "/orgs/{orgId}/channels/{channelId}",
    "Update a channel",
    role=Role.ADMIN,
    tags=["channels"],
    body=ChannelUpdateBody,
    response=ChannelView,
)
async def update(call: Call[ChannelUpdateBody, None]) -> ChannelView:
    return await channel_service.update(
        call.settings,
        call.org_id,
        call.path("channelId"),
        name=call.body.name,
        config=call.body.config,
        is_active=call.body.is_active,
        actor=call.user,
        cache=call.deps.caches.channels,
    )


@routes.delete(
    "/orgs/{orgId}/channels/{channelId}",
    "Delete a channel",
    role=Role.ADMIN,
    tags=["channels"],
    response=om.OkView,
)
async def delete(call: Call[None, None]) -> dict[str, Any]:
    await channel_service.delete(
        call.org_id, call.path("channelId"), actor=call.user, cache=call.deps.caches.channels
    )
    return {"success": True, "message": "Channel deleted"}


@routes.get(
    "/orgs/{orgId}/channels/{channelId}/customers",
    "List a channel's customers",
    tags=["channels"],
    response=CustomerView,
    list_response=True,
)
async def customers(call: Call[None, None]) -> Paged:
    return Paged(
        *await channel_service.customers(
            call.org_id, call.path("channelId"), call.page.skip, call.page.limit
        )
    )


@routes.post(
    "/orgs/{orgId}/channels/{channelId}/test-connection",
    "Test a channel's credentials against its platform",
    role=Role.ADMIN,
    tags=["channels"],
    response=ConnectionResult,
)
async def test_connection(call: Call[None, None]) -> ConnectionResult:
    deps = call.deps
    return await channel_service.test_connection(
        deps.settings, deps.http, call.org_id, call.path("channelId")
    )
