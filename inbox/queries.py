"""Queries shaped for the embedded MongoDB-protocol server: flat filters, short `$in` lists,
and no findAndModify.

Beanie joins the conditions of `find(A == x, B == y)` as `{"$and": [{A: x}, {B: y}]}`. The
embedded MongoDB-protocol server plans an index only for a filter whose fields an index covers
and never looks inside `$and`, so every such query scanned its whole collection (measured: 214 ms
against 1.2 ms at 20,000 documents). `{A: x, B: y}` means the same, so the conditions are merged
into one document whenever they name different fields.

It also matches each document it fetches for `{field: {"$in": values}}` against the values one
by one, so one `$in` of n values costs n² (measured, by `_id`: 1.6 ms per document at 3,000
ids in one query, 0.06 ms at 50). `find_in`, `by_id` and `update_in` send long lists in chunks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

from beanie import Document
from beanie.odm.queries.find import FindMany, FindOne
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from inbox.errors import NotFound

T = TypeVar("T")
D = TypeVar("D", bound=Document)

DUPLICATE_KEY = 11000
# Values per `$in` (see the module docstring): past ~50 the quadratic match outweighs the
# fixed cost of one more command (~0.6 ms).
IN_CHUNK = 50


async def get_in_org(model: type[D], org_id: str, doc_id: str, what: str) -> D:
    """The one way to read an org's document by id: another org's id, or none, is a 404
    exactly as if it did not exist. `what` names it in the error ("Ticket not found")."""
    found = await model.find_one({"orgId": org_id, "_id": doc_id})
    if found is None:
        raise NotFound(f"{what} not found")
    return found


def chunked(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """`values` without repeats, in lists of at most `size`, in their first order."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


async def find_in(
    collection: AsyncCollection,
    field: str,
    values: Iterable[Any],
    projection: dict[str, Any] | None = None,
    *,
    session: AsyncClientSession | None = None,
) -> list[dict[str, Any]]:
    """The documents whose `field` is one of `values`, read `IN_CHUNK` values at a time."""
    found: list[dict[str, Any]] = []
    for part in chunked(values):
        cursor = collection.find({field: {"$in": part}}, projection, session=session)
        found.extend(await cursor.to_list(None))
    return found


async def by_id(
    collection: AsyncCollection,
    ids: Iterable[Any],
    projection: dict[str, Any] | None = None,
    *,
    session: AsyncClientSession | None = None,
) -> dict[Any, dict[str, Any]]:
    """Documents by `_id` (the embedded engine's fast path: the caller checks the org)."""
    wanted = [i for i in ids if i is not None]
    docs = await find_in(collection, "_id", wanted, projection, session=session)
    return {d["_id"]: d for d in docs}


async def models_by_id(model: type[D], ids: Iterable[Any]) -> dict[str, D]:
    """`by_id`, validated as `model`."""
    docs = await by_id(model.get_pymongo_collection(), (str(i) for i in ids if i))
    return {str(k): model.model_validate(d) for k, d in docs.items()}


async def update_in(
    collection: AsyncCollection,
    ids: Iterable[Any],
    update: dict[str, Any],
    *,
    session: AsyncClientSession | None = None,
) -> int:
    """`update_many` of the documents with these `_id`s, `IN_CHUNK` at a time; how many
    matched."""
    matched = 0
    for part in chunked(ids):
        result = await collection.update_many({"_id": {"$in": part}}, update, session=session)
        matched += result.matched_count
    return matched


def duplicates_of(exc: BulkWriteError) -> list[dict[str, Any]]:
    """The write errors of an unordered bulk write, all of them duplicate keys (documents
    already there: stored before, or by another writer at the same time); `exc` itself is
    raised again when anything else went wrong."""
    errors = exc.details.get("writeErrors", [])
    if any(e.get("code") != DUPLICATE_KEY for e in errors):
        raise exc
    return errors


