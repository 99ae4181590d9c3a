"""The worker's plumbing (streams/runtime.py): retrying through outages, a batch that falls
back to its records, and the sweeper lock (against the machine's Redis)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from pymongo.errors import AutoReconnect
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from streams.runtime import TRANSIENT, consume_batch, each_record, retrying, sweeper_lock

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
QUICK = {"first_delay": 0.001, "max_delay": 0.004}  # backoff of milliseconds for tests


class Poison(Exception):
    """A record that can never be processed."""


class Flaky:
    """Fails with `error` the first `failures` calls, then returns "done"."""

    def __init__(self, error: BaseException, failures: int):
        self.error = error
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


# Retrying


def test_outages_of_mongo_and_redis_and_timeouts_are_transient() -> None:
    for error in (AutoReconnect("x"), RedisConnectionError("x"), OSError(), TimeoutError()):
        assert isinstance(error, TRANSIENT)
    assert not isinstance(ValueError(), TRANSIENT)


async def test_a_transient_error_is_retried_until_the_call_works() -> None:
    call = Flaky(AutoReconnect("primary stepped down"), failures=3)
    assert await retrying(call, attempts=5, **QUICK) == "done"
    assert call.calls == 4


async def test_the_backoff_gives_up_after_the_limit_and_raises_the_outage() -> None:
    call = Flaky(RedisConnectionError("connection refused"), failures=100)
    with pytest.raises(RedisConnectionError):
        await retrying(call, attempts=4, **QUICK)
    assert call.calls == 4


async def test_a_non_transient_error_is_raised_at_once() -> None:
    call = Flaky(ValueError("bad record"), failures=100)
    with pytest.raises(ValueError):
        await retrying(call, attempts=8, **QUICK)
    assert call.calls == 1


async def test_without_a_limit_the_outage_is_waited_out_however_long() -> None:
    call = Flaky(OSError("network unreachable"), failures=20)
    assert await retrying(call, attempts=None, **QUICK) == "done"
    assert call.calls == 21


async def test_the_waits_double_up_to_the_cap_and_each_retry_is_a_warning_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "redis://:hunter2@cache.internal:6379"
    call = Flaky(RedisConnectionError(f"Error connecting to {secret}"), failures=4)
    with caplog.at_level(logging.WARNING, logger="streams.runtime"):
        await retrying(call, attempts=5, what="a test call", **QUICK)
    retries = [r for r in caplog.records if r.name == "streams.runtime"]
    assert [r.levelno for r in retries] == [logging.WARNING] * 4
    assert [r.args[-1] for r in retries] == [0.001, 0.002, 0.004, 0.004]  # type: ignore[index]
    assert all("a test call" in r.getMessage() for r in retries)
    assert "ConnectionError" in retries[0].getMessage()
    assert not any("hunter2" in r.getMessage() or r.exc_info for r in retries)


# Batches


async def test_a_batch_that_works_is_processed_once_as_a_whole() -> None:
    seen: list[list[int]] = []

    async def process(batch: list[int]) -> None:
        seen.append(batch)

    assert await consume_batch([1, 2, 3], process, **_quick_batch()) == [1, 2, 3]
    assert seen == [[1, 2, 3]]


async def test_a_failed_batch_falls_back_to_records_and_one_poison_record_stops_no_other() -> None:
    processed: list[int] = []
    failed: list[tuple[int, str]] = []

    async def process(batch: list[int]) -> None:
        if 3 in batch:
            raise Poison("record 3 cannot be stored")
        processed.extend(batch)

    async def on_error(record: int, exc: BaseException) -> None:
        failed.append((record, type(exc).__name__))

    finished = await consume_batch([1, 2, 3, 4, 5], process, on_error=on_error, **_quick_batch())

    assert processed == [1, 2, 4, 5]
    assert failed == [(3, "Poison")]
    # The poison record is finished too: it failed for good and was recorded as failed.
    assert sorted(finished) == [1, 2, 3, 4, 5]


async def test_records_one_by_one_keep_their_order_within_a_key() -> None:
    order: list[str] = []

    async def one(record: str) -> None:
        await asyncio.sleep(0.001 if record.endswith("1") else 0)
        order.append(record)

    await each_record(["a1", "b1", "a2", "b2", "a3"], one, key=lambda r: r[0])

    assert [r for r in order if r.startswith("a")] == ["a1", "a2", "a3"]
    assert [r for r in order if r.startswith("b")] == ["b1", "b2"]


async def test_a_failing_on_error_does_not_stop_the_other_records() -> None:
    processed: list[int] = []

    async def one(record: int) -> None:
        if record == 1:
            raise Poison("bad")
        processed.append(record)

    async def on_error(record: int, exc: BaseException) -> None:
        raise RuntimeError("the journal is gone too")

    assert await each_record([1, 2], one, on_error=on_error) == [1, 2]
    assert processed == [2]


async def test_a_batch_whose_outage_outlasts_the_retries_is_left_unfinished() -> None:
    async def process(batch: list[int]) -> None:
        raise AutoReconnect("no primary")

    assert await consume_batch([1, 2], process, **_quick_batch()) == []


async def test_a_record_whose_outage_outlasts_the_retries_is_left_unfinished() -> None:
    async def one(record: int) -> None:
        if record == 2:
            raise AutoReconnect("no primary")

    assert await each_record([1, 2, 3], one, attempts=2) == [1, 3]


def _quick_batch() -> dict[str, float | int]:
    return {"attempts": 3, "max_delay": 0.004}


# The sweeper lock (the machine's Redis)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisConnectionError, OSError):
        await client.aclose()
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    yield client
    await client.aclose()


@pytest.fixture
async def key(redis: Redis) -> AsyncIterator[str]:
    name = f"test-stream-runtime:{uuid.uuid4().hex}:sweeper-lock"
    yield name
    await redis.delete(name)  # whatever a failed test left behind


async def test_the_sweeper_lock_is_taken_once_among_two_owners(redis: Redis, key: str) -> None:
    async with sweeper_lock(redis, key, "worker-a", ttl=20) as a_got_it:
        async with sweeper_lock(redis, key, "worker-b", ttl=20) as b_got_it:
            assert (a_got_it, b_got_it) == (True, False)
        # B, which did not get it, leaves A's lock alone.
        value = await redis.get(key)
        assert value is not None and value.decode().startswith("worker-a:")
        assert 0 < await redis.ttl(key) <= 20
    assert await redis.exists(key) == 0
    async with sweeper_lock(redis, key, "worker-b", ttl=20) as b_got_it:
        assert b_got_it


async def test_each_acquisition_holds_its_own_token(redis: Redis, key: str) -> None:
    async with sweeper_lock(redis, key, "worker-a", ttl=20):
        first = await redis.get(key)
    async with sweeper_lock(redis, key, "worker-a", ttl=20):
        second = await redis.get(key)
    assert first != second


async def test_an_owner_whose_lock_expired_and_was_taken_by_another_does_not_release_it(
    redis: Redis, key: str
) -> None:
    a = sweeper_lock(redis, key, "worker-a", ttl=1)
    assert await a.__aenter__()
    await _until_gone(redis, key)  # A's round outlasted its lock
    async with sweeper_lock(redis, key, "worker-b", ttl=20) as b_got_it:
        assert b_got_it
        b_token = await redis.get(key)
        await a.__aexit__(None, None, None)  # A's round ends after B took over
        assert await redis.get(key) == b_token
    assert await redis.exists(key) == 0


async def test_the_lock_is_released_when_the_work_fails(redis: Redis, key: str) -> None:
    with pytest.raises(Poison):
        async with sweeper_lock(redis, key, "worker-a", ttl=20) as got_it:
            assert got_it
            raise Poison("the sweep failed")
    assert await redis.exists(key) == 0


async def _until_gone(redis: Redis, key: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while await redis.exists(key):
        assert time.monotonic() < deadline, f"{key} did not expire within {timeout}s"
        await asyncio.sleep(0.05)
