"""Customers and the platform identities that point at them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import Document
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pymongo import ASCENDING, DESCENDING, IndexModel

from connectors.base import ChannelType
from inbox.document_base import _alias, _Base, utcnow


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    BLOCKED = "blocked"


class Identity(BaseModel):
    """One way to reach a customer: a platform and the customer's id there (WhatsApp wa_id,
    Messenger PSID, Instagram IGSID, an e-mail address, a phone number for SMS)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    platform: ChannelType
    external_id: str


class Customer(_Base):
    """One person, however they reached us: the conversations on every platform, the CRM
    record and the orders all hang off this one document.

    `platform`/`external_id` are the identity the customer first wrote from (None for a customer
    created by hand or by an order); `identities` lists every identity, the first included.
    Which identity belongs to whom is decided by `CustomerIdentity`, whose `_id` is unique.
    """

    org_id: str
    name: str
    platform: ChannelType | None = None
    external_id: str | None = None
    identities: list[Identity] = Field(default_factory=list)
    avatar: str | None = None
    channel_ids: list[str] = Field(default_factory=list)
    last_message_at: datetime | None = None
    last_message: str | None = None
    is_active: bool = True
    metadata: dict[str, Any] = Field(default_factory=dict)
    # CRM
    email: str | None = None  # lower-cased
    phone: str | None = None  # E.164
    tags: list[str] = Field(default_factory=list)
    notes: str | None = None
    status: CustomerStatus = CustomerStatus.ACTIVE
    city: str | None = None
    birthday: datetime | None = None
    anniversary: datetime | None = None
    # Commerce: kept current by the order service with $inc, so concurrent orders add up.
    total_orders: int = 0
    total_revenue: float = 0.0
    last_order_date: datetime | None = None

    class Settings:
        name = "customers"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("platform", ASCENDING), ("externalId", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("channelIds", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("lastMessageAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("email", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("totalRevenue", DESCENDING)]),
        ]


class CustomerIdentity(Document):
    """Claims one identity for one customer. `_id` is "<orgId>:<platform>:<externalId>", so
    two customers can never hold the same identity, and finding a customer by identity is
    one primary-key read. A merge re-points these at the surviving customer."""

    model_config = ConfigDict(alias_generator=_alias, populate_by_name=True)

    id: str  # type: ignore[assignment]
    org_id: str
    customer_id: str
    platform: ChannelType
    external_id: str
    created_at: datetime = Field(default_factory=utcnow)

    @staticmethod
    def key(org_id: str, platform: ChannelType | str, external_id: str) -> str:
        return f"{org_id}:{ChannelType(platform).value}:{external_id}"

    class Settings:
        name = "customer_identities"
        indexes = [IndexModel([("orgId", ASCENDING), ("customerId", ASCENDING)])]
