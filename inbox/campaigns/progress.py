"""A sending campaign's progress: its counters, `campaign.updated`, completion, and the
platforms' receipts for its messages.

The campaign keeps counters (recipients, sent, failed, skipped, delivered, read), moved by the
worker as it settles recipients and by receipts (`on_receipt`); `recount` sets the recipient
counters from the recipients themselves. The counters say when to look; when nobody is
PENDING any more (checked against the recipients themselves), one atomic SENDING -> COMPLETED
update finishes the campaign (`progress`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pymongo import ReturnDocument

from connectors.base import ChannelType, DeliveryStatus
from inbox import events
from inbox.campaigns.documents import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from inbox.campaigns.service import view
from inbox.campaigns.views import CampaignProgressView, CampaignStatsView
from inbox.crm import audiences
from inbox.document_base import utcnow
from inbox.ports import Deps
from inbox.queries import find_one_and_update

log = logging.getLogger(__name__)

_READ = DeliveryStatus.READ.value


def counter_stats(campaign: Campaign) -> CampaignStatsView:
    """The campaign's progress from its counters (no query)."""
    settled = campaign.sent_count + campaign.failed_count
    return CampaignStatsView(
        total_recipients=campaign.recipient_count,
        sent_count=campaign.sent_count,
        failed_count=campaign.failed_count,
        pending_count=max(0, campaign.recipient_count - settled),
        delivered_count=campaign.delivered_count,
        read_count=campaign.read_count,
        opened_count=campaign.opened_count,
        clicked_count=campaign.clicked_count,
        skipped_count=campaign.skipped_count,
    )


async def progress_view(campaign: Campaign) -> CampaignProgressView:
    base = await view(campaign)
    return CampaignProgressView(**base.model_dump(), stats=counter_stats(campaign))


async def recount(campaign_id: str) -> Campaign | None:
    """Set the recipient counters from the recipients themselves (one aggregation): after a
    crash between a recipient's update and its counter's, or for campaigns older than the
    counters."""
    by_status = {s.value: 0 for s in RecipientStatus}
    pipeline: list[dict[str, Any]] = [
        {"$match": {"campaignId": campaign_id}},
        {"$group": {"_id": "$status", "n": {"$sum": 1}}},
    ]
    async for row in await CampaignRecipient.get_pymongo_collection().aggregate(pipeline):
        by_status[row["_id"]] = row["n"]
    doc = await find_one_and_update(
        Campaign.get_pymongo_collection(),
        {"_id": campaign_id},
        {
            "$set": {
                "recipientCount": sum(by_status.values()),
                "sentCount": by_status[RecipientStatus.SENT],
                "failedCount": by_status[RecipientStatus.FAILED],
            }
        },
        return_document=ReturnDocument.AFTER,
    )
    return Campaign.model_validate(doc) if doc else None


async def progress(deps: Deps, campaign_id: str) -> None:
    """Publish progress; complete the campaign (once) when nobody is PENDING any more.

    The counters say when to look; the recipients themselves (an indexed count of the
    PENDING ones) decide, so a counter that fell behind never completes a campaign early."""
    campaign = await Campaign.find_one(Campaign.id == campaign_id)
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return
    resolving = audiences.of(campaign).is_set and campaign.audience_resolved_at is None
    counts = counter_stats(campaign)
    if not resolving and counts.pending_count == 0:
        pending = await CampaignRecipient.get_pymongo_collection().count_documents(
            {"campaignId": campaign.id, "status": RecipientStatus.PENDING.value}
        )
        if pending == 0:
            await _complete(deps, campaign)
            return
    data = CampaignProgressView(**(await view(campaign)).model_dump(), stats=counts).dump()
    await deps.events.publish(campaign.org_id, events.CAMPAIGN_UPDATED, data)


async def _complete(deps: Deps, campaign: Campaign) -> None:
    now = utcnow()
    doc = await find_one_and_update(
        Campaign.get_pymongo_collection(),
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
    if doc is None:
        return  # completed by another worker
    done = await recount(campaign.id) or Campaign.model_validate(doc)
    shown = await view(done)
    data = CampaignProgressView(**shown.model_dump(), stats=counter_stats(done)).dump()
    await deps.events.publish(done.org_id, events.CAMPAIGN_UPDATED, data)
    await deps.events.publish(done.org_id, events.CAMPAIGN_COMPLETED, data)
    if shown.channel is not None and shown.channel.type == ChannelType.EMAIL:
        # The sales document's `email.sent`: an e-mail campaign went out.
        await deps.events.publish(
            done.org_id,
            events.EMAIL_SENT,
            {
                "campaignId": done.id,
                "name": done.name,
                "sentCount": done.sent_count,
                "failedCount": done.failed_count,
                "skippedCount": done.skipped_count,
                "sentAt": now.isoformat(),
            },
        )
    log.info("campaign %s completed: %s", done.id, counter_stats(done).model_dump())


async def progress_all(deps: Deps, campaign_ids: Iterable[str]) -> None:
    for campaign_id in dict.fromkeys(campaign_ids):
        await progress(deps, campaign_id)


async def on_receipt(
    before: dict[str, Any], status: DeliveryStatus, error: dict[str, Any] | None
) -> None:
    """A platform receipt just moved a message (`before`: the message as it was): for a
    campaign's message, delivered and read count once each, and a failure fails its
    recipient (SENT or still PENDING), moving the counters with what that update changed."""
    meta = before.get("metadata") or {}
    campaign_id, recipient_id = meta.get("campaignId"), meta.get("recipientId")
    if not campaign_id or not recipient_id:
        return
    was = before.get("status")
    seen = (DeliveryStatus.DELIVERED.value, _READ)
    inc: dict[str, int] = {}
    if status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ) and was not in seen:
        inc["deliveredCount"] = 1
    if status == DeliveryStatus.READ and was != _READ:
        inc["readCount"] = 1
    if status == DeliveryStatus.FAILED:
        coll = CampaignRecipient.get_pymongo_collection()
        reason = (error or {}).get("message") or (error or {}).get("title")
        changes = {
            "status": RecipientStatus.FAILED.value,
            "error": str(reason or "the platform reported a failure")[:1000],
            "updatedAt": utcnow(),
        }
        # By `_id` with the status rule in the filter: one conditional update each.
        moved = await coll.update_one(
            {"_id": recipient_id, "status": RecipientStatus.SENT.value}, {"$set": changes}
        )
        if moved.modified_count:
            inc.update(sentCount=-1, failedCount=1)
        else:
            moved = await coll.update_one(
                {"_id": recipient_id, "status": RecipientStatus.PENDING.value}, {"$set": changes}
            )
            if moved.modified_count:
                inc["failedCount"] = 1
    if inc:
        await Campaign.get_pymongo_collection().update_one({"_id": campaign_id}, {"$inc": inc})
