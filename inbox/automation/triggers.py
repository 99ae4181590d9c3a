"""From an event to the automation rules it fires, and for whom (the stream worker's side).

`read_event(record)` reads what an events-topic record means: which trigger types it can fire,
for which customer, with which objects (the order, the message and its ticket, the ticket, the
cart). Events caused by an automation's own actions carry `causedBy` (see `Marked`) and fire
nothing, so no chain of rules can loop. A rule then fires when its own filters (keyword,
status move) hold (`trigger_holds`) and its conditions hold for the customer
(`customer_matches`): one MongoDB query for this one customer (`{_id, orgId, ...compiled}`),
never a scan in Python. `RuleCache` keeps each org's active rules for a couple of seconds.

What a firing then becomes (executions, run later) is inbox/automation/runs.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import Direction
from inbox import events
from inbox.automation import rules
from inbox.automation.documents import AutomationRule, TriggerType
from inbox.commerce.documents import OrderStatus
from inbox.crm import segments as segment_service
from inbox.crm.customer_documents import Customer
from inbox.errors import NotFound
from inbox.ports import EventPublisher

log = logging.getLogger(__name__)

CAUSED_BY = "causedBy"


# ------------------------------------------------------------------------- loop guard


class Marked:
    """An EventPublisher that stamps every event with the rule that caused it.

    Everything an automation's actions publish goes through one of these, so consumers can
    tell (and the automation agent ignores) events an automation caused."""

    def __init__(self, inner: EventPublisher, rule_id: str, execution_id: str):
        self.inner = inner
        self.marker = {"automationRuleId": rule_id, "automationExecutionId": execution_id}

    async def publish(self, org_id: str, event: str, data: dict[str, Any]) -> str:
        return await self.inner.publish(org_id, event, {**data, CAUSED_BY: self.marker})


def caused_by_automation(data: Mapping[str, Any]) -> bool:
    if data.get(CAUSED_BY):
        return True
    metadata = data.get("metadata")
    # A message an automation sent says so in its metadata, whoever publishes its updates.
    return isinstance(metadata, Mapping) and bool(metadata.get("automationRuleId"))


# --------------------------------------------------------------------------- triggers


@dataclass(frozen=True)
class Firing:
    """What one event can fire: trigger types, for one customer, with the event's objects."""

    triggers: frozenset[TriggerType]
    org_id: str
    event: str
    event_id: str
    customer_id: str | None
    context: dict[str, Any]
    # order_status_changed: the move; message_received: the text.
    from_status: str | None = None
    to_status: str | None = None
    text: str | None = None
    ticket_id: str | None = None  # the ticket to look the customer up by (messages)


