"""What every document builds on: ids, UTC timestamps, camelCase storage names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar

from beanie import Document
from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from inbox.queries import FlatFindMany, FlatFindOne


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    # Mongo keeps milliseconds; trimming here keeps in-memory and stored values equal.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _alias(name: str) -> str:
    return "_id" if name == "id" else to_camel(name)


class _Base(Document):
    model_config = ConfigDict(alias_generator=_alias, populate_by_name=True)
    # Flat filters: the embedded server plans no index for Beanie's `$and` (see queries.py).
    _find_one_query_class: ClassVar[type] = FlatFindOne
    _find_many_query_class: ClassVar[type] = FlatFindMany

    id: str = Field(default_factory=new_id)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
