"""Inbox views that join the commerce side: the customer's panel and the ticket detail, each
with the customer's latest orders."""

from __future__ import annotations

from pydantic import Field

from inbox.commerce.order_views import OrderView
from inbox.conversations.views import TicketView, TicketWithMessagesView
from inbox.crm.customer_views import CustomerView

__all__ = ["CustomerDetailView", "TicketDetailView"]


class CustomerDetailView(CustomerView):
    recent_tickets: list[TicketView] = Field(description="Latest tickets, newest activity first")
    recent_orders: list[OrderView] = Field(description="Latest orders, newest first")


class TicketDetailView(TicketWithMessagesView):
    recent_orders: list[OrderView] = Field(description="The customer's latest orders, newest first")
