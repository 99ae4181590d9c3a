"""The sales document's `/emails/*` and `/messages/*`: views over campaigns and templates.

An "e-mail campaign" is a campaign on an EMAIL channel; a "message" (SMS / WhatsApp) is a
campaign on an SMS or WHATSAPP channel, and `POST /messages/send` creates one and starts it
at once (or schedules it), whether it goes to one customer or to an audience. Nothing is
stored twice: counts, statuses and audiences are the campaigns' own.

Field mapping: `body`/`content` = `messageTemplate`, `scheduleAt` = `scheduledAt`, status
draft/scheduled = DRAFT/SCHEDULED, sending = SENDING, sent = COMPLETED; `sentAt` = when
sending began. Rates are percentages with two decimals. Without `channelId`, the org's one
active channel of the kind is used (a 400 when it has none, or several).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from connectors.base import ChannelType
from inbox.accounts.documents import User
from inbox.campaigns import launch as campaign_launch
from inbox.campaigns import service as campaign_service
from inbox.campaigns.broadcast_views import (
    CampaignSendView,
    EmailCampaignCreatedView,
    EmailCampaignStatsView,
    EmailCampaignView,
    MessageStatsView,
    TextMessageSentView,
    TextMessageView,
)
from inbox.campaigns.documents import AudienceType, Campaign, CampaignStatus
from inbox.campaigns.views import InvalidRecipient
from inbox.channels.documents import Channel
from inbox.crm import audiences
from inbox.document_base import utcnow
from inbox.errors import NotFound, ValidationFailed
from inbox.ports import Deps

SALES_STATUS = {
    CampaignStatus.DRAFT: "draft",
    CampaignStatus.SCHEDULED: "scheduled",
    CampaignStatus.SENDING: "sending",
    CampaignStatus.COMPLETED: "sent",
}
STATUS_OF_SALES = {v: k for k, v in SALES_STATUS.items()}
TEXT_TYPES = {"sms": ChannelType.SMS, "whatsapp": ChannelType.WHATSAPP}
SEND_TYPES = {**TEXT_TYPES, "email": ChannelType.EMAIL}
MAX_CONTACTS = 1000
_LABEL = {"sms": "SMS", "whatsapp": "WhatsApp", "email": "E-mail"}


@contextmanager
def _named(body_field: str) -> Iterator[None]:
    """400s name the fields as these paths call them (`body`/`content`, `scheduleAt`)."""
    try:
        yield
    except ValidationFailed as exc:
        names = {"messageTemplate": body_field, "scheduledAt": "scheduleAt"}
        exc.details = {names.get(k, k): v for k, v in exc.details.items()}
        raise


def _rate(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


async def _channels(org_id: str, types: list[ChannelType]) -> dict[str, Channel]:
    """The org's channels of these types, deleted ones too (their campaigns are history)."""
    found = await Channel.find(
        {"orgId": org_id, "type": {"$in": [t.value for t in types]}}
    ).to_list()
    return {c.id: c for c in found}


async def channel_for(org_id: str, kind: ChannelType, channel_id: str | None) -> Channel:
    """The channel to send on: the one given (of this kind), else the org's only one."""
    active = [
        c
        for c in (await _channels(org_id, [kind])).values()
        if c.deleted_at is None and c.is_active
    ]
    if channel_id is not None:
        chosen = next((c for c in active if c.id == channel_id), None)
        if chosen is None:
            raise ValidationFailed(
                "Unknown channel",
                details={"channelId": f"no active {kind.value} channel with this id"},
            )
        return chosen
    if not active:
        raise ValidationFailed(
            f"No {kind.value} channel",
            code="NO_CHANNEL",
            details={"channelId": f"create a {kind.value} channel first"},
        )
    if len(active) > 1:
        raise ValidationFailed(
            f"Several {kind.value} channels",
            details={"channelId": f"required: the org has {len(active)} {kind.value} channels"},
        )
    return active[0]


def _shape(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "channel_id": campaign.channel_id,
        "status": SALES_STATUS[campaign.status],
        "recipient_type": campaign.recipient_type,
        "recipient_ids": campaign.recipient_ids,
        "segment_id": campaign.segment_id,
        "recipient_count": campaign.recipient_count,
        "sent_count": campaign.sent_count,
        "failed_count": campaign.failed_count,
        "skipped_count": campaign.skipped_count,
        "schedule_at": campaign.scheduled_at,
        "sent_at": campaign.started_at,
        "completed_at": campaign.completed_at,
        "created_by": campaign.created_by,
        "created_at": campaign.created_at,
    }


