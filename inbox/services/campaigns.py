"""Campaigns: one templated message to many contacts of one channel, sent by the stream worker.

Web side: create (the template is checked now, so a typo is a 400, not 10,000 failures),
add recipients (validated per platform, duplicates ignored), start. Starting is one atomic
DRAFT/SCHEDULED -> SENDING update, so a campaign starts once however often it is started;
then every PENDING recipient is handed to the `campaign` topic, keyed by its conversation.

Worker side (`send_recipient`): each recipient's message is threaded like an agent's reply
(customer upsert, the conversation's open ticket or a new PENDING one, an OUTBOUND message
QUEUED with metadata {campaignId, recipientId}) and sent through the same claimed,
idempotent path as replies (`messages.send`). The message id is derived from the recipient
id, so a worker that dies anywhere in between finds its own message again instead of
creating a second one, and a message already SENT is never sent again. The recipient's
status follows its message. Sends are paced per channel by a Redis token bucket that every
worker shares. When nothing is PENDING, one atomic SENDING -> COMPLETED update finishes it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError
from redis.asyncio import Redis

from connectors import get_connector
from connectors.base import ChannelType, DeliveryStatus, Direction
from connectors.email import normalise_address
from connectors.sms import normalise_phone
from inbox import events, templating
from inbox.documents import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    Channel,
    Customer,
    Message,
    RecipientStatus,
    Ticket,
    TicketStatus,
    User,
    utcnow,
)
from inbox.errors import Conflict, NotFound, ValidationFailed
from inbox.ports import Deps, EventPublisher
from inbox.services import audit, email_campaigns
from inbox.services import customers as customer_service
from inbox.services import messages as message_service
from inbox.services import tickets as ticket_service
from inbox.services.threading import public_message
from inbox.views import (
    CampaignProgressView,
    CampaignRecipientView,
    CampaignStatsView,
    CampaignView,
    InvalidRecipient,
    RecipientsAddedView,
    campaign_recipient_view,
    campaign_view,
)
from streams import topics
from streams.records import CampaignRecord, OutboundRecord, thread_key

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4096
"""Longest rendered message sent (WhatsApp's text limit; Messenger allows 2,000 UTF-8 bytes
and refuses longer ones itself, which fails that recipient with the platform's reason)."""
MAX_CONTACT_CHARS = 256
# Longer limits per channel type: an e-mail's text part, and Twilio's longest SMS body.
_MAX_CHARS_BY_TYPE = {ChannelType.EMAIL: 65_536, ChannelType.SMS: 1600}

_WHATSAPP_NUMBER = re.compile(r"\+?\d{7,15}")
_PHONE_FORMATTING = re.compile(r"[\s\-().]")
# Campaign messages get ids derived from their recipient: a re-run finds the same message.
_MESSAGE_NS = uuid.UUID("6f1d4c1e-3b7a-4f4e-9a53-2b7c1f0e8d21")
_SENT_STATES = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ)
_READ = DeliveryStatus.READ.value
_STARTABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
_HAND_OFF_CHUNK = 500


# -- reading ---------------------------------------------------------------------------------


async def get(org_id: str, campaign_id: str) -> Campaign:
    campaign = await Campaign.find_one(Campaign.org_id == org_id, Campaign.id == campaign_id)
    if campaign is None:
        raise NotFound("Campaign not found")
    return campaign


async def views(campaigns: list[Campaign]) -> list[CampaignView]:
    ids = list({c.channel_id for c in campaigns})
    chans = {c.id: c for c in await Channel.find({"_id": {"$in": ids}}).to_list()} if ids else {}
    return [campaign_view(c, chans.get(c.channel_id)) for c in campaigns]


async def view(campaign: Campaign) -> CampaignView:
    return (await views([campaign]))[0]


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


async def progress_view(campaign: Campaign) -> CampaignProgressView:
    base = await view(campaign)
    return CampaignProgressView(**base.model_dump(), stats=await _stats(campaign))


# -- writing (web) ---------------------------------------------------------------------------


async def create(
    user: User,
    *,
    channel_id: str,
    name: str,
    message_template: str,
    scheduled_at: datetime | None,
    subject: str | None = None,
    publisher: EventPublisher | None = None,
) -> Campaign:
    """A DRAFT (or SCHEDULED) campaign; `campaign.created` goes to `publisher` when given."""
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
    templating.validate_field(
        message_template, templating.CUSTOMER_VARIABLES, field="messageTemplate"
    )
    subject = email_campaigns.checked_subject(channel.type, subject, message_template)
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
        },
    )
    if publisher is not None:
        await publisher.publish(
            campaign.org_id, events.CAMPAIGN_CREATED, (await view(campaign)).dump()
        )
    return campaign


