"""Shared fixtures: real servers, started once per test session.

MongoDB protocol (secantusd-py) and Kafka protocol (Tansu) come from their wheels; Redis is the
machine's own when one answers on 127.0.0.1:6379, else valkey-server from its wheel. Each
session uses its own database name and topic prefix, so runs never see each other's data.

The MongoDB server is a fixture of its own (`mongodb_uri`): the service tier (tests/service)
needs nothing else, and `service_urls` adds Kafka and Redis beside that same server.

Tests are marked by their folder (`pytest_collection_modifyitems` below): `-m unit`,
`-m service`, `-m integration` and `-m e2e` select the same tests as the folders do.
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from app.embedded import (
    EmbeddedServers,
    ServiceURLs,
    mongo_spec,
    redis_answers,
    start_one,
    stop_process,
)
from inbox.config import Settings
from tests.fakes.graph import FakeGraph
from tests.integration.conftest import Api, WorkerProcess, signup, wait_healthy
from web.app import create_app

MACHINE_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

TIERS = ("unit", "service", "integration", "e2e")
"""Test folders, each also a marker of the same name."""


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        try:
            tier = item.path.relative_to(here).parts[0]
        except ValueError:
            continue
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def run_id() -> str:
    """This session's name for its database, topics and keys."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The MongoDB-protocol server alone: TEST_MONGODB_URI, else secantusd-py on a free port."""
    given = os.environ.get("TEST_MONGODB_URI")
    if given:
        yield given
        return
    data_dir = tmp_path_factory.mktemp("mongo-server").resolve()
    (data_dir / "mongo").mkdir()
    server = start_one(mongo_spec(data_dir), data_dir / "logs" / "mongo.log", cwd=data_dir)

    def stop() -> None:
        stop_process(server.process, server.spec.stop_grace)

    atexit.register(stop)  # a crashed session must not leave the server behind
    yield server.url
    stop()
    atexit.unregister(stop)


@pytest.fixture(scope="session")
def service_urls(
    mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceURLs]:
    data_dir: Path = tmp_path_factory.mktemp("servers")
    servers = EmbeddedServers(
        data_dir,
        mongodb_uri=mongodb_uri,
        kafka_bootstrap=os.environ.get("TEST_KAFKA_BOOTSTRAP") or None,
        redis_url=MACHINE_REDIS if redis_answers(MACHINE_REDIS) else None,
    )
    urls = servers.start()
    yield urls
    servers.stop()


@pytest.fixture(scope="session")
def settings_for(run_id: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    """Builds this session's settings for the given servers (and any overrides): every tier
    uses the same database name, so whichever binds Beanie last binds it to the same data."""

    def build(*, mongodb_uri: str, kafka_bootstrap: str, redis_url: str, **overrides: Any):
        values: dict[str, Any] = dict(
            mongodb_uri=mongodb_uri,
            mongodb_db=f"inbox_test_{run_id}",
            kafka_bootstrap=kafka_bootstrap,
            redis_url=redis_url,
            topic_prefix=f"test{run_id}",
            kafka_group_id=f"inbox-worker-{run_id}",
            topic_partitions=4,
            jwt_secret=f"test-secret-{uuid.uuid4().hex}{uuid.uuid4().hex}",
            bcrypt_rounds=4,
            redelivery_after_seconds=5.0,
            send_backoff_base_seconds=0.05,
            worker_heartbeat_seconds=1.0,
            public_url="http://testserver",
            media_dir=str(tmp_path_factory.mktemp("media")),
            # The suite signs up hundreds of orgs from 127.0.0.1: limits that never bind here;
            # tests/integration/test_rate_limits.py runs its own app with low ones.
            rate_limit_auth_per_minute=1_000_000,
            rate_limit_api_per_minute=1_000_000,
            rate_limit_webhook_per_minute=1_000_000,
            rate_limit_key_prefix=f"ratelimit-test{run_id}",
            # Outbound webhook retries after 0.2 s, 0.6 s, 1.8 s ... instead of 10 s, 30 s ...
            webhook_retry_base_seconds=0.2,
            # Automation `delayMinutes` count seconds here (and birthdays are scanned every
            # second).
            automation_delay_unit_seconds=1.0,
        )
        return Settings.from_env(**{**values, **overrides})

    return build


@pytest.fixture(scope="session")
def settings(service_urls: ServiceURLs, settings_for: Callable[..., Settings]) -> Settings:
    return settings_for(
        mongodb_uri=service_urls.mongodb_uri,
        kafka_bootstrap=service_urls.kafka_bootstrap,
        redis_url=service_urls.redis_url,
    )


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[None]:
    """Beanie bound to the session's database, for tests that call services directly."""
    from inbox import db as inbox_db

    client = await inbox_db.connect(settings)
    yield
    await client.drop_database(settings.mongodb_db)
    await client.close()


# --- the running product, shared by integration and browser tests --------------------------


@pytest.fixture(scope="session")
async def web_url(settings: Settings) -> AsyncIterator[str]:
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture(scope="session")
async def worker(
    settings: Settings, web_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WorkerProcess]:
    proc = WorkerProcess(settings, tmp_path_factory.mktemp("worker") / "worker.log")
    proc.start()
    try:
        await wait_healthy(web_url, timeout=60)
    except AssertionError:
        proc.stop()
        raise AssertionError(
            "worker never became healthy:\n" + proc.log_path.read_text()[-3000:]
        ) from None
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as g:
        yield g


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def admin(web_url: str, http: aiohttp.ClientSession) -> Api:
    return await signup(web_url, http)
