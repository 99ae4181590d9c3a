"""/orgs/{orgId}/channels: channel admin; secrets are accepted but never shown."""

from __future__ import annotations

from aiohttp import web

from connectors.base import ConnectionResult
from inbox.accounts.documents import Role
from inbox.channels import service as channel_service
from inbox.channels.documents import Channel
from inbox.channels.views import ChannelView, channel_view
from inbox.crm.customer_views import CustomerView, customer_view
from web import keys
from web import openapi_models as om
from web.auth import authenticated, current_user
from web.channels.schemas import ChannelCreateBody, ChannelUpdateBody
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body

OPERATION_PREFIX = "channels"  # operation ids in /openapi.json


def _view(request: web.Request, channel: Channel) -> dict:
    settings = request.app[keys.SETTINGS]
    return channel_view(
        channel, channel_service.secret_fields(channel.type), settings.public_url
    ).dump()


@spec(
    "Create a channel (secrets are write-only)",
    tags=["channels"],
    body=ChannelCreateBody,
    response=ChannelView,
    status=201,
)
@authenticated(Role.ADMIN)
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, ChannelCreateBody)
    me = current_user(request)
    channel = await channel_service.create(
        me.org_id, type=body.type, name=body.name, config=body.config, actor=me
    )
    return web.json_response(_view(request, channel), status=201)


@spec("List channels", tags=["channels"], response=ChannelView, list_response=True)
@authenticated()
async def list_channels(request: web.Request) -> web.Response:
    page = page_of(request)
    channels, total = await channel_service.list_channels(
        current_user(request).org_id, page.skip, page.limit
    )
    return paged_response(request, [_view(request, c) for c in channels], total, page)


@spec("Get a channel", tags=["channels"], response=ChannelView)
@authenticated()
async def get(request: web.Request) -> web.Response:
    channel = await channel_service.get(
        current_user(request).org_id, request.match_info["channelId"]
    )
    return web.json_response(_view(request, channel))


@spec("Update a channel", tags=["channels"], body=ChannelUpdateBody, response=ChannelView)
@authenticated(Role.ADMIN)
async def update(request: web.Request) -> web.Response:
    body = await json_body(request, ChannelUpdateBody)
    channel = await channel_service.update(
        current_user(request).org_id,
        request.match_info["channelId"],
        name=body.name,
        config=body.config,
        is_active=body.is_active,
        actor=current_user(request),
    )
    return web.json_response(_view(request, channel))


@spec("Delete a channel", tags=["channels"], response=om.OkView)
@authenticated(Role.ADMIN)
async def delete(request: web.Request) -> web.Response:
    me = current_user(request)
    await channel_service.delete(me.org_id, request.match_info["channelId"], actor=me)
    return web.json_response({"success": True, "message": "Channel deleted"})


@spec("List a channel's customers", tags=["channels"], response=CustomerView, list_response=True)
@authenticated()
async def customers(request: web.Request) -> web.Response:
    page = page_of(request)
    found, total = await channel_service.customers(
        current_user(request).org_id, request.match_info["channelId"], page.skip, page.limit
    )
    return paged_response(request, [customer_view(c).dump() for c in found], total, page)


@spec(
    "Test a channel's credentials against its platform",
    tags=["channels"],
    response=ConnectionResult,
)
@authenticated(Role.ADMIN)
async def test_connection(request: web.Request) -> web.Response:
    deps = request.app[keys.DEPS]
    result = await channel_service.test_connection(
        deps.settings, deps.http, current_user(request).org_id, request.match_info["channelId"]
    )
    return web.json_response(result.model_dump(mode="json"))
