"""Rate limits in Redis: a sliding-window log per key, checked and recorded atomically.

Three scopes, each a number of requests per window (a minute by default, `Settings`):

- `auth`: POST /auth/login, /auth/signup, /auth/refresh, /auth/accept-invite, counted per
  client IP *and* per email (when the JSON body carries one), so neither one address trying
  many accounts nor many addresses trying one account get far;
- `webhook`: /webhook/{channelId}, counted per channel;
- `api`: everything else, counted per user (the bearer token's subject, read without a
  database hit) or, without a valid token, per client IP.

`/health`, `/openapi.json`, `/docs`, static files and the `/ws` upgrade are not counted: they
are cheap, and an agent's socket reconnecting after a network change must never be refused.

Every counted response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset`, the last in *seconds from now* until the oldest request counted leaves
the window (the moment `Remaining` next grows; when refused, the same as `Retry-After`).
A refused request gets 429 with `Retry-After` and the usual error shape (`RATE_LIMITED`).
When Redis cannot be reached the limiter lets requests through and logs a warning: a Redis
outage must not take the whole API down with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from inbox.coalescing import Coalescer
from inbox.config import Settings
from inbox.errors import Unauthorized
from inbox.security import read_access_token
from web import keys
from web.errors import error_response

log = logging.getLogger(__name__)

AUTH_PATHS = frozenset({"/auth/login", "/auth/signup", "/auth/refresh", "/auth/accept-invite"})
WEBHOOK_RESOURCE = "/webhook/{channelId}"
EXEMPT_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/ws"})
# /t/: e-mail open and click tracking, requested by recipients' mail clients and image
# proxies (many recipients behind one address): never refused, or opens would be lost.
EXEMPT_PREFIXES = ("/docs/", "/static/", "/media/", "/t/")
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# How long one limiter round trip may take before its requests go through uncounted (a
# request waits for at most the round trip in flight and its own).
REDIS_TIMEOUT_SECONDS = 1.0
# At most one "Redis is down" warning per this many seconds, not one per request.
WARN_EVERY_SECONDS = 30.0

# Several requests' checks in one script, each as if it ran alone, in order. ARGV: window
# (ms), the number of requests, then per request: how many keys it has, a unique member
# suffix and one limit per key; KEYS: every request's keys, one request after another.
# Members are request times (score = ms from Redis' own clock, so every web process shares
# one clock). A request is recorded in every one of its sets, or in none when any is full;
# its answer (four numbers per request) describes the tightest set: allowed, limit,
# remaining, and ms until its oldest entry leaves the window.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local out = {}
local k, a = 1, 3
for r = 1, tonumber(ARGV[2]) do
  local n, member = tonumber(ARGV[a]), now .. '-' .. ARGV[a + 1]
  local keys, limits, counts, oldest = {}, {}, {}, {}
  for i = 1, n do
    keys[i], limits[i] = KEYS[k + i - 1], tonumber(ARGV[a + 1 + i])
  end
  k, a = k + n, a + 2 + n
  local refused, retry = false, 0
  for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', keys[i], '-inf', now - window)
    counts[i] = redis.call('ZCARD', keys[i])
    local first = redis.call('ZRANGE', keys[i], 0, 0, 'WITHSCORES')
    oldest[i] = first[2] and tonumber(first[2]) or now
    if counts[i] >= limits[i] then
      refused = true
      retry = math.max(retry, oldest[i] + window - now)
    end
  end
  if refused then
    local tightest = 1
    for i = 1, n do
      if counts[i] >= limits[i] then tightest = i end
    end
    table.insert(out, 0)
    table.insert(out, limits[tightest])
    table.insert(out, 0)
    table.insert(out, retry)
  else
    local best, best_remaining, best_reset = 1, nil, 0
    for i = 1, n do
      redis.call('ZADD', keys[i], now, member)
      redis.call('PEXPIRE', keys[i], window)
      local remaining = limits[i] - counts[i] - 1
      if best_remaining == nil or remaining < best_remaining then
        best, best_remaining, best_reset = i, remaining, oldest[i] + window - now
      end
    end
    table.insert(out, 1)
    table.insert(out, limits[best])
    table.insert(out, best_remaining)
    table.insert(out, best_reset)
  end
end
return out
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }


@dataclass(frozen=True)
class Bucket:
    """One counter a request is charged to: its Redis key and its limit."""

    key: str
    limit: int


class RateLimiter:
    """Checks and records requests against one or more buckets each, atomically per request.

    Requests that arrive while a check is in flight go to Redis together in the next one
    (`Coalescer`): one script call answers them all, in arrival order, exactly as separate
    calls would have."""

    def __init__(self, redis: Redis, window_seconds: float):
        self.redis = redis
        self.window_ms = max(1, int(window_seconds * 1000))
        self._script = redis.register_script(_SLIDING_WINDOW)
        self._checks: Coalescer[list[Bucket], Decision] = Coalescer(self._hit_all)

    async def hit(self, buckets: list[Bucket]) -> Decision:
        return await self._checks.submit(buckets)

    async def _hit_all(self, requests: list[list[Bucket]]) -> list[Decision]:
        keys: list[str] = []
        args: list[Any] = [self.window_ms, len(requests)]
        for buckets in requests:
            keys.extend(b.key for b in buckets)
            args.extend([len(buckets), uuid.uuid4().hex[:12], *(b.limit for b in buckets)])
        # One timer per round trip, not one per request: a few percent of a webhook's CPU.
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            raw = [int(x) for x in await self._script(keys=keys, args=args)]
        return [
            Decision(
                allowed=bool(raw[i]),
                limit=raw[i + 1],
                remaining=raw[i + 2],
                reset_seconds=max(1, math.ceil(raw[i + 3] / 1000)),
            )
            for i in range(0, len(raw), 4)
        ]


def client_ip(request: web.Request, trusted_hops: int) -> str:
    """The caller's address: the socket peer, or with `trusted_hops` reverse proxies in front
    (each appending the address it saw to X-Forwarded-For), the entry the outermost trusted
    proxy appended. Entries further left are the client's own claims and are ignored."""
    peer = request.remote or "unknown"
    if trusted_hops <= 0:
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    if len(hops) < trusted_hops:
        return hops[0] if hops else peer
    return hops[-trusted_hops]


