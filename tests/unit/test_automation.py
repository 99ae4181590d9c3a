"""Automation rules without servers: what events fire, keyword matching, the loop-guard marker,
birthday dates, recipients, and the checks that need no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import ChannelType
from inbox.automation import actions, rules, runs, triggers
from inbox.automation.documents import (
    AutomationAction,
    AutomationRule,
    AutomationTrigger,
    TriggerType,
)
from inbox.automation.template_variables import template_context, template_variables
from inbox.crm.customer_documents import Customer, Identity
from inbox.errors import ValidationFailed


def record(event: str, data: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {"id": "1700000000000-0", "orgId": "org-1", "event": event, "data": data, **over}


def rule(trigger: AutomationTrigger) -> AutomationRule:
    # model_construct: a Beanie document cannot be built the usual way without a database.
    return AutomationRule.model_construct(
        org_id="org-1",
        name="R",
        trigger=trigger,
        actions=[AutomationAction(type="add_tag", tag="x")],
        signing_secret="s" * 20,
        created_by="u",
    )


def test_each_event_fires_the_triggers_named_after_it():
    def fired(event: str, data: dict[str, Any]) -> set[str] | None:
        firing = triggers.read_event(record(event, data))
        return None if firing is None else {t.value for t in firing.triggers}

    assert fired("customer.created", {"id": "c"}) == {"customer_registered"}
    assert fired("customer.registered", {"id": "c"}) == {"customer_registered"}
    assert fired("order.created", {"customerId": "c"}) == {"order_placed"}
    moved = {"customerId": "c", "status": "processing", "previousStatus": "pending"}
    assert fired("order.updated", moved) == {"order_status_changed"}
    arrived = {"customerId": "c", "status": "delivered", "previousStatus": "processing"}
    assert fired("order.updated", arrived) == {"order_status_changed", "order_delivered"}
    paid = {"customerId": "c", "status": "pending", "previousStatus": "pending"}
    assert fired("order.updated", paid) is None  # a payment change moves no status
    assert fired("message.created", {"direction": "INBOUND", "ticketId": "t"}) == {
        "message_received"
    }
    assert fired("message.created", {"direction": "OUTBOUND", "ticketId": "t"}) is None
    assert fired("ticket.created", {"customerId": "c"}) == {"ticket_created"}
    assert fired("cart.abandoned", {"customerId": "c"}) == {"cart_abandoned"}
    assert fired("customer.updated", {"id": "c"}) is None
    assert fired("order.completed", {"customerId": "c"}) is None


def test_events_caused_by_an_automation_fire_nothing():
    marked = {"id": "c", "causedBy": {"automationRuleId": "r"}}
    assert triggers.read_event(record("customer.created", marked)) is None
    sent_by_rule = {"direction": "INBOUND", "ticketId": "t", "metadata": {"automationRuleId": "r"}}
    assert triggers.read_event(record("message.created", sent_by_rule)) is None
    assert triggers.read_event({"event": "order.created"}) is None  # unreadable
    assert triggers.read_event(record("order.created", "not a dict")) is None  # type: ignore[arg-type]


async def test_the_marked_publisher_stamps_every_event_with_its_rule():
    seen: list[tuple[str, str, dict[str, Any]]] = []

    class Log:
        async def publish(self, org_id: str, event: str, data: dict[str, Any]) -> str:
            seen.append((org_id, event, data))
            return "1-0"

    marked = triggers.Marked(Log(), "rule-1", "exec-1")
    await marked.publish("org-1", "customer.updated", {"id": "c"})
    assert seen == [
        (
            "org-1",
            "customer.updated",
            {
                "id": "c",
                "causedBy": {"automationRuleId": "rule-1", "automationExecutionId": "exec-1"},
            },
        )
    ]
    assert triggers.caused_by_automation(seen[0][2])


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("I want a REFUND", True),
        ("refund?", True),
        ("(refund)", True),
        ("refund-policy", True),
        ("refunded", False),
        ("nonrefund", False),
        ("re fund", False),
        ("", False),
    ],
)
def test_a_keyword_matches_a_whole_word_in_any_case(text: str, hit: bool):
    assert bool(rules.keyword_pattern("refund").search(text)) is hit


def test_a_keyword_is_literal_text_not_a_pattern():
    assert rules.keyword_pattern("c++").search("I love C++ a lot")
    assert not rules.keyword_pattern("a.b").search("axb")
    assert rules.keyword_pattern("gift card").search("Any GIFT CARD left?")


def test_status_filters_and_keywords_decide_whether_a_rule_holds():
    moved = triggers.read_event(
        record(
            "order.updated",
            {"customerId": "c", "status": "delivered", "previousStatus": "processing"},
        )
    )
    assert moved is not None
    any_move = rule(AutomationTrigger(type=TriggerType.ORDER_STATUS_CHANGED))
    to_delivered = rule(AutomationTrigger(type="order_status_changed", to_status="delivered"))
    from_pending = rule(AutomationTrigger(type="order_status_changed", from_status="pending"))
    delivered = rule(AutomationTrigger(type=TriggerType.ORDER_DELIVERED))
    placed = rule(AutomationTrigger(type=TriggerType.ORDER_PLACED))
    assert triggers.trigger_holds(any_move, moved)
    assert triggers.trigger_holds(to_delivered, moved)
    assert not triggers.trigger_holds(from_pending, moved)
    assert triggers.trigger_holds(delivered, moved)
    assert not triggers.trigger_holds(placed, moved)
    message = triggers.read_event(
        record("message.created", {"direction": "INBOUND", "ticketId": "t", "content": "Sale?"})
    )
    assert message is not None
    assert triggers.trigger_holds(
        rule(AutomationTrigger(type="message_received", keyword="sale")), message
    )
    assert not triggers.trigger_holds(
        rule(AutomationTrigger(type="message_received", keyword="sales")), message
    )


def test_feb_29_birthdays_are_celebrated_on_feb_28_in_other_years():
    assert runs._month_days(datetime(2025, 2, 28, tzinfo=UTC)) == ["02-28", "02-29"]
    assert runs._month_days(datetime(2024, 2, 28, tzinfo=UTC)) == ["02-28"]
    assert runs._month_days(datetime(2024, 2, 29, tzinfo=UTC)) == ["02-29"]
    assert runs._month_days(datetime(2025, 7, 4, tzinfo=UTC)) == ["07-04"]


def test_the_recipient_is_the_identity_on_the_platform_else_the_contact_fields():
    on_whatsapp = Customer.model_construct(
        org_id="o",
        name="W",
        identities=[Identity(platform=ChannelType.WHATSAPP, external_id="2348012345678")],
    )
    assert actions.contact_of(on_whatsapp, ChannelType.WHATSAPP) == "2348012345678"
    assert actions.contact_of(on_whatsapp, ChannelType.EMAIL) is None
    by_hand = Customer.model_construct(
        org_id="o", name="H", email="h@example.com", phone="+447700900123"
    )
    assert actions.contact_of(by_hand, ChannelType.EMAIL) == "h@example.com"
    assert actions.contact_of(by_hand, ChannelType.SMS) == "+447700900123"
    assert actions.contact_of(by_hand, ChannelType.WHATSAPP) == "447700900123"


def test_templates_may_use_only_what_the_trigger_provides():
    from inbox import templating

    order_vars = template_variables(TriggerType.ORDER_PLACED)
    templating.validate("{{ customer.name }} {{ order.orderNumber }} {{ rule.name }}", order_vars)
    with pytest.raises(ValidationFailed) as bad:
        templating.validate("{{ ticket.subject }}", order_vars)
    assert bad.value.details == {"template": "undefined variable ticket"}
    birthday_vars = template_variables(TriggerType.BIRTHDAY)
    templating.validate(
        "Happy birthday {{ customer.name }} ({{ customer.birthday }})", birthday_vars
    )
    with pytest.raises(ValidationFailed):
        templating.validate("{{ order.total }}", birthday_vars)
    # A cart's shape is the storefront's: anything below `cart` is allowed.
    templating.validate("{{ cart.items[0].name }}", template_variables("cart_abandoned"))


def test_a_template_renders_missing_event_fields_as_empty_and_items_as_the_items():
    from inbox import templating

    customer = Customer.model_construct(org_id="o", name="Ada", city=None, tags=["vip"])
    r = rule(AutomationTrigger(type=TriggerType.ORDER_PLACED))
    order = {"orderNumber": "ORD-1", "notes": None, "items": [{"name": "Rice"}, {"name": "Tea"}]}
    context = template_context(r, customer, {"order": order})
    out = templating.render(
        "{{ customer.name }}|{{ customer.city }}|{{ customer.tags|join(',') }}|"
        "{{ order.orderNumber }}|{{ order.notes }}|{{ order.couponCode }}|"
        "{{ order.items|length }}:{% for i in order.items %}{{ i.name }};{% endfor %}",
        context,
    )
    assert out == "Ada||vip|ORD-1|||2:Rice;Tea;"
