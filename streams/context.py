"""The worker's clients (Mongo, Redis, Kafka producer, HTTP), opened once per process."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import aiohttp
from pymongo import AsyncMongoClient
from redis.asyncio import BlockingConnectionPool, Redis

from inbox import db
from inbox.config import Settings
from inbox.ports import Deps
from inbox.realtime import RedisEventLog
from streams.producer import FanoutPublisher, KafkaStream, ensure_topics

WORKERS_KEY = "inbox:workers"
INBOUND_BUSY_KEY = "inbox:inbound-busy:{prefix}"  # per deployment (topic prefix)


class WorkerContext:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = asyncio.Lock()
        self._busy_marked_at = 0.0
        self._deps: Deps | None = None
        self.mongo: AsyncMongoClient | None = None
        self.redis: Redis | None = None
        self.stream: KafkaStream | None = None

    async def deps(self) -> Deps:
        """Open everything on first use (agents and timers may start in any order)."""
        if self._deps is not None:
            return self._deps
        async with self._lock:
            if self._deps is None:
                self.mongo = await db.connect(self.settings)
                # Blocking pool: a burst of concurrent conversations waits for a connection
                # instead of failing with "Too many connections".
                self.redis = Redis.from_pool(
                    BlockingConnectionPool.from_url(
                        self.settings.redis_url, max_connections=64, timeout=20
                    )
                )
                await ensure_topics(self.settings)
                self.stream = KafkaStream(self.settings)
                await self.stream.start()
                http = aiohttp.ClientSession()
                events = FanoutPublisher(
                    RedisEventLog(self.redis, self.settings.events_retention), self.stream
                )
                self._deps = Deps(
                    settings=self.settings, events=events, stream=self.stream, http=http
                )
        return self._deps

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
        if self._deps is not None:
            await self._deps.http.close()
        if self.stream is not None:
            await self.stream.stop()
        if self.redis is not None:
            await self.redis.zrem(WORKERS_KEY, self.worker_id)
            await self.redis.aclose()
        if self.mongo is not None:
            await self.mongo.close()