def normalise_contact(channel_type: ChannelType, raw: str) -> tuple[str | None, str | None]:
    """(thread id, None) for a usable contact, or (None, why not). FACEBOOK and INSTAGRAM ids
    are only shaped here; whether the customer is known is checked against the database."""
    value = raw.strip()
    if not value:
        return None, "empty contact"
    if len(value) > MAX_CONTACT_CHARS:
        return None, f"longer than {MAX_CONTACT_CHARS} characters"
    if channel_type == ChannelType.WHATSAPP:
        compact = _PHONE_FORMATTING.sub("", value)
        if compact.startswith("00"):
            compact = "+" + compact[2:]  # international dialling prefix
        if not _WHATSAPP_NUMBER.fullmatch(compact):
            return None, "not a phone number: 7 to 15 digits with an optional leading +"
        return compact.lstrip("+"), None  # WhatsApp's wa_id: digits only
    if channel_type == ChannelType.EMAIL:
        try:
            return normalise_address(value), None
        except ValueError as exc:
            return None, f"not an e-mail address: {exc}"
    if channel_type == ChannelType.SMS:
        try:
            return normalise_phone(value), None
        except ValueError as exc:
            return None, str(exc)
    if channel_type in (ChannelType.FACEBOOK, ChannelType.INSTAGRAM):
        if not value.isdigit():
            return None, f"not a {_id_name(channel_type)}: digits only"
        return value, None
    return value, None


def _id_name(channel_type: ChannelType) -> str:
    return "PSID" if channel_type == ChannelType.FACEBOOK else "IGSID"


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
                    reason=f"no customer with this {_id_name(channel.type)} on this channel",
                )
            )

    if not wanted and invalid:
        raise ValidationFailed(
            "No valid recipients",
            code="INVALID_RECIPIENTS",
            details={"invalid": [i.dump() for i in invalid]},
        )

    added_ids = await _insert_recipients(campaign, list(wanted))
    added = len(added_ids)
    duplicates = repeated + len(wanted) - added
    if added_ids:
        # Started between our status check and the insert: hand the new ones over too.
        fresh = await get(user.org_id, campaign.id)
        if fresh.status == CampaignStatus.SENDING:
            await _hand_off(deps, fresh, {"_id": {"$in": added_ids}})
        elif fresh.status == CampaignStatus.COMPLETED:
            await CampaignRecipient.get_pymongo_collection().delete_many(
                {"_id": {"$in": added_ids}}
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
    if campaign.status not in _STARTABLE:
        raise Conflict(
            f"Recipients cannot be added to a {campaign.status} campaign",
            code="CAMPAIGN_NOT_EDITABLE",
            details={"status": campaign.status.value},
        )


async def _insert_recipients(campaign: Campaign, contacts: list[str]) -> list[str]:
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
            created_at=now,
            updated_at=now,
        ).model_dump(by_alias=True, exclude_none=True)
        for i, c in enumerate(c for c in contacts if c not in existing)
    ]
    if not docs:
        return []
    try:
        await coll.insert_many(docs, ordered=False)
        return [d["_id"] for d in docs]
    except BulkWriteError as exc:
        failed = {docs[e["index"]]["_id"] for e in exc.details.get("writeErrors", [])}
        return [d["_id"] for d in docs if d["_id"] not in failed]


async def start(deps: Deps, user: User, campaign_id: str) -> Campaign:
    campaign = await get(user.org_id, campaign_id)
    if campaign.status not in _STARTABLE:
        raise _already_started(campaign)
    if not await CampaignRecipient.find_one(CampaignRecipient.campaign_id == campaign.id):
        raise ValidationFailed(
            "Add recipients before starting the campaign",
            code="NO_RECIPIENTS",
            details={"recipients": "the campaign has no recipients"},
        )
    started = await begin(deps, campaign.id)
    if started is None:  # another request (or the scheduler) started it a moment ago
        raise _already_started(await get(user.org_id, campaign_id))
    await audit.record(user, "campaign.start", "campaign", campaign.id, {"name": campaign.name})
    return started


def _already_started(campaign: Campaign) -> Conflict:
    return Conflict(
        f"The campaign is already {campaign.status}",
        code="CAMPAIGN_ALREADY_STARTED",
        details={"status": campaign.status.value},
    )


