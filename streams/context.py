"""The worker's clients (from the one bootstrap, `adapters/bootstrap.py`), opened once per
process, plus its shared Redis marks: heartbeats and the inbound-busy flag."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time

from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from adapters.bootstrap import WORKERS_KEY, Clients, open_clients
from adapters.kafka import KafkaStream
from inbox.config import Settings
from inbox.ports import Deps

INBOUND_BUSY_KEY = "inbox:inbound-busy:{prefix}"  # per deployment (topic prefix)


class WorkerContext:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = asyncio.Lock()
        self._busy_marked_at = 0.0
        self._stack = contextlib.AsyncExitStack()
        self._clients: Clients | None = None
        self.mongo: AsyncMongoClient | None = None
        self.redis: Redis | None = None
        self.stream: KafkaStream | None = None

    async def deps(self) -> Deps:
        """Open everything on first use (agents and timers may start in any order)."""
        if self._clients is not None:
            return self._clients.deps
        async with self._lock:
            if self._clients is None:
                clients = await self._stack.enter_async_context(
                    open_clients(self.settings, redis_connections=64)
                )
                self.mongo, self.redis, self.stream = clients.mongo, clients.redis, clients.stream
                self._clients = clients
        return self._clients.deps

    async def mark_inbound_busy(self) -> None:
        """Called per inbound record (at most one Redis write a second); shared by all
        workers through Redis, so no worker's sweeper redelivers into another's backlog."""
        now = time.monotonic()
        if self.redis is None or now - self._busy_marked_at < 1.0:
            return
        self._busy_marked_at = now
        ttl = max(1, int(self.settings.redelivery_after_seconds))
        await self.redis.set(self._busy_key, self.worker_id, ex=ttl)

    async def inbound_busy(self) -> bool:
        return self.redis is not None and bool(await self.redis.exists(self._busy_key))

    @property
    def _busy_key(self) -> str:
        return INBOUND_BUSY_KEY.format(prefix=self.settings.topic_prefix)

    async def heartbeat(self, assigned_partitions: int) -> None:
        """Tell web processes (GET /health) that a worker is alive and consuming."""
        if self.redis is None or assigned_partitions == 0:
            return
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.zadd(WORKERS_KEY, {self.worker_id: now})
        pipe.zremrangebyscore(WORKERS_KEY, 0, now - 3600)
        await pipe.execute()

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.zrem(WORKERS_KEY, self.worker_id)
        await self._stack.aclose()
