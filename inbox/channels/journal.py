"""The webhook journal's writes of concurrent requests, committed together (group commit):
each request's answer waits for its own entry to be stored, with the entries of every
request that came meanwhile (one `insert_many` instead of one insert each)."""

from __future__ import annotations

from typing import Any

from pymongo.errors import BulkWriteError, WriteError

from inbox.channels.documents import WebhookDelivery
from inbox.coalescing import Coalescer
from inbox.queries import DUPLICATE_KEY

JournalWriter = Coalescer[dict[str, Any], bool]


def journal_writer() -> JournalWriter:
    """One per process (`Deps.caches.journal`)."""
    return Coalescer(insert_journal_entries)


async def insert_journal_entries(entries: list[dict[str, Any]]) -> list[bool | BaseException]:
    """Journal inserts of concurrent requests in one command (unordered): per entry, True
    when it is new, False when the body was journaled before (a redelivery), or the error."""
    try:
        await WebhookDelivery.get_pymongo_collection().insert_many(entries, ordered=False)
    except BulkWriteError as exc:
        refused = {e["index"]: e for e in exc.details.get("writeErrors", [])}
    else:
        return [True] * len(entries)
    results: list[bool | BaseException] = []
    for n in range(len(entries)):
        error = refused.get(n)
        if error is None:
            results.append(True)
        elif error.get("code") == DUPLICATE_KEY:
            results.append(False)
        else:
            results.append(WriteError(error.get("errmsg", ""), error.get("code")))
    return results
