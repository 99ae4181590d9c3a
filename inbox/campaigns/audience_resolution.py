"""Turning a started campaign's audience into recipients, on the worker.

`resolve_due` claims the SENDING campaigns nobody is resolving (just started, or whose worker
stopped extending its lease); `resolve` reads the audience's customers (inbox/crm/audiences.py)
through a cursor, inserts a recipient per customer with an address on the channel's platform
(the others are counted as skipped), a batch at a time, and hands each inserted batch to the
stream at once (handoff.py), so sending starts while the rest is still being read. The unique
(campaignId, recipientContact) index makes it idempotent: run again, it adds nobody twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from connectors.base import ChannelType
from inbox.campaigns import handoff
from inbox.campaigns import progress as campaign_progress
from inbox.campaigns import service as campaign_service
from inbox.campaigns.documents import Campaign, CampaignRecipient, CampaignStatus
from inbox.channels.documents import Channel
from inbox.crm import audiences
from inbox.crm.customer_documents import Customer
from inbox.document_base import utcnow
from inbox.errors import NotFound
from inbox.ports import Deps
from inbox.queries import duplicate_positions, find_one_and_update

log = logging.getLogger(__name__)

RESOLVE_BATCH = 500
LEASE_SECONDS = 60.0
"""How long a worker may go without extending its claim on an audience resolution before
another worker takes it over (it is extended after every batch)."""
_PROJECTION = {
    "_id": 1,
    "email": 1,
    "phone": 1,
    "identities": 1,
    "channelIds": 1,
    "platform": 1,
    "externalId": 1,
}


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
    await campaign_progress.progress(deps, campaign.id)  # an empty audience completes here
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
        await handoff.hand_off_docs(deps, campaign, inserted)
    return len(inserted)
