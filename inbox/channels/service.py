"""Channels: where messages come from, with per-platform config validated by its connector."""

from __future__ import annotations

from typing import Any

import aiohttp
from pydantic import ValidationError

from connectors import get_connector
from connectors.base import ChannelType, ConnectionResult
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.channels.cache import ChannelCache
from inbox.channels.documents import Channel
from inbox.channels.views import ChannelView, channel_view
from inbox.config import Settings
from inbox.crm.customer_documents import Customer
from inbox.crm.customer_views import CustomerView, customer_view
from inbox.document_base import utcnow
from inbox.errors import NotFound, ValidationFailed
from inbox.queries import get_in_org

MASK = "********"
_ALWAYS_SECRET = frozenset({"accessToken", "pageAccessToken", "appSecret"})


def secret_fields(channel_type: ChannelType) -> frozenset[str]:
    connector = get_connector(channel_type)
    return _ALWAYS_SECRET | (connector.secret_fields if connector else frozenset())


def validate_config(channel_type: ChannelType, config: dict[str, Any]) -> dict[str, Any]:
    connector = get_connector(channel_type)
    if connector is None:
        return dict(config)  # TWITTER / LINKEDIN: stored as given until they get a connector
    try:
        model = connector.config_model.model_validate(config)
    except ValidationError as exc:
        # A rule over several keys (e.g. username with password) has no field: "config".
        details = {
            ".".join(["config", *(str(p) for p in err["loc"])]): err["msg"] for err in exc.errors()
        }
        raise ValidationFailed(f"Invalid {channel_type} channel config", details=details) from exc
    return model.model_dump(exclude_none=True)


def resolved_config(settings: Settings, channel: Channel) -> dict[str, Any]:
    """The config connectors receive: `apiBaseUrl` always set, per channel or global; SMS
    channels also get `statusCallbackUrl` (their own webhook URL unless configured), so the
    gateway reports delivery there."""
    config = {
        **channel.config,
        "apiBaseUrl": channel.config.get("apiBaseUrl") or settings.graph_api_base_url,
    }
    if channel.type == ChannelType.SMS and not config.get("statusCallbackUrl"):
        config["statusCallbackUrl"] = f"{settings.public_url.rstrip('/')}/webhook/{channel.id}"
    return config


def view(settings: Settings, channel: Channel) -> ChannelView:
    """The channel as the API shows it: secrets masked, its webhook URL on `public_url`."""
    return channel_view(channel, secret_fields(channel.type), settings.public_url)


async def create(
    settings: Settings,
    org_id: str,
    *,
    type: ChannelType,
    name: str,
    config: dict[str, Any],
    actor: User | None = None,
) -> ChannelView:
    channel = Channel(org_id=org_id, type=type, name=name, config=validate_config(type, config))
    await channel.insert()
    await audit.record(
        actor, "channel.create", "channel", channel.id, audit.channel_summary(channel)
    )
    return view(settings, channel)


async def list_channels(
    settings: Settings, org_id: str, skip: int, limit: int
) -> tuple[list[ChannelView], int]:
    query = Channel.find(Channel.org_id == org_id, Channel.deleted_at == None)  # noqa: E711
    total = await query.count()
    channels = await query.sort(+Channel.created_at).skip(skip).limit(limit).to_list()
    return [view(settings, c) for c in channels], total


async def get(org_id: str, channel_id: str) -> Channel:
    channel = await get_in_org(Channel, org_id, channel_id, "Channel")
    # Deleted channels are checked here, not in the filter: a third field would make the
    # embedded server scan the collection instead of using the (orgId, _id) index.
    if channel.deleted_at is not None:
        raise NotFound("Channel not found")
    return channel


async def detail(settings: Settings, org_id: str, channel_id: str) -> ChannelView:
    return view(settings, await get(org_id, channel_id))


async def get_for_webhook(channel_id: str) -> Channel:
    """Webhooks carry no org: the channel id in the URL is the only key."""
    channel = await Channel.find_one(Channel.id == channel_id, Channel.deleted_at == None)  # noqa: E711
    if channel is None or not channel.is_active:
        raise NotFound("Channel not found")
    return channel


async def update(
    settings: Settings,
    org_id: str,
    channel_id: str,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    is_active: bool | None = None,
    actor: User | None = None,
    cache: ChannelCache,
) -> ChannelView:
    channel = await get(org_id, channel_id)
    before = channel.model_copy(deep=True)
    if name is not None:
        channel.name = name
    if is_active is not None:
        channel.is_active = is_active
    if config is not None:
        # Secrets are write-only, so a client echoing back the masked value (or leaving a
        # secret out) keeps the stored one instead of wiping it.
        merged = dict(channel.config)
        merged.update({k: v for k, v in config.items() if v != MASK})
        channel.config = validate_config(channel.type, merged)
    channel.updated_at = utcnow()
    await channel.save()
    cache.forget(channel.id)  # webhook intake reads the new config at once
    await audit.record(
        actor, "channel.update", "channel", channel.id, audit.channel_changes(before, channel)
    )
    return view(settings, channel)


async def delete(
    org_id: str, channel_id: str, *, actor: User | None = None, cache: ChannelCache
) -> None:
    channel = await get(org_id, channel_id)
    # Soft delete: its tickets and messages stay readable; its webhook stops answering.
    channel.deleted_at = utcnow()
    channel.is_active = False
    channel.updated_at = utcnow()
    await channel.save()
    cache.forget(channel.id)
    await audit.record(actor, "channel.delete", "channel", channel.id, {"name": channel.name})


async def customers(
    org_id: str, channel_id: str, skip: int, limit: int
) -> tuple[list[CustomerView], int]:
    await get(org_id, channel_id)
    query = Customer.find(Customer.org_id == org_id, Customer.channel_ids == channel_id)
    total = await query.count()
    found = await query.sort(-Customer.last_message_at).skip(skip).limit(limit).to_list()
    return [customer_view(c) for c in found], total


async def test_connection(
    settings: Settings, http: aiohttp.ClientSession, org_id: str, channel_id: str
) -> ConnectionResult:
    channel = await get(org_id, channel_id)
    connector = get_connector(channel.type)
    if connector is None:
        return ConnectionResult(
            ok=False,
            message=f"{channel.type} channels have no connector yet: messages cannot be "
            "received or sent on this channel.",
        )
    return await connector.test_connection(http, resolved_config(settings, channel))
