"""Segment conditions compile to MongoDB filters; bad ones are a 400 naming each part."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbox.crm.segments import FIELDS, compile_conditions, customer_filter
from inbox.errors import ValidationFailed


def cond(field: str, operator: str, value: object) -> dict[str, object]:
    return {"field": field, "operator": operator, "value": value}


def details_of(*conditions: dict[str, object], match: str = "all") -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        compile_conditions(list(conditions), match)
    return caught.value.details


def test_no_conditions_select_every_customer_of_the_org_only():
    assert compile_conditions([]) == {}
    assert customer_filter("org-1", []) == {"orgId": "org-1"}


def test_conditions_combine_with_and_by_default_and_or_with_match_any():
    both = [cond("totalSpend", "gte", 1000), cond("status", "eq", "active")]
    assert compile_conditions(both) == {
        "$and": [{"totalRevenue": {"$gte": 1000}}, {"status": {"$eq": "active"}}]
    }
    assert compile_conditions(both, "any") == {
        "$or": [{"totalRevenue": {"$gte": 1000}}, {"status": {"$eq": "active"}}]
    }


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("eq", 3, {"totalOrders": {"$eq": 3}}),
        ("ne", 3, {"totalOrders": {"$ne": 3}}),
        ("gt", 3, {"totalOrders": {"$gt": 3}}),
        ("gte", 2.5, {"totalOrders": {"$gte": 2.5}}),
        ("lt", 3, {"totalOrders": {"$lt": 3}}),
        ("lte", 0, {"totalOrders": {"$lte": 0}}),
        ("in", [1, 2], {"totalOrders": {"$in": [1, 2]}}),
    ],
)
def test_number_operators(operator, value, expected):
    assert compile_conditions([cond("totalOrders", operator, value)]) == {"$and": [expected]}


def test_total_spend_is_the_crm_documents_name_for_total_revenue():
    assert compile_conditions([cond("totalSpend", "gt", 10)]) == compile_conditions(
        [cond("totalRevenue", "gt", 10)]
    )


def test_contains_is_a_literal_case_insensitive_substring():
    compiled = compile_conditions([cond("city", "contains", "St. (Louis")])
    assert compiled == {"$and": [{"city": {"$regex": r"St\.\ \(Louis", "$options": "i"}}]}


def test_tag_operators_look_at_each_tag():
    assert compile_conditions(
        [
            cond("tags", "eq", "vip"),
            cond("tags", "ne", "blocked"),
            cond("tags", "in", ["a", "b"]),
            cond("tags", "contains", "wholesale"),
        ]
    ) == {
        "$and": [
            {"tags": {"$eq": "vip"}},
            {"tags": {"$ne": "blocked"}},
            {"tags": {"$in": ["a", "b"]}},
            {"tags": {"$regex": "wholesale", "$options": "i"}},
        ]
    }


def test_platform_means_any_identity_and_ne_means_none():
    assert compile_conditions([cond("platform", "eq", "whatsapp")]) == {
        "$and": [
            {
                "$or": [
                    {"platform": {"$eq": "WHATSAPP"}},
                    {"identities.platform": {"$eq": "WHATSAPP"}},
                ]
            }
        ]
    }
    assert compile_conditions([cond("platform", "ne", "EMAIL")]) == {
        "$and": [
            {
                "$and": [
                    {"platform": {"$ne": "EMAIL"}},
                    {"identities.platform": {"$ne": "EMAIL"}},
                ]
            }
        ]
    }


def test_choices_are_matched_in_any_case_and_email_lower_cased():
    assert compile_conditions([cond("status", "in", ["Active", "BLOCKED"])]) == {
        "$and": [{"status": {"$in": ["active", "blocked"]}}]
    }
    assert compile_conditions([cond("email", "eq", "Ada@Example.COM")]) == {
        "$and": [{"email": {"$eq": "ada@example.com"}}]
    }


DAY = datetime(2024, 3, 1, tzinfo=UTC)
NEXT = datetime(2024, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("before", {"$lt": DAY}),
        ("lt", {"$lt": DAY}),
        ("after", {"$gte": NEXT}),
        ("gt", {"$gte": NEXT}),
        ("gte", {"$gte": DAY}),
        ("lte", {"$lt": NEXT}),
        ("eq", {"$gte": DAY, "$lt": NEXT}),
        ("ne", {"$not": {"$gte": DAY, "$lt": NEXT}}),
    ],
)
def test_a_date_only_value_means_the_whole_utc_day(operator, expected):
    compiled = compile_conditions([cond("lastOrderDate", operator, "2024-03-01")])
    assert compiled == {"$and": [{"lastOrderDate": expected}]}


def test_a_date_time_value_is_compared_exactly_in_utc():
    at = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    assert compile_conditions([cond("createdAt", "after", "2024-03-01T10:30:00+02:00")]) == {
        "$and": [{"createdAt": {"$gt": at}}]
    }
    assert compile_conditions([cond("createdAt", "before", "2024-03-01T08:30:00Z")]) == {
        "$and": [{"createdAt": {"$lt": at}}]
    }


def test_an_unknown_field_is_named_with_the_known_ones():
    details = details_of(cond("favouriteColour", "eq", "red"))
    assert list(details) == ["conditions.0.field"]
    assert "favouriteColour" in details["conditions.0.field"]
    assert "totalSpend" in details["conditions.0.field"]


def test_an_unknown_operator_is_named():
    details = details_of(cond("totalSpend", "gte", 1), cond("totalSpend", "between", [1, 2]))
    assert list(details) == ["conditions.1.operator"]
    assert "'between'" in details["conditions.1.operator"]
    assert "unknown operator" in details["conditions.1.operator"]


def test_an_operator_that_does_not_fit_the_field_is_named():
    details = details_of(cond("city", "gt", "B"), cond("totalOrders", "before", "2024-01-01"))
    assert "'gt' is not an operator for city" in details["conditions.0.operator"]
    assert "'before' is not an operator for totalOrders" in details["conditions.1.operator"]


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        (cond("totalSpend", "gte", "1000"), "must be a number"),
        (cond("totalSpend", "gte", True), "must be a number"),
        (cond("totalSpend", "gte", None), "must be a number"),
        (cond("totalOrders", "in", 3), "non-empty list"),
        (cond("totalOrders", "in", []), "non-empty list"),
        (cond("totalOrders", "in", [1, "2"]), "each value must be a number"),
        (cond("lastOrderDate", "before", "last tuesday"), "ISO 8601"),
        (cond("lastOrderDate", "before", 1700000000), "ISO 8601"),
        (cond("platform", "eq", "CARRIER_PIGEON"), "must be one of"),
        (cond("status", "in", ["active", "gone"]), "must be one of"),
        (cond("city", "contains", ""), "non-empty string"),
        (cond("city", "eq", 5), "non-empty string"),
        (cond("tags", "in", "vip"), "non-empty list"),
        (cond("city", "contains", "a\x00b"), "NUL"),
    ],
)
def test_a_value_of_the_wrong_type_is_named(condition, why):
    details = details_of(condition)
    assert list(details) == ["conditions.0.value"]
    assert why in details["conditions.0.value"]


def test_every_bad_condition_is_reported_at_once():
    details = details_of(
        cond("nope", "eq", 1),
        cond("city", "eq", "Lagos"),
        cond("totalSpend", "gte", "x"),
        match="some",
    )
    assert set(details) == {"conditions.0.field", "conditions.2.value", "match"}


def test_a_condition_that_is_not_an_object_is_refused():
    details = details_of("totalSpend >= 5")  # type: ignore[arg-type]
    assert list(details) == ["conditions.0.field"]


def test_every_field_accepts_eq_or_a_date():
    # Each listed field compiles with a value of its kind: the table and the code agree.
    samples = {"number": 1, "date": "2024-01-01", "text": "x", "tags": "x"}
    for name, spec in FIELDS.items():
        value = spec.choices[0] if spec.choices else samples[spec.kind.value]
        assert compile_conditions([cond(name, "eq", value)])
