"""The inbox list's page of tickets, read through recent-activity windows.

The list is sorted by `lastActivityAt` descending, then `_id` descending. The embedded
MongoDB-protocol server cannot stop a sorted index scan at `limit`: it reads, decodes and sorts
every matching ticket before it slices the page. So the page is first asked for among the
tickets active in the last hour, then 2 hours, 4 hours ... (each window twice the last),
and at last without a window. Every ticket inside a window sorts before every ticket outside
it (its `lastActivityAt` is greater or equal to the window's start, theirs is smaller), so the
tickets of a window are a prefix of the full order: as soon as a window holds `skip + limit`
matches, its page is exactly the page of the unwindowed query, ties included. (The embedded
server answers `lastActivityAt >= start` over an index with `_id` after `lastActivityAt` as
`> start`: it compares the whole index key with the bound. That is a prefix too.)

The windowed query must be one the server's planner serves from an index, which it does only
when one index covers every field of it: `(orgId, <the filter's fields>, lastActivityAt)`.
Filters without such an index are windowed on the largest subset of their fields that has one,
and the remaining equality conditions are checked here. The window that sufficed is remembered
per filter (and per kind of filter, for one not seen yet), so the next request starts there
instead of at one hour.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Any

from pymongo import DESCENDING

from inbox.conversations.documents import Ticket

SORT_FIELD = "lastActivityAt"
SORT = [(SORT_FIELD, DESCENDING), ("_id", DESCENDING)]
# 1 h, 2 h, 4 h ... 4096 h (~171 days), then all. Doubling: a window settled on holds at
# most about twice the tickets the page needs.
WINDOWS: tuple[timedelta, ...] = tuple(timedelta(hours=2**k) for k in range(13))
UNBOUNDED = len(WINDOWS)
# Up to this many matches in all, one unwindowed query is cheaper than a ladder of windows.
SMALL_TOTAL = 100
# Fields a list filter compares for equality (`None` matches a missing field, as in MongoDB).
FILTER_FIELDS = ("status", "assigneeId", "channelId", "priority", "customerId")
# What the residual check and the order need of each candidate.
PROJECTION = {"_id": 1, SORT_FIELD: 1, **{f: 1 for f in FILTER_FIELDS}}
_MEMORY_SIZE = 4096


@dataclass(frozen=True)
class Plan:
    """How to read one filter: `server` goes to MongoDB (with `orgId`), `residual` is
    checked here; `windowed` when an index serves `server` plus a `lastActivityAt` range."""

    server: dict[str, Any]
    residual: dict[str, Any]
    windowed: bool


def _key_fields(index: Any) -> list[str]:
    return [str(field) for field in index.document["key"]]


def index_shapes(indexes: Iterable[Any]) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """From the declared indexes: the filter field sets (besides orgId) served by an equality
    lookup, and those also served with a trailing `lastActivityAt` range."""
    covered: set[frozenset[str]] = set()
    windowed: set[frozenset[str]] = set()
    for index in indexes:
        if getattr(index, "document", {}).get("partialFilterExpression"):
            continue  # the embedded planner skips partial indexes
        fields = _key_fields(index)
        if not fields or fields[0] != "orgId":
            continue
        for n in range(1, len(fields) + 1):
            eq = frozenset(fields[1:n])
            if not eq <= set(FILTER_FIELDS):
                break
            covered.add(eq)
            if n < len(fields) and fields[n] == SORT_FIELD:
                windowed.add(eq)
    return covered, windowed


_COVERED, _WINDOWED = index_shapes(Ticket.Settings.indexes)


def _largest(fields: frozenset[str], shapes: set[frozenset[str]]) -> frozenset[str]:
    for size in range(len(fields), -1, -1):
        for subset in combinations(sorted(fields), size):
            if frozenset(subset) in shapes:
                return frozenset(subset)
    return frozenset()


def plan_page(filters: Mapping[str, Any]) -> Plan:
    """The page query: windowed on the filter itself when an index allows; a customer's
    tickets (few) straight from their index; else windowed on the largest indexed subset."""
    fields = frozenset(filters)
    if fields in _WINDOWED:
        return Plan(dict(filters), {}, True)
    if "customerId" in fields:
        server = _largest(fields, {s for s in _COVERED if "customerId" in s})
        if server:
            return _split(filters, server, False)
    return _split(filters, _largest(fields, _WINDOWED), True)


def plan_count(filters: Mapping[str, Any]) -> Plan:
    """The count: the largest subset an equality lookup serves, the rest checked here."""
    fields = frozenset(filters)
    if "customerId" in fields:
        server = _largest(fields, {s for s in _COVERED if "customerId" in s})
        if server:
            return _split(filters, server, False)
    return _split(filters, _largest(fields, _COVERED), False)


def _split(filters: Mapping[str, Any], server: frozenset[str], windowed: bool) -> Plan:
    return Plan(
        {k: v for k, v in filters.items() if k in server},
        {k: v for k, v in filters.items() if k not in server},
        windowed,
    )


def matches(doc: Mapping[str, Any], conditions: Mapping[str, Any]) -> bool:
    """MongoDB's equality on plain values: `{field: None}` also matches a missing field."""
    return all(doc.get(field) == value for field, value in conditions.items())


