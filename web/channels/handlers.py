"""/orgs/{orgId}/channels: channel admin; secrets are accepted but never shown."""

from __future__ import annotations

from typing import Any

from connectors.base import ConnectionResult
from inbox.accounts.documents import Role
from inbox.channels import service as channel_service
from inbox.channels.documents import Channel
from inbox.channels.views import ChannelView, channel_view
from inbox.crm.customer_views import CustomerView, customer_view
from web import openapi_models as om
from web.channels.schemas import ChannelCreateBody, ChannelUpdateBody
from web.endpoints import Call, Paged, Routes

routes = Routes("channels")  # operation ids in /openapi.json


def _view(call: Call[Any, Any], channel: Channel) -> ChannelView:
    return channel_view(
        channel, channel_service.secret_fields(channel.type), call.settings.public_url
    )


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
    channel = await channel_service.create(
        call.org_id,
        type=call.body.type,
        name=call.body.name,
        config=call.body.config,
        actor=call.user,
    )
    return _view(call, channel)


@routes.get(
    "/orgs/{orgId}/channels",
    "List channels",
    tags=["channels"],
    response=ChannelView,
    list_response=True,
)
async def list_channels(call: Call[None, None]) -> Paged:
    channels, total = await channel_service.list_channels(
        call.org_id, call.page.skip, call.page.limit
    )
    return Paged([_view(call, c) for c in channels], total)


@routes.get(
    "/orgs/{orgId}/channels/{channelId}", "Get a channel", tags=["channels"], response=ChannelView
)
async def get(call: Call[None, None]) -> ChannelView:
    return _view(call, await channel_service.get(call.org_id, call.path("channelId")))


@routes.put(
    "/orgs/{orgId}/channels/{channelId}",
    "Update a channel",
    role=Role.ADMIN,
    tags=["channels"],
    body=ChannelUpdateBody,
    response=ChannelView,
)
async def update(call: Call[ChannelUpdateBody, None]) -> ChannelView:
    channel = await channel_service.update(
        call.org_id,
        call.path("channelId"),
        name=call.body.name,
        config=call.body.config,
        is_active=call.body.is_active,
        actor=call.user,
        cache=call.deps.caches.channels,
    )
    return _view(call, channel)


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
    found, total = await channel_service.customers(
        call.org_id, call.path("channelId"), call.page.skip, call.page.limit
    )
    return Paged([customer_view(c) for c in found], total)


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
