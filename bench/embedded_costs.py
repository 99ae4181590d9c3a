"""What the embedded MongoDB-protocol server (`secantusd-py`) charges per document.

    python bench/embedded_costs.py              # starts its own secantusd-py in a temp dir
    python bench/embedded_costs.py --uri mongodb://127.0.0.1:27017/?directConnection=true

The worker's design follows these figures (README, "Known performance gaps"): an update costs
several inserts, each index adds to every write, an aggregation-pipeline update costs more
than operators, and one `$in` of n values costs n² (`inbox/queries.py: IN_CHUNK`).
Every figure is wall time per document on a quiet server, the mean of a few rounds, in one
database dropped at the end. Ratios between rows of one run are what to read.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import log
from pymongo import MongoClient, UpdateOne
from pymongo.collection import Collection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.embedded import mongo_spec, start_one, stop_process

DOCS = 400
# A customer's indexes (inbox/<area>/documents.py: Customer), most useful first.
INDEXES: list[list[tuple[str, int]]] = [
    [("orgId", 1), ("_id", 1)],
    [("orgId", 1), ("platform", 1), ("externalId", 1)],
    [("orgId", 1), ("lastMessageAt", -1)],
    [("orgId", 1), ("channelIds", 1)],
    [("orgId", 1), ("createdAt", -1)],
    [("orgId", 1), ("email", 1)],
    [("orgId", 1), ("totalRevenue", -1)],
]


def customer(i: int) -> dict[str, Any]:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    return {
        "_id": f"c{i}",
        "orgId": "org",
        "name": f"Customer {i}",
        "platform": "WHATSAPP",
        "externalId": str(15550000000 + i),
        "identities": [{"platform": "WHATSAPP", "externalId": str(15550000000 + i)}],
        "channelIds": ["ch"],
        "email": f"c{i}@example.com",
        "lastMessage": "hello",
        "lastMessageAt": at,
        "createdAt": at,
        "updatedAt": at,
        "totalRevenue": 0.0,
        "notes": "x" * 200,
    }


def fresh(db: Any, indexes: int) -> Collection[Any]:
    coll = db["costs"]
    coll.drop()
    coll.insert_many([customer(i) for i in range(DOCS)])
    for keys in INDEXES[: indexes - 1]:  # the _id index is always there
        coll.create_index(keys)
    return coll


def per_doc(run: Callable[[], int], rounds: int = 3) -> float:
    """ms per document of `run`, which returns how many documents it handled."""
    total_ms, docs = 0.0, 0
    for _ in range(rounds):
        start = time.perf_counter()
        docs += run()
        total_ms += (time.perf_counter() - start) * 1000
    return total_ms / docs


def measure(db: Any) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    ids = [f"c{i}" for i in range(DOCS)]
    tick = iter(range(10**6))
    serial = iter(range(1, 10**6))  # fresh _ids for every insert round

    def stamp() -> datetime:
        return datetime(2026, 12, 2, tzinfo=UTC) + timedelta(seconds=next(tick))

    for n in (1, 4, 8):
        coll = fresh(db, n)

        def insert(coll: Collection[Any] = coll) -> int:
            base = 10_000 * next(serial)
            coll.insert_many([customer(base + i) for i in range(DOCS)], ordered=False)
            return DOCS

        def update_ops(coll: Collection[Any] = coll) -> int:
            at = stamp()
            ops = [UpdateOne({"_id": i}, {"$set": {"lastMessageAt": at}}) for i in ids]
            coll.bulk_write(ops, ordered=False)
            return DOCS

        def update_pipeline(coll: Collection[Any] = coll) -> int:
            at = stamp()
            newer = {"$gte": [at, {"$ifNull": ["$lastMessageAt", at]}]}
            stage = {
                "lastMessage": {"$cond": [newer, {"$literal": "hi"}, "$lastMessage"]},
                "lastMessageAt": {"$max": [{"$ifNull": ["$lastMessageAt", at]}, at]},
            }
            ops = [UpdateOne({"_id": i}, [{"$set": stage}]) for i in ids]
            coll.bulk_write(ops, ordered=False)
            return DOCS

        rows.append((f"insert, {n} index(es)", per_doc(insert)))
        rows.append((f"update ($set, one bulk_write), {n} index(es)", per_doc(update_ops)))
        rows.append((f"update (pipeline, one bulk_write), {n} index(es)", per_doc(update_pipeline)))

    coll = fresh(db, 1)
    for chunk in (DOCS, 200, 50, 10):

        def find_in(chunk: int = chunk) -> int:
            for start in range(0, DOCS, chunk):
                coll.find({"_id": {"$in": ids[start : start + chunk]}}).to_list()
            return DOCS

        def update_in(chunk: int = chunk) -> int:
            at = stamp()
            for start in range(0, DOCS, chunk):
                part = ids[start : start + chunk]
                coll.update_many({"_id": {"$in": part}}, {"$set": {"updatedAt": at}})
            return DOCS

        rows.append((f"find by _id, $in of {chunk}", per_doc(find_in)))
        rows.append((f"update_many by _id, $in of {chunk}", per_doc(update_in)))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--uri", help="a running server (default: start secantusd-py)")
    args = p.parse_args()
    server = None
    tmp = tempfile.TemporaryDirectory(prefix="embedded-costs-")
    try:
        uri = args.uri
        if uri is None:
            log("starting secantusd-py")
            server = start_one(
                mongo_spec(Path(tmp.name)), Path(tmp.name) / "mongo.log", cwd=Path(tmp.name)
            )
            uri = server.url
        client: MongoClient[Any] = MongoClient(uri)
        db = client[f"bench_costs_{os.getpid()}"]
        try:
            rows = measure(db)
        finally:
            client.drop_database(db.name)
            client.close()
    finally:
        if server is not None:
            stop_process(server.process, server.spec.stop_grace)
        tmp.cleanup()
    print(f"Embedded server costs per document ({DOCS} documents, load {os.getloadavg()[0]:.2f})")
    for name, ms in rows:
        print(f"  {name:<52} {ms:7.3f} ms")
    print(f"  command: {' '.join([sys.executable, *sys.argv])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
