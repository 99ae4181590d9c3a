"""The customer as the agent's side panel shows it: the record, latest tickets and orders."""

from __future__ import annotations

from pydantic import Field

from inbox.views.core import CustomerView, TicketView
from inbox.views.orders import OrderView

__all__ = ["CustomerDetailView"]


class CustomerDetailView(CustomerView):
    recent_tickets: list[TicketView] = Field(description="Latest tickets, newest activity first")
    recent_orders: list[OrderView] = Field(description="Latest orders, newest first")
