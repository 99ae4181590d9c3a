"""Campaigns: one templated message to many contacts of one channel, sent by the stream worker.

This module reads campaigns (lists, recipients, stats) and makes and edits them (web side):
create (the template is checked now, so a typo is a 400, not 10,000 failures), give it an
audience (a segment or a recipient type, inbox/crm/audiences.py) and/or add contacts by hand
(validated per platform, duplicates ignored). The rest of a campaign's life is next to it:

* launch.py: starting. One atomic DRAFT/SCHEDULED -> SENDING update, so a campaign starts
  once however often it is started; then every PENDING recipient is handed to the `campaign`
  topic, keyed by its conversation (handoff.py), and a worker resolves the audience into
  more recipients (audience_resolution.py).
* sending.py and storing.py (worker): a stream batch of recipients is threaded like agents'
  replies and sent through the channel's connector, with the database work done a batch at
  a time. Message ids are derived from recipient ids, so a worker that dies anywhere in
  between finds its own messages again instead of creating second ones, and a message
  already SENT is never sent again. Sends are paced per channel by a Redis clock that every
  worker shares (throttle.py).
* progress.py: the campaign keeps counters (recipients, sent, failed, skipped, delivered);
  when nobody is PENDING any more (checked against the recipients themselves), one atomic
  SENDING -> COMPLETED update finishes it.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from connectors import get_connector
from connectors.base import ChannelType, DeliveryStatus
from inbox import events
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.campaigns import context as campaign_context
from inbox.campaigns import email_campaigns
from inbox.campaigns.documents import (
    AudienceType,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
)
from inbox.campaigns.handoff import hand_off
from inbox.campaigns.template_documents import MessageTemplate
from inbox.campaigns.views import (
    CampaignRecipientView,
    CampaignStatsView,
    CampaignView,
    InvalidRecipient,
    RecipientsAddedView,
    campaign_recipient_view,
    campaign_view,
)
from inbox.channels.documents import Channel
from inbox.conversations.documents import Message
from inbox.crm import audiences
from inbox.crm.customer_documents import Customer
from inbox.document_base import utcnow
from inbox.errors import Conflict, ValidationFailed
from inbox.ports import Deps, EventPublisher
from inbox.queries import find_one_and_update, get_in_org

MAX_MESSAGE_CHARS = 4096
"""Longest rendered message sent (WhatsApp's text limit; Messenger allows 2,000 UTF-8 bytes
and refuses longer ones itself, which fails that recipient with the platform's reason)."""
MAX_CONTACT_CHARS = audiences.MAX_CONTACT_CHARS
# Longer limits per channel type: an e-mail's text part, and Twilio's longest SMS body.
MAX_CHARS_BY_TYPE = {ChannelType.EMAIL: 65_536, ChannelType.SMS: 1600}
normalise_contact = audiences.normalise_contact
_READ = DeliveryStatus.READ.value
STARTABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
# Template channels that may be used on a channel type.
_TEMPLATE_FOR = {
    ChannelType.EMAIL: "email",
    ChannelType.SMS: "sms",
    ChannelType.WHATSAPP: "whatsapp",
}


def new_tracking_token() -> str:
    """An EMAIL recipient's tracking token, made with the recipient (its e-mail's links and
    pixel carry it): random, 192 bits."""
    return secrets.token_urlsafe(email_campaigns.TOKEN_BYTES)


# -- reading ---------------------------------------------------------------------------------


async def get(org_id: str, campaign_id: str) -> Campaign:
    return await get_in_org(Campaign, org_id, campaign_id, "Campaign")


async def views(campaigns: list[Campaign]) -> list[CampaignView]:
    ids = list({c.channel_id for c in campaigns})
    chans = {c.id: c for c in await Channel.find({"_id": {"$in": ids}}).to_list()} if ids else {}
    return [campaign_view(c, chans.get(c.channel_id)) for c in campaigns]


async def view(campaign: Campaign) -> CampaignView:
    return (await views([campaign]))[0]


async def detail(org_id: str, campaign_id: str) -> CampaignView:
    return await view(await get(org_id, campaign_id))


async def list_campaigns(
    org_id: str, skip: int, limit: int, status: CampaignStatus | None = None
) -> tuple[list[CampaignView], int]:
    query: dict[str, Any] = {"orgId": org_id}
    if status:
        query["status"] = status.value
    found = Campaign.find(query)
    total = await found.count()
    page = await found.sort(-Campaign.created_at, -Campaign.id).skip(skip).limit(limit).to_list()
    return await views(page), total


async def list_recipients(
    org_id: str,
    campaign_id: str,
    skip: int,
    limit: int,
    status: RecipientStatus | None = None,
) -> tuple[list[CampaignRecipientView], int]:
    campaign = await get(org_id, campaign_id)
    query: dict[str, Any] = {"orgId": org_id, "campaignId": campaign.id}
    if status:
        query["status"] = status.value
    found = CampaignRecipient.find(query)
    total = await found.count()
    page = (
        await found.sort(+CampaignRecipient.position, +CampaignRecipient.id)
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    return [campaign_recipient_view(r) for r in page], total


async def stats(org_id: str, campaign_id: str) -> CampaignStatsView:
    campaign = await get(org_id, campaign_id)
    return await _stats(campaign)


async def _stats(campaign: Campaign) -> CampaignStatsView:
    """Counts by aggregation: recipients by status, and their messages' receipts."""
    by_status = {s.value: 0 for s in RecipientStatus}
    pipeline: list[dict[str, Any]] = [
        {"$match": {"campaignId": campaign.id, "orgId": campaign.org_id}},
        {"$group": {"_id": "$status", "n": {"$sum": 1}}},
    ]
    async for row in await CampaignRecipient.get_pymongo_collection().aggregate(pipeline):
        by_status[row["_id"]] = row["n"]
    receipts = await message_receipts([campaign.id])
    delivered, read = receipts.get(campaign.id, (0, 0))
    return CampaignStatsView(
        total_recipients=sum(by_status.values()),
        sent_count=by_status[RecipientStatus.SENT],
        failed_count=by_status[RecipientStatus.FAILED],
        pending_count=by_status[RecipientStatus.PENDING],
        delivered_count=delivered,
        read_count=read,
        opened_count=campaign.opened_count,
        clicked_count=campaign.clicked_count,
        skipped_count=campaign.skipped_count,
    )


async def message_receipts(campaign_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Campaign id -> (delivered, read) from its messages' statuses; read implies delivered."""
    if not campaign_ids:
        return {}
    pipeline: list[dict[str, Any]] = [
        {
            "$match": {
                "metadata.campaignId": {"$in": campaign_ids},
                "status": {"$in": [DeliveryStatus.DELIVERED.value, DeliveryStatus.READ.value]},
            }
        },
        {
            "$group": {
                "_id": "$metadata.campaignId",
                "delivered": {"$sum": 1},
                "read": {"$sum": {"$cond": [{"$eq": ["$status", _READ]}, 1, 0]}},
            }
        },
    ]
    out: dict[str, tuple[int, int]] = {}
    async for row in await Message.get_pymongo_collection().aggregate(pipeline):
        out[row["_id"]] = (row["delivered"], row["read"])
    return out


# -- writing (web) ---------------------------------------------------------------------------


async def create(
    user: User,
    *,
    channel_id: str,
    name: str,
    message_template: str | None,
    scheduled_at: datetime | None,
    subject: str | None = None,
    segment_id: str | None = None,
    recipient_type: AudienceType | None = None,
    recipient_ids: list[str] | None = None,
    template_id: str | None = None,
    template_type: str | None = None,
    publisher: EventPublisher | None = None,
) -> Campaign:
    """A DRAFT (or SCHEDULED) campaign; `campaign.created` goes to `publisher` when given.

    With `templateId`, the template's subject and body are copied in unless given here."""
    channel = await Channel.find_one(
        Channel.org_id == user.org_id,
        Channel.id == channel_id,
        Channel.deleted_at == None,  # noqa: E711
    )
    if channel is None:
        raise ValidationFailed("Unknown channel", details={"channelId": "no such channel"})
    if get_connector(channel.type) is None:
        raise ValidationFailed(
            f"{channel.type} channels cannot send messages yet",
            code="NO_CONNECTOR",
            details={"channelId": f"{channel.type} channels have no connector"},
        )
    if template_id is not None:
        template = await _template_for(user.org_id, template_id, channel.type)
        message_template = message_template or template.body
        subject = subject or template.subject
        template_type = template_type or template.category
    if not message_template:
        raise ValidationFailed(
            "A campaign needs a message",
            details={"messageTemplate": "required (or a templateId)"},
        )
    subject = checked_texts(channel.type, subject, message_template)
    audience = await audiences.checked(user.org_id, segment_id, recipient_type, recipient_ids)
    now = utcnow()
    if scheduled_at is not None and scheduled_at <= now:
        # A past time would start it at once, likely before its recipients are added.
        raise ValidationFailed(
            "scheduledAt must be in the future", details={"scheduledAt": "must be in the future"}
        )
    campaign = Campaign(
        org_id=user.org_id,
        channel_id=channel.id,
        name=name,
        message_template=message_template,
        subject=subject,
        status=CampaignStatus.SCHEDULED if scheduled_at else CampaignStatus.DRAFT,
        scheduled_at=scheduled_at,
        created_by=user.id,
        segment_id=audience.segment_id,
        recipient_type=audience.recipient_type,
        recipient_ids=list(audience.recipient_ids),
        template_id=template_id,
        template_type=template_type,
    )
    await campaign.insert()
    await audit.record(
        user,
        "campaign.create",
        "campaign",
        campaign.id,
        {
            "name": name,
            "channelId": channel.id,
            "status": campaign.status.value,
            "scheduledAt": scheduled_at.isoformat() if scheduled_at else None,
            **_audience_summary(campaign),
        },
    )
    if publisher is not None:
        await publisher.publish(
            campaign.org_id, events.CAMPAIGN_CREATED, (await view(campaign)).dump()
        )
    return campaign


async def created(user: User, **fields: Any) -> CampaignView:
    """`create(user, **fields)`, answered with the new campaign as the API shows it."""
    return await view(await create(user, **fields))


def checked_texts(channel_type: ChannelType, subject: str | None, body: str) -> str | None:
    """The subject to store for a campaign on this channel type, after checking both
    templates (400 naming the field). EMAIL campaigns need a subject and may have a long
    HTML body; other types have no subject and a body of at most 4,096 characters."""
    campaign_context.validate(body, "messageTemplate")
    if channel_type != ChannelType.EMAIL:
        if len(body) > email_campaigns.MAX_TEMPLATE_CHARS:
            raise ValidationFailed(
                "Message template too long",
                details={
                    "messageTemplate": f"at most {email_campaigns.MAX_TEMPLATE_CHARS} "
                    "characters (longer HTML bodies are for EMAIL campaigns)"
                },
            )
        return None
    if subject is None or not subject.strip():
        raise ValidationFailed(
            "An EMAIL campaign needs a subject",
            details={"subject": "required for EMAIL campaigns"},
        )
    campaign_context.validate(subject, "subject")
    return subject.strip()


async def _template_for(
    org_id: str, template_id: str, channel_type: ChannelType
) -> MessageTemplate:
    template = await MessageTemplate.find_one(
        MessageTemplate.org_id == org_id, MessageTemplate.id == template_id
    )
    if template is None:
        raise ValidationFailed("Unknown template", details={"templateId": "no such template"})
    wanted = _TEMPLATE_FOR.get(channel_type)
    if template.channel.value != wanted:
        raise ValidationFailed(
            "The template is for another kind of channel",
            details={
                "templateId": f"a {template.channel.value} template cannot be sent on a "
                f"{channel_type.value} channel"
            },
        )
    return template


def _audience_summary(campaign: Campaign) -> dict[str, Any]:
    return {
        "segmentId": campaign.segment_id,
        "recipientType": campaign.recipient_type.value if campaign.recipient_type else None,
        "recipientIds": len(campaign.recipient_ids),
    }


async def set_audience(
    user: User,
    campaign_id: str,
    *,
    segment_id: str | None,
    recipient_type: AudienceType | None,
    recipient_ids: list[str] | None,
) -> CampaignView:
    """Replace a DRAFT or SCHEDULED campaign's audience (all None: no audience, only the
    contacts added by hand)."""
    campaign = await get(user.org_id, campaign_id)
    _ensure_editable(campaign)
    audience = await audiences.checked(user.org_id, segment_id, recipient_type, recipient_ids)
    doc = await find_one_and_update(
        Campaign.get_pymongo_collection(),
        {"_id": campaign.id, "status": {"$in": [s.value for s in STARTABLE]}},
        {
            "$set": {
                "segmentId": audience.segment_id,
                "recipientType": audience.recipient_type.value if audience.recipient_type else None,
                "recipientIds": list(audience.recipient_ids),
                "updatedAt": utcnow(),
            }
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:  # started in between
        _ensure_editable(await get(user.org_id, campaign_id))
    updated = Campaign.model_validate(doc)
    await audit.record(
        user, "campaign.audience", "campaign", campaign.id, _audience_summary(updated)
    )
    return await view(updated)


async def estimated_recipients(campaign: Campaign) -> int:
    """Recipients added so far plus the audience's customers now (an estimate before
    start: addresses are only looked at then)."""
    added = await CampaignRecipient.get_pymongo_collection().count_documents(
        {"campaignId": campaign.id}
    )
    if campaign.status not in STARTABLE:
        return added
    return added + await audiences.estimate(campaign.org_id, audiences.of(campaign))


async def add_recipients(
    deps: Deps, user: User, campaign_id: str, recipients: list[str]
) -> RecipientsAddedView:
    campaign = await get(user.org_id, campaign_id)
    _ensure_editable(campaign)
    channel = await Channel.find_one(Channel.id == campaign.channel_id)
    if channel is None or channel.deleted_at is not None:
        raise ValidationFailed("This campaign's channel is deleted", code="CHANNEL_INACTIVE")

    invalid: list[InvalidRecipient] = []
    wanted: dict[str, None] = {}  # normalised contact -> None, in request order
    repeated = 0
    for raw in recipients:
        contact, reason = normalise_contact(channel.type, raw)
        if contact is None:
            invalid.append(InvalidRecipient(recipient=raw, reason=reason or "invalid"))
        elif contact in wanted:
            repeated += 1
        else:
            wanted[contact] = None

    if channel.type in (ChannelType.FACEBOOK, ChannelType.INSTAGRAM) and wanted:
        # Page-scoped ids: only people who wrote to this page can be messaged.
        known = {
            doc["externalId"]
            async for doc in Customer.get_pymongo_collection().find(
                {
                    "orgId": user.org_id,
                    "platform": channel.type.value,
                    "channelIds": channel.id,
                    "externalId": {"$in": list(wanted)},
                },
                {"externalId": 1},
            )
        }
        for contact in [c for c in wanted if c not in known]:
            del wanted[contact]
            invalid.append(
                InvalidRecipient(
                    recipient=contact,
                    reason=f"no customer with this {audiences.id_name(channel.type)} "
                    "on this channel",
                )
            )

    if not wanted and invalid:
        raise ValidationFailed(
            "No valid recipients",
            code="INVALID_RECIPIENTS",
            details={"invalid": [i.dump() for i in invalid]},
        )

    added_ids = await _insert_recipients(
        campaign, list(wanted), email=channel.type == ChannelType.EMAIL
    )
    added = len(added_ids)
    duplicates = repeated + len(wanted) - added
    if added_ids:
        # Started between our status check and the insert: hand the new ones over too.
        fresh = await get(user.org_id, campaign.id)
        if fresh.status == CampaignStatus.SENDING:
            await hand_off(deps, fresh, {"_id": {"$in": added_ids}})
        elif fresh.status == CampaignStatus.COMPLETED:
            gone = await CampaignRecipient.get_pymongo_collection().delete_many(
                {"_id": {"$in": added_ids}}
            )
            await Campaign.get_pymongo_collection().update_one(
                {"_id": campaign.id}, {"$inc": {"recipientCount": -gone.deleted_count}}
            )
            _ensure_editable(fresh)
    await audit.record(
        user,
        "campaign.recipients",
        "campaign",
        campaign.id,
        {"added": added, "duplicates": duplicates, "invalid": len(invalid)},
    )
    return RecipientsAddedView(
        success=True,
        message=f"{added} recipient{'s' if added != 1 else ''} added",
        added=added,
        duplicates=duplicates,
        invalid=invalid,
    )


def _ensure_editable(campaign: Campaign) -> None:
    if campaign.status not in STARTABLE:
        raise Conflict(
            f"Recipients cannot be added to a {campaign.status} campaign",
            code="CAMPAIGN_NOT_EDITABLE",
            details={"status": campaign.status.value},
        )


async def _insert_recipients(
    campaign: Campaign, contacts: list[str], *, email: bool = False
) -> list[str]:
    """Insert the contacts not yet in the campaign; returns the new recipients' ids.

    The unique (campaignId, recipientContact) index is the arbiter, so two concurrent
    requests adding the same contact add it once."""
    if not contacts:
        return []
    coll = CampaignRecipient.get_pymongo_collection()
    existing = {
        doc["recipientContact"]
        async for doc in coll.find(
            {"campaignId": campaign.id, "recipientContact": {"$in": contacts}},
            {"recipientContact": 1},
        )
    }
    last = await coll.find_one(
        {"campaignId": campaign.id}, {"position": 1}, sort=[("position", -1)]
    )
    base = (last or {}).get("position", 0) + 1
    now = utcnow()
    docs = [
        CampaignRecipient(
            org_id=campaign.org_id,
            campaign_id=campaign.id,
            channel_id=campaign.channel_id,
            recipient_contact=c,
            position=base + i,
            tracking_token=new_tracking_token() if email else None,
            created_at=now,
            updated_at=now,
        ).model_dump(by_alias=True, exclude_none=True)
        for i, c in enumerate(c for c in contacts if c not in existing)
    ]
    if not docs:
        return []
    try:
        await coll.insert_many(docs, ordered=False)
        added = [d["_id"] for d in docs]
    except BulkWriteError as exc:
        failed = {docs[e["index"]]["_id"] for e in exc.details.get("writeErrors", [])}
        added = [d["_id"] for d in docs if d["_id"] not in failed]
    if added:
        await Campaign.get_pymongo_collection().update_one(
            {"_id": campaign.id}, {"$inc": {"recipientCount": len(added)}}
        )
    return added
