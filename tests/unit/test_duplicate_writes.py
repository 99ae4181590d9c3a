"""`duplicates_of` and `duplicate_positions`: the one rule for unordered bulk writes that may
meet documents already there."""

from __future__ import annotations

import pytest
from pymongo.errors import BulkWriteError

from inbox.queries import duplicate_positions, duplicates_of


def test_duplicate_keys_are_the_positions_already_stored() -> None:
    exc = BulkWriteError(
        {"writeErrors": [{"index": 0, "code": 11000}, {"index": 3, "code": 11000}]}
    )
    assert [e["index"] for e in duplicates_of(exc)] == [0, 3]
    assert duplicate_positions(exc) == {0, 3}


def test_any_other_write_error_is_raised_again() -> None:
    exc = BulkWriteError({"writeErrors": [{"index": 0, "code": 11000}, {"index": 1, "code": 121}]})
    with pytest.raises(BulkWriteError) as raised:
        duplicates_of(exc)
    assert raised.value is exc


def test_positions_are_not_given_when_another_write_error_is_among_them() -> None:
    exc = BulkWriteError({"writeErrors": [{"index": 2, "code": 11000}, {"index": 4, "code": 121}]})
    with pytest.raises(BulkWriteError) as raised:
        duplicate_positions(exc)
    assert raised.value is exc
