"""What the API shows of customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from connectors.base import ChannelType
from inbox.conversations.views import TicketView
from inbox.crm.customer_documents import Customer, CustomerStatus
from inbox.view_base import View


class IdentityView(View):
    platform: ChannelType
    external_id: str = Field(description="The customer's id there: wa_id, PSID, IGSID, address")


class CustomerView(View):
    id: str
    name: str
    avatar: str | None
    platform: ChannelType | None = Field(
        description="Where the customer first wrote from; null when created by hand or by an order"
    )
    external_id: str | None
    identities: list[IdentityView]
    email: str | None
    phone: str | None = Field(description="E.164")
    tags: list[str]
    notes: str | None
    status: CustomerStatus
    city: str | None
    birthday: datetime | None
    anniversary: datetime | None
    total_orders: int
    total_revenue: float = Field(description="Sum of the totals of orders not cancelled")
    last_order_date: datetime | None
    last_message_at: datetime | None
    last_message: str | None
    is_active: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def customer_view(customer: Customer) -> CustomerView:
    return CustomerView.model_validate(customer, from_attributes=True)


class PlatformCountsView(BaseModel):
    """Customers per platform, every platform present (zero when none). Keys are the
    platform names themselves, so no camelCase alias applies."""

    INSTAGRAM: int = 0
    FACEBOOK: int = 0
    WHATSAPP: int = 0
    TWITTER: int = 0
    LINKEDIN: int = 0
    EMAIL: int = 0
    SMS: int = 0
    MOCK: int = 0

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class CustomerDashboardView(View):
    total_customers: int
    active_customers: int
    new_last7_days: int
    new_last30_days: int
    by_platform: PlatformCountsView
    recent_conversations: list[TicketView] = Field(
        description="The latest conversations (by activity) with customer and last message"
    )
