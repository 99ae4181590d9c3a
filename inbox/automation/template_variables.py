"""What an automation rule's templates may use: the variables each trigger provides
(`template_variables`, checked when a rule is saved, inbox/automation/rules.py) and their
values for one customer and event (`template_context`, when its actions run).

The `customer` variable (`customer_context`, `CUSTOMER_TEMPLATE_FIELDS`) is campaign
templates' too (inbox/campaigns/context.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inbox import templating
from inbox.automation.documents import AutomationRule, TriggerType
from inbox.crm.customer_documents import Customer

# Triggers whose events are about an order (their templates get `order`).
ORDER_TRIGGERS = frozenset(
    {TriggerType.ORDER_PLACED, TriggerType.ORDER_DELIVERED, TriggerType.ORDER_STATUS_CHANGED}
)

CUSTOMER_TEMPLATE_FIELDS = (
    "id",
    "name",
    "externalId",
    "platform",
    "email",
    "phone",
    "city",
    "tags",
    "status",
    "totalOrders",
    "totalRevenue",
    "lastOrderDate",
    "birthday",
    "anniversary",
)
_ORDER_FIELDS = (
    "id",
    "orderNumber",
    "status",
    "previousStatus",
    "paymentStatus",
    "paymentMethod",
    "orderType",
    "subtotal",
    "discount",
    "couponCode",
    "shipping",
    "tax",
    "total",
    "totalAmount",
    "items",
    "shippingAddress",
    "notes",
    "createdAt",
    "deliveredAt",
)
_MESSAGE_FIELDS = ("id", "content", "senderName", "channelId", "type", "timestamp")
_TICKET_FIELDS = ("id", "subject", "status", "priority", "channelId", "createdAt")


def _allow(names: Sequence[str], deep: Sequence[str] = ()) -> dict[str, Any]:
    # `True` allows anything below (a list, a free-form dict); None-valued leaves render "".
    return {n: True for n in names} | {n: True for n in deep}


def template_variables(trigger: TriggerType) -> dict[str, Any]:
    """What a rule's templates may use for this trigger, for `templating.validate_field`."""
    allowed: dict[str, Any] = {
        "customer": _allow(CUSTOMER_TEMPLATE_FIELDS, ("metadata",)),
        "rule": {"name": True},
    }
    if trigger in ORDER_TRIGGERS:
        allowed["order"] = _allow(_ORDER_FIELDS)
    elif trigger == TriggerType.MESSAGE_RECEIVED:
        allowed["message"] = _allow(_MESSAGE_FIELDS)
        allowed["ticket"] = _allow(_TICKET_FIELDS)
    elif trigger == TriggerType.TICKET_CREATED:
        allowed["ticket"] = _allow(_TICKET_FIELDS)
    elif trigger == TriggerType.CART_ABANDONED:
        allowed["cart"] = True  # whatever the storefront's event carries
    return allowed


def customer_context(customer: Customer) -> dict[str, Any]:
    """The `customer` variable: the inbox's template fields plus the CRM ones."""
    base = templating.customer_context(customer)
    return {
        **base,
        "id": customer.id,
        "externalId": customer.external_id or "",
        "platform": base["platform"] or "",
        "email": customer.email or "",
        "phone": customer.phone or "",
        "city": customer.city or "",
        "tags": list(customer.tags),
        "status": customer.status.value,
        "totalOrders": customer.total_orders,
        "totalRevenue": customer.total_revenue,
        "lastOrderDate": _date_text(customer.last_order_date),
        "birthday": _date_text(customer.birthday),
        "anniversary": _date_text(customer.anniversary),
    }


def _date_text(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


def template_context(
    rule: AutomationRule, customer: Customer, context: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything a template of `rule` may read: the customer now, the event's objects then."""
    out: dict[str, Any] = {"customer": customer_context(customer), "rule": {"name": rule.name}}
    for name in ("order", "message", "ticket", "cart"):
        value = context.get(name)
        if isinstance(value, dict):
            out[name] = _fields(value)
    return out


def _fields(value: Any) -> Any:
    if isinstance(value, dict):
        return Fields(value)
    if isinstance(value, list):
        return [_fields(v) for v in value]
    return "" if value is None else value


class Fields:
    """An event object for templates: `order.items` is the order's items (a plain dict would
    give its `items` method), and a field the event did not carry renders as ""."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]):
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _fields(self._data.get(name))

    def __getitem__(self, key: str) -> Any:
        return _fields(self._data.get(key))

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __str__(self) -> str:
        return str(self._data)
