"""GET /health: 200 only when MongoDB, Kafka and Redis answer and a worker is consuming."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from adapters.bootstrap import WORKERS_KEY
from inbox import db
from web import keys
from web import openapi_models as om
from web.endpoints import Call, Routes

routes = Routes("health")


async def _check(awaitable: Awaitable[Any], timeout: float = 3.0) -> str | None:
    try:
        await asyncio.wait_for(awaitable, timeout)
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; say which
        return f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__


@routes.get(
    "/health",
    "Health: MongoDB, Kafka and Redis answer and a worker is consuming",
    tags=["meta"],
    response=om.HealthView,
    also={503: "Something is down: `down` names it"},
    auth=False,
)
async def health(call: Call[None, None]) -> web.Response:
    app = call.request.app
    settings = call.settings
    redis = app[keys.REDIS]
    mongo_err, kafka_err, redis_err = await asyncio.gather(
        _check(db.ping(app[keys.MONGO])), _check(app[keys.STREAM].ping()), _check(redis.ping())
    )
    checks: dict[str, dict[str, Any]] = {
        "mongodb": {"ok": mongo_err is None, **({"error": mongo_err} if mongo_err else {})},
        "kafka": {"ok": kafka_err is None, **({"error": kafka_err} if kafka_err else {})},
        "redis": {"ok": redis_err is None, **({"error": redis_err} if redis_err else {})},
    }
    workers = 0
    if redis_err is None:
        fresh_after = time.time() - 3 * settings.worker_heartbeat_seconds
        workers = int(await redis.zcount(WORKERS_KEY, fresh_after, "+inf"))
    checks["worker"] = {"ok": workers > 0, "consuming": workers}
    if workers == 0:
        checks["worker"]["error"] = "no worker is consuming"
    ok = all(c["ok"] for c in checks.values())
    down = [name for name, c in checks.items() if not c["ok"]]
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    if down:
        body["down"] = down
    return web.json_response(body, status=200 if ok else 503)
