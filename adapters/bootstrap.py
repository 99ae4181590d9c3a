"""One bootstrap for every role: the clients and ports a web process, a worker or a CLI command
runs on, opened in one place and closed in reverse order.

    async with open_clients(settings, redis_connections=200) as clients:
        await some_service(clients.deps, ...)

`web/app.py` opens them in one `cleanup_ctx`; `streams/context.py` when the worker's first
agent needs them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from pymongo import AsyncMongoClient
from redis.asyncio import BlockingConnectionPool, Redis

from adapters.event_log import RedisEventLog
from adapters.kafka import KafkaStream, ensure_topics
from adapters.publisher import FanoutPublisher
from inbox import db
from inbox.config import Settings
from inbox.ports import Deps
from inbox.storage import LocalDiskStorage

# Workers' heartbeats (a sorted set of worker id -> last beat), read by the web's /health.
WORKERS_KEY = "inbox:workers"


@dataclass(frozen=True)
class Clients:
    settings: Settings
    mongo: AsyncMongoClient
    redis: Redis
    event_log: RedisEventLog
    stream: KafkaStream
    deps: Deps


@contextlib.asynccontextmanager
async def open_clients(settings: Settings, *, redis_connections: int) -> AsyncIterator[Clients]:
    """Mongo (Beanie bound), Redis, the Kafka producer (topics created) and the domain's
    ports. `redis_connections`: the Redis pool's size; a burst of callers waits for a
    connection instead of failing with "Too many connections"."""
    async with contextlib.AsyncExitStack() as stack:
        mongo = await db.connect(settings)
        stack.push_async_callback(mongo.close)
        redis = Redis.from_pool(
            BlockingConnectionPool.from_url(
                settings.redis_url, max_connections=redis_connections, timeout=20
            )
        )
        stack.push_async_callback(redis.aclose)
        event_log = RedisEventLog(redis, settings.events_retention)
        await ensure_topics(settings)
        stream = KafkaStream(settings)
        await stream.start()
        stack.push_async_callback(stream.stop)
        http = aiohttp.ClientSession()
        stack.push_async_callback(http.close)
        deps = Deps(
            settings=settings,
            events=FanoutPublisher(event_log, stream),
            stream=stream,
            http=http,
            media=LocalDiskStorage(settings.media_dir),
        )
        yield Clients(settings, mongo, redis, event_log, stream, deps)
