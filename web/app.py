"""The aiohttp application factory: clients (from the one bootstrap) and background tasks live
in `cleanup_ctx`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from adapters.bootstrap import open_clients
from inbox.config import Settings
from web import keys
from web.errors import error_middleware
from web.pages import setup_templates
from web.ratelimit import rate_limit_middleware, rate_limiter_ctx
from web.realtime.hub import Hub
from web.realtime.presence import Presence
from web.routes import setup_routes


async def _clients(app: web.Application) -> AsyncIterator[None]:
    async with open_clients(app[keys.SETTINGS], redis_connections=200) as clients:
        app[keys.MONGO] = clients.mongo
        app[keys.REDIS] = clients.redis
        app[keys.EVENT_LOG] = clients.event_log
        app[keys.STREAM] = clients.stream
        app[keys.DEPS] = clients.deps
        yield


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
    app.cleanup_ctx.extend([_clients, rate_limiter_ctx, _hub])
    setup_templates(app)
    setup_routes(app)
    return app
