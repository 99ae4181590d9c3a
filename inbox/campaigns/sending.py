"""Campaign sending on the worker: a stream batch of recipients into messages.

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

This module has the batch's entry points and steps 1-3 (the send phase); steps 4-5 (the store
phase) are storing.py, and the jobs both work on are send_jobs.py. A started campaign's
audience becomes recipients in audience_resolution.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from typing import Any

from connectors import get_connector
from connectors.base import (
    ChannelType,
    DeliveryStatus,
    OutboundMessage,
    PermanentSendError,
    RetryableSendError,
)
from inbox import templating
from inbox.caches import Caches
from inbox.campaigns import context as campaign_context
from inbox.campaigns import email_campaigns, storing
from inbox.campaigns import service as campaign_service
from inbox.campaigns.documents import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from inbox.campaigns.send_jobs import UNSENT, Job, Outcome, SentBatch
from inbox.campaigns.throttle import Throttle
from inbox.channels import service as channel_service
from inbox.channels.documents import Channel
from inbox.config import Settings
from inbox.conversations.documents import Message
from inbox.crm import identities, sightings
from inbox.crm.customer_documents import Customer
from inbox.ports import Deps
from inbox.queries import by_id, models_by_id

log = logging.getLogger(__name__)

# Campaign messages get ids derived from their recipient: a re-run finds the same message.
_MESSAGE_NS = uuid.UUID("6f1d4c1e-3b7a-4f4e-9a53-2b7c1f0e8d21")


def message_id_for(recipient_id: str) -> str:
    return str(uuid.uuid5(_MESSAGE_NS, recipient_id))


async def send_batch(deps: Deps, throttle: Throttle, records: list) -> None:
    """Send one stream batch of campaign records and store the outcome."""
    sent = await send_phase(deps, throttle, records)
    if sent is not None:
        await storing.store_phase(deps, sent)


async def send_phase(deps: Deps, throttle: Throttle, records: list) -> SentBatch | None:
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
    jobs: list[Job] = []
    for doc in pending:
        campaign = campaigns.get(doc["campaignId"])
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            continue
        channel = channels.get(campaign.channel_id)
        job = Job(
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
    unsent = [j for j in live if j.stored is not None and j.stored.get("status") in UNSENT]
    await _send_all(deps, throttle, [j for j in fresh if j.error is None] + unsent)
    return SentBatch(jobs=jobs, fresh=fresh, resent=unsent)


async def _find_customers(jobs: list[Job], caches: Caches) -> None:
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
            job.customer, _ = await sightings.for_identity(
                org_id, kind, job.contact, job.channel.id, caches=caches
            )


async def _render(settings: Settings, jobs: list[Job]) -> None:
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


async def _token_for(job: Job) -> str:
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


# -- sending ---------------------------------------------------------------------------------


async def _send_all(deps: Deps, throttle: Throttle, jobs: list[Job]) -> None:
    """Send every job; one conversation's in order, different ones concurrently."""
    if not jobs:
        return
    groups: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        groups[job.record.conversation].append(job)
    limit = asyncio.Semaphore(max(1, deps.settings.campaign_send_concurrency))
    configs: dict[str, dict[str, Any]] = {}

    async def run(group: list[Job]) -> None:
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


async def _deliver(deps: Deps, job: Job, config: dict[str, Any]) -> Outcome:
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
                return Outcome(DeliveryStatus.FAILED, None, exc.as_dict(), attempt)
            base = deps.settings.send_backoff_base_seconds
            delay = exc.retry_after or base * 2 ** (attempt - 1)
            log.info("campaign send %s: %s; retry in %.1fs", job.message_id, exc.code, delay)
            await asyncio.sleep(min(delay, 30.0))
            continue
        except PermanentSendError as exc:
            return Outcome(DeliveryStatus.FAILED, None, exc.as_dict(), attempt)
        return Outcome(DeliveryStatus.SENT, result.external_message_id, None, attempt)