def read_event(record: Mapping[str, Any]) -> Firing | None:
    """What an events-topic record can fire; None for events no trigger listens to, for
    unreadable records, and for events an automation caused."""
    if not isinstance(record, Mapping):
        return None
    org_id, name, event_id = record.get("orgId"), record.get("event"), record.get("id")
    data = record.get("data")
    if not (isinstance(org_id, str) and isinstance(name, str) and isinstance(event_id, str)):
        return None
    if not isinstance(data, dict) or caused_by_automation(data):
        return None
    base = {"org_id": org_id, "event": name, "event_id": event_id}
    if name in (events.CUSTOMER_CREATED, events.CUSTOMER_REGISTERED):
        return Firing(
            frozenset({TriggerType.CUSTOMER_REGISTERED}),
            customer_id=_str(data.get("id")),
            context={},
            **base,
        )
    if name == events.ORDER_CREATED:
        return Firing(
            frozenset({TriggerType.ORDER_PLACED}),
            customer_id=_str(data.get("customerId")),
            context={"order": data},
            **base,
        )
    if name == events.ORDER_UPDATED:
        new, old = data.get("status"), data.get("previousStatus")
        if not isinstance(new, str) or new == old:
            return None  # a payment change only
        triggers = {TriggerType.ORDER_STATUS_CHANGED}
        if new == OrderStatus.DELIVERED.value:
            triggers.add(TriggerType.ORDER_DELIVERED)
        return Firing(
            frozenset(triggers),
            customer_id=_str(data.get("customerId")),
            context={"order": data},
            from_status=_str(old),
            to_status=new,
            **base,
        )
    if name == events.MESSAGE_CREATED:
        if data.get("direction") != Direction.INBOUND.value:
            return None
        return Firing(
            frozenset({TriggerType.MESSAGE_RECEIVED}),
            customer_id=None,  # from its ticket, read only if a rule wants it
            context={"message": data},
            text=_str(data.get("content")) or "",
            ticket_id=_str(data.get("ticketId")),
            **base,
        )
    if name == events.TICKET_CREATED:
        return Firing(
            frozenset({TriggerType.TICKET_CREATED}),
            customer_id=_str(data.get("customerId")),
            context={"ticket": data},
            **base,
        )
    if name == events.CART_ABANDONED:
        return Firing(
            frozenset({TriggerType.CART_ABANDONED}),
            customer_id=_str(data.get("customerId")),
            context={"cart": data},
            **base,
        )
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def trigger_holds(rule: AutomationRule, firing: Firing) -> bool:
    """The rule's own filter on the event: keyword, status move."""
    trigger = rule.trigger
    if trigger.type not in firing.triggers:
        return False
    if trigger.type == TriggerType.MESSAGE_RECEIVED and trigger.keyword:
        return bool(rules.keyword_pattern(trigger.keyword).search(firing.text or ""))
    if trigger.type == TriggerType.ORDER_STATUS_CHANGED:
        if trigger.from_status and trigger.from_status != firing.from_status:
            return False
        if trigger.to_status and trigger.to_status != firing.to_status:
            return False
    if trigger.type == TriggerType.ORDER_DELIVERED:
        return firing.from_status != OrderStatus.DELIVERED.value
    return True


async def conditions_filter(rule: AutomationRule) -> dict[str, Any] | None:
    """The rule's conditions as a customers filter (with `orgId`); None when its segment is
    gone (the rule then matches nobody)."""
    clauses: list[dict[str, Any]] = []
    if rule.segment_id:
        try:
            clauses.append(await segment_service.segment_filter(rule.org_id, rule.segment_id))
        except NotFound:
            log.warning("automation rule %s: segment %s is gone", rule.id, rule.segment_id)
            return None
    if rule.conditions:
        clauses.append(segment_service.compile_conditions(rule.conditions, rule.match))
    query: dict[str, Any] = {"orgId": rule.org_id}
    if clauses:
        query["$and"] = clauses
    return query


async def customer_matches(rule: AutomationRule, customer_id: str) -> bool:
    """Whether this one customer meets the rule's conditions, asked of MongoDB.

    A pipeline whose first stage matches the id alone, so the lookup is by primary key (the
    embedded server's planner would scan for `{_id, ...}` with more fields)."""
    query = await conditions_filter(rule)
    if query is None:
        return False
    pipeline = [{"$match": {"_id": customer_id}}, {"$match": query}, {"$project": {"_id": 1}}]
    async for _ in await Customer.get_pymongo_collection().aggregate(pipeline):
        return True
    return False


class RuleCache:
    """Each org's active rules, read at most every couple of seconds."""

    def __init__(self, ttl: float = 2.0, max_orgs: int = 10_000):
        self.ttl = ttl
        self.max_orgs = max_orgs
        self._entries: dict[str, tuple[float, list[AutomationRule]]] = {}

    async def get(self, org_id: str) -> list[AutomationRule]:
        now = time.monotonic()
        hit = self._entries.get(org_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await AutomationRule.find({"orgId": org_id, "isActive": True}).to_list()
        if len(self._entries) >= self.max_orgs:
            self._entries.clear()
        self._entries[org_id] = (now + self.ttl, found)
        return found
