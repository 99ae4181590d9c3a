"""Campaign sending on the worker: audiences into recipients, and recipients into messages.

`send_batch` takes one stream batch of recipient records and does the database work a batch
at a time, because the embedded MongoDB-protocol server pays a fixed cost per command (and
scans whole collections for findAndModify, so none is used on the large collections):

1. read the batch's recipients, campaigns, channels and already-stored messages (one query
   each, by `_id`);
2. find each new recipient's customer (by the id the audience gave it, else by the contact's
   identity; a contact seen for the first time becomes a customer, as for inbound messages)
   and render the templates for them;
3. thread the messages like agents' replies: the conversation's open ticket or a new PENDING
   one (one `insert_many`), the messages stored SENDING (one `insert_many`) with metadata
   `{campaignId, recipientId}` and ids derived from the recipients, so a re-run finds them;
4. send them through the channel's connector, different conversations concurrently (one
   conversation's in order), each paced by the channel's shared Redis throttle, retrying
   rate limits and 5xx with backoff like replies;
5. record the outcomes with one `bulk_write` for the messages and one per outcome for the
   recipients, and move the campaign's counters by what those writes changed.

A redelivered record whose recipient is no longer PENDING changes nothing; one whose message
exists already is not threaded again, and its message is sent only when it is not SENT yet
(under the same Idempotency-Key / Message-ID, so a platform that honours it never doubles a
send cut short by a crash).

`resolve_due` / `resolve` turn a started campaign's audience into recipients
(inbox/services/audiences.py), handing each inserted batch to the stream at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError

from connectors import get_connector
from connectors.base import (
    ChannelType,
    DeliveryStatus,
    Direction,
    OutboundMessage,
    PermanentSendError,
    RetryableSendError,
)
from inbox import events, templating
from inbox.config import Settings
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
    utcnow,
)
from inbox.errors import NotFound
from inbox.ports import Deps
from inbox.services import audiences, campaign_context, email_campaigns, identities
from inbox.services import campaigns as campaign_service
from inbox.services import channels as channel_service
from inbox.services import customers as customer_service
from inbox.services import tickets as ticket_service
from inbox.services.threading import apply_pending_statuses, public_message
from streams.records import CampaignRecord

log = logging.getLogger(__name__)

RESOLVE_BATCH = 500
LEASE_SECONDS = 60.0
"""How long a worker may go without extending its claim on an audience resolution before
another worker takes it over (it is extended after every batch)."""
_DUPLICATE_KEY = 11000
# Campaign messages get ids derived from their recipient: a re-run finds the same message.
_MESSAGE_NS = uuid.UUID("6f1d4c1e-3b7a-4f4e-9a53-2b7c1f0e8d21")
_UNSENT = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value)
_SENT = (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value, DeliveryStatus.READ.value)
_PROJECTION = {
    "_id": 1,
    "email": 1,
    "phone": 1,
    "identities": 1,
    "channelIds": 1,
    "platform": 1,
    "externalId": 1,
}


def message_id_for(recipient_id: str) -> str:
    return str(uuid.uuid5(_MESSAGE_NS, recipient_id))


# -- audiences -------------------------------------------------------------------------------


async def resolve_due(deps: Deps) -> int:
    """Resolve the audiences of SENDING campaigns nobody is resolving (just started, or
    whose worker stopped extending its lease); returns how many were resolved."""
    coll = Campaign.get_pymongo_collection()
    done = 0
    while True:
        now = utcnow()
        # The campaigns collection is small: an atomic claim gives each to one worker.
        doc = await coll.find_one_and_update(
            {"status": CampaignStatus.SENDING.value, "audienceLeaseUntil": {"$lte": now}},
            {"$set": {"audienceLeaseUntil": now + timedelta(seconds=LEASE_SECONDS)}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return done
        campaign = Campaign.model_validate(doc)
        try:
            await resolve(deps, campaign)
        except Exception:
            # Left claimed: the lease runs out and a worker tries again.
            log.exception("campaign %s: audience resolution stopped", campaign.id)
            return done
        done += 1


async def resolve(deps: Deps, campaign: Campaign) -> tuple[int, int]:
    """Insert the audience's recipients and hand them to the stream; returns (added,
    skipped). Idempotent: run again, it adds nobody twice and counts the skipped afresh."""
    channel = await Channel.find_one(Channel.id == campaign.channel_id)
    added = skipped = 0
    audience = audiences.of(campaign)
    try:
        query = await audiences.customer_filter(campaign.org_id, audience)
    except NotFound:  # the segment was deleted after the campaign was made
        log.warning("campaign %s: its segment %s is gone", campaign.id, campaign.segment_id)
        query = None
    if channel is not None and query is not None:
        last = await CampaignRecipient.get_pymongo_collection().find_one(
            {"campaignId": campaign.id}, {"position": 1}, sort=[("position", -1)]
        )
        position = (last or {}).get("position", 0)
        cursor = Customer.get_pymongo_collection().find(
            query, _PROJECTION, batch_size=RESOLVE_BATCH
        )
        batch: list[dict[str, Any]] = []
        async for customer in cursor:
            contact = audiences.contact_of(customer, channel)
            if contact is None:
                skipped += 1
                continue
            position += 1
            batch.append(_recipient(campaign, channel, contact, customer["_id"], position))
            if len(batch) >= RESOLVE_BATCH:
                added += await _insert_and_hand_off(deps, campaign, batch)
                batch = []
        if batch:
            added += await _insert_and_hand_off(deps, campaign, batch)
    now = utcnow()
    await Campaign.get_pymongo_collection().update_one(
        {"_id": campaign.id},
        {
            "$set": {
                "skippedCount": skipped,
                "audienceResolvedAt": now,
                "audienceLeaseUntil": None,
                "progressAt": now,
            }
        },
    )
    log.info("campaign %s: audience resolved, %d added, %d skipped", campaign.id, added, skipped)
    await campaign_service.progress(deps, campaign.id)  # an empty audience completes here
    return added, skipped


def _recipient(
    campaign: Campaign, channel: Channel, contact: str, customer_id: str, position: int
) -> dict[str, Any]:
    now = utcnow()
    return CampaignRecipient(
        org_id=campaign.org_id,
        campaign_id=campaign.id,
        channel_id=campaign.channel_id,
        recipient_contact=contact,
        customer_id=customer_id,
        position=position,
        handed_off_at=now,
        # Made with the recipient: its e-mail's links carry it.
        tracking_token=campaign_service.new_tracking_token()
        if channel.type == ChannelType.EMAIL
        else None,
        created_at=now,
        updated_at=now,
    ).model_dump(by_alias=True, exclude_none=True)


async def _insert_and_hand_off(deps: Deps, campaign: Campaign, docs: list[dict]) -> int:
    try:
        await CampaignRecipient.get_pymongo_collection().insert_many(docs, ordered=False)
        inserted = docs
    except BulkWriteError as exc:
        # Already there (added by hand, or by an earlier run of this resolution): skipped.
        failed = {e["index"] for e in exc.details.get("writeErrors", [])}
        if any(e.get("code") != _DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
            raise
        inserted = [d for i, d in enumerate(docs) if i not in failed]
    if inserted:
        now = utcnow()
        await Campaign.get_pymongo_collection().update_one(
            {"_id": campaign.id},
            {
                "$inc": {"recipientCount": len(inserted)},
                "$set": {
                    "audienceLeaseUntil": now + timedelta(seconds=LEASE_SECONDS),
                    "progressAt": now,
                },
            },
        )
        await campaign_service.hand_off_docs(deps, campaign, inserted)
    return len(inserted)


# -- sending ---------------------------------------------------------------------------------


@dataclass
class _Job:
    record: CampaignRecord
    recipient: dict[str, Any]
    campaign: Campaign
    channel: Channel
    message_id: str
    message: dict[str, Any] | None = None  # the stored message, once there is one
    customer: Customer | None = None
    content: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # failed before anything was sent

    @property
    def contact(self) -> str:
        return str(self.recipient["recipientContact"])


async def send_batch(deps: Deps, throttle: campaign_service.Throttle, records: list) -> None:
    """Send one stream batch of campaign records (see the module's docstring)."""
    wanted = {r.recipient_id: r for r in records}
    if not wanted:
        return
    rcoll = CampaignRecipient.get_pymongo_collection()
    found = await rcoll.find({"_id": {"$in": list(wanted)}}).to_list(None)
    pending = [
        d
        for d in found
        if d.get("status") == RecipientStatus.PENDING.value
        and d.get("orgId") == wanted[d["_id"]].org_id
    ]
    if not pending:
        return  # done already: redelivered records
    campaigns = await _by_id(Campaign, {d["campaignId"] for d in pending})
    channels = await _by_id(Channel, {c.channel_id for c in campaigns.values()})
    jobs: list[_Job] = []
    for doc in pending:
        campaign = campaigns.get(doc["campaignId"])
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            continue
        channel = channels.get(campaign.channel_id)
        job = _Job(
            record=wanted[doc["_id"]],
            recipient=doc,
            campaign=campaign,
            channel=channel,  # type: ignore[arg-type] - checked just below
            message_id=message_id_for(doc["_id"]),
        )
        if (
            channel is None
            or channel.deleted_at is not None
            or not channel.is_active
            or get_connector(channel.type) is None
        ):
            job.error = "channel is deleted or inactive"
        jobs.append(job)

    live = [j for j in jobs if j.error is None]
    stored = await _docs_by_id(Message, [j.message_id for j in live])
    for job in live:
        job.message = stored.get(job.message_id)
    fresh = [j for j in live if j.message is None]
    await _find_customers(fresh)
    await _render(deps.settings, [j for j in fresh if j.error is None])
    await _thread(deps, [j for j in fresh if j.error is None])
    await _send_all(deps, throttle, [j for j in live if j.error is None and j.message])
    await _settle(jobs)


async def _by_id(model: Any, ids: set[str]) -> dict[str, Any]:
    if not ids:
        return {}
    return {d.id: d for d in await model.find({"_id": {"$in": list(ids)}}).to_list()}


async def _docs_by_id(model: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    docs = await model.get_pymongo_collection().find({"_id": {"$in": ids}}).to_list(None)
    return {d["_id"]: d for d in docs}


async def _find_customers(jobs: list[_Job]) -> None:
    """The customer of each job: the audience's (by id), else whoever holds the contact's
    identity, else a new customer for a contact seen for the first time."""
    known = await _docs_by_id(
        Customer, list({j.recipient["customerId"] for j in jobs if j.recipient.get("customerId")})
    )
    for job in jobs:
        org_id, kind = job.campaign.org_id, job.channel.type
        doc = known.get(job.recipient.get("customerId") or "")
        if doc is None:
            owner = await identities.owner_of(org_id, kind, job.contact)
            if owner is not None:
                doc = await Customer.get_pymongo_collection().find_one({"_id": owner})
        if doc is not None and doc.get("orgId") == org_id:
            job.customer = Customer.model_validate(doc)
        elif job.recipient.get("customerId"):
            job.error = "the customer no longer exists"
        else:
            # A contact added by hand and never seen: a customer named by it, as for the
            # first message of a new conversation.
            job.customer, _ = await customer_service.for_identity(
                org_id, kind, job.contact, job.channel.id
            )
    # Customers reached on a channel for the first time are now known on it.
    joining = {
        j.customer.id: j.channel.id
        for j in jobs
        if j.customer is not None and j.channel.id not in j.customer.channel_ids
    }
    if joining:
        await Customer.get_pymongo_collection().bulk_write(
            [
                UpdateOne({"_id": cid}, {"$addToSet": {"channelIds": chid}})
                for cid, chid in joining.items()
            ],
            ordered=False,
        )


async def _render(settings: Settings, jobs: list[_Job]) -> None:
    for job in jobs:
        assert job.customer is not None
        name = await campaign_context.org_name(job.campaign.org_id)
        context = campaign_context.context(job.customer, name)
        try:
            if job.channel.type == ChannelType.EMAIL:
                token = job.recipient.get("trackingToken") or await _token_for(job)
                email = email_campaigns.render(settings, job.campaign, token, context)
                job.content, extra = email.content, email.metadata
            else:
                job.content = templating.render(job.campaign.message_template, context)
                extra = {}
        except templating.TemplateRenderError as exc:
            job.error = f"template: {exc}"
            continue
        limit = campaign_service.MAX_CHARS_BY_TYPE.get(
            job.channel.type, campaign_service.MAX_MESSAGE_CHARS
        )
        if not job.content.strip():
            job.error = "the rendered message is empty"
        elif len(job.content) > limit:
            job.error = f"the rendered message is longer than {limit} characters"
        job.metadata = {"campaignId": job.campaign.id, "recipientId": job.recipient["_id"], **extra}


async def _token_for(job: _Job) -> str:
    """A token for a recipient made before tokens came with recipients (kept once set)."""
    coll = CampaignRecipient.get_pymongo_collection()
    await coll.update_one(
        {"_id": job.recipient["_id"], "trackingToken": None},
        {"$set": {"trackingToken": campaign_service.new_tracking_token()}},
    )
    doc = await coll.find_one({"_id": job.recipient["_id"]}, {"trackingToken": 1})
    if doc is None or not doc.get("trackingToken"):
        raise RuntimeError(f"campaign recipient {job.recipient['_id']} vanished while rendering")
    job.recipient["trackingToken"] = doc["trackingToken"]
    return str(doc["trackingToken"])


async def _thread(deps: Deps, jobs: list[_Job]) -> None:
    """Store each job's message in its conversation's open ticket (or a new PENDING one,
    waiting on the customer: their answer reopens it as OPEN, like any reply's)."""
    if not jobs:
        return
    now = utcnow()
    by_key: dict[str, list[_Job]] = defaultdict(list)
    for job in jobs:
        by_key[ticket_service.open_key(job.channel.id, job.contact)].append(job)
    tickets, created = await _open_tickets(by_key, now)
    tcoll = Ticket.get_pymongo_collection()
    updates = [
        UpdateOne(
            {"_id": tickets[key].id},
            {
                "$set": {"lastMessagePreview": group[-1].content[:200], "updatedAt": now},
                "$max": {"lastMessageAt": now, "lastActivityAt": now},
            },
        )
        for key, group in by_key.items()
        if key not in created
    ]
    if updates:
        await tcoll.bulk_write(updates, ordered=False)
    docs = [
        Message(
            id=job.message_id,
            org_id=job.campaign.org_id,
            ticket_id=tickets[key].id,
            channel_id=job.channel.id,
            external_thread_id=job.contact,
            direction=Direction.OUTBOUND,
            sender_name=job.campaign.name,
            content=job.content,
            metadata=job.metadata,
            status=DeliveryStatus.SENDING,
            timestamp=now,
        ).model_dump(by_alias=True, exclude_none=True)
        for key, group in by_key.items()
        for job in group
    ]
    raced: set[str] = set()
    try:
        await Message.get_pymongo_collection().insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != _DUPLICATE_KEY for e in errors):
            raise
        raced = {docs[e["index"]]["_id"] for e in errors}  # another run stored it first
    mine = {d["_id"]: d for d in docs if d["_id"] not in raced}
    theirs = await _docs_by_id(Message, list(raced))
    for job in jobs:
        job.message = mine.get(job.message_id) or theirs.get(job.message_id)
        if job.message is None:
            job.error = "the message could not be stored"
    # Announced like a reply's: the new tickets, then the messages, then the moved tickets.
    shown = {v.id: v for v in await ticket_service.views(list(tickets.values()))}
    publish: list[tuple[str, dict[str, Any]]] = [
        (events.TICKET_CREATED, shown[tickets[key].id].dump()) for key in created
    ]
    publish += [(events.MESSAGE_CREATED, _public(d)) for d in mine.values()]
    publish += [
        (events.TICKET_UPDATED, shown[tickets[key].id].dump())
        for key in by_key
        if key not in created
    ]
    await _publish_all(deps, jobs[0].campaign.org_id, publish)


async def _open_tickets(
    by_key: dict[str, list[_Job]], now: Any
) -> tuple[dict[str, Ticket], set[str]]:
    """Open ticket per conversation key, and the keys whose ticket was created here."""
    tcoll = Ticket.get_pymongo_collection()
    keys = list(by_key)
    tickets: dict[str, Ticket] = {}
    created: set[str] = set()
    for _ in range(3):  # a ticket closed between our read and our insert: read again
        missing = [k for k in keys if k not in tickets]
        if not missing:
            break
        for doc in await tcoll.find({"openKey": {"$in": missing}}).to_list(None):
            tickets[doc["openKey"]] = Ticket.model_validate(doc)
        new = {}
        for key in missing:
            if key in tickets:
                continue
            first = by_key[key][0]
            assert first.customer is not None
            new[key] = Ticket(
                org_id=first.campaign.org_id,
                channel_id=first.channel.id,
                customer_id=first.customer.id,
                external_thread_id=first.contact,
                subject=first.campaign.name[:80],
                status=TicketStatus.PENDING,
                open_key=key,
                last_message_at=now,
                last_message_preview=by_key[key][-1].content[:200],
                last_activity_at=now,
                created_at=now,
                updated_at=now,
            )
        if not new:
            continue
        docs = [t.model_dump(by_alias=True, exclude_none=True) for t in new.values()]
        lost: set[str] = set()
        try:
            await tcoll.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise
            lost = {docs[e["index"]]["openKey"] for e in errors}  # opened meanwhile
        for key, ticket in new.items():
            if key not in lost:
                tickets[key] = ticket
                created.add(key)
    missing = [k for k in keys if k not in tickets]
    if missing:
        raise RuntimeError(f"no open ticket could be found or made for {missing[:3]}")
    return tickets, created


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return public_message(Message.model_validate(doc))


async def _publish_all(deps: Deps, org_id: str, items: list[tuple[str, dict[str, Any]]]) -> None:
    # In order per conversation is kept by publishing in list order; the realtime log is one
    # Redis stream per org, so these are appends.
    for name, data in items:
        await deps.events.publish(org_id, name, data)


async def _send_all(deps: Deps, throttle: campaign_service.Throttle, jobs: list[_Job]) -> None:
    """Send every job whose message is not sent yet; one conversation's in order."""
    to_send = [j for j in jobs if j.message and j.message.get("status") in _UNSENT]
    if not to_send:
        return
    groups: dict[str, list[_Job]] = defaultdict(list)
    for job in to_send:
        groups[job.record.conversation].append(job)
    limit = asyncio.Semaphore(max(1, deps.settings.campaign_send_concurrency))
    configs: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, tuple[DeliveryStatus, str | None, dict[str, Any] | None, int]] = {}

    async def run(group: list[_Job]) -> None:
        async with limit:
            for job in group:
                channel = job.channel
                if channel.id not in configs:
                    configs[channel.id] = channel_service.resolved_config(deps.settings, channel)
                await throttle.acquire(channel.id, _rate(deps.settings, channel.type))
                outcomes[job.message_id] = await _deliver(deps, job, configs[channel.id])

    await asyncio.gather(*(run(g) for g in groups.values()))
    await _record_sends(deps, to_send, outcomes)