def duplicate_positions(exc: BulkWriteError) -> set[int]:
    """The positions, in the list written, of the documents that were already there (see
    `duplicates_of`)."""
    return {e["index"] for e in duplicates_of(exc)}


async def in_transaction(
    collection: AsyncCollection, work: Callable[[AsyncClientSession], Awaitable[T]]
) -> T:
    """Run `work` in a transaction on `collection`'s client, retried by the driver on
    transient write conflicts (so it must only write through its session, and be safe to run
    again)."""
    async with collection.database.client.start_session() as session:
        return await session.with_transaction(work)


def flat_filter(query: dict[str, Any]) -> dict[str, Any]:
    """`{"$and": [{a: 1}, {b: {"$gt": 2}}]}` -> `{a: 1, b: {"$gt": 2}}`; unchanged when two
    parts name the same field (merging would drop one) or a part is not a plain document."""
    parts = query.get("$and") if len(query) == 1 else None
    if not isinstance(parts, list):
        return query
    merged: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, dict):
            return query
        part = flat_filter(part)
        if any(key in merged for key in part):
            return query
        merged.update(part)
    return merged


class FlatFindOne(FindOne):
    def get_filter_query(self) -> dict[str, Any]:
        return flat_filter(super().get_filter_query())


class FlatFindMany(FindMany):
    def get_filter_query(self) -> dict[str, Any]:
        return flat_filter(super().get_filter_query())


# The embedded server answers findAndModify by scanning the whole collection (measured: 400 ms
# per call at 20,000 documents, against 3 ms for update_one plus find_one by _id). These two
# keep PyMongo's signature and meaning for how this code base calls them: the update itself
# stays one atomic conditional write (a claim matched by two workers is won by one), and the
# document returned is read by _id just before (BEFORE) or just after (AFTER) it.

_RETRIES = 5


def _id_of(query: dict[str, Any]) -> Any | None:
    value = query.get("_id")
    return None if value is None or isinstance(value, dict) else value


async def find_one_and_update(
    collection: AsyncCollection,
    query: dict[str, Any],
    update: dict[str, Any] | list[dict[str, Any]],
    *,
    return_document: bool = ReturnDocument.BEFORE,
    upsert: bool = False,
    projection: dict[str, Any] | None = None,
    session: AsyncClientSession | None = None,
) -> dict[str, Any] | None:
    for _ in range(_RETRIES):
        doc_id = _id_of(query)
        before = None
        if return_document == ReturnDocument.BEFORE or doc_id is None:
            before = await collection.find_one(query, session=session)
            if before is None and not upsert:
                return None
            if before is not None:
                doc_id = before["_id"]
        target = query if doc_id is None else {**query, "_id": doc_id}
        result = await collection.update_one(target, update, upsert=upsert, session=session)
        if result.matched_count == 0 and result.upserted_id is None:
            if _id_of(query) is not None and before is None:
                return None  # nothing matched: what PyMongo answers too
            continue  # changed between the read and the write: read again
        if return_document == ReturnDocument.BEFORE:
            return _project(before, projection)
        found_id = result.upserted_id if result.upserted_id is not None else doc_id
        return await collection.find_one({"_id": found_id}, projection, session=session)
    return None


async def find_one_and_delete(
    collection: AsyncCollection,
    query: dict[str, Any],
    *,
    session: AsyncClientSession | None = None,
) -> dict[str, Any] | None:
    for _ in range(_RETRIES):
        found = await collection.find_one(query, session=session)
        if found is None:
            return None
        result = await collection.delete_one({**query, "_id": found["_id"]}, session=session)
        if result.deleted_count:
            return found
    return None


def _project(doc: dict[str, Any] | None, projection: dict[str, Any] | None) -> Any:
    if doc is None or not projection:
        return doc
    kept = {k for k, v in projection.items() if v}
    return {k: v for k, v in doc.items() if k in kept or k == "_id"}
