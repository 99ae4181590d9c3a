"""The CRM side: customer segments.

A segment is a saved set of conditions over customer fields (`inbox/crm/segments.py`
compiles them into one MongoDB filter); its members are never stored, so a segment is always
current. `customer_count` is a cache of the last count, refreshed whenever it is computed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import Document
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pymongo import ASCENDING, DESCENDING, IndexModel

from inbox.document_base import _Base

__all__ = ["SegmentMatch", "SegmentCondition", "Segment", "CRM_DOCUMENTS"]


class SegmentMatch(StrEnum):
    ALL = "all"  # every condition holds (AND)
    ANY = "any"  # at least one holds (OR)


class SegmentCondition(BaseModel):
    """`{field, operator, value}` as the CRM document writes it, stored as given (checked)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    field: str
    operator: str
    value: Any = None


class Segment(_Base):
    org_id: str
    name: str  # unique per org
    description: str | None = None
    conditions: list[SegmentCondition]
    match: SegmentMatch = SegmentMatch.ALL
    created_by: str
    customer_count: int = 0
    counted_at: datetime | None = None

    class Settings:
        name = "segments"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("name", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
        ]


CRM_DOCUMENTS: list[type[Document]] = [Segment]