def _digest(value: str) -> str:
    # Emails and IPs are hashed in key names: Redis keys are visible to anyone with access.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _email_in(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    email = data.get("email") if isinstance(data, dict) else None
    if isinstance(email, str) and email.strip():
        return email.strip().lower()
    return None


def scope_of(request: web.Request) -> str | None:
    """Which limit a request counts against: "auth", "webhook" or "api"; None for requests
    that are never counted."""
    path = request.path
    if path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
        return None
    resource = request.match_info.route.resource
    if isinstance(resource, web.StaticResource):
        return None
    canonical = resource.canonical if resource is not None else None
    if canonical == WEBHOOK_RESOURCE:
        return "webhook"
    if request.method == "POST" and canonical in AUTH_PATHS:
        return "auth"
    return "api"


async def buckets_for(request: web.Request, scope: str, settings: Settings) -> list[Bucket]:
    prefix = settings.rate_limit_key_prefix
    if scope == "webhook":
        channel = request.match_info.get("channelId", "")
        return [
            Bucket(f"{prefix}:webhook:{_digest(channel)}", settings.rate_limit_webhook_per_minute)
        ]
    ip = client_ip(request, settings.trusted_proxy_hops)
    if scope == "auth":
        limit = settings.rate_limit_auth_per_minute
        buckets = [Bucket(f"{prefix}:auth:ip:{_digest(ip)}", limit)]
        # aiohttp keeps the bytes read here, so the handler's `request.json()` sees them too.
        email = _email_in(await request.read())
        if email:
            buckets.append(Bucket(f"{prefix}:auth:email:{_digest(email)}", limit))
        return buckets
    user_id = _user_of(request, settings.jwt_secret)
    who = f"user:{user_id}" if user_id else f"ip:{_digest(ip)}"
    return [Bucket(f"{prefix}:api:{who}", settings.rate_limit_api_per_minute)]


def _user_of(request: web.Request, secret: str) -> str | None:
    """The bearer token's user id, from its signature alone (no database): enough to pick a
    counter. A forged or expired token is counted against the caller's IP instead."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        return read_access_token(token.strip(), secret).user_id
    except Unauthorized:
        return None


class _FailOpen:
    """Remembers when we last warned that Redis is unreachable."""

    last_warning = 0.0

    @classmethod
    def warn(cls, exc: BaseException) -> None:
        now = time.monotonic()
        if now - cls.last_warning >= WARN_EVERY_SECONDS:
            cls.last_warning = now
            log.warning("rate limits not enforced: Redis unavailable (%s)", exc or type(exc))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LIMITER = web.AppKey("rate_limiter", RateLimiter)


async def rate_limiter_ctx(app: web.Application) -> AsyncIterator[None]:
    """A cleanup_ctx entry, after the one that opens the app's Redis client."""
    app[LIMITER] = RateLimiter(app[keys.REDIS], app[keys.SETTINGS].rate_limit_window_seconds)
    yield


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware, so error responses (400, 404, ...) carry the headers too."""
    settings = request.app[keys.SETTINGS]
    limiter = request.app.get(LIMITER)
    scope = scope_of(request) if settings.rate_limit_enabled and limiter else None
    if scope is None or limiter is None:
        return await handler(request)
    try:
        buckets = await buckets_for(request, scope, settings)
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "Request body is too large")
    decision: Decision | None = None
    try:
        decision = await limiter.hit(buckets)
    except (RedisError, OSError, TimeoutError) as exc:
        _FailOpen.warn(exc)
    if decision is None:
        return await handler(request)
    if not decision.allowed:
        return _refused(scope, decision)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects pass the error middleware as exceptions
        exc.headers.update(decision.headers())
        raise
    if not response.prepared:
        response.headers.update(decision.headers())
    return response


def _refused(scope: str, decision: Decision) -> web.Response:
    retry = decision.reset_seconds
    details: dict[str, Any] = {"scope": scope, "limit": decision.limit, "retryAfter": retry}
    return error_response(
        429,
        f"Too many requests; try again in {retry} second{'s' if retry != 1 else ''}",
        "RATE_LIMITED",
        details,
        headers={**decision.headers(), "Retry-After": str(retry)},
    )
