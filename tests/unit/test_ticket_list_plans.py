"""How the inbox list is planned over the Ticket indexes, and the order and matching it
reproduces outside MongoDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, DESCENDING, IndexModel

from inbox.conversations import ticket_list
from inbox.conversations.ticket_list import Plan, index_shapes, plan_count, plan_page


def test_every_filter_the_inbox_offers_without_a_channel_is_windowed_on_its_own_index():
    for filters in (
        {},
        {"status": "OPEN"},
        {"assigneeId": "u1"},
        {"assigneeId": None},
        {"status": "OPEN", "assigneeId": "u1"},
        {"status": "CLOSED", "assigneeId": None},
    ):
        assert plan_page(filters) == Plan(dict(filters), {}, True), filters


def test_a_filter_without_an_index_is_windowed_on_its_largest_indexed_part():
    plan = plan_page({"status": "OPEN", "assigneeId": "u1", "channelId": "c1", "priority": "HIGH"})
    assert plan == Plan(
        {"status": "OPEN", "assigneeId": "u1"}, {"channelId": "c1", "priority": "HIGH"}, True
    )
    assert plan_page({"channelId": "c1"}) == Plan({}, {"channelId": "c1"}, True)


def test_a_customers_tickets_are_read_from_the_customer_index_unwindowed():
    plan = plan_page({"customerId": "k1", "status": "OPEN"})
    assert plan == Plan({"customerId": "k1"}, {"status": "OPEN"}, False)
    assert plan_count({"customerId": "k1", "status": "OPEN"}) == plan


def test_counts_use_the_largest_part_an_equality_lookup_serves():
    assert plan_count({"assigneeId": None}) == Plan({"assigneeId": None}, {}, False)
    assert plan_count({"status": "OPEN", "channelId": "c1"}) == Plan(
        {"status": "OPEN"}, {"channelId": "c1"}, False
    )


def test_index_shapes_need_orgid_first_and_skip_partial_indexes():
    covered, windowed = index_shapes(
        [
            IndexModel([("orgId", ASCENDING), ("status", ASCENDING), ("lastActivityAt", -1)]),
            IndexModel([("status", ASCENDING), ("lastActivityAt", DESCENDING)]),
            IndexModel(
                [("orgId", ASCENDING), ("channelId", ASCENDING), ("lastActivityAt", -1)],
                partialFilterExpression={"status": "OPEN"},
            ),
        ]
    )
    assert windowed == {frozenset({"status"})}
    assert covered == {frozenset(), frozenset({"status"})}


def test_none_matches_a_missing_field_as_in_mongodb():
    assert ticket_list.matches({"status": "OPEN"}, {"assigneeId": None, "status": "OPEN"})
    assert not ticket_list.matches({"assigneeId": "u1"}, {"assigneeId": None})


def test_the_order_is_latest_activity_then_highest_id_and_missing_activity_last():
    at = datetime(2030, 1, 1, tzinfo=UTC)
    docs = [
        {"_id": "a", "lastActivityAt": at},
        {"_id": "c", "lastActivityAt": at},
        {"_id": "b", "lastActivityAt": at + timedelta(seconds=1)},
        {"_id": "z"},
        {"_id": "d", "lastActivityAt": at.replace(tzinfo=None)},  # naive means UTC
    ]
    docs.sort(key=ticket_list.order_key, reverse=True)
    assert [d["_id"] for d in docs] == ["b", "d", "c", "a", "z"]


def test_the_window_level_is_the_smallest_that_reaches_back_to_a_time():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert ticket_list.level_for(now, now) == 0
    assert ticket_list.level_for(now - timedelta(hours=1), now) == 0
    assert ticket_list.level_for(now - timedelta(hours=1, seconds=1), now) == 1
    assert ticket_list.level_for(now - timedelta(days=3650), now) == ticket_list.UNBOUNDED
    assert ticket_list.level_for(None, now) == ticket_list.UNBOUNDED