def _rate(settings: Settings, kind: ChannelType) -> float:
    if kind == ChannelType.EMAIL:
        return settings.campaign_email_rate_per_second
    return settings.campaign_rate_per_second


async def _deliver(
    deps: Deps, job: _Job, config: dict[str, Any]
) -> tuple[DeliveryStatus, str | None, dict[str, Any] | None, int]:
    """(status, external id, error, attempts) of one send, with the replies' retry rule."""
    assert job.message is not None
    connector = get_connector(job.channel.type)
    assert connector is not None
    outgoing = OutboundMessage(
        recipient=job.contact,
        content=job.message["content"],
        metadata=job.message.get("metadata") or {},
        idempotency_key=job.message_id,
    )
    attempt = 0
    while True:
        attempt += 1
        try:
            result = await connector.send(deps.http, config, outgoing)
        except RetryableSendError as exc:
            if attempt >= deps.settings.send_max_attempts:
                return DeliveryStatus.FAILED, None, exc.as_dict(), attempt
            base = deps.settings.send_backoff_base_seconds
            delay = exc.retry_after or base * 2 ** (attempt - 1)
            log.info("campaign send %s: %s; retry in %.1fs", job.message_id, exc.code, delay)
            await asyncio.sleep(min(delay, 30.0))
            continue
        except PermanentSendError as exc:
            return DeliveryStatus.FAILED, None, exc.as_dict(), attempt
        return DeliveryStatus.SENT, result.external_message_id, None, attempt


