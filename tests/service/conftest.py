"""The service tier: domain services called directly, against MongoDB only.

No Kafka, no Redis, no web app, no worker process: the ports the services talk through are
the fakes of `tests/fakes/ports.py`, handed in as `deps`. The MongoDB-protocol server is the
session's one (`mongodb_uri` in tests/conftest.py: TEST_MONGODB_URI, else `secantusd-py`
alone), shared with the integration tests when both run in one session.

Every test makes its own organisation (`org`, with an `agent` and a `channel`), so tests
share no data and run in any order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from connectors.base import ChannelType
from inbox.accounts.documents import Organisation, Role, User
from inbox.channels.documents import Channel
from inbox.config import Settings
from inbox.ports import Deps
from inbox.storage import LocalDiskStorage
from tests.fakes.ports import FakeEventPublisher, FakeStream

# Nothing listens on port 1: anything in this tier that reached for Kafka or Redis would be
# refused at once instead of hanging.
NO_KAFKA = "127.0.0.1:1"
NO_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(scope="session")
def settings(mongodb_uri: str, settings_for: Callable[..., Settings]) -> Settings:
    """The session's settings on the MongoDB server alone. Sweepers here count only what a
    test made stale on purpose (an hour old), never another test's fresh work."""
    return settings_for(
        mongodb_uri=mongodb_uri,
        kafka_bootstrap=NO_KAFKA,
        redis_url=NO_REDIS,
        redelivery_after_seconds=3600.0,
    )


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[None]:
    """Beanie bound to the session's database (the same name the integration tier uses)."""
    from inbox import db as inbox_db

    client = await inbox_db.connect(settings)
    yield
    await client.drop_database(settings.mongodb_db)
    await client.close()


@pytest.fixture
def events() -> FakeEventPublisher:
    return FakeEventPublisher()


@pytest.fixture
def stream() -> FakeStream:
    return FakeStream()


@pytest.fixture
async def deps(
    db: None, settings: Settings, events: FakeEventPublisher, stream: FakeStream
) -> AsyncIterator[Deps]:
    async with aiohttp.ClientSession() as http:
        yield Deps(
            settings=settings,
            events=events,
            stream=stream,
            http=http,
            media=LocalDiskStorage(settings.media_dir),
        )


@pytest.fixture
async def org(db: None) -> Organisation:
    org = Organisation(name="Acme Shoes")
    await org.insert()
    return org


@pytest.fixture
async def agent(org: Organisation) -> User:
    user = User(
        org_id=org.id,
        name="Ada Agent",
        email=f"ada-{org.id}@example.com",
        password_hash="not-a-real-hash",
        role=Role.AGENT,
    )
    await user.insert()
    return user


@pytest.fixture
async def channel(org: Organisation) -> Channel:
    """A WhatsApp channel of the org (its config is never used: nothing is sent here)."""
    channel = Channel(org_id=org.id, type=ChannelType.WHATSAPP, name="WhatsApp")
    await channel.insert()
    return channel
