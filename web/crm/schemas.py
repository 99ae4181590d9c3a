"""Customer request bodies and query strings (camelCase)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
)

from connectors.base import ChannelType
from inbox.crm.customer_documents import CustomerStatus
from web.schemas import Body, _Query


class CustomerQuery(_Query):
    platform: ChannelType | None = Field(default=None, description="Any identity on it")
    search: str | None = Field(
        default=None, max_length=200, description="Part of the name, e-mail or phone, any case"
    )
    filter: Literal["all", "with_orders", "without_orders"] = "all"
    status: CustomerStatus | None = None
    tag: str | None = Field(default=None, max_length=100)
    sort_by: Literal["lastMessageAt", "createdAt", "name", "totalRevenue", "totalOrders"] = Field(
        default="lastMessageAt", description="Default: most recently heard from first"
    )
    sort_order: Literal["asc", "desc"] | None = Field(
        default=None, description="Default desc (asc when sorting by name)"
    )


class _CustomerFields(Body):
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40, description="Stored as E.164")
    tags: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=10_000)
    city: str | None = Field(default=None, max_length=200)
    birthday: datetime | None = None
    anniversary: datetime | None = None
    avatar: str | None = Field(default=None, max_length=2_000)
    metadata: dict[str, Any] | None = None


class CustomerCreateBody(_CustomerFields):
    name: str = Field(min_length=1, max_length=200)
    status: CustomerStatus = CustomerStatus.ACTIVE


class CustomerUpdateBody(_CustomerFields):
    """Fields not given stay as they are; `null` clears e-mail, phone, notes and the like."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: CustomerStatus | None = None


class CustomerMergeBody(Body):
    other_id: str = Field(min_length=1, description="The customer folded into this one")
