"""Campaign sending on the worker: audiences into recipients, and recipients into messages.

`send_batch` takes one stream batch of recipient records and does the database work a batch
at a time, because the embedded MongoDB-protocol server pays a fixed cost per command (and
scans whole collections for findAndModify, so none is used on the large collections):

1. read the batch's recipients, campaigns, channels and already-stored messages (one query
   each, by `_id`);
2. find each new recipient's customer (by the id the audience gave it, else by the contact's
   identity; a contact seen for the first time becomes a customer, as for inbound messages)
   and render the templates for them;
3. send through the channel's connector, different conversations concurrently (one
   conversation's in order), each paced by the channel's shared Redis throttle, retrying
   rate limits and 5xx with backoff like replies;
4. thread the messages like agents' replies, with their outcome: the conversation's open
   ticket or a new PENDING one (one `insert_many`), the messages (one `insert_many`, SENT
   with the platform's id or FAILED with its reason, metadata `{campaignId, recipientId}`,
   ids derived from the recipients), then `ticket.created`, `message.created` and
   `message.sent` events;
5. move the recipients to SENT or FAILED (one `bulk_write` per outcome, each update
   conditional on PENDING) and the campaign's counters by what those writes changed.

Sent first, stored after: a message is only ever written once, with its outcome. A worker
stopped between a send and its storing leaves the recipient PENDING; the re-run sends again
under the same Idempotency-Key / Message-ID (derived from the recipient), as a crash in the
middle of any send would, so a platform that honours it never doubles it. A redelivered
record whose recipient is no longer PENDING changes nothing, and one whose message is stored
already only settles the recipient.

`resolve_due` / `resolve` turn a started campaign's audience into recipients
(inbox/crm/audiences.py), handing each inserted batch to the stream at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

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
from inbox.caches import Caches
from inbox.campaigns import context as campaign_context
from inbox.campaigns import email_campaigns
from inbox.campaigns import service as campaign_service
from inbox.campaigns.documents import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from inbox.channels import service as channel_service
from inbox.channels.documents import Channel
from inbox.config import Settings
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Message, Ticket, TicketStatus
from inbox.conversations.threader import apply_pending_statuses, public_message
from inbox.conversations.views import ticket_view
from inbox.crm import audiences, identities
from inbox.crm import customers as customer_service
from inbox.crm.customer_documents import Customer
from inbox.document_base import utcnow
from inbox.errors import NotFound
from inbox.ports import Deps
from inbox.queries import (
    by_id,
    duplicate_positions,
    duplicates_of,
    find_in,
    find_one_and_update,
    models_by_id,
)
from inbox.records import CampaignRecord

log = logging.getLogger(__name__)

RESOLVE_BATCH = 500
LEASE_SECONDS = 60.0
"""How long a worker may go without extending its claim on an audience resolution before
another worker takes it over (it is extended after every batch)."""
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
        doc = await find_one_and_update(
            coll,
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
        failed = duplicate_positions(exc)
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
    stored: dict[str, Any] | None = None  # the message from an earlier run, if any
    customer: Customer | None = None
    content: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # failed before anything was sent
    outcome: _Outcome | None = None  # the send's, this run
    message: dict[str, Any] | None = None  # the stored message once there is one

    @property
    def contact(self) -> str:
        return str(self.recipient["recipientContact"])


@dataclass(frozen=True)
class _Outcome:
    status: DeliveryStatus
    external_id: str | None
    error: dict[str, Any] | None
    attempts: int


@dataclass
class SentBatch:
    """A batch after its sends (`send_phase`), before they are stored (`store_phase`)."""

    jobs: list[_Job]
    fresh: list[_Job]
    resent: list[_Job]

    @property
    def campaign_ids(self) -> set[str]:
        return {j.campaign.id for j in self.jobs}


async def send_batch(deps: Deps, throttle: campaign_service.Throttle, records: list) -> None:
    """Send one stream batch of campaign records and store the outcome."""
    sent = await send_phase(deps, throttle, records)
    if sent is not None:
        await store_phase(deps, sent)


async def send_phase(
    deps: Deps, throttle: campaign_service.Throttle, records: list
) -> SentBatch | None:
    """Steps 1-3 of the module's docstring: read, render, send. The worker runs one batch's
    `store_phase` while the next batch is in here, one batch's at a time each."""
    wanted = {r.recipient_id: r for r in records}
    if not wanted:
        return None
    rcoll = CampaignRecipient.get_pymongo_collection()
    found = list((await by_id(rcoll, wanted)).values())
    pending = [
        d
        for d in found
        if d.get("status") == RecipientStatus.PENDING.value
        and d.get("orgId") == wanted[d["_id"]].org_id
    ]
    if not pending:
        return None  # done already: redelivered records
    campaigns = await models_by_id(Campaign, {d["campaignId"] for d in pending})
    channels = await models_by_id(Channel, {c.channel_id for c in campaigns.values()})
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
    stored = await by_id(Message.get_pymongo_collection(), [j.message_id for j in live])
    for job in live:
        job.stored = job.message = stored.get(job.message_id)
    fresh = [j for j in live if j.stored is None]
    await _find_customers(fresh, deps.caches)
    await _render(deps.settings, [j for j in fresh if j.error is None])
    # Sent first, stored after: a message is only ever stored with the outcome of its send.
    # A worker stopped in between stored nothing; the re-run sends again under the same
    # Idempotency-Key / Message-ID (derived from the recipient), as a crash mid-send would.
    unsent = [j for j in live if j.stored is not None and j.stored.get("status") in _UNSENT]
    await _send_all(deps, throttle, [j for j in fresh if j.error is None] + unsent)
    return SentBatch(jobs=jobs, fresh=fresh, resent=unsent)


