"""Campaign audiences: a saved segment or a recipient type, turned into recipients at start.

An audience is checked when it is set (the segment is the org's, custom customer ids exist)
and resolved once the campaign is SENDING, by the worker (`resolve`): one MongoDB query over
`customers` (the audience's filter, active customers only) read through a cursor in batches,
never the whole audience in memory. Each customer becomes a recipient with their address on
the campaign channel's platform:

- EMAIL: `email` (or an EMAIL identity); SMS: `phone` (or an SMS identity), E.164;
- WHATSAPP: the WhatsApp identity (wa_id) or the phone's digits;
- FACEBOOK / INSTAGRAM: their PSID / IGSID, only when they wrote to this very channel (page
  scoped ids); MOCK: their MOCK identity.

Customers without one are counted in the campaign's `skippedCount`. Recipients are inserted
with `insert_many` per batch under the unique (campaignId, recipientContact) index, so a
resolution that runs again (a worker died half way) or a contact added by hand as well never
gives anyone two messages; each inserted batch is handed to the stream at once, so sending
starts while the rest of the audience is still being read (the worker side is
`audience_resolution.resolve`).

Recipient types (the sales document's `recipientType`): `all`; `with_orders` (totalOrders >
0); `without_orders`; `vip` = customers tagged "VIP" in any case (the document's customer
example carries `"tags": ["VIP", ...]`); `custom` = the customers listed in `recipientIds`.
Blocked and inactive customers never receive campaigns, whatever the audience says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connectors.base import ChannelType
from connectors.sms import normalise_phone
from connectors.smtp import normalise_address
from inbox.campaigns.documents import AudienceType, Campaign
from inbox.channels.documents import Channel
from inbox.crm import segments as segment_service
from inbox.crm.customer_documents import Customer, CustomerStatus
from inbox.errors import NotFound, ValidationFailed

MAX_RECIPIENT_IDS = 10_000
MAX_CONTACT_CHARS = 256
_WHATSAPP_NUMBER = re.compile(r"\+?\d{7,15}")
_PHONE_FORMATTING = re.compile(r"[\s\-().]")
_VIP = {"$regex": "^vip$", "$options": "i"}
_PROJECTION = {
    "_id": 1,
    "email": 1,
    "phone": 1,
    "identities": 1,
    "channelIds": 1,
    "platform": 1,
    "externalId": 1,
}


@dataclass(frozen=True)
class Audience:
    segment_id: str | None = None
    recipient_type: AudienceType | None = None
    recipient_ids: tuple[str, ...] = ()

    @property
    def is_set(self) -> bool:
        return self.segment_id is not None or self.recipient_type is not None


def of(campaign: Campaign) -> Audience:
    return Audience(campaign.segment_id, campaign.recipient_type, tuple(campaign.recipient_ids))


async def checked(
    org_id: str,
    segment_id: str | None,
    recipient_type: AudienceType | None,
    recipient_ids: list[str] | None,
) -> Audience:
    """The audience as given, or a 400 naming what is wrong with it."""
    details: dict[str, str] = {}
    ids = list(dict.fromkeys(i.strip() for i in recipient_ids or [] if i and i.strip()))
    if segment_id is not None and recipient_type is not None:
        details["segmentId"] = "give either segmentId or recipientType, not both"
    if recipient_type == AudienceType.CUSTOM and not ids:
        details["recipientIds"] = "required (the customers' ids) when recipientType is custom"
    if ids and recipient_type != AudienceType.CUSTOM:
        details["recipientIds"] = "only with recipientType custom"
    if len(ids) > MAX_RECIPIENT_IDS:
        details["recipientIds"] = f"at most {MAX_RECIPIENT_IDS} customers"
    if details:
        raise ValidationFailed("Invalid audience", details=details)
    if segment_id is not None:
        try:
            await segment_service.get(org_id, segment_id)
        except NotFound as exc:  # another org's segment is no segment here
            raise ValidationFailed(
                "Unknown segment", details={"segmentId": "no such segment"}
            ) from exc
    if ids:
        found = {
            doc["_id"]
            async for doc in Customer.get_pymongo_collection().find(
                {"_id": {"$in": ids}}, {"_id": 1, "orgId": 1}
            )
            if doc.get("orgId") == org_id
        }
        unknown = [i for i in ids if i not in found]
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise ValidationFailed(
                "Unknown customers", details={"recipientIds": f"no such customers: {shown}"}
            )
    return Audience(segment_id, recipient_type, tuple(ids))


def type_filter(recipient_type: AudienceType, recipient_ids: tuple[str, ...]) -> dict[str, Any]:
    """The customers filter of a recipient type (without org and status)."""
    if recipient_type == AudienceType.WITH_ORDERS:
        return {"totalOrders": {"$gt": 0}}
    if recipient_type == AudienceType.WITHOUT_ORDERS:
        return {"totalOrders": {"$not": {"$gt": 0}}}  # also customers stored before orders
    if recipient_type == AudienceType.VIP:
        return {"tags": _VIP}
    if recipient_type == AudienceType.CUSTOM:
        return {"_id": {"$in": list(recipient_ids)}}
    return {}


async def customer_filter(org_id: str, audience: Audience) -> dict[str, Any]:
    """The MongoDB filter of the audience's customers: the org's active ones that match."""
    query: dict[str, Any] = {"orgId": org_id}
    if audience.segment_id is not None:
        query = await segment_service.segment_filter(org_id, audience.segment_id)
    elif audience.recipient_type is not None:
        query.update(type_filter(audience.recipient_type, audience.recipient_ids))
    # `status` may also be in a segment's own conditions: AND-ed, never overwritten.
    return {"$and": [query, {"status": CustomerStatus.ACTIVE.value}]}


async def estimate(org_id: str, audience: Audience) -> int:
    """How many customers the audience holds now (before addresses are looked at)."""
    if not audience.is_set:
        return 0
    return await Customer.get_pymongo_collection().count_documents(
        await customer_filter(org_id, audience)
    )


def contact_of(customer: dict[str, Any], channel: Channel) -> str | None:
    """The customer's normalised address on the channel's platform (a stored document with
    at least `_PROJECTION`'s fields), or None."""
    kind = channel.type
    identities = [
        i.get("externalId")
        for i in customer.get("identities") or []
        if i.get("platform") == kind.value and i.get("externalId")
    ]
    raw: str | None = None
    if kind == ChannelType.EMAIL:
        raw = customer.get("email") or (identities[0] if identities else None)
    elif kind == ChannelType.SMS:
        raw = customer.get("phone") or (identities[0] if identities else None)
    elif kind == ChannelType.WHATSAPP:
        phone = customer.get("phone")
        raw = identities[0] if identities else (re.sub(r"\D", "", phone) if phone else None)
    elif kind in (ChannelType.FACEBOOK, ChannelType.INSTAGRAM):
        # Page-scoped ids: only someone who wrote to this very channel can be reached here.
        if channel.id not in (customer.get("channelIds") or []):
            return None
        first = customer.get("externalId") if customer.get("platform") == kind.value else None
        raw = first or (identities[0] if len(identities) == 1 else None)
    elif kind == ChannelType.MOCK:
        raw = identities[0] if identities else None
    if not raw:
        return None
    contact, _ = normalise_contact(kind, str(raw))
    return contact


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
            return None, f"not a {id_name(channel_type)}: digits only"
        return value, None
    return value, None


def id_name(channel_type: ChannelType) -> str:
    return "PSID" if channel_type == ChannelType.FACEBOOK else "IGSID"
