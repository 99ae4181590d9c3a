"""Presence: which agents of an org are online, and which ticket each is viewing or typing in.

Any web process may serve any agent, so presence lives in Redis, not in one process:

* `inbox:presence:{orgId}` (hash): one field per open websocket ("connection id"), holding
  `{userId, name, viewing, typing, since, updatedAt}` as JSON;
* `inbox:presence-seen:{orgId}` (sorted set): connection id -> last heartbeat (epoch seconds).
  Each process refreshes its own connections every `heartbeat` seconds; an entry not refreshed
  for `ttl` seconds belongs to a crashed process and is pruned by whichever process looks next.
  Both keys also expire as a whole, so an org whose every process died leaves nothing behind.

A change is announced on the pub/sub channel `inbox:presence-changed` (message: the org id).
Every process then reads the hash itself and pushes the full list to its local sockets as
`presence.update`. Sending a "something changed" signal rather than the list means two
processes that change presence at the same moment can never leave clients with the older list:
every read happens after the write it was woken by.

Presence updates are ephemeral: they do not go through the per-org event stream, so they use
none of its replay window and carry `"id": null` (a reconnecting client simply gets the current
list again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from inbox.events import OrgEvent
from web.realtime.hub import Hub

log = logging.getLogger(__name__)

PRESENCE_UPDATE = "presence.update"
CHANNEL = "inbox:presence-changed"


def _hash_key(org_id: str) -> str:
    return f"inbox:presence:{org_id}"


def _seen_key(org_id: str) -> str:
    return f"inbox:presence-seen:{org_id}"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PresenceMessage(BaseModel):
    """What a client sends over the socket: `{"type": "presence", "viewing", "typing"}`."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern="^presence$")
    viewing: str | None = Field(default=None, min_length=1, max_length=100)
    typing: str | None = Field(default=None, min_length=1, max_length=100)


@dataclass
class Connection:
    """One open websocket of one user; a user with two tabs has two."""

    org_id: str
    user_id: str
    name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    viewing: str | None = None
    typing: str | None = None
    since: str = field(default_factory=_now_iso)
    updated_at: str = field(default_factory=_now_iso)

    def record(self) -> str:
        return json.dumps(
            {
                "userId": self.user_id,
                "name": self.name,
                "viewing": self.viewing,
                "typing": self.typing,
                "since": self.since,
                "updatedAt": self.updated_at,
            }
        )