async def store_phase(deps: Deps, sent: SentBatch) -> None:
    """Steps 4-5: thread and store the messages with their outcome, settle the recipients."""
    await _store(deps, [j for j in sent.fresh if j.outcome is not None])
    await _record_resends(deps, [j for j in sent.resent if j.outcome is not None])
    await _settle(sent.jobs)


async def _find_customers(jobs: list[_Job], caches: Caches) -> None:
    """The customer of each job: the audience's (by id), else whoever holds the contact's
    identity, else a new customer for a contact seen for the first time (which also makes
    them known on the channel, as for an inbound message)."""
    known = await by_id(
        Customer.get_pymongo_collection(),
        [j.recipient["customerId"] for j in jobs if j.recipient.get("customerId")],
    )
    for job in jobs:
        org_id, kind = job.campaign.org_id, job.channel.type
        doc = known.get(job.recipient.get("customerId") or "")
        if doc is None:
            owner = await identities.owner_of(
                org_id, kind, job.contact, owners=caches.identity_owners
            )
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
                org_id, kind, job.contact, job.channel.id, caches=caches
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


# -- sending -------------------------------------------------------------------------------


async def _send_all(deps: Deps, throttle: campaign_service.Throttle, jobs: list[_Job]) -> None:
    """Send every job; one conversation's in order, different ones concurrently."""
    if not jobs:
        return
    groups: dict[str, list[_Job]] = defaultdict(list)
    for job in jobs:
        groups[job.record.conversation].append(job)
    limit = asyncio.Semaphore(max(1, deps.settings.campaign_send_concurrency))
    configs: dict[str, dict[str, Any]] = {}

    async def run(group: list[_Job]) -> None:
        async with limit:
            for job in group:
                channel = job.channel
                if channel.id not in configs:
                    configs[channel.id] = channel_service.resolved_config(deps.settings, channel)
                await throttle.acquire(channel.id, _rate(deps.settings, channel.type))
                job.outcome = await _deliver(deps, job, configs[channel.id])

    await asyncio.gather(*(run(g) for g in groups.values()))


def _rate(settings: Settings, kind: ChannelType) -> float:
    if kind == ChannelType.EMAIL:
        return settings.campaign_email_rate_per_second
    return settings.campaign_rate_per_second


