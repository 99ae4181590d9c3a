"""Rate limits, against a second web app with low limits (the suite's own app never binds).

That app trusts one proxy hop, so tests speak from distinct client addresses with
`X-Forwarded-For`, as nginx in docker-compose.yml does for real clients.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from beanie import init_beanie
from pymongo import AsyncMongoClient

from inbox import db
from inbox.config import Settings
from inbox.registry import ALL_DOCUMENTS
from tests.integration.conftest import Api, signup
from web.app import create_app

AUTH, API, WEBHOOK = 3, 5, 4
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture(scope="session")
async def mongo(settings: Settings) -> AsyncIterator[AsyncMongoClient]:
    client = await db.connect(settings)
    yield client
    await client.close()


@asynccontextmanager
async def running(
    settings: Settings, mongo: AsyncMongoClient, **changes: Any
) -> AsyncIterator[str]:
    app = create_app(dataclasses.replace(settings, **changes))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
        # Beanie is bound process-wide to the last client opened, and this app has just closed
        # its own: bind the documents to a client that outlives every test again.
        await init_beanie(database=mongo[settings.mongodb_db], document_models=ALL_DOCUMENTS)


def limited(settings: Settings, **more: Any) -> dict[str, Any]:
    return {
        "rate_limit_auth_per_minute": AUTH,
        "rate_limit_api_per_minute": API,
        "rate_limit_webhook_per_minute": WEBHOOK,
        # Fresh counters for every app, whatever else shares this Redis.
        "rate_limit_key_prefix": f"rl-{uuid.uuid4().hex}",
        "trusted_proxy_hops": 1,
        **more,
    }


@pytest.fixture(scope="module")
async def low(settings: Settings, mongo: AsyncMongoClient) -> AsyncIterator[str]:
    async with running(settings, mongo, **limited(settings)) as url:
        yield url


def new_ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


async def as_(api: Api, base: str) -> Api:
    """The same user, calling the low-limit app (same database and JWT secret)."""
    return Api(base, api.http, token=api.token, user=api.user, refresh_token=api.refresh_token)


async def login(
    http: aiohttp.ClientSession, base: str, email: str, ip: str
) -> tuple[int, Any, Any]:
    return await Api(base, http).post(
        "/auth/login",
        {"email": email, "password": "wrong-password"},
        headers={"X-Forwarded-For": ip},
    )


async def test_every_counted_response_carries_the_rate_limit_headers(admin: Api, low: str) -> None:
    me = await as_(admin, low)
    status, _, headers = await me.get("/auth/me")
    assert status == 200
    assert headers["X-RateLimit-Limit"] == str(API)
    assert headers["X-RateLimit-Remaining"] == str(API - 1)
    assert 55 <= int(headers["X-RateLimit-Reset"]) <= 60  # seconds from now, not an epoch
    status, body, headers = await me.get(f"/orgs/{me.org_id}/tickets/nope")
    assert status == 404 and body["code"] == "NOT_FOUND"
    assert headers["X-RateLimit-Remaining"] == str(API - 2)


async def test_api_calls_past_the_limit_get_429_with_retry_after_and_the_error_shape(
    admin: Api, low: str
) -> None:
    me = await as_(admin, low)
    remaining = []
    for _ in range(API):
        status, _, headers = await me.get(f"/orgs/{me.org_id}")
        assert status == 200
        remaining.append(int(headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(API - 1, -1, -1))

    status, body, headers = await me.get(f"/orgs/{me.org_id}")
    assert status == 429
    assert body["statusCode"] == 429 and body["error"] == "Too Many Requests"
    assert body["code"] == "RATE_LIMITED"
    assert body["details"]["scope"] == "api" and body["details"]["limit"] == API
    retry = int(headers["Retry-After"])
    assert 1 <= retry <= 60 and body["details"]["retryAfter"] == retry
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Reset"] == str(retry)


async def test_the_api_limit_is_per_user_not_per_address(
    admin: Api, low: str, web_url: str, http: aiohttp.ClientSession
) -> None:
    first = await as_(admin, low)
    second = await as_(await signup(web_url, http, org="Other"), low)
    for _ in range(API):
        await first.get("/auth/me")
    assert (await first.get("/auth/me"))[0] == 429
    status, _, headers = await second.get("/auth/me")
    assert status == 200 and headers["X-RateLimit-Remaining"] == str(API - 1)


async def test_calls_without_a_valid_token_count_against_the_address(
    http: aiohttp.ClientSession, low: str, settings: Settings
) -> None:
    anonymous = Api(low, http)
    ip = new_ip()
    for _ in range(API):
        status, body, _ = await anonymous.get("/auth/me", headers={"X-Forwarded-For": ip})
        assert status == 401
    status, body, _ = await anonymous.get("/auth/me", headers={"X-Forwarded-For": ip})
    assert status == 429 and body["code"] == "RATE_LIMITED"
    # A forged token does not buy a fresh counter: it still counts against the address.
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    status, _, _ = await anonymous.get("/auth/me", token=forged, headers={"X-Forwarded-For": ip})
    assert status == 429
    status, _, _ = await anonymous.get("/auth/me", headers={"X-Forwarded-For": new_ip()})
    assert status == 401


async def test_authentication_is_limited_per_address(http: aiohttp.ClientSession, low: str) -> None:
    ip = new_ip()
    for i in range(AUTH):
        status, body, headers = await login(
            http, low, f"who-{i}-{uuid.uuid4().hex}@example.com", ip
        )
        # The handler still reads the body the limiter peeked at.
        assert status == 401 and body["code"] == "INVALID_CREDENTIALS"
        assert headers["X-RateLimit-Limit"] == str(AUTH)
    status, body, headers = await login(http, low, "someone-else@example.com", ip)
    assert status == 429 and body["details"]["scope"] == "auth"
    assert int(headers["Retry-After"]) >= 1
    # Signing up from the same address is refused too.
    status, _, _ = await Api(low, http).post(
        "/auth/signup",
        {"orgName": "X", "name": "X", "email": "x@example.com", "password": "long-enough"},
        headers={"X-Forwarded-For": ip},
    )
    assert status == 429


async def test_authentication_is_limited_per_email_across_addresses(
    http: aiohttp.ClientSession, low: str
) -> None:
    email = f"target-{uuid.uuid4().hex}@example.com"
    for _ in range(AUTH):
        assert (await login(http, low, email, new_ip()))[0] == 401
    status, body, _ = await login(http, low, email.upper(), new_ip())
    assert status == 429 and body["code"] == "RATE_LIMITED"
    # Another account from a fresh address is not affected.
    assert (await login(http, low, f"other-{uuid.uuid4().hex}@example.com", new_ip()))[0] == 401


async def test_a_refused_attempt_does_not_use_up_the_other_counter(
    http: aiohttp.ClientSession, low: str
) -> None:
    """Refused by the address' counter, the attempt is not charged to the email's."""
    ip = new_ip()
    for i in range(AUTH):
        await login(http, low, f"burn-{i}-{uuid.uuid4().hex}@example.com", ip)
    email = f"victim-{uuid.uuid4().hex}@example.com"
    for _ in range(AUTH):
        assert (await login(http, low, email, ip))[0] == 429
    status, _, headers = await login(http, low, email, new_ip())
    assert status == 401 and headers["X-RateLimit-Remaining"] == str(AUTH - 1)


async def test_refresh_and_accept_invite_count_as_authentication(
    http: aiohttp.ClientSession, low: str
) -> None:
    ip = new_ip()
    anonymous = Api(low, http)
    for _ in range(AUTH - 1):
        status, _, _ = await anonymous.post(
            "/auth/refresh", {"refreshToken": "nope"}, headers={"X-Forwarded-For": ip}
        )
        assert status == 401
    status, _, _ = await anonymous.post(
        "/auth/accept-invite",
        {"token": "nope", "name": "N", "password": "long-enough"},
        headers={"X-Forwarded-For": ip},
    )
    assert status == 404
    status, _, _ = await anonymous.post(
        "/auth/refresh", {"refreshToken": "nope"}, headers={"X-Forwarded-For": ip}
    )
    assert status == 429


async def test_webhooks_are_limited_per_channel(admin: Api, low: str) -> None:
    status, channel, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "MOCK", "name": "Limited", "config": {}}
    )
    assert status == 201
    hook = await as_(admin, low)
    sent = []
    for i in range(WEBHOOK):
        status, _, headers = await hook.webhook(
            channel["id"], {"messages": [{"id": f"m{i}", "from": "c1", "text": "hi"}]}, None
        )
        sent.append(status)
        assert headers["X-RateLimit-Limit"] == str(WEBHOOK)
    assert sent == [200] * WEBHOOK
    status, body, headers = await hook.webhook(channel["id"], {"messages": []}, None)
    assert status == 429 and body["details"]["scope"] == "webhook"
    assert "Retry-After" in headers
    # Another channel has its own counter.
    status, _, headers = await hook.webhook(uuid.uuid4().hex, {"messages": []}, None)
    assert status == 404 and headers["X-RateLimit-Remaining"] == str(WEBHOOK - 1)


async def test_health_docs_and_the_spec_are_never_counted(
    http: aiohttp.ClientSession, low: str
) -> None:
    ip = {"X-Forwarded-For": new_ip()}
    for _ in range(API + 2):
        for path in ("/health", "/openapi.json", "/docs", "/docs/assets/swagger-ui.css"):
            async with http.get(low + path, headers=ip) as resp:
                await resp.read()
                assert resp.status in (200, 503), path  # health: no worker runs for this app
                assert not any(h in resp.headers for h in RATE_HEADERS), path


async def test_the_window_slides_so_calls_are_allowed_again_after_retry_after(
    admin: Api, settings: Settings, mongo: AsyncMongoClient
) -> None:
    async with running(settings, mongo, **limited(settings, rate_limit_window_seconds=1.5)) as url:
        me = await as_(admin, url)
        for _ in range(API):
            assert (await me.get("/auth/me"))[0] == 200
        status, _, headers = await me.get("/auth/me")
        assert status == 429
        await asyncio.sleep(int(headers["Retry-After"]))
        status, _, headers = await me.get("/auth/me")
        assert status == 200


async def test_limits_can_be_switched_off(
    admin: Api, settings: Settings, mongo: AsyncMongoClient
) -> None:
    async with running(settings, mongo, **limited(settings, rate_limit_enabled=False)) as url:
        me = await as_(admin, url)
        for _ in range(API + 1):
            status, _, headers = await me.get("/auth/me")
            assert status == 200
        assert "X-RateLimit-Limit" not in headers


async def test_when_redis_is_down_requests_go_through_uncounted(
    admin: Api, settings: Settings, mongo: AsyncMongoClient
) -> None:
    # Nothing listens on port 1: every Redis call fails at once.
    async with running(
        settings, mongo, **limited(settings, redis_url="redis://127.0.0.1:1/0")
    ) as url:
        me = await as_(admin, url)
        for _ in range(API + 1):
            status, body, headers = await me.get("/auth/me")
            assert status == 200, body
        assert "X-RateLimit-Limit" not in headers


async def test_concurrent_checks_are_answered_as_if_made_one_by_one(settings: Settings) -> None:
    # Checks that arrive together share one Redis script call (the limiter coalesces them):
    # each is still counted once, in arrival order, and only against its own buckets.
    from redis.asyncio import Redis

    from web.ratelimit import Bucket, RateLimiter

    prefix = f"rl-{uuid.uuid4().hex}"
    shared, other = Bucket(f"{prefix}:shared", 5), Bucket(f"{prefix}:other", 2)
    redis = Redis.from_url(settings.redis_url)
    try:
        limiter = RateLimiter(redis, window_seconds=60)
        alone = [limiter.hit([shared]) for _ in range(8)]
        both = [limiter.hit([other, Bucket(f"{prefix}:roomy", 100)]) for _ in range(3)]
        decisions = await asyncio.gather(*alone, *both)
        assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
        assert all(d.allowed and d.limit == 5 for d in decisions[:5])
        assert not any(d.allowed for d in decisions[5:8])
        assert all(d.limit == 5 and d.reset_seconds >= 1 for d in decisions[5:8])
        # The tightest of two buckets answers; a refused request is recorded in neither.
        assert [(d.allowed, d.limit, d.remaining) for d in decisions[8:]] == [
            (True, 2, 1),
            (True, 2, 0),
            (False, 2, 0),
        ]
        assert await redis.zcard(shared.key) == 5
        assert await redis.zcard(f"{prefix}:roomy") == 2
        # And a check on its own afterwards sees them all.
        assert not (await limiter.hit([shared])).allowed
    finally:
        await redis.delete(shared.key, other.key, f"{prefix}:roomy")
        await redis.aclose()


async def test_when_redis_hangs_requests_go_through_uncounted_after_the_timeout(
    admin: Api, settings: Settings, mongo: AsyncMongoClient
) -> None:
    # A server that takes the connection and never answers: each check gives up after
    # REDIS_TIMEOUT_SECONDS and the request is served, as when Redis is down.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with running(
            settings, mongo, **limited(settings, redis_url=f"redis://127.0.0.1:{port}/0")
        ) as url:
            me = await as_(admin, url)
            for _ in range(2):
                status, body, headers = await asyncio.wait_for(me.get("/auth/me"), 10)
                assert status == 200, body
                assert "X-RateLimit-Limit" not in headers
    finally:
        server.close()