# -- sending (web start, worker timers and agent) --------------------------------------------


async def begin(deps: Deps, campaign_id: str) -> Campaign | None:
    """DRAFT/SCHEDULED -> SENDING, exactly once; then hand every PENDING recipient to the
    stream. None when the campaign was not startable (started already, by anyone)."""
    now = utcnow()
    doc = await Campaign.get_pymongo_collection().find_one_and_update(
        {"_id": campaign_id, "status": {"$in": [s.value for s in _STARTABLE]}},
        {
            "$set": {
                "status": CampaignStatus.SENDING.value,
                "startedAt": now,
                "progressAt": now,
                "updatedAt": now,
            }
        },
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        return None
    campaign = Campaign.model_validate(doc)
    handed = await _hand_off(deps, campaign, {})
    log.info("campaign %s started: %d recipients handed to the stream", campaign.id, handed)
    await deps.events.publish(
        campaign.org_id, events.CAMPAIGN_STARTED, (await progress_view(campaign)).dump()
    )
    await progress(deps, campaign.id)  # completes at once when there is nobody to send to
    return await Campaign.find_one(Campaign.id == campaign.id)


async def start_due(deps: Deps) -> int:
    """Start every SCHEDULED campaign whose time has come; safe to run on every worker."""
    due = (
        await Campaign.find(
            {"status": CampaignStatus.SCHEDULED.value, "scheduledAt": {"$lte": utcnow()}}
        )
        .sort(+Campaign.scheduled_at)
        .limit(50)
        .to_list()
    )
    started = 0
    for campaign in due:
        if await begin(deps, campaign.id) is not None:
            started += 1
    return started


async def _hand_off(deps: Deps, campaign: Campaign, extra: dict[str, Any]) -> int:
    """Put one record per PENDING recipient on the campaign topic, in chunks."""
    coll = CampaignRecipient.get_pymongo_collection()
    query = {"campaignId": campaign.id, "status": RecipientStatus.PENDING.value, **extra}
    topic = topics.campaign(deps.settings)
    handed = 0
    chunk: list[dict[str, Any]] = []

    async def flush() -> bool:
        nonlocal handed
        for doc in chunk:
            key = thread_key(campaign.channel_id, doc["recipientContact"])
            record = CampaignRecord(
                org_id=campaign.org_id,
                campaign_id=campaign.id,
                recipient_id=doc["_id"],
                conversation=key,
            )
            try:
                await deps.stream.send(topic, key, record.model_dump(mode="json"))
            except Exception:  # noqa: BLE001 - recipients stay PENDING; the sweeper re-hands
                log.warning("could not hand campaign %s to the stream", campaign.id, exc_info=True)
                return False
        await coll.update_many(
            {"_id": {"$in": [d["_id"] for d in chunk]}}, {"$set": {"handedOffAt": utcnow()}}
        )
        handed += len(chunk)
        chunk.clear()
        return True

    async for doc in coll.find(query, {"_id": 1, "recipientContact": 1}).sort("position", 1):
        chunk.append(doc)
        if len(chunk) >= _HAND_OFF_CHUNK and not await flush():
            return handed
    if chunk:
        await flush()
    return handed


class Throttle:
    """Per-channel pacing shared by every worker: a Redis reservation (GCRA) clock.

    Each send reserves the next free slot of its channel (`1/rate` seconds apart) in one
    atomic script and sleeps until it; slots are reserved in arrival order, so concurrent
    senders on any number of workers never exceed the rate together."""

    _SCRIPT = """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    local interval = tonumber(ARGV[1])
    local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
    if tat < now then tat = now end
    local ttl_ms = math.ceil((tat + interval - now) / 1000) + 1000
    redis.call('SET', KEYS[1], string.format('%d', tat + interval), 'PX', ttl_ms)
    return tat - now
    """

    def __init__(self, redis: Redis, rate_per_second: float):
        self.rate = rate_per_second
        self._script = redis.register_script(self._SCRIPT)

    async def acquire(self, channel_id: str) -> float:
        """Wait for this channel's next send slot; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        interval_us = max(1, int(1_000_000 / self.rate))
        key = f"inbox:campaign-rate:{channel_id}"
        wait_us = int(await self._script(keys=[key], args=[interval_us]))
        if wait_us > 0:
            await asyncio.sleep(wait_us / 1_000_000)
        return wait_us / 1_000_000


async def send_recipient(deps: Deps, throttle: Throttle, record: CampaignRecord) -> None:
    """Worker: send one recipient's message (idempotent; a re-run finishes, never repeats)."""
    recipient = await CampaignRecipient.find_one(
        CampaignRecipient.id == record.recipient_id, CampaignRecipient.org_id == record.org_id
    )
    if recipient is None or recipient.status != RecipientStatus.PENDING:
        return  # done already: a redelivered record
    campaign = await Campaign.find_one(Campaign.id == record.campaign_id)
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return
    channel = await Channel.find_one(Channel.id == campaign.channel_id)
    if (
        channel is None
        or channel.deleted_at is not None
        or not channel.is_active
        or get_connector(channel.type) is None
    ):
        await _settle(recipient, RecipientStatus.FAILED, error="channel is deleted or inactive")
        return
    message = await _message_for(deps, campaign, channel, recipient)
    if message is None:
        return  # the template could not be rendered for this customer: recipient FAILED
    if message.status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING):
        await throttle.acquire(channel.id)
        await message_service.send(
            deps,
            OutboundRecord(
                org_id=message.org_id, message_id=message.id, conversation=record.conversation
            ),
        )
        message = await Message.find_one(Message.id == message.id) or message
    await settle_from_message(recipient, message)


