"""Who wrote: the customer behind each identity the stream worker sees (a WhatsApp number, a
Messenger id ...), found or created for a whole batch at once.

Campaign sends and automation actions to a contact never seen use it too. A customer's
first sighting claims its identities and counts it in the dashboards' customer rollups
(`customer_rollups`), in one transaction per batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from connectors.base import ChannelType
from inbox.caches import Caches
from inbox.crm import customer_rollups, identities
from inbox.crm.customer_documents import Customer, CustomerIdentity, CustomerStatus
from inbox.document_base import utcnow
from inbox.queries import by_id, in_transaction


@dataclass(frozen=True)
class Sighting:
    """An identity seen on a channel by the stream worker: who wrote (or was written to)."""

    org_id: str
    platform: ChannelType
    external_id: str
    channel_id: str
    profile_name: str | None = None
    last_message: tuple[str | None, datetime] | None = None

    @property
    def identity(self) -> tuple[str, ChannelType, str]:
        return self.org_id, self.platform, self.external_id


async def for_identity(
    org_id: str,
    platform: ChannelType,
    external_id: str,
    channel_id: str,
    *,
    caches: Caches,
    profile_name: str | None = None,
    last_message: tuple[str | None, datetime] | None = None,
) -> tuple[Customer, bool]:
    """`for_identities` for one sighting."""
    sighting = Sighting(org_id, platform, external_id, channel_id, profile_name, last_message)
    return (await for_identities([sighting], caches=caches))[0]


async def for_identities(
    sightings: Sequence[Sighting], *, caches: Caches
) -> list[tuple[Customer, bool]]:
    """The customer behind each sighting, created on first sight; returns each with whether
    this call created it.

    A few commands for the whole batch, not per sighting: known customers are updated in one
    command and read back in one; first sightings claim their identities in one insert and
    are created in one transaction that counts them in the customer rollups once per org
    (one writer per batch instead of one per customer, so concurrent creations do not
    conflict on the shared rollup documents).

    The platform profile name names a customer only while they have no real name yet (none,
    or the bare platform id): a name typed into the CRM is never overwritten by a nickname.
    `last_message` (text, time) becomes the customer's last message unless a later one is
    already there, so out-of-order deliveries leave the latest in place.
    """
    results: list[tuple[Customer, bool] | None] = [None] * len(sightings)
    # The same identity twice (two channels of one platform): the later one waits for a
    # second round, when the first has made the customer.
    first: dict[str, int] = {}
    later: list[int] = []
    for i, s in enumerate(sightings):
        key = CustomerIdentity.key(*s.identity)
        if key in first:
            later.append(i)
        else:
            first[key] = i
    now = utcnow()
    todo = list(first.values())
    updates = {i: _sighting_update(sightings[i], now) for i in todo}
    owners = await identities.owners_of(
        [sightings[i].identity for i in todo], owners=caches.identity_owners
    )
    known = {i: owner for i, owner in zip(todo, owners, strict=True) if owner}
    docs = await _update_known(sightings, known, updates)
    for i, owner in known.items():
        doc = docs.get(owner)
        if doc is not None and doc.get("orgId") == sightings[i].org_id:
            results[i] = (Customer.model_validate(doc), False)
        else:  # merged away or deleted since the claim was cached: ask the claims again
            identities.forget(*sightings[i].identity, owners=caches.identity_owners)
    unknown = [i for i in todo if results[i] is None]
    if unknown:
        claimed = await identities.claim_for_new_customers(
            [sightings[i].identity for i in unknown], owners=caches.identity_owners
        )
        items = [
            (sightings[i].org_id, owner, updates[i])
            for i, owner in zip(unknown, claimed, strict=True)
        ]
        for i, found in zip(unknown, await _upsert_counted(items, now), strict=True):
            results[i] = found
    if later:
        again = await for_identities([sightings[i] for i in later], caches=caches)
        for i, found in zip(later, again, strict=True):
            results[i] = found
    return [r for r in results if r is not None]


def _sighting_update(s: Sighting, now: datetime) -> list[dict[str, Any]]:
    """The pipeline update that records a sighting on the customer, new or not."""
    identity = {"platform": s.platform.value, "externalId": s.external_id}
    fields: dict[str, Any] = {
        "updatedAt": now,
        "createdAt": {"$ifNull": ["$createdAt", now]},
        "platform": {"$ifNull": ["$platform", s.platform.value]},
        "externalId": {"$ifNull": ["$externalId", s.external_id]},
        "identities": {
            "$cond": [
                {"$in": [identity, {"$ifNull": ["$identities", []]}]},
                "$identities",
                {"$concatArrays": [{"$ifNull": ["$identities", []]}, [identity]]},
            ]
        },
        "channelIds": {"$setUnion": [{"$ifNull": ["$channelIds", []]}, [s.channel_id]]},
        "name": {
            "$cond": [
                {"$in": [{"$ifNull": ["$name", s.external_id]}, [s.external_id, ""]]},
                {"$literal": s.profile_name or s.external_id},
                "$name",
            ]
        },
        **{field: {"$ifNull": ["$" + field, value]} for field, value in _NEW_CUSTOMER.items()},
    }
    if s.last_message is not None:
        text, at = s.last_message
        fields["lastMessage"] = {
            "$cond": [
                {"$gte": [at, {"$ifNull": ["$lastMessageAt", at]}]},
                {"$literal": text},
                "$lastMessage",
            ]
        }
        fields["lastMessageAt"] = {"$max": [{"$ifNull": ["$lastMessageAt", at]}, at]}
    return [{"$set": fields}]


async def _update_known(
    sightings: Sequence[Sighting], owners: dict[int, str], updates: dict[int, list[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """Update the customers already known, one command, and read them back in one (by
    `_id`, the embedded engine's fast path; the caller checks the org)."""
    if not owners:
        return {}
    coll = Customer.get_pymongo_collection()
    await coll.bulk_write(
        [
            UpdateOne({"_id": owner, "orgId": sightings[i].org_id}, updates[i])
            for i, owner in owners.items()
        ],
        ordered=False,
    )
    return await by_id(coll, sorted(set(owners.values())))


async def _upsert_counted(
    items: list[tuple[str, str, list[dict[str, Any]]]], now: datetime
) -> list[tuple[Customer, bool]]:
    """Apply each (org, customer id, update), creating the customers that do not exist; the
    creations are counted in the customer rollups in the same transaction, so a crash or a
    race counts each exactly once. Returns each customer and whether it was created now."""
    coll = Customer.get_pymongo_collection()

    async def work(
        session: AsyncClientSession,
    ) -> tuple[dict[str, dict[str, Any]], set[str]]:
        result = await coll.bulk_write(
            [
                UpdateOne({"_id": customer_id, "orgId": org_id}, update, upsert=True)
                for org_id, customer_id, update in items
            ],
            ordered=False,
            session=session,
        )
        created = {items[n][1] for n in result.upserted_ids}
        per_org = Counter(org_id for org_id, customer_id, _ in items if customer_id in created)
        for org_id, count in per_org.items():
            await customer_rollups.customer_added(org_id, now, session, count=count)
        ids = sorted({customer_id for _, customer_id, _ in items})
        found = await by_id(coll, ids, session=session)
        return found, created

    docs, created = await in_transaction(coll, work)
    return [(Customer.model_validate(docs[cid]), cid in created) for _, cid, _ in items]


# Fields every customer document carries, so filters and segments never meet a missing one.
_NEW_CUSTOMER: dict[str, Any] = {
    "isActive": True,
    "metadata": {},
    "tags": [],
    "status": CustomerStatus.ACTIVE.value,
    "totalOrders": 0,
    "totalRevenue": 0.0,
}
