"""Which customer is behind an identity (a WhatsApp number, a PSID, an e-mail address ...).

`CustomerIdentity` documents decide it: their `_id` is "<org>:<platform>:<external id>", so an
identity belongs to one customer at a time and finding its owner is one primary-key read. A
phone number given to a customer claims the WhatsApp and SMS identities it stands for, which is
what makes the WhatsApp sender with that number the same customer; an e-mail address claims the
EMAIL identity, which is what makes e-mail addresses unique per org.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError

from connectors import sms
from connectors.base import ChannelType
from inbox.crm.customer_documents import Customer, CustomerIdentity, Identity
from inbox.document_base import new_id
from inbox.errors import Conflict
from inbox.queries import by_id, duplicate_positions

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_phone(raw: str) -> str:
    """E.164 as `connectors.sms.normalise_phone` reads it (formatting dropped, a leading 00 is
    the international prefix), except that bare digits (a WhatsApp wa_id) are taken as
    already international and a slash is formatting too. Raises ValueError otherwise."""
    text = re.sub(r"[\s.\-()/]", "", raw.strip())
    if not text.startswith(("+", "00")):
        text = "+" + text
    try:
        return sms.normalise_phone(text)
    except ValueError:
        raise ValueError(f"{raw!r} is not a phone number in international (E.164) form") from None


def normalise_email(raw: str) -> str:
    text = raw.strip().lower()
    if not _EMAIL.fullmatch(text) or len(text) > 254:
        raise ValueError(f"{raw!r} is not an e-mail address")
    return text


def contact_identities(email: str | None, phone: str | None) -> list[Identity]:
    """The identities an e-mail address and a phone number (already normalised) stand for."""
    found: list[Identity] = []
    if email:
        found.append(Identity(platform=ChannelType.EMAIL, external_id=email))
    if phone:
        found.append(Identity(platform=ChannelType.WHATSAPP, external_id=phone.lstrip("+")))
        found.append(Identity(platform=ChannelType.SMS, external_id=phone))
    return found


class IdentityOwners:
    """identity key -> customer id, per process (`Deps.caches.identity_owners`). An entry
    can only go stale by a merge or a delete, and callers notice (their update matches
    nothing) and ask again."""

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._entries: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: str, customer_id: str) -> None:
        self._entries[key] = customer_id
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)


async def owner_of(
    org_id: str, platform: ChannelType, external_id: str, *, owners: IdentityOwners
) -> str | None:
    return (await owners_of([(org_id, platform, external_id)], owners=owners))[0]


async def owners_of(
    wanted: Sequence[tuple[str, ChannelType, str]], *, owners: IdentityOwners
) -> list[str | None]:
    """The customer holding each (org, platform, external id), None where nobody does: one
    query for all that are not cached."""
    keys = [CustomerIdentity.key(*w) for w in wanted]
    found = {key: owner for key in keys if (owner := owners.get(key)) is not None}
    missing = sorted(set(keys) - set(found))
    coll = CustomerIdentity.get_pymongo_collection()
    for key, doc in (await by_id(coll, missing, {"customerId": 1})).items():
        found[key] = doc["customerId"]
        owners.put(key, doc["customerId"])
    return [found.get(key) for key in keys]


def forget(org_id: str, platform: ChannelType, external_id: str, *, owners: IdentityOwners) -> None:
    owners.forget(CustomerIdentity.key(org_id, platform, external_id))


async def claim_for_new_customers(
    wanted: Sequence[tuple[str, ChannelType, str]], *, owners: IdentityOwners
) -> list[str]:
    """The owner of each identity seen for the first time, claimed in one insert: a new
    customer id, unless another process claimed it a moment ago, in which case that claim
    wins. The identities must be different."""
    claims = [
        CustomerIdentity(
            id=CustomerIdentity.key(org_id, platform, external_id),
            org_id=org_id,
            customer_id=new_id(),
            platform=platform,
            external_id=external_id,
        )
        for org_id, platform, external_id in wanted
    ]
    lost: set[int] = set()
    try:
        await CustomerIdentity.get_pymongo_collection().insert_many(
            [c.model_dump(by_alias=True) for c in claims], ordered=False
        )
    except BulkWriteError as exc:
        lost = duplicate_positions(exc)
    holders: list[str | None] = [c.customer_id for c in claims]
    for n in lost:
        holders[n] = None
    for n, c in enumerate(claims):
        if n not in lost:
            owners.put(c.id, c.customer_id)
    if lost:
        taken = sorted(lost)
        found = await owners_of([wanted[n] for n in taken], owners=owners)
        for n, owner in zip(taken, found, strict=True):
            holders[n] = owner
        # Claimed and released in between (vanishingly rare): claim again.
        again = [n for n in taken if holders[n] is None]
        if again:
            claimed = await claim_for_new_customers([wanted[n] for n in again], owners=owners)
            for n, owner in zip(again, claimed, strict=True):
                holders[n] = owner
    assert all(holders), "every identity has an owner after the claims"
    return [holder for holder in holders if holder]


async def claim(customer: Customer, wanted: Iterable[Identity], *, owners: IdentityOwners) -> None:
    """Give `customer` these identities, all or none: Conflict (409) naming the customer who
    already holds one. Identities the customer already holds are kept as they are."""
    coll = CustomerIdentity.get_pymongo_collection()
    inserted: list[str] = []
    try:
        for identity in wanted:
            key = CustomerIdentity.key(customer.org_id, identity.platform, identity.external_id)
            try:
                await coll.insert_one(
                    CustomerIdentity(
                        id=key,
                        org_id=customer.org_id,
                        customer_id=customer.id,
                        platform=identity.platform,
                        external_id=identity.external_id,
                    ).model_dump(by_alias=True)
                )
                inserted.append(key)
            except DuplicateKeyError:
                holder = await coll.find_one({"_id": key}, {"customerId": 1})
                if holder is not None and holder["customerId"] != customer.id:
                    raise _taken(identity, holder["customerId"]) from None
    except BaseException:
        if inserted:
            await coll.delete_many({"_id": {"$in": inserted}})
        raise
    for key in inserted:
        owners.put(key, customer.id)


def _taken(identity: Identity, holder: str) -> Conflict:
    what = {
        ChannelType.EMAIL: ("email", "A customer with this e-mail address already exists"),
        ChannelType.WHATSAPP: ("phone", "A customer with this phone number already exists"),
        ChannelType.SMS: ("phone", "A customer with this phone number already exists"),
    }.get(identity.platform, ("identities", "Another customer already has this identity"))
    return Conflict(
        what[1],
        code="DUPLICATE_CUSTOMER",
        details={what[0]: what[1], "existingCustomerId": holder},
    )


async def release(
    org_id: str, customer_id: str, identities: Iterable[Identity], *, owners: IdentityOwners
) -> None:
    keys = [CustomerIdentity.key(org_id, i.platform, i.external_id) for i in identities]
    if not keys:
        return
    await CustomerIdentity.get_pymongo_collection().delete_many(
        {"_id": {"$in": keys}, "customerId": customer_id}
    )
    for key in keys:
        owners.forget(key)


async def move_all(
    org_id: str, from_id: str, to_id: str, *, session: AsyncClientSession | None = None
) -> None:
    """Re-point every identity of one customer at another (a merge). Callers running this in
    a transaction need no cache care: a stale entry only names the merged-away customer, whose
    update then matches nothing and is asked again."""
    coll = CustomerIdentity.get_pymongo_collection()
    await coll.update_many(
        {"orgId": org_id, "customerId": from_id}, {"$set": {"customerId": to_id}}, session=session
    )