def email_view(campaign: Campaign) -> EmailCampaignView:
    return EmailCampaignView(
        **_shape(campaign),
        subject=campaign.subject,
        body=campaign.message_template,
        template_type=campaign.template_type,
        template_id=campaign.template_id,
        opened_count=campaign.opened_count,
        clicked_count=campaign.clicked_count,
        open_rate=_rate(campaign.opened_count, campaign.sent_count),
        click_rate=_rate(campaign.clicked_count, campaign.sent_count),
    )


def text_view(campaign: Campaign, channel_type: ChannelType) -> TextMessageView:
    return TextMessageView(
        **_shape(campaign),
        type=channel_type.value.lower(),  # type: ignore[arg-type]
        content=campaign.message_template,
        subject=campaign.subject,
        delivered_count=campaign.delivered_count,
        delivery_rate=_rate(campaign.delivered_count, campaign.sent_count),
    )


async def _page(
    org_id: str, channel_ids: list[str], status: str | None, skip: int, limit: int
) -> tuple[list[Campaign], int]:
    query: dict[str, Any] = {"orgId": org_id, "channelId": {"$in": channel_ids}}
    if status is not None:
        query["status"] = STATUS_OF_SALES[status].value
    found = Campaign.find(query)
    total = await found.count()
    page = await found.sort([("createdAt", -1), ("_id", -1)]).skip(skip).limit(limit).to_list()
    return page, total


# -- e-mail campaigns --------------------------------------------------------------------------


async def list_email_campaigns(
    org_id: str, status: str | None, skip: int, limit: int
) -> tuple[list[EmailCampaignView], int]:
    channels = await _channels(org_id, [ChannelType.EMAIL])
    page, total = await _page(org_id, list(channels), status, skip, limit)
    return [email_view(c) for c in page], total


async def get_email_campaign(org_id: str, campaign_id: str) -> Campaign:
    campaign = await campaign_service.get(org_id, campaign_id)
    channel = await Channel.find_one(Channel.id == campaign.channel_id)
    if channel is None or channel.type != ChannelType.EMAIL:
        raise NotFound("E-mail campaign not found")
    return campaign


async def email_campaign_detail(org_id: str, campaign_id: str) -> EmailCampaignView:
    return email_view(await get_email_campaign(org_id, campaign_id))


async def email_stats(org_id: str) -> EmailCampaignStatsView:
    channels = await _channels(org_id, [ChannelType.EMAIL])
    row = await _totals(org_id, list(channels), "openedCount", "clickedCount")
    return EmailCampaignStatsView(
        total_campaigns=row["campaigns"],
        total_sent=row["sent"],
        total_opened=row["a"],
        total_clicked=row["b"],
        average_open_rate=round(row["rateA"] or 0.0, 2),
        average_click_rate=round(row["rateB"] or 0.0, 2),
    )


async def _totals(org_id: str, channel_ids: list[str], a: str, b: str) -> dict[str, Any]:
    """Sums over the campaigns of these channels, and the mean per-campaign rates of the
    fields `a` and `b` among campaigns that sent something."""

    def rate(name: str) -> dict[str, Any]:
        return {
            "$avg": {
                "$cond": [
                    {"$gt": ["$sentCount", 0]},
                    {"$multiply": [{"$divide": [f"${name}", "$sentCount"]}, 100]},
                    None,
                ]
            }
        }

    pipeline: list[dict[str, Any]] = [
        {"$match": {"orgId": org_id, "channelId": {"$in": channel_ids}}},
        {
            "$group": {
                "_id": None,
                "campaigns": {"$sum": 1},
                "sent": {"$sum": "$sentCount"},
                "a": {"$sum": f"${a}"},
                "b": {"$sum": f"${b}"},
                "rateA": rate(a),
                "rateB": rate(b),
            }
        },
    ]
    rows = await (await Campaign.get_pymongo_collection().aggregate(pipeline)).to_list(None)
    empty = {"campaigns": 0, "sent": 0, "a": 0, "b": 0, "rateA": None, "rateB": None}
    return rows[0] if rows else empty


async def create_email_campaign(
    deps: Deps,
    user: User,
    *,
    name: str,
    subject: str | None,
    body: str | None,
    template_type: str | None,
    template_id: str | None,
    recipient_type: AudienceType | None,
    recipient_ids: list[str] | None,
    segment_id: str | None,
    schedule_at: datetime | None,
    channel_id: str | None,
) -> EmailCampaignCreatedView:
    _need_audience(recipient_type, segment_id)
    channel = await channel_for(user.org_id, ChannelType.EMAIL, channel_id)
    with _named("body"):
        campaign = await campaign_service.create(
            user,
            channel_id=channel.id,
            name=name,
            message_template=body,
            scheduled_at=schedule_at,
            subject=subject,
            segment_id=segment_id,
            recipient_type=recipient_type,
            recipient_ids=recipient_ids,
            template_id=template_id,
            template_type=template_type,
            publisher=deps.events,
        )
    estimated = await campaign_service.estimated_recipients(campaign)
    return EmailCampaignCreatedView(
        **email_view(campaign).model_dump(), estimated_recipients=estimated
    )