async def settle_from_message(recipient: CampaignRecipient, message: Message) -> None:
    """The recipient's status follows its message; QUEUED/SENDING leaves it PENDING."""
    if message.status in _SENT_STATES:
        await _settle(recipient, RecipientStatus.SENT, message=message)
    elif message.status == DeliveryStatus.FAILED:
        error = (message.error or {}).get("message") or "send failed"
        await _settle(recipient, RecipientStatus.FAILED, error=str(error), message=message)


async def _settle(
    recipient: CampaignRecipient,
    status: RecipientStatus,
    *,
    error: str | None = None,
    message: Message | None = None,
) -> bool:
    now = utcnow()
    changes: dict[str, Any] = {"status": status.value, "updatedAt": now}
    if status == RecipientStatus.SENT:
        changes["sentAt"] = message.updated_at if message else now
    if error:
        changes["error"] = error[:1000]
    done = await CampaignRecipient.get_pymongo_collection().update_one(
        {"_id": recipient.id, "status": RecipientStatus.PENDING.value}, {"$set": changes}
    )
    await Campaign.get_pymongo_collection().update_one(
        {"_id": recipient.campaign_id}, {"$max": {"progressAt": now}}
    )
    return done.modified_count == 1


async def _message_for(
    deps: Deps, campaign: Campaign, channel: Channel, recipient: CampaignRecipient
) -> Message | None:
    """The recipient's message, threaded like a reply; created on the first run only."""
    message_id = str(uuid.uuid5(_MESSAGE_NS, recipient.id))
    existing = await Message.find_one(Message.id == message_id)
    if existing is not None:
        return existing
    contact = recipient.recipient_contact
    customer = await _upsert_customer(channel, contact)
    extra: dict[str, Any] = {}
    try:
        if channel.type == ChannelType.EMAIL:
            rendered = await email_campaigns.render(deps.settings, campaign, recipient, customer)
            content, extra = rendered.content, rendered.metadata
        else:
            content = templating.render(
                campaign.message_template, {"customer": templating.customer_context(customer)}
            )
    except templating.TemplateRenderError as exc:
        await _settle(recipient, RecipientStatus.FAILED, error=f"template: {exc}")
        return None
    if not content.strip():
        await _settle(recipient, RecipientStatus.FAILED, error="the rendered message is empty")
        return None
    max_chars = _MAX_CHARS_BY_TYPE.get(channel.type, MAX_MESSAGE_CHARS)
    if len(content) > max_chars:
        await _settle(
            recipient,
            RecipientStatus.FAILED,
            error=f"the rendered message is longer than {max_chars} characters",
        )
        return None
    ticket, created = await _open_ticket(channel, customer, campaign)
    now = utcnow()
    message = Message(
        id=message_id,
        org_id=campaign.org_id,
        ticket_id=ticket.id,
        channel_id=channel.id,
        external_thread_id=contact,
        direction=Direction.OUTBOUND,
        sender_name=campaign.name,
        content=content,
        metadata={"campaignId": campaign.id, "recipientId": recipient.id, **extra},
        status=DeliveryStatus.QUEUED,
        timestamp=now,
    )
    try:
        await message.insert()
    except DuplicateKeyError:
        return await Message.find_one(Message.id == message_id)
    await CampaignRecipient.get_pymongo_collection().update_one(
        {"_id": recipient.id},
        {"$set": {"messageId": message.id, "ticketId": ticket.id, "updatedAt": now}},
    )
    doc = await Ticket.get_pymongo_collection().find_one_and_update(
        {"_id": ticket.id},
        {
            "$set": {"lastMessagePreview": content[:200], "updatedAt": now},
            "$max": {"lastMessageAt": now, "lastActivityAt": now},
        },
        return_document=ReturnDocument.AFTER,
    )
    ticket = Ticket.model_validate(doc) if doc else ticket
    if created:
        await ticket_service.publish(deps.events, events.TICKET_CREATED, ticket)
    await deps.events.publish(campaign.org_id, events.MESSAGE_CREATED, public_message(message))
    if not created:
        await ticket_service.publish(deps.events, events.TICKET_UPDATED, ticket)
    return message


