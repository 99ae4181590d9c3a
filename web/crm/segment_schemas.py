"""Request bodies and query strings of /orgs/{orgId}/segments."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from inbox.crm.documents import SegmentMatch
from inbox.crm.segments import MAX_CONDITIONS
from web.schemas import Body, _Query

_CONDITIONS = (
    "`[{field, operator, value}]`; fields totalSpend (= totalRevenue), totalRevenue, "
    "totalOrders, lastOrderDate, createdAt, lastMessageAt, birthday, anniversary, name, email, "
    "phone, city, platform, status, tags; operators eq, ne, gt, gte, lt, lte, in, contains, "
    "before, after (per field type). An empty list selects every customer."
)


class ConditionBody(Body):
    # Free text on purpose: an unknown field or operator is a 400 that names it and lists
    # the known ones (inbox/crm/segments.py), rather than a bare enum error.
    field: str = Field(min_length=1, max_length=100, description="A customer field, camelCase")
    operator: str = Field(min_length=1, max_length=20)
    value: Any = Field(
        default=None, description="A number, string, ISO date or date-time; a list for `in`"
    )


class SegmentBody(Body):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    conditions: list[ConditionBody] = Field(max_length=MAX_CONDITIONS, description=_CONDITIONS)
    match: SegmentMatch = Field(
        default=SegmentMatch.ALL, description="all: every condition (AND); any: one (OR)"
    )


class SegmentUpdateBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000, description="null clears it")
    conditions: list[ConditionBody] | None = Field(
        default=None, max_length=MAX_CONDITIONS, description=_CONDITIONS
    )
    match: SegmentMatch | None = None


class SegmentPreviewBody(Body):
    conditions: list[ConditionBody] = Field(max_length=MAX_CONDITIONS, description=_CONDITIONS)
    match: SegmentMatch = SegmentMatch.ALL


class SegmentQuery(_Query):
    search: str | None = Field(default=None, max_length=200, description="Part of the name")


class SegmentPreviewQuery(_Query):
    limit: int = Field(default=20, ge=1, le=100, description="How many customers to show")