def _need_audience(recipient_type: AudienceType | None, segment_id: str | None) -> None:
    if recipient_type is None and segment_id is None:
        raise ValidationFailed(
            "Who should receive it?",
            details={
                "recipientType": "required: all, with_orders, without_orders, vip, custom "
                "(or a segmentId)"
            },
        )


async def send_email_campaign(deps: Deps, user: User, campaign_id: str) -> CampaignSendView:
    """Start it now (a scheduled one too); the worker sends it (409 once started)."""
    await get_email_campaign(user.org_id, campaign_id)
    started = await campaign_launch.start(deps, user, campaign_id)
    return CampaignSendView(
        campaign_id=started.id,
        status=SALES_STATUS[started.status],  # type: ignore[arg-type]
        recipient_count=started.recipient_count,
        sent_count=started.sent_count,
        sent_at=started.started_at,
        message="E-mail campaign is being sent"
        if started.status == CampaignStatus.SENDING
        else "E-mail campaign sent",
    )


# -- SMS / WhatsApp messages -------------------------------------------------------------------


async def list_messages(
    org_id: str, kind: str | None, status: str | None, skip: int, limit: int
) -> tuple[list[TextMessageView], int]:
    types = [TEXT_TYPES[kind]] if kind else list(TEXT_TYPES.values())
    channels = await _channels(org_id, types)
    page, total = await _page(org_id, list(channels), status, skip, limit)
    return [text_view(c, channels[c.channel_id].type) for c in page], total


async def message_stats(org_id: str) -> MessageStatsView:
    channels = await _channels(org_id, list(TEXT_TYPES.values()))
    by_type = {
        kind: [cid for cid, c in channels.items() if c.type == kind] for kind in TEXT_TYPES.values()
    }
    sms = await _totals(org_id, by_type[ChannelType.SMS], "deliveredCount", "failedCount")
    wa = await _totals(org_id, by_type[ChannelType.WHATSAPP], "deliveredCount", "failedCount")
    both = await _totals(org_id, list(channels), "deliveredCount", "failedCount")
    return MessageStatsView(
        total_sms_sent=sms["sent"],
        total_whats_app_sent=wa["sent"],
        total_messages=both["campaigns"],
        average_delivery_rate=round(both["rateA"] or 0.0, 2),
    )


async def send_message(
    deps: Deps,
    user: User,
    *,
    kind: str,
    content: str | None,
    subject: str | None,
    name: str | None,
    template_id: str | None,
    recipient_type: AudienceType | None,
    recipient_ids: list[str] | None,
    segment_id: str | None,
    contacts: list[str],
    schedule_at: datetime | None,
    channel_id: str | None,
) -> TextMessageSentView:
    """Create the message (a campaign) and start it now, or schedule it."""
    channel_type = SEND_TYPES[kind]
    if not contacts:
        _need_audience(recipient_type, segment_id)
    channel = await channel_for(user.org_id, channel_type, channel_id)
    invalid = [
        InvalidRecipient(recipient=raw, reason=reason or "invalid")
        for raw in contacts
        for contact, reason in [audiences.normalise_contact(channel_type, raw)]
        if contact is None
    ]
    if invalid:
        # Checked before anything is stored: nothing half-made is left behind.
        raise ValidationFailed(
            "Invalid contacts",
            code="INVALID_RECIPIENTS",
            details={"contacts": [i.dump() for i in invalid]},
        )
    when = utcnow()
    with _named("content"):
        campaign = await campaign_service.create(
            user,
            channel_id=channel.id,
            name=name or f"{_LABEL[kind]} {when:%Y-%m-%d %H:%M}",
            message_template=content,
            scheduled_at=schedule_at,
            subject=subject,
            segment_id=segment_id,
            recipient_type=recipient_type,
            recipient_ids=recipient_ids,
            template_id=template_id,
            publisher=deps.events,
        )
    if contacts:
        await campaign_service.add_recipients(deps, user, campaign.id, contacts)
    estimated = await campaign_service.estimated_recipients(campaign)
    if schedule_at is None:
        campaign = await campaign_launch.start(deps, user, campaign.id)
    else:
        campaign = await campaign_service.get(user.org_id, campaign.id)
    return TextMessageSentView(
        **text_view(campaign, channel_type).model_dump(), estimated_recipients=estimated
    )
