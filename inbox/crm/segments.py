"""Customer segments: saved conditions over customer fields, compiled into one MongoDB filter.

A condition is `{field, operator, value}` (the CRM document's shape); a segment's conditions
combine with AND (`match: "all"`, the default) or OR (`match: "any"`). `compile_conditions`
turns them into a MongoDB query document, so membership is always decided by the database:
nothing here loads customers to test them in Python. Unknown fields or operators and values of
the wrong type are a 400 whose `details` name the condition (`conditions.<i>.field` etc.).

Fields (the customer document's, camelCase) and what each accepts:

- number: totalSpend (= totalRevenue), totalRevenue, totalOrders.
  eq ne gt gte lt lte in; a number (`in`: a list of numbers).
- date: lastOrderDate, createdAt, lastMessageAt, birthday, anniversary.
  eq ne gt gte lt lte before after; an ISO date or date-time.
- text: name, email, phone, city. eq ne in contains; a string (`in`: a list).
- choice: platform, status. eq ne in; one of the field's values, in any case.
- tags: tags. eq (has it) ne (lacks it) in (has one) contains; a tag (`in`: a list).

- `contains` is a case-insensitive literal substring (never a pattern); on `tags` it holds
  when some tag contains it.
- A date-only value (`2024-03-01`) means that whole UTC day: `eq` is within it, `before`/`lt`
  is earlier than its start, `after`/`gt` is later than its end, `lte`/`gte` include it. A
  date-time is compared exactly (`before` = `lt`, `after` = `gt`). A missing date matches
  only `ne`.
- `platform` is any platform the customer is reachable on (the one they first wrote from and
  every merged identity), so `ne` means reachable on none of them.
- `email` is compared lower-cased, as it is stored. `ne` matches customers without the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pymongo.errors import DuplicateKeyError

from connectors.base import ChannelType
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.crm.customer_documents import Customer, CustomerStatus
from inbox.crm.customer_views import CustomerView, customer_view
from inbox.crm.documents import Segment, SegmentCondition, SegmentMatch
from inbox.crm.segment_views import SegmentPreviewView, SegmentView, segment_view
from inbox.document_base import utcnow
from inbox.errors import Conflict, ValidationFailed
from inbox.queries import get_in_org

MAX_CONDITIONS = 50
MAX_LIST = 500  # values of one `in`
MAX_TEXT = 200


class Kind(StrEnum):
    NUMBER = "number"
    DATE = "date"
    TEXT = "text"
    CHOICE = "choice"
    TAGS = "tags"


OPERATORS: dict[Kind, tuple[str, ...]] = {
    Kind.NUMBER: ("eq", "ne", "gt", "gte", "lt", "lte", "in"),
    Kind.DATE: ("eq", "ne", "gt", "gte", "lt", "lte", "before", "after"),
    Kind.TEXT: ("eq", "ne", "in", "contains"),
    Kind.CHOICE: ("eq", "ne", "in"),
    Kind.TAGS: ("eq", "ne", "in", "contains"),
}
ALL_OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "before", "after")


@dataclass(frozen=True)
class FieldSpec:
    kind: Kind
    # Stored names; a condition holds when it holds for any of them (`ne`: for none).
    paths: tuple[str, ...]
    choices: tuple[str, ...] = ()
    lower: bool = False  # stored lower-cased, so compared lower-cased


FIELDS: dict[str, FieldSpec] = {
    "totalSpend": FieldSpec(Kind.NUMBER, ("totalRevenue",)),  # the CRM document's name
    "totalRevenue": FieldSpec(Kind.NUMBER, ("totalRevenue",)),
    "totalOrders": FieldSpec(Kind.NUMBER, ("totalOrders",)),
    "lastOrderDate": FieldSpec(Kind.DATE, ("lastOrderDate",)),
    "createdAt": FieldSpec(Kind.DATE, ("createdAt",)),
    "lastMessageAt": FieldSpec(Kind.DATE, ("lastMessageAt",)),
    "birthday": FieldSpec(Kind.DATE, ("birthday",)),
    "anniversary": FieldSpec(Kind.DATE, ("anniversary",)),
    "name": FieldSpec(Kind.TEXT, ("name",)),
    "email": FieldSpec(Kind.TEXT, ("email",), lower=True),
    "phone": FieldSpec(Kind.TEXT, ("phone",)),
    "city": FieldSpec(Kind.TEXT, ("city",)),
    "platform": FieldSpec(
        Kind.CHOICE, ("platform", "identities.platform"), tuple(t.value for t in ChannelType)
    ),
    "status": FieldSpec(Kind.CHOICE, ("status",), tuple(s.value for s in CustomerStatus)),
    "tags": FieldSpec(Kind.TAGS, ("tags",)),
}


class _Bad(Exception):
    """One condition's problem: which part (`field`, `operator`, `value`) and why."""

    def __init__(self, part: str, why: str):
        super().__init__(why)
        self.part, self.why = part, why


