"""`duplicates_of`: the one rule for unordered bulk writes that may meet documents already there."""

from __future__ import annotations

import pytest
from pymongo.errors import BulkWriteError

from inbox.documents.queries import duplicates_of


def test_duplicate_keys_are_the_positions_already_stored() -> None:
    exc = BulkWriteError(
        {"writeErrors": [{"index": 0, "code": 11000}, {"index": 3, "code": 11000}]}
    )
    assert [e["index"] for e in duplicates_of(exc)] == [0, 3]


def test_any_other_write_error_is_raised_again() -> None:
    exc = BulkWriteError({"writeErrors": [{"index": 0, "code": 11000}, {"index": 1, "code": 121}]})
    with pytest.raises(BulkWriteError) as raised:
        duplicates_of(exc)
    assert raised.value is exc
