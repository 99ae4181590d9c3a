"""Segments as the API shows them, and a preview of who unsaved conditions select."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from inbox.crm.customer_views import CustomerView
from inbox.crm.documents import Segment, SegmentMatch
from inbox.view_base import View

__all__ = ["SegmentConditionView", "SegmentView", "SegmentPreviewView", "segment_view"]


class SegmentConditionView(View):
    field: str
    operator: str
    value: Any = Field(description="A number, string, ISO date or date-time, or a list (`in`)")


class SegmentView(View):
    id: str
    name: str
    description: str | None
    conditions: list[SegmentConditionView]
    match: SegmentMatch = Field(description="all: every condition holds; any: at least one")
    customer_count: int = Field(description="Customers it selected when last counted")
    counted_at: datetime | None = Field(description="When `customerCount` was counted")
    created_by: str = Field(description="Id of the user who created it")
    created_at: datetime
    updated_at: datetime


class SegmentPreviewView(View):
    count: int = Field(description="Customers the conditions select now")
    customers: list[CustomerView] = Field(description="The first of them, newest first")


def segment_view(segment: Segment) -> SegmentView:
    return SegmentView(
        id=segment.id,
        name=segment.name,
        description=segment.description,
        conditions=[
            SegmentConditionView(field=c.field, operator=c.operator, value=c.value)
            for c in segment.conditions
        ],
        match=segment.match,
        customer_count=segment.customer_count,
        counted_at=segment.counted_at,
        created_by=segment.created_by,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
    )
