"""Handing campaign recipients to the `campaign` topic: one record per PENDING recipient,
keyed by its conversation, for a worker to send (sending.py).

Used when a campaign starts and by the sweeper (launch.py), for contacts added by hand to a
campaign that started meanwhile (service.py) and for each batch of an audience's recipients
(audience_resolution.py). A record that cannot be enqueued leaves its recipient PENDING; the
sweeper hands it again.
"""

from __future__ import annotations

import logging
from typing import Any

from inbox.campaigns.documents import Campaign, CampaignRecipient, RecipientStatus
from inbox.document_base import utcnow
from inbox.ports import Deps
from inbox.records import CampaignRecord, thread_key

log = logging.getLogger(__name__)

_HAND_OFF_CHUNK = 500


async def hand_off(deps: Deps, campaign: Campaign, extra: dict[str, Any]) -> int:
    """Put one record per PENDING recipient on the campaign topic, in chunks."""
    coll = CampaignRecipient.get_pymongo_collection()
    query = {"campaignId": campaign.id, "status": RecipientStatus.PENDING.value, **extra}
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
                await deps.stream.enqueue_campaign(record)
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


async def hand_off_docs(deps: Deps, campaign: Campaign, docs: list[dict[str, Any]]) -> None:
    """Put records for these just-inserted recipients on the campaign topic (a failure
    leaves them PENDING for the sweeper)."""
    try:
        for doc in docs:
            key = thread_key(campaign.channel_id, doc["recipientContact"])
            record = CampaignRecord(
                org_id=campaign.org_id,
                campaign_id=campaign.id,
                recipient_id=doc["_id"],
                conversation=key,
            )
            await deps.stream.enqueue_campaign(record)
    except Exception:  # noqa: BLE001 - recipients stay PENDING; the sweeper re-hands
        log.warning("could not hand campaign %s to the stream", campaign.id, exc_info=True)
