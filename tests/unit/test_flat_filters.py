"""Beanie's `$and` of conditions becomes one flat filter the embedded server can index."""

from inbox.queries import flat_filter


def test_conditions_on_different_fields_become_one_document():
    query = {"$and": [{"orgId": "o"}, {"_id": "x"}, {"status": {"$in": ["OPEN"]}}]}
    assert flat_filter(query) == {"orgId": "o", "_id": "x", "status": {"$in": ["OPEN"]}}


def test_nested_ands_are_flattened_too():
    query = {"$and": [{"$and": [{"a": 1}, {"b": 2}]}, {"c": 3}]}
    assert flat_filter(query) == {"a": 1, "b": 2, "c": 3}


def test_two_conditions_on_one_field_are_kept_as_they_are():
    query = {"$and": [{"a": {"$gt": 1}}, {"a": {"$lt": 5}}]}
    assert flat_filter(query) == query


def test_two_ors_are_kept_as_they_are():
    query = {"$and": [{"$or": [{"a": 1}, {"b": 1}]}, {"$or": [{"c": 1}, {"d": 1}]}]}
    assert flat_filter(query) == query


def test_a_plain_filter_is_untouched():
    assert flat_filter({"orgId": "o"}) == {"orgId": "o"}
    assert flat_filter({}) == {}
    assert flat_filter({"$and": [{"a": 1}], "b": 2}) == {"$and": [{"a": 1}], "b": 2}
