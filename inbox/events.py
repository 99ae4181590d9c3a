"""The org event envelope and the names of the domain events pushed to agents (websocket),
the events topic and outbound webhooks."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
# Besides ticket.updated on an assignee change: the ticket view plus `previousAssigneeId` and
# `assignedBy` ({id, name}), which ticket.updated cannot say.
TICKET_ASSIGNED = "ticket.assigned"
MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
MESSAGE_DELETED = "message.deleted"
# {"userId", "notification"}: org events reach every member, so clients show only their own.
NOTIFICATION_CREATED = "notification.created"
# Campaigns: the campaign view; `campaign.updated` also carries `stats` (progress counts).
CAMPAIGN_STARTED = "campaign.started"
CAMPAIGN_UPDATED = "campaign.updated"
CAMPAIGN_COMPLETED = "campaign.completed"
# Sent to one websocket when its `since` id is older than what the log still holds.
RESYNC_REQUIRED = "resync.required"

# Commerce and CRM (names from the sales-dashboard and CRM documents). Each carries the
# entity's view; `.deleted` carries {"id": ...}. Pushed to websockets and the events topic,
# where automation and outbound webhooks consume them.
CUSTOMER_CREATED = "customer.created"
# The sales document's name for a customer who signed up themselves (storefront/API import).
CUSTOMER_REGISTERED = "customer.registered"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_DELETED = "customer.deleted"
CUSTOMER_MERGED = "customer.merged"
ORDER_CREATED = "order.created"
ORDER_UPDATED = "order.updated"
ORDER_COMPLETED = "order.completed"
ORDER_DELETED = "order.deleted"
PRODUCT_CREATED = "product.created"
PRODUCT_UPDATED = "product.updated"
PRODUCT_DELETED = "product.deleted"
CATEGORY_CREATED = "category.created"
CATEGORY_UPDATED = "category.updated"
CATEGORY_DELETED = "category.deleted"
CAMPAIGN_CREATED = "campaign.created"
CAMPAIGN_FAILED = "campaign.failed"
MESSAGE_SENT = "message.sent"
EMAIL_SENT = "email.sent"
AUTOMATION_TRIGGERED = "automation.triggered"
# There is no cart in this product yet: a storefront may publish this ({"customerId", ...})
# and cart_abandoned automation rules fire on it.
CART_ABANDONED = "cart.abandoned"
# Outbound webhooks: sent by `POST .../webhooks/{id}/test` to that one subscription only.
WEBHOOK_TEST = "webhook.test"


def parse_event_id(raw: str) -> tuple[int, int]:
    """Event ids compare as (milliseconds, sequence); ValueError on anything else."""
    ms, _, seq = raw.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class OrgEvent:
    """One event of an org's log: its id (increasing per org), name and data."""

    id: str
    event: str
    data: dict[str, Any]

    @functools.cached_property
    def json(self) -> str:
        """Encoded once, however many sockets of the org it goes to. Ephemeral events
        (presence) have no log id and show `"id": null`."""
        return json.dumps({"id": self.id or None, "event": self.event, "data": self.data})

    def to_json(self) -> str:
        return self.json