# --------------------------------------------------------------------------- values


def _number(value: Any) -> float | int:
    # bool is an int in Python and in JSON parsers' eyes; `true` is no amount.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad("value", "must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Bad("value", "must be a finite number")
    return value


def _text(value: Any, lower: bool) -> str:
    if not isinstance(value, str) or not value:
        raise _Bad("value", "must be a non-empty string")
    if "\x00" in value:
        # MongoDB refuses NUL in a regular expression (`contains`); no field holds one anyway.
        raise _Bad("value", "must not contain NUL characters")
    if len(value) > MAX_TEXT:
        raise _Bad("value", f"must be at most {MAX_TEXT} characters")
    return value.lower() if lower else value


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if isinstance(value, str):
        for choice in choices:
            if choice.lower() == value.strip().lower():
                return choice
    raise _Bad("value", f"must be one of {', '.join(choices)}")


@dataclass(frozen=True)
class _When:
    """A date value: the instant it names, and for a date-only value the day's end too."""

    start: datetime
    end: datetime | None  # exclusive end of the day for a date-only value; None for an instant


def _when(value: Any) -> _When:
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                start = datetime.combine(day, time.min, tzinfo=UTC)
                return _When(start, start + timedelta(days=1))
            instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
            instant = (
                instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
            )
            # Mongo keeps milliseconds: compare with what it can hold.
            return _When(instant.replace(microsecond=instant.microsecond // 1000 * 1000), None)
        except (ValueError, OverflowError):
            pass
    raise _Bad("value", "must be an ISO 8601 date (YYYY-MM-DD) or date-time")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Bad("value", "must be a non-empty list for `in`")
    if len(value) > MAX_LIST:
        raise _Bad("value", f"must hold at most {MAX_LIST} values")
    return value


# ------------------------------------------------------------------------- compiling


def _on_paths(spec: FieldSpec, test: Any, negate: bool = False) -> dict[str, Any]:
    """`{path: test}` for the field's only path; over several, any path (`negate`: none)."""
    if len(spec.paths) == 1:
        return {spec.paths[0]: test}
    if negate:
        return {"$and": [{p: test} for p in spec.paths]}
    return {"$or": [{p: test} for p in spec.paths]}


def _compile_date(spec: FieldSpec, operator: str, when: _When) -> dict[str, Any]:
    start, end = when.start, when.end
    if end is None:  # an exact instant
        ops = {"eq": "$eq", "ne": "$ne", "gt": "$gt", "after": "$gt", "gte": "$gte"}
        ops |= {"lt": "$lt", "before": "$lt", "lte": "$lte"}
        return _on_paths(spec, {ops[operator]: start}, negate=operator == "ne")
    # A whole day [start, end).
    if operator == "eq":
        return _on_paths(spec, {"$gte": start, "$lt": end})
    if operator == "ne":
        return _on_paths(spec, {"$not": {"$gte": start, "$lt": end}}, negate=True)
    bounds = {
        "gt": {"$gte": end},
        "after": {"$gte": end},
        "gte": {"$gte": start},
        "lt": {"$lt": start},
        "before": {"$lt": start},
        "lte": {"$lt": end},
    }
    return _on_paths(spec, bounds[operator])


def _compile_one(spec: FieldSpec, operator: str, value: Any) -> dict[str, Any]:
    if spec.kind is Kind.DATE:
        return _compile_date(spec, operator, _when(value))
    if operator == "in":
        items = _list(value)
        try:
            converted = [_value(spec, v) for v in items]
        except _Bad as bad:
            raise _Bad("value", f"each value {bad.why}") from None
        return _on_paths(spec, {"$in": converted})
    if operator == "contains":
        # Literal text, any case: escaped, so "a.b" or "(" mean themselves (and no ReDoS).
        pattern = re.escape(_text(value, lower=False))
        return _on_paths(spec, {"$regex": pattern, "$options": "i"})
    converted = _value(spec, value)
    mongo = {"eq": "$eq", "ne": "$ne", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
    return _on_paths(spec, {mongo[operator]: converted}, negate=operator == "ne")


def _value(spec: FieldSpec, value: Any) -> Any:
    if spec.kind is Kind.NUMBER:
        return _number(value)
    if spec.kind is Kind.CHOICE:
        return _choice(value, spec.choices)
    return _text(value, spec.lower)


def _parts(condition: SegmentCondition | Mapping[str, Any]) -> tuple[Any, Any, Any]:
    if isinstance(condition, SegmentCondition):
        return condition.field, condition.operator, condition.value
    if isinstance(condition, Mapping):
        return condition.get("field"), condition.get("operator"), condition.get("value")
    raise _Bad("field", "each condition must be an object {field, operator, value}")


def compile_conditions(
    conditions: Sequence[SegmentCondition | Mapping[str, Any]],
    match: SegmentMatch | str = SegmentMatch.ALL,
) -> dict[str, Any]:
    """The MongoDB filter (without `orgId`) of customers meeting `conditions`.

    No conditions match every customer. Raises ValidationFailed naming every bad condition
    part in `details` (`conditions.<i>.field|operator|value`)."""
    details: dict[str, str] = {}
    try:
        mode = SegmentMatch(match)
    except ValueError:
        details["match"] = "must be all or any"
        mode = SegmentMatch.ALL
    if len(conditions) > MAX_CONDITIONS:
        details["conditions"] = f"at most {MAX_CONDITIONS} conditions"
    clauses: list[dict[str, Any]] = []
    for i, condition in enumerate(conditions):
        where = f"conditions.{i}"
        try:
            field, operator, value = _parts(condition)
            spec = FIELDS.get(field) if isinstance(field, str) else None
            if spec is None:
                raise _Bad(
                    "field", f"unknown field {field!r}; known fields: {', '.join(sorted(FIELDS))}"
                )
            allowed = OPERATORS[spec.kind]
            if operator not in allowed:
                known = operator in ALL_OPERATORS
                why = "is not an operator for" if known else "is an unknown operator; for"
                raise _Bad("operator", f"{operator!r} {why} {field} use {', '.join(allowed)}")
            clauses.append(_compile_one(spec, operator, value))
        except _Bad as bad:
            details[f"{where}.{bad.part}"] = bad.why
    if details:
        raise ValidationFailed("Invalid segment conditions", details=details)
    if not clauses:
        return {}
    return {"$and" if mode is SegmentMatch.ALL else "$or": clauses}


def customer_filter(
    org_id: str,
    conditions: Sequence[SegmentCondition | Mapping[str, Any]],
    match: SegmentMatch | str = SegmentMatch.ALL,
) -> dict[str, Any]:
    """`compile_conditions` scoped to one org: the filter to run on `customers`."""
    return {"orgId": org_id, **compile_conditions(conditions, match)}


# ---------------------------------------------------------------------------- segments


async def get(org_id: str, segment_id: str) -> Segment:
    return await get_in_org(Segment, org_id, segment_id, "Segment")


async def segment_filter(org_id: str, segment_id: str) -> dict[str, Any]:
    """The customers filter of a saved segment (campaign audiences, automation conditions).

    NotFound for another org's (or no) segment."""
    segment = await get(org_id, segment_id)
    return customer_filter(org_id, segment.conditions, segment.match)


async def list_segments(
    org_id: str, skip: int, limit: int, search: str | None = None
) -> tuple[list[SegmentView], int]:
    query: dict[str, Any] = {"orgId": org_id}
    if search:
        query["name"] = {"$regex": re.escape(search), "$options": "i"}
    found = Segment.find(query)
    total = await found.count()
    page = await found.sort(-Segment.created_at, +Segment.id).skip(skip).limit(limit).to_list()
    return [segment_view(s) for s in page], total


async def count_matching(query: dict[str, Any]) -> int:
    return await Customer.get_pymongo_collection().count_documents(query)


async def matching_page(query: dict[str, Any], skip: int, limit: int) -> tuple[list[Customer], int]:
    """One page of the customers `query` matches, newest first, and how many match."""
    found = Customer.find(query)
    total = await found.count()
    page = await found.sort(-Customer.created_at, +Customer.id).skip(skip).limit(limit).to_list()
    return page, total


async def _store_count(segment: Segment, count: int) -> None:
    segment.customer_count, segment.counted_at = count, utcnow()
    # Only the cache fields: a concurrent edit of the conditions must not be overwritten.
    await Segment.get_pymongo_collection().update_one(
        {"_id": segment.id, "orgId": segment.org_id},
        {"$set": {"customerCount": count, "countedAt": segment.counted_at}},
    )


async def refresh_count(segment: Segment) -> Segment:
    count = await count_matching(customer_filter(segment.org_id, segment.conditions, segment.match))
    await _store_count(segment, count)
    return segment


async def detail(org_id: str, segment_id: str) -> SegmentView:
    """The segment as its own GET shows it: counted again now."""
    return segment_view(await refresh_count(await get(org_id, segment_id)))


def _name_taken(name: str) -> Conflict:
    return Conflict(
        "A segment with this name already exists",
        code="SEGMENT_NAME_TAKEN",
        details={"name": f"{name!r} is already used by another segment"},
    )


def _conditions(raw: Sequence[SegmentCondition | Mapping[str, Any]]) -> list[SegmentCondition]:
    return [
        c if isinstance(c, SegmentCondition) else SegmentCondition.model_validate(dict(c))
        for c in raw
    ]


async def create(
    user: User,
    *,
    name: str,
    conditions: Sequence[SegmentCondition | Mapping[str, Any]],
    match: SegmentMatch | str = SegmentMatch.ALL,
    description: str | None = None,
) -> SegmentView:
    query = customer_filter(user.org_id, conditions, match)  # 400 before anything is stored
    segment = Segment(
        org_id=user.org_id,
        name=name,
        description=description,
        conditions=_conditions(conditions),
        match=SegmentMatch(match),
        created_by=user.id,
        customer_count=await count_matching(query),
        counted_at=utcnow(),
    )
    try:
        await segment.insert()
    except DuplicateKeyError as exc:
        raise _name_taken(name) from exc
    await audit.record(
        user,
        "segment.create",
        "segment",
        segment.id,
        {"name": name, "conditions": len(segment.conditions), "match": segment.match.value},
    )
    return segment_view(segment)


_UNSET: Any = object()


async def update(
    user: User,
    segment_id: str,
    *,
    name: str | None = None,
    description: str | None = _UNSET,
    conditions: Sequence[SegmentCondition | Mapping[str, Any]] | None = None,
    match: SegmentMatch | str | None = None,
) -> SegmentView:
    """Change what is given; `description=None` clears it (leave it out to keep it)."""
    segment = await get(user.org_id, segment_id)
    new_conditions = _conditions(conditions) if conditions is not None else segment.conditions
    new_match = SegmentMatch(match) if match is not None else segment.match
    query = customer_filter(user.org_id, new_conditions, new_match)
    changed: list[str] = []
    if name is not None and name != segment.name:
        segment.name = name
        changed.append("name")
    if description is not _UNSET and description != segment.description:
        segment.description = description
        changed.append("description")
    if conditions is not None and new_conditions != segment.conditions:
        segment.conditions = new_conditions
        changed.append("conditions")
    if new_match != segment.match:
        segment.match = new_match
        changed.append("match")
    if not changed:
        return segment_view(segment)
    segment.updated_at = utcnow()
    if {"conditions", "match"} & set(changed):
        segment.customer_count, segment.counted_at = await count_matching(query), utcnow()
    try:
        await segment.save()
    except DuplicateKeyError as exc:
        raise _name_taken(segment.name) from exc
    await audit.record(
        user, "segment.update", "segment", segment.id, {"name": segment.name, "changed": changed}
    )
    return segment_view(segment)


async def delete(user: User, segment_id: str) -> None:
    segment = await get(user.org_id, segment_id)
    await segment.delete()
    await audit.record(user, "segment.delete", "segment", segment.id, {"name": segment.name})


async def customers_of(
    org_id: str, segment_id: str, skip: int, limit: int
) -> tuple[list[CustomerView], int]:
    """A page of the segment's customers now (newest first), and their number, which also
    refreshes the segment's cached `customerCount`."""
    segment = await get(org_id, segment_id)
    page, total = await matching_page(
        customer_filter(org_id, segment.conditions, segment.match), skip, limit
    )
    if total != segment.customer_count:
        await _store_count(segment, total)
    return [customer_view(c) for c in page], total


async def preview(
    org_id: str,
    conditions: Sequence[SegmentCondition | Mapping[str, Any]],
    match: SegmentMatch | str,
    limit: int,
) -> SegmentPreviewView:
    """Who unsaved conditions would select: the first `limit` (newest first) and the count."""
    found, total = await matching_page(customer_filter(org_id, conditions, match), 0, limit)
    return SegmentPreviewView(count=total, customers=[customer_view(c) for c in found])