async def _deliver(deps: Deps, job: _Job, config: dict[str, Any]) -> _Outcome:
    """One send, with the replies' retry rule (rate limits and 5xx with backoff)."""
    connector = get_connector(job.channel.type)
    assert connector is not None
    if job.stored is not None:
        content, metadata = job.stored["content"], job.stored.get("metadata") or {}
    else:
        content, metadata = job.content, job.metadata
    outgoing = OutboundMessage(
        recipient=job.contact,
        content=content,
        metadata=metadata,
        idempotency_key=job.message_id,
    )
    attempt = 0
    while True:
        attempt += 1
        try:
            result = await connector.send(deps.http, config, outgoing)
        except RetryableSendError as exc:
            if attempt >= deps.settings.send_max_attempts:
                return _Outcome(DeliveryStatus.FAILED, None, exc.as_dict(), attempt)
            base = deps.settings.send_backoff_base_seconds
            delay = exc.retry_after or base * 2 ** (attempt - 1)
            log.info("campaign send %s: %s; retry in %.1fs", job.message_id, exc.code, delay)
            await asyncio.sleep(min(delay, 30.0))
            continue
        except PermanentSendError as exc:
            return _Outcome(DeliveryStatus.FAILED, None, exc.as_dict(), attempt)
        return _Outcome(DeliveryStatus.SENT, result.external_message_id, None, attempt)


# -- storing -------------------------------------------------------------------------------


async def _store(deps: Deps, jobs: list[_Job]) -> None:
    """Thread the sent (or failed) messages like agents' replies: in the conversation's open
    ticket, or a new PENDING one waiting on the customer (their answer reopens it as OPEN),
    then announce them."""
    if not jobs:
        return
    now = utcnow()
    by_key: dict[str, list[_Job]] = defaultdict(list)
    for job in jobs:
        by_key[ticket_service.open_key(job.channel.id, job.contact)].append(job)
    tickets, created = await _open_tickets(by_key, now)
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
        await Ticket.get_pymongo_collection().bulk_write(updates, ordered=False)
    docs = {
        job.message_id: _message_doc(job, tickets[key].id, now)
        for key, group in by_key.items()
        for job in group
    }
    inserted = await _insert_messages(deps, list(docs.values()))
    for job in jobs:
        job.message = docs[job.message_id] if job.message_id in inserted else None
    theirs = await by_id(
        Message.get_pymongo_collection(), [j.message_id for j in jobs if j.message is None]
    )
    for job in jobs:
        job.message = job.message or theirs.get(job.message_id)

    # Announced like a reply's: new tickets, the messages (already with their outcome), the
    # moved tickets; `message.sent` once per message that went out.
    # New tickets are shown from what is in hand (no assignee yet); the few existing ones
    # are read with their assignee and customer.
    jobs_of = {key: group[0] for key, group in by_key.items()}
    shown = {
        tickets[key].id: ticket_view(
            tickets[key], jobs_of[key].channel, jobs_of[key].customer, None
        )
        for key in created
    }
    existing = [tickets[key] for key in by_key if key not in created]
    shown.update({v.id: v for v in await ticket_service.views(existing)} if existing else {})
    publish: list[tuple[str, dict[str, Any]]] = [
        (events.TICKET_CREATED, shown[tickets[key].id].dump()) for key in created
    ]
    for job in jobs:
        if job.message_id not in inserted:
            continue
        message = _public(docs[job.message_id])
        publish.append((events.MESSAGE_CREATED, message))
        if job.outcome is not None and job.outcome.status == DeliveryStatus.SENT:
            publish.append((events.MESSAGE_SENT, message))
    publish += [
        (events.TICKET_UPDATED, shown[tickets[key].id].dump())
        for key in by_key
        if key not in created
    ]
    await _publish_all(deps, jobs[0].campaign.org_id, publish)
    await _pending_receipts(deps, [j for j in jobs if j.message_id in inserted])


def _message_doc(job: _Job, ticket_id: str, now: datetime) -> dict[str, Any]:
    assert job.outcome is not None
    return Message(
        id=job.message_id,
        org_id=job.campaign.org_id,
        ticket_id=ticket_id,
        channel_id=job.channel.id,
        external_thread_id=job.contact,
        direction=Direction.OUTBOUND,
        external_message_id=job.outcome.external_id,
        sender_name=job.campaign.name,
        content=job.content,
        metadata=job.metadata,
        status=job.outcome.status,
        error=job.outcome.error,
        attempts=job.outcome.attempts,
        timestamp=now,
        created_at=now,
        updated_at=now,
    ).model_dump(by_alias=True, exclude_none=True)