def order_key(doc: Mapping[str, Any]) -> tuple[bool, datetime, str]:
    """Ascending key of the list order, reversed by the caller (missing activity sorts last,
    as null sorts lowest in MongoDB)."""
    at = doc.get(SORT_FIELD)
    if isinstance(at, datetime) and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at is not None, at or datetime.min.replace(tzinfo=UTC), str(doc["_id"]))


FilterKey = tuple[str, tuple[tuple[str, Any], ...]]


def filter_key(org_id: str, filters: Mapping[str, Any]) -> FilterKey:
    """(org, filter) as a key, the same whatever the order of the filter's fields."""
    return org_id, tuple(sorted(filters.items(), key=lambda kv: kv[0]))


class ListWindows:
    """The window level that sufficed last time, per (org, filter), least recently used
    first; one per process (`Deps.caches.list_windows`)."""

    def __init__(self) -> None:
        self._levels: OrderedDict[FilterKey, int] = OrderedDict()

    def get(self, key: FilterKey, default: int) -> int:
        return self._levels.get(key, default)

    def remember(self, key: FilterKey, level: int) -> None:
        self._levels[key] = level
        self._levels.move_to_end(key)
        while len(self._levels) > _MEMORY_SIZE:
            self._levels.popitem(last=False)


def level_for(at: datetime | None, now: datetime) -> int:
    """The smallest window level whose start is at or before `at`."""
    if at is None:
        return UNBOUNDED
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    for level, width in enumerate(WINDOWS):
        if now - width <= at:
            return level
    return UNBOUNDED


async def _window(
    query: dict[str, Any], plan: Plan, skip: int, limit: int
) -> tuple[list[Ticket], datetime | None, bool]:
    """One try: the page inside `query`'s window, the activity time of the last ticket the
    page needed, and whether the window held enough (`skip + limit`) matches."""
    if not plan.residual:
        page = await Ticket.find(query).sort(SORT).skip(skip).limit(limit).to_list()
        last = page[-1].last_activity_at if page else None
        return page, last, len(page) == limit
    coll = Ticket.get_pymongo_collection()
    docs = [d for d in await coll.find(query, PROJECTION).to_list() if matches(d, plan.residual)]
    docs.sort(key=order_key, reverse=True)
    wanted = docs[skip : skip + limit]
    full = len(wanted) == limit
    if not wanted:
        return [], None, full
    ids = [d["_id"] for d in wanted]
    found = {t.id: t for t in await Ticket.find({"_id": {"$in": ids}}).to_list()}
    # A ticket deleted between the two reads drops out of the page rather than failing it.
    page = [found[d["_id"]] for d in wanted if d["_id"] in found]
    return page, wanted[-1].get(SORT_FIELD), full


async def page(
    org_id: str,
    filters: Mapping[str, Any],
    skip: int,
    limit: int,
    *,
    windows: ListWindows,
    total_hint: int | None = None,
    now: datetime | None = None,
) -> list[Ticket]:
    """Tickets `skip`..`skip + limit` of `{orgId, **filters}` in list order; exactly what the
    unwindowed sorted query returns. `total_hint` (the count, possibly a little stale) only
    picks where to start."""
    now = now or datetime.now(UTC)
    plan = plan_page(filters)
    key = filter_key(org_id, filters)
    # A filter not seen yet starts where the last one of its kind (another agent's queue,
    # say) settled.
    shape = (org_id, tuple((field, "*") for field, _ in key[1]))
    start = windows.get(key, windows.get(shape, 0)) if plan.windowed else UNBOUNDED
    if total_hint is not None and (
        skip + limit > total_hint or (total_hint <= SMALL_TOTAL and not plan.residual)
    ):
        # The page reaches the end of the matches (every window would fall short), or they are
        # so few that one query reads them all (not so with a residual: the server's subset
        # may be far larger than the matches).
        start = UNBOUNDED
    for level in range(start, UNBOUNDED + 1):
        query: dict[str, Any] = {"orgId": org_id, **plan.server}
        if level < UNBOUNDED:
            query[SORT_FIELD] = {"$gte": now - WINDOWS[level]}
        found, last, full = await _window(query, plan, skip, limit)
        if full or level == UNBOUNDED:
            if plan.windowed and full:  # a short last page says nothing of the first
                windows.remember(key, level_for(last, now))
                windows.remember(shape, level_for(last, now))
            return found
    raise AssertionError("unreachable: the unbounded level always returns")


def windowed_query(
    org_id: str, filters: Mapping[str, Any], since: datetime
) -> tuple[dict[str, Any], Plan]:
    """The server query of one window (for explain plans in tests and the benchmark)."""
    plan = plan_page(filters)
    return {"orgId": org_id, **plan.server, SORT_FIELD: {"$gte": since}}, plan
