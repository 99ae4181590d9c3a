"""The embedded servers behind `inbox up`: real wire protocols, clean stops, durable Mongo."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import MongoClient

from app.embedded import (
    EmbeddedServerError,
    EmbeddedServers,
    ServiceURLs,
    kafka_answers,
    mongo_answers,
    redis_answers,
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServers]:
    embedded = EmbeddedServers(tmp_path_factory.mktemp("embedded"))
    embedded.start()
    yield embedded
    embedded.stop()


def _urls(servers: EmbeddedServers) -> ServiceURLs:
    assert servers.urls is not None
    return servers.urls


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_mongo_server_stores_and_returns_a_document(servers: EmbeddedServers) -> None:
    with MongoClient(_urls(servers).mongodb_uri, serverSelectionTimeoutMS=5000) as client:
        collection = client.inbox_test.things
        inserted = collection.insert_one({"name": "first"}).inserted_id
        assert collection.find_one({"_id": inserted})["name"] == "first"
        # The app relies on a replica set (change streams, transactions).
        assert client.admin.command("hello").get("setName") == "secantus"


async def test_the_kafka_broker_delivers_a_produced_message_to_a_consumer_group(
    servers: EmbeddedServers,
) -> None:
    bootstrap = _urls(servers).kafka_bootstrap
    topic = f"embedded-test-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"channel:thread")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"group-{topic}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=20)
    finally:
        await consumer.stop()
    assert (message.key, message.value) == (b"channel:thread", b"hello")


def test_the_redis_server_sets_and_gets_a_key(servers: EmbeddedServers) -> None:
    client = redis.Redis.from_url(_urls(servers).redis_url)
    try:
        client.set("embedded-test", "value")
        assert client.get("embedded-test") == b"value"
    finally:
        client.close()


def test_the_readiness_probes_answer_for_running_servers_and_not_for_a_closed_port(
    servers: EmbeddedServers,
) -> None:
    urls = _urls(servers)
    assert mongo_answers(urls.mongodb_uri)
    assert kafka_answers(urls.kafka_bootstrap)
    assert redis_answers(urls.redis_url)
    assert not redis_answers("redis://127.0.0.1:1/0")
    assert not kafka_answers("127.0.0.1:1")


def test_stopping_leaves_no_process_and_mongo_data_survives_a_restart(tmp_path: Path) -> None:
    first = EmbeddedServers(tmp_path)
    urls = first.start()
    pids = first.pids
    assert set(pids) == {"mongo", "kafka", "redis"}
    try:
        with MongoClient(urls.mongodb_uri, serverSelectionTimeoutMS=5000) as client:
            client.inbox_test.kept.insert_one({"_id": "kept", "n": 1})
        redis.Redis.from_url(urls.redis_url).xadd("events:org", {"type": "kept"})
    finally:
        first.stop()

    assert not any(_alive(pid) for pid in pids.values())
    assert {"mongo", "redis", "logs"} <= {p.name for p in tmp_path.iterdir()}
    assert (tmp_path / "logs" / "mongo.log").exists()

    with EmbeddedServers(tmp_path) as again:
        with MongoClient(again.mongodb_uri, serverSelectionTimeoutMS=5000) as client:
            assert client.inbox_test.kept.find_one({"_id": "kept"}) == {"_id": "kept", "n": 1}
        client_redis = redis.Redis.from_url(again.redis_url)
        assert client_redis.xlen("events:org") == 1  # append-only file replayed
        client_redis.close()


def test_a_service_with_a_given_url_is_not_started(tmp_path: Path) -> None:
    given = EmbeddedServers(
        tmp_path,
        mongodb_uri="mongodb://db.example:27017/inbox",
        kafka_bootstrap="kafka.example:9092",
        redis_url="redis://cache.example:6379/0",
    )
    with given as urls:
        assert urls == ServiceURLs(
            "mongodb://db.example:27017/inbox", "kafka.example:9092", "redis://cache.example:6379/0"
        )
        assert given.pids == {}


def test_a_server_that_cannot_start_raises_a_readable_error_and_leaves_nothing_running(
    servers: EmbeddedServers,
) -> None:
    # A second Mongo on the same storage path is refused by the storage lock.
    clash = EmbeddedServers(
        servers.data_dir,
        kafka_bootstrap="127.0.0.1:1",
        redis_url="redis://127.0.0.1:1/0",
    )
    with pytest.raises(EmbeddedServerError, match="mongo server exited") as raised:
        clash.start()
    assert "Last lines of" in str(raised.value)
    assert clash.pids == {}