async def _record_sends(
    deps: Deps,
    jobs: list[_Job],
    outcomes: dict[str, tuple[DeliveryStatus, str | None, dict[str, Any] | None, int]],
) -> None:
    """Store the sends' outcomes on the messages (one bulk write), then announce them."""
    coll = Message.get_pymongo_collection()
    now = utcnow()
    writes: list[tuple[dict[str, Any], dict[str, Any]]] = []
    order: list[_Job] = []
    for job in jobs:
        if job.message_id not in outcomes:
            continue
        status, external_id, error, attempts = outcomes[job.message_id]
        changes: dict[str, Any] = {"status": status.value, "updatedAt": now}
        if external_id:
            changes["externalMessageId"] = external_id
        if error:
            changes["error"] = error
        # Only a message still unsent moves: a receipt that came first is not overwritten.
        writes.append(
            (
                {"_id": job.message_id, "status": {"$in": list(_UNSENT)}},
                {"$set": changes, "$inc": {"attempts": attempts}},
            )
        )
        order.append(job)
        assert job.message is not None
        job.message = {**job.message, **changes}
    conflicts: list[int] = []
    if writes:
        try:
            await coll.bulk_write([UpdateOne(f, u) for f, u in writes], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise
            conflicts = [e["index"] for e in errors]
    for index in conflicts:
        await _drop_echo_and_record(deps, order[index], *writes[index])
    publish: list[tuple[str, dict[str, Any]]] = []
    for job in order:
        shown = _public(job.message or {})
        publish.append((events.MESSAGE_UPDATED, shown))
        if (job.message or {}).get("status") == DeliveryStatus.SENT.value:
            publish.append((events.MESSAGE_SENT, shown))
    if order:
        await _publish_all(deps, order[0].campaign.org_id, publish)
    for job in order:
        external_id = (job.message or {}).get("externalMessageId")
        if external_id and job.channel.type != ChannelType.EMAIL:
            # Receipts that outran our record of the send (e-mail has none).
            await apply_pending_statuses(deps.events, job.channel, external_id)


async def _drop_echo_and_record(
    deps: Deps, job: _Job, query: dict[str, Any], update: dict[str, Any]
) -> None:
    """Messenger echoes our own sends: an echo threaded before we recorded the external id
    holds it. Drop that copy and keep ours, as replies do."""
    assert job.message is not None
    coll = Message.get_pymongo_collection()
    external_id = job.message.get("externalMessageId")
    echo = await coll.find_one(
        {"externalMessageId": external_id, "channelId": job.channel.id}, {"_id": 1, "ticketId": 1}
    )
    if echo is not None and echo["_id"] != job.message_id:
        await coll.delete_one({"_id": echo["_id"]})
        await deps.events.publish(
            job.campaign.org_id,
            events.MESSAGE_DELETED,
            {"id": echo["_id"], "ticketId": echo["ticketId"]},
        )
    await coll.update_one(query, update)


async def _settle(jobs: list[_Job]) -> None:
    """Recipients follow their messages (SENT, or FAILED with the reason); each campaign's
    counters move by what the conditional updates actually changed."""
    now = utcnow()
    ops: dict[tuple[str, str], list[UpdateOne]] = defaultdict(list)
    for job in jobs:
        rid = job.recipient["_id"]
        message = job.message or {}
        changes: dict[str, Any] = {"updatedAt": now}
        if job.error is not None:
            status, changes["error"] = RecipientStatus.FAILED, job.error[:1000]
        elif message.get("status") in _SENT:
            status = RecipientStatus.SENT
            changes["sentAt"] = message.get("updatedAt") or now
        elif message.get("status") == DeliveryStatus.FAILED.value:
            status = RecipientStatus.FAILED
            reason = (message.get("error") or {}).get("message") or "send failed"
            changes["error"] = str(reason)[:1000]
        else:
            continue  # still unsent (a receipt race): stays PENDING for the sweeper
        changes["status"] = status.value
        if message:
            changes["messageId"] = message["_id"]
            changes["ticketId"] = message.get("ticketId")
            links = (message.get("metadata") or {}).get("trackedLinks")
            if links:
                changes["trackedLinks"] = links
        ops[(job.campaign.id, status.value)].append(
            UpdateOne(
                {"_id": rid, "status": RecipientStatus.PENDING.value},
                {"$set": changes},
            )
        )
    coll = CampaignRecipient.get_pymongo_collection()
    moved: dict[str, dict[str, int]] = defaultdict(dict)
    for (campaign_id, status), batch in ops.items():
        result = await coll.bulk_write(batch, ordered=False)
        field_name = "sentCount" if status == RecipientStatus.SENT.value else "failedCount"
        moved[campaign_id][field_name] = result.modified_count
    campaigns = Campaign.get_pymongo_collection()
    for campaign_id, counts in moved.items():
        await campaigns.update_one(
            {"_id": campaign_id},
            {"$inc": counts, "$max": {"progressAt": now}},
        )
