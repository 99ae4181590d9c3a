"""The aiohttp application factory: clients and background tasks live in `cleanup_ctx`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from inbox import db
from inbox.config import Settings
from inbox.ports import Deps
from inbox.realtime import RedisEventLog
from streams.producer import FanoutPublisher, KafkaStream, ensure_topics
from web import keys
from web.errors import error_middleware
from web.pages import setup_templates
from web.ratelimit import rate_limit_middleware, rate_limiter_ctx
from web.realtime.hub import Hub
from web.realtime.presence import Presence
from web.routes import setup_routes


async def _mongo(app: web.Application) -> AsyncIterator[None]:
    app[keys.MONGO] = await db.connect(app[keys.SETTINGS])
    yield
    await app[keys.MONGO].close()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    # Blocking pool: under a burst, requests wait for a connection rather than fail.
    app[keys.REDIS] = Redis.from_pool(
        BlockingConnectionPool.from_url(settings.redis_url, max_connections=200, timeout=20)
    )
    app[keys.EVENT_LOG] = RedisEventLog(app[keys.REDIS], settings.events_retention)
    yield
    await app[keys.REDIS].aclose()


async def _kafka(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    await ensure_topics(settings)
    app[keys.STREAM] = KafkaStream(settings)
    await app[keys.STREAM].start()
    yield
    await app[keys.STREAM].stop()


async def _deps(app: web.Application) -> AsyncIterator[None]:
    http = aiohttp.ClientSession()
    app[keys.DEPS] = Deps(
        settings=app[keys.SETTINGS],
        events=FanoutPublisher(app[keys.EVENT_LOG], app[keys.STREAM]),
        stream=app[keys.STREAM],
        http=http,
    )
    yield
    await http.close()


async def _hub(app: web.Application) -> AsyncIterator[None]:
    app[keys.HUB] = Hub(app[keys.EVENT_LOG])
    app[keys.PRESENCE] = Presence(app[keys.REDIS], app[keys.HUB])
    tasks = [
        asyncio.create_task(app[keys.HUB].run()),
        asyncio.create_task(app[keys.PRESENCE].run()),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        # Rate limits outermost, so error responses carry the X-RateLimit-* headers too.
        middlewares=[rate_limit_middleware, error_middleware],
        client_max_size=settings.webhook_max_bytes,
    )
    app[keys.SETTINGS] = settings
    app.cleanup_ctx.extend([_mongo, _redis, rate_limiter_ctx, _kafka, _deps, _hub])
    setup_templates(app)
    setup_routes(app)
    return app
