"""Per-org event log in Redis Streams: the realtime backbone between workers and web
processes (`adapters/publisher.py` writes to it; every web process reads it).

Each org has one stream; Redis gives every entry an increasing id ("<ms>-<seq>"), which is
the event id clients see and send back as `since` to fill a gap after a reconnect.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from inbox.events import OrgEvent

_KEY = "inbox:events:{org_id}"


def stream_key(org_id: str) -> str:
    return _KEY.format(org_id=org_id)


def _decode(entry_id: bytes | str, fields: dict[Any, Any]) -> OrgEvent:
    def s(v: Any) -> str:
        return v.decode() if isinstance(v, bytes) else v

    f = {s(k): s(v) for k, v in fields.items()}
    return OrgEvent(id=s(entry_id), event=f["e"], data=json.loads(f["d"]))


class RedisEventLog:
    def __init__(self, redis: Redis, retention: int):
        self.redis = redis
        self.retention = retention

    async def publish(self, org_id: str, event: str, data: dict[str, Any]) -> str:
        entry_id = await self.redis.xadd(
            stream_key(org_id),
            {"e": event, "d": json.dumps(data, default=str)},
            maxlen=self.retention,
            approximate=True,  # "~" trims lazily: never fewer than `retention` kept
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id

    async def publish_many(self, org_id: str, items: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """`publish` for several events, in order, in one round trip (a campaign batch)."""
        pipe = self.redis.pipeline(transaction=False)
        for event, data in items:
            pipe.xadd(
                stream_key(org_id),
                {"e": event, "d": json.dumps(data, default=str)},
                maxlen=self.retention,
                approximate=True,
            )
        ids = await pipe.execute()
        return [i.decode() if isinstance(i, bytes) else i for i in ids]

    async def since(self, org_id: str, after_id: str, count: int = 1000) -> list[OrgEvent]:
        """Events strictly after `after_id`, oldest first."""
        rows = await self.redis.xrange(stream_key(org_id), min=f"({after_id}", max="+", count=count)
        return [_decode(i, f) for i, f in rows]

    async def oldest_id(self, org_id: str) -> str | None:
        rows = await self.redis.xrange(stream_key(org_id), count=1)
        return _decode(*rows[0]).id if rows else None

    async def last_id(self, org_id: str) -> str:
        rows = await self.redis.xrevrange(stream_key(org_id), count=1)
        return _decode(*rows[0]).id if rows else "0-0"

    async def read_many(
        self, cursors: dict[str, str], block_ms: int, count: int = 500
    ) -> list[tuple[str, list[OrgEvent]]]:
        """Block until any org stream in `cursors` (org -> last seen id) has new events."""
        if not cursors:
            return []
        streams = {stream_key(org): cur for org, cur in cursors.items()}
        reply = await self.redis.xread(streams, block=block_ms, count=count)
        out: list[tuple[str, list[OrgEvent]]] = []
        for key, rows in reply or []:
            key = key.decode() if isinstance(key, bytes) else key
            org_id = key.rsplit(":", 1)[1]
            out.append((org_id, [_decode(i, f) for i, f in rows]))
        return out