async def _insert_messages(deps: Deps, docs: list[dict[str, Any]]) -> set[str]:
    """Insert the messages; returns the ids inserted here. An `_id` already there is an
    earlier run's; an external id already there is the platform's echo of our own send
    (Messenger), threaded before we stored the send: that copy goes, ours stays."""
    coll = Message.get_pymongo_collection()
    try:
        await coll.insert_many(docs, ordered=False)
        return {d["_id"] for d in docs}
    except BulkWriteError as exc:
        errors = duplicates_of(exc)
        failed = {e["index"] for e in errors}
        inserted = {d["_id"] for i, d in enumerate(docs) if i not in failed}
        for error in errors:
            doc = docs[error["index"]]
            if "externalMessageId" in str(error.get("keyPattern") or error.get("errmsg")):
                if await _replace_echo(deps, doc):
                    inserted.add(doc["_id"])
        return inserted


async def _replace_echo(deps: Deps, doc: dict[str, Any]) -> bool:
    coll = Message.get_pymongo_collection()
    echo = await coll.find_one(
        {"externalMessageId": doc["externalMessageId"], "channelId": doc["channelId"]},
        {"_id": 1, "ticketId": 1},
    )
    if echo is not None and echo["_id"] != doc["_id"]:
        await coll.delete_one({"_id": echo["_id"]})
        await deps.events.publish(
            doc["orgId"], events.MESSAGE_DELETED, {"id": echo["_id"], "ticketId": echo["ticketId"]}
        )
    try:
        await coll.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


async def _pending_receipts(deps: Deps, jobs: list[_Job]) -> None:
    for job in jobs:
        external_id = (job.message or {}).get("externalMessageId")
        if external_id and job.channel.type != ChannelType.EMAIL:
            # Receipts that outran our record of the send (e-mail has none).
            await apply_pending_statuses(deps.events, job.channel, external_id)


async def _record_resends(deps: Deps, jobs: list[_Job]) -> None:
    """Messages stored unsent by an earlier version of this path, sent again now: their
    outcome is written with the "still unsent" rule in each update's filter."""
    if not jobs:
        return
    coll = Message.get_pymongo_collection()
    now = utcnow()
    publish: list[tuple[str, dict[str, Any]]] = []
    for job in jobs:
        assert job.outcome is not None and job.stored is not None
        changes: dict[str, Any] = {"status": job.outcome.status.value, "updatedAt": now}
        if job.outcome.external_id:
            changes["externalMessageId"] = job.outcome.external_id
        if job.outcome.error:
            changes["error"] = job.outcome.error
        await coll.update_one(
            {"_id": job.message_id, "status": {"$in": list(_UNSENT)}},
            {"$set": changes, "$inc": {"attempts": job.outcome.attempts}},
        )
        job.message = {**job.stored, **changes}
        shown = _public(job.message)
        publish.append((events.MESSAGE_UPDATED, shown))
        if job.outcome.status == DeliveryStatus.SENT:
            publish.append((events.MESSAGE_SENT, shown))
    await _publish_all(deps, jobs[0].campaign.org_id, publish)
    await _pending_receipts(deps, jobs)


async def _open_tickets(
    by_key: dict[str, list[_Job]], now: datetime
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
        for doc in await find_in(tcoll, "openKey", missing):
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
            lost = {docs[i]["openKey"] for i in duplicate_positions(exc)}  # opened meanwhile
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
    # In list order (a conversation's ticket before its message), in one round trip where
    # the publisher can (the worker's publishes a batch with one Redis pipeline).
    many = getattr(deps.events, "publish_many", None)
    if many is not None:
        await many(org_id, items)
        return
    for name, data in items:
        await deps.events.publish(org_id, name, data)


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
            continue  # not stored, or still unsent: stays PENDING for the sweeper
        changes["status"] = status.value
        if message:
            changes["messageId"] = message["_id"]
            changes["ticketId"] = message.get("ticketId")
            links = (message.get("metadata") or {}).get("trackedLinks")
            if links:
                changes["trackedLinks"] = links
        ops[(job.campaign.id, status.value)].append(
            UpdateOne({"_id": rid, "status": RecipientStatus.PENDING.value}, {"$set": changes})
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