async def _upsert_customer(channel: Channel, contact: str) -> Customer:
    """The customer behind a contact; a new one is named by the contact until they write."""
    customer, _ = await customer_service.for_identity(
        channel.org_id, channel.type, contact, channel.id
    )
    return customer


async def _open_ticket(
    channel: Channel, customer: Customer, campaign: Campaign
) -> tuple[Ticket, bool]:
    """The conversation's open ticket, or a new PENDING one (waiting on the customer): the
    customer's answer reopens it as OPEN in the inbox, like any reply to a pending ticket."""
    key = ticket_service.open_key(channel.id, customer.external_id)
    found = await Ticket.find_one(Ticket.open_key == key)
    if found is not None:
        return found, False
    ticket = Ticket(
        org_id=channel.org_id,
        channel_id=channel.id,
        customer_id=customer.id,
        external_thread_id=customer.external_id,
        subject=campaign.name[:80],
        status=TicketStatus.PENDING,
        open_key=key,
    )
    try:
        await ticket.insert()
    except DuplicateKeyError:
        found = await Ticket.find_one(Ticket.open_key == key)
        if found is None:  # closed in between: try again
            return await _open_ticket(channel, customer, campaign)
        return found, False
    return ticket, True


async def progress(deps: Deps, campaign_id: str) -> None:
    """Publish progress; complete the campaign (once) when nobody is PENDING any more."""
    campaign = await Campaign.find_one(Campaign.id == campaign_id)
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return
    counts = await _stats(campaign)
    if counts.pending_count == 0:
        now = utcnow()
        doc = await Campaign.get_pymongo_collection().find_one_and_update(
            {"_id": campaign.id, "status": CampaignStatus.SENDING.value},
            {
                "$set": {
                    "status": CampaignStatus.COMPLETED.value,
                    "completedAt": now,
                    "updatedAt": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            done = Campaign.model_validate(doc)
            data = CampaignProgressView(**(await view(done)).model_dump(), stats=counts).dump()
            await deps.events.publish(done.org_id, events.CAMPAIGN_UPDATED, data)
            await deps.events.publish(done.org_id, events.CAMPAIGN_COMPLETED, data)
            log.info("campaign %s completed: %s", done.id, counts.model_dump())
        return
    data = CampaignProgressView(**(await view(campaign)).model_dump(), stats=counts).dump()
    await deps.events.publish(campaign.org_id, events.CAMPAIGN_UPDATED, data)


async def progress_all(deps: Deps, campaign_ids: Iterable[str]) -> None:
    for campaign_id in dict.fromkeys(campaign_ids):
        await progress(deps, campaign_id)


async def rehand_stalled(deps: Deps) -> int:
    """Sweeper: SENDING campaigns with no progress for a while get their PENDING recipients
    handed to the stream again (records lost with a memory-only broker, or a fan-out cut
    short by a crash). Re-handed records of recipients already done change nothing."""
    cutoff = utcnow() - timedelta(seconds=max(10.0, deps.settings.redelivery_after_seconds * 2))
    stalled = await Campaign.find(
        {
            "status": CampaignStatus.SENDING.value,
            "$or": [{"progressAt": {"$lt": cutoff}}, {"progressAt": None}],
        }
    ).to_list()
    handed = 0
    for campaign in stalled:
        await Campaign.get_pymongo_collection().update_one(
            {"_id": campaign.id}, {"$set": {"progressAt": utcnow()}}
        )
        handed += await _hand_off(deps, campaign, {})
        await progress(deps, campaign.id)
    return handed