def merge(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per user from their connections' records.

    `since` is when the user came online (their oldest connection); `viewing`/`typing` come
    from the connection that changed most recently, which is the tab the agent is using.
    """
    by_user: dict[str, dict[str, Any]] = {}
    for rec in records:
        uid = rec.get("userId")
        if not uid:
            continue
        cur = by_user.get(uid)
        if cur is None:
            by_user[uid] = dict(rec)
            continue
        since = min(cur["since"], rec["since"])
        if rec["updatedAt"] > cur["updatedAt"]:
            cur.update(rec)
        cur["since"] = since
    users = [
        {
            "userId": u["userId"],
            "name": u["name"],
            "viewing": u.get("viewing"),
            "typing": u.get("typing"),
            "since": u["since"],
            "updatedAt": u["updatedAt"],
        }
        for u in by_user.values()
    ]
    users.sort(key=lambda u: (u["name"].lower(), u["userId"]))
    return users


class Presence:
    def __init__(self, redis: Redis, hub: Hub, ttl: float = 45.0, heartbeat: float = 15.0):
        self.redis = redis
        self.hub = hub
        self.ttl = ttl
        self.heartbeat = heartbeat
        self.connections: dict[str, Connection] = {}
        # Orgs whose list must be re-read and pushed; one refresh task per org at a time.
        self._dirty: set[str] = set()
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    # -- called by the websocket handler -------------------------------------------------

    async def join(self, org_id: str, user_id: str, name: str) -> Connection:
        conn = Connection(org_id=org_id, user_id=user_id, name=name)
        self.connections[conn.id] = conn
        await self._write(conn)
        return conn

    async def update(self, conn: Connection, viewing: str | None, typing: str | None) -> None:
        if (viewing, typing) == (conn.viewing, conn.typing):
            return  # a repeated typing ping changes nothing anyone sees
        conn.viewing, conn.typing, conn.updated_at = viewing, typing, _now_iso()
        await self._write(conn)

    async def leave(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hdel(_hash_key(conn.org_id), conn.id)
            pipe.zrem(_seen_key(conn.org_id), conn.id)
            pipe.publish(CHANNEL, conn.org_id)
            await pipe.execute()

    async def snapshot(self, org_id: str) -> list[dict[str, Any]]:
        """The org's online users, after pruning connections of crashed processes."""
        stale = await self.redis.zrangebyscore(_seen_key(org_id), "-inf", time.time() - self.ttl)
        if stale:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hdel(_hash_key(org_id), *stale)
                pipe.zrem(_seen_key(org_id), *stale)
                pipe.publish(CHANNEL, org_id)
                await pipe.execute()
        raw = await self.redis.hgetall(_hash_key(org_id))
        records = []
        for value in raw.values():
            with contextlib.suppress(ValueError, TypeError):
                records.append(json.loads(value))
        return merge(records)

    # -- background -----------------------------------------------------------------------

    async def run(self) -> None:
        """Listen for changes from every process, and keep our own connections alive."""
        beat = asyncio.create_task(self._heartbeat())
        try:
            while True:
                try:
                    await self._listen()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - Redis blip: resubscribe and catch up
                    log.warning("presence: Redis pub/sub lost, resubscribing", exc_info=True)
                    await asyncio.sleep(1.0)
                    for org_id in list(self.hub.subscribers):
                        self._schedule(org_id)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            for task in self._refreshing.values():
                task.cancel()

    async def _listen(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANNEL)
            while True:
                msg = await pubsub.get_message(timeout=5.0)
                if msg is None:
                    continue
                org_id = msg["data"]
                org_id = org_id.decode() if isinstance(org_id, bytes) else str(org_id)
                if org_id in self.hub.subscribers:
                    self._schedule(org_id)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - next beat tries again well within the TTL
                log.warning("presence heartbeat failed", exc_info=True)

    async def _beat(self) -> None:
        now = time.time()
        by_org: dict[str, list[str]] = {}
        for conn in list(self.connections.values()):
            by_org.setdefault(conn.org_id, []).append(conn.id)
        if not by_org:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for org_id, ids in by_org.items():
                pipe.zadd(_seen_key(org_id), dict.fromkeys(ids, now))
                pipe.expire(_seen_key(org_id), int(self.ttl * 2))
                pipe.expire(_hash_key(org_id), int(self.ttl * 2))
            await pipe.execute()
        # Pruning other processes' dead connections happens in snapshot(); looking at every
        # org we serve once per beat makes sure it happens even when nobody changes anything.
        for org_id in by_org:
            stale = await self.redis.zcount(_seen_key(org_id), "-inf", now - self.ttl)
            if stale:
                self._schedule(org_id)

    async def _write(self, conn: Connection) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(_hash_key(conn.org_id), conn.id, conn.record())
            pipe.zadd(_seen_key(conn.org_id), {conn.id: time.time()})
            pipe.expire(_hash_key(conn.org_id), int(self.ttl * 2))
            pipe.expire(_seen_key(conn.org_id), int(self.ttl * 2))
            pipe.publish(CHANNEL, conn.org_id)
            await pipe.execute()

    def _schedule(self, org_id: str) -> None:
        self._dirty.add(org_id)
        if org_id not in self._refreshing:
            self._refreshing[org_id] = asyncio.create_task(self._refresh(org_id))

    async def _refresh(self, org_id: str) -> None:
        # Changes that arrive while we read coalesce into one more read, never a backlog.
        try:
            while org_id in self._dirty:
                self._dirty.discard(org_id)
                try:
                    users = await self.snapshot(org_id)
                except Exception:  # noqa: BLE001 - the next change or heartbeat retries
                    log.warning("presence: could not read %s", org_id, exc_info=True)
                    return
                event = OrgEvent(id="", event=PRESENCE_UPDATE, data={"users": users})
                self.hub.push(org_id, event)
        finally:
            self._refreshing.pop(org_id, None)
