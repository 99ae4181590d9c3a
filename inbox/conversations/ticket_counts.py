"""`X-Total-Count` of the ticket list without counting every match on every request.

Counting on the embedded MongoDB-protocol server reads every matching ticket (1,500 tickets
take ~80 ms, 100,000 take seconds). So each process keeps, per (org, filter), the ids of the
matching tickets, and before answering asks MongoDB only which tickets of the org changed
since it last looked: `{orgId, lastActivityAt >= since}`, a range on the (orgId,
lastActivityAt) index that reads only the changed tickets (none, most of the time). Each of
those is in or out of the set by its current fields; applying a ticket's current state is
idempotent, so reading a change twice is harmless. The count is exact at once after any write.

This rests on one rule that every ticket write follows today: a write that creates a ticket
or changes its status, assignee, channel or priority sets `lastActivityAt` to (at least) its
own time -- `tickets._apply`, threading's insert and `$max` touch, replies, campaign and
automation tickets all do. `SINCE_MARGIN` covers the time between a writer taking its clock
and its write becoming visible, and clock differences between the web and worker processes.

What the rule does not catch:
- deletions (a deleted customer's closed tickets): call `forget(org_id)` after deleting
  tickets; without it, every entry is recounted in the background `REFRESH_AFTER` after it
  was made, so a missed deletion shows within that time;
- counts over `ID_LIMIT` matches (an org's whole history, say) keep no ids: after a change,
  the last count is answered while one recount runs in the background, started at most
  `BIG_RECOUNT_EVERY` after the last (so it lags writes by that plus the recount's time):
  recounting 100,000 tickets on every request would make each take seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inbox.conversations.documents import Ticket
from inbox.conversations.ticket_list import (
    FILTER_FIELDS,
    SORT_FIELD,
    FilterKey,
    filter_key,
    matches,
    plan_count,
)
from inbox.document_base import utcnow

SINCE_MARGIN = timedelta(seconds=10)
# Recount an entry (in the background, when next used) this long after it was made: catches
# deletions nobody reported and writes breaking the rule above.
REFRESH_AFTER = 300.0
# Counts over ID_LIMIT: after changes, recounted in the background at most this often.
BIG_RECOUNT_EVERY = 30.0
# Keep the ids of a filter's matches up to this many; above, the count alone.
ID_LIMIT = 50_000
# All entries together keep at most this many ids (~30 MB); least recently used go first.
ID_BUDGET = 250_000
MAX_ENTRIES = 2_000
# More changes than this since the last look: recount rather than apply them one by one.
DELTA_LIMIT = 2_000

log = logging.getLogger(__name__)

_CHANGE_PROJECTION = {"_id": 1, **{f: 1 for f in FILTER_FIELDS}}

Key = FilterKey


@dataclass
class _Entry:
    total: int
    ids: set[str] | None  # None above ID_LIMIT
    since: datetime  # changes at or after this are not folded in yet
    made: float  # time.monotonic() of the count
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refreshing: asyncio.Task[None] | None = None


async def _recount(org_id: str, filters: Mapping[str, Any]) -> _Entry:
    """The ids (or, past ID_LIMIT, the number) of the matches, read now."""
    since = utcnow() - SINCE_MARGIN
    made = time.monotonic()
    plan = plan_count(filters)
    projection = {"_id": 1, **{f: 1 for f in plan.residual}}
    cursor = Ticket.get_pymongo_collection().find({"orgId": org_id, **plan.server}, projection)
    ids = {str(d["_id"]) async for d in cursor if matches(d, plan.residual)}
    if len(ids) > ID_LIMIT:
        return _Entry(len(ids), None, since, made)
    return _Entry(len(ids), ids, since, made)


async def _changed_since(org_id: str, since: datetime) -> list[dict[str, Any]]:
    coll = Ticket.get_pymongo_collection()
    query = {"orgId": org_id, SORT_FIELD: {"$gte": since}}
    return await coll.find(query, _CHANGE_PROJECTION).to_list(DELTA_LIMIT + 1)


class TicketCounts:
    """This process's counts per (org, filter); one per process (`Deps.caches.ticket_counts`)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._ids_held = 0
        self._background: set[asyncio.Task[None]] = set()

    def _store(self, key: Key, entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None and old.ids is not None:
            self._ids_held -= len(old.ids)
        self._entries[key] = entry
        if entry.ids is not None:
            self._ids_held += len(entry.ids)
        while self._entries and (len(self._entries) > MAX_ENTRIES or self._ids_held > ID_BUDGET):
            _, evicted = self._entries.popitem(last=False)
            if evicted.ids is not None:
                self._ids_held -= len(evicted.ids)

    def _refresh_in_background(
        self, key: Key, entry: _Entry, org_id: str, filters: dict[str, Any]
    ) -> None:
        """One recount at a time per entry; the entry answers meanwhile."""
        if entry.refreshing is not None and not entry.refreshing.done():
            return

        async def refresh() -> None:
            try:
                fresh = await _recount(org_id, filters)
            except Exception:  # noqa: BLE001 - the old count stays; the next request retries
                log.exception("recounting tickets of org %s failed", org_id)
                return
            async with entry.lock:
                if self._entries.get(key) is entry:
                    self._store(key, fresh)

        task = asyncio.create_task(refresh())
        entry.refreshing = task
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def count(self, org_id: str, filters: Mapping[str, Any]) -> int:
        """Number of the org's tickets matching `filters` (field -> value, `None` for
        missing)."""
        if "customerId" in filters:
            # A customer's tickets are few and read from their own index; and a merge moves
            # tickets between customers without touching their activity, which the rule needs.
            return (await _recount(org_id, filters)).total
        key = filter_key(org_id, filters)
        while True:
            entry = self._entries.get(key)
            if entry is None:
                entry = await _recount(org_id, filters)
                self._store(key, entry)
                return entry.total
            async with entry.lock:  # one delta at a time per entry: each moves `since` forward
                if self._entries.get(key) is not entry:
                    continue  # a recount replaced it meanwhile
                return await self._bring_up_to_date(key, entry, org_id, dict(filters))

    async def _bring_up_to_date(
        self, key: Key, entry: _Entry, org_id: str, filters: dict[str, Any]
    ) -> int:
        self._entries.move_to_end(key)
        age = time.monotonic() - entry.made
        if age > REFRESH_AFTER:
            self._refresh_in_background(key, entry, org_id, filters)
        now = utcnow()
        changed = await _changed_since(org_id, entry.since)
        if not changed:
            return entry.total
        if entry.ids is None:
            # Too many matches to follow one by one: the last count, recounted in the
            # background at most every BIG_RECOUNT_EVERY, so steady writes do not keep the
            # server recounting.
            if age > BIG_RECOUNT_EVERY:
                self._refresh_in_background(key, entry, org_id, filters)
            return entry.total
        if len(changed) > DELTA_LIMIT:
            fresh = await _recount(org_id, filters)
            self._store(key, fresh)
            return fresh.total
        before = len(entry.ids)
        for doc in changed:
            if matches(doc, filters):
                entry.ids.add(str(doc["_id"]))
            else:
                entry.ids.discard(str(doc["_id"]))
        self._ids_held += len(entry.ids) - before
        entry.total = len(entry.ids)
        entry.since = now - SINCE_MARGIN
        if entry.total > ID_LIMIT:
            self._ids_held -= entry.total
            entry.ids = None
        return entry.total

    def last_known(self, org_id: str, filters: Mapping[str, Any]) -> int | None:
        """The count as last brought up to date, without asking MongoDB (a hint, maybe
        stale)."""
        entry = self._entries.get(filter_key(org_id, filters))
        return entry.total if entry is not None else None

    def forget(self, org_id: str) -> None:
        """Drop the org's counts: call after deleting tickets (deletions leave no trace to
        see)."""
        for key in [k for k in self._entries if k[0] == org_id]:
            entry = self._entries.pop(key)
            if entry.ids is not None:
                self._ids_held -= len(entry.ids)
