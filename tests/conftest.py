"""Shared fixtures: real servers, started once per test session.

MongoDB protocol (secantusd-py) and Kafka protocol (Tansu) come from their wheels; Redis is the
machine's own when one answers on 127.0.0.1:6379, else valkey-server from its wheel. Each
session uses its own database name and topic prefix, so runs never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from app.embedded import EmbeddedServers, ServiceURLs, redis_answers
from inbox.config import Settings
from tests.fakes.graph import FakeGraph
from tests.integration.conftest import Api, WorkerProcess, signup, wait_healthy
from web.app import create_app

MACHINE_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceURLs]:
    data_dir: Path = tmp_path_factory.mktemp("servers")
    servers = EmbeddedServers(
        data_dir,
        mongodb_uri=os.environ.get("TEST_MONGODB_URI") or None,
        kafka_bootstrap=os.environ.get("TEST_KAFKA_BOOTSTRAP") or None,
        redis_url=MACHINE_REDIS if redis_answers(MACHINE_REDIS) else None,
    )
    urls = servers.start()
    yield urls
    servers.stop()


@pytest.fixture(scope="session")
def settings(service_urls: ServiceURLs, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings.from_env(
        mongodb_uri=service_urls.mongodb_uri,
        mongodb_db=f"inbox_test_{run}",
        kafka_bootstrap=service_urls.kafka_bootstrap,
        redis_url=service_urls.redis_url,
        topic_prefix=f"test{run}",
        kafka_group_id=f"inbox-worker-{run}",
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
        rate_limit_key_prefix=f"ratelimit-test{run}",
        # Outbound webhook retries after 0.2 s, 0.6 s, 1.8 s ... instead of 10 s, 30 s ...
        webhook_retry_base_seconds=0.2,
        # Automation `delayMinutes` count seconds here (and birthdays are scanned every second).
        automation_delay_unit_seconds=1.0,
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
