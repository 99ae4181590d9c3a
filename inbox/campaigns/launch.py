"""Starting campaigns: by hand (`start`), when their time comes (`start_due`), and again
when they stall (`rehand_stalled`).

Starting is one atomic DRAFT/SCHEDULED -> SENDING update (`begin`), so a campaign starts
once however often it is started, by a request or by the scheduler on any worker; then every
PENDING recipient is handed to the `campaign` topic (handoff.py) and the audience, if any, is
left to a worker (audience_resolution.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from pymongo import ReturnDocument

from inbox import events
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.campaigns.documents import Campaign, CampaignRecipient, CampaignStatus
from inbox.campaigns.handoff import hand_off
from inbox.campaigns.progress import progress, progress_view, recount
from inbox.campaigns.service import STARTABLE, get, view
from inbox.campaigns.views import CampaignView
from inbox.crm import audiences
from inbox.document_base import utcnow
from inbox.errors import Conflict, ValidationFailed
from inbox.ports import Deps
from inbox.queries import find_one_and_update

log = logging.getLogger(__name__)


async def start(deps: Deps, user: User, campaign_id: str) -> Campaign:
    campaign = await get(user.org_id, campaign_id)
    if campaign.status not in STARTABLE:
        raise _already_started(campaign)
    has_recipients = await CampaignRecipient.get_pymongo_collection().find_one(
        {"campaignId": campaign.id}, {"_id": 1}
    )
    if not has_recipients and not audiences.of(campaign).is_set:
        raise ValidationFailed(
            "Add recipients or an audience before starting the campaign",
            code="NO_RECIPIENTS",
            details={"recipients": "the campaign has no recipients and no audience"},
        )
    begun = await begin(deps, campaign.id)
    if begun is None:  # another request (or the scheduler) started it a moment ago
        raise _already_started(await get(user.org_id, campaign_id))
    await audit.record(user, "campaign.start", "campaign", campaign.id, {"name": campaign.name})
    return begun


async def started(deps: Deps, user: User, campaign_id: str) -> CampaignView:
    """`start`, answered with the campaign as the API shows it."""
    return await view(await start(deps, user, campaign_id))


def _already_started(campaign: Campaign) -> Conflict:
    return Conflict(
        f"The campaign is already {campaign.status}",
        code="CAMPAIGN_ALREADY_STARTED",
        details={"status": campaign.status.value},
    )


async def begin(deps: Deps, campaign_id: str) -> Campaign | None:
    """DRAFT/SCHEDULED -> SENDING, exactly once; then hand every PENDING recipient to the
    stream and leave the audience (if any) to a worker. None when the campaign was not
    startable (started already, by anyone)."""
    now = utcnow()
    coll = Campaign.get_pymongo_collection()
    doc = await find_one_and_update(
        coll,
        {"_id": campaign_id, "status": {"$in": [s.value for s in STARTABLE]}},
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
    if doc.get("segmentId") or doc.get("recipientType"):
        # Due for resolution by a worker (`audience_resolution.resolve_due`), which claims it by
        # moving the lease on; the audience is read after the start, as it is then.
        doc = await find_one_and_update(
            coll,
            {"_id": campaign_id},
            {"$set": {"audienceLeaseUntil": now}},
            return_document=ReturnDocument.AFTER,
        )
    campaign = Campaign.model_validate(doc)
    handed = await hand_off(deps, campaign, {})
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
        await recount(campaign.id)
        handed += await hand_off(deps, campaign, {})
        await progress(deps, campaign.id)
    return handed
