"""The worker's plumbing, written once: which errors are outages, retrying through them,
consuming a batch with a record-by-record fallback, and the sweeper lock.

* `TRANSIENT`: errors worth waiting out (Mongo or Redis unreachable, a timeout). Anything
  else is a bad record or a bug: retrying it would fail the same way.
* `retrying`: call a coroutine function again after a transient error, with exponential
  backoff up to a cap; a number of attempts, or until it works.
* `each_record` / `consume_batch`: process records one by one (one key's records in order,
  different keys concurrently), or a batch at once falling back to one by one when the
  batch fails, so that a poison record is skipped (and handed to `on_error`) while the
  others are processed.
* `sweeper_lock`: one worker at a time runs a periodic job. The lock holds a token of this
  acquisition, and is released only while it still holds that token: a worker whose lock
  ran out (and was taken by another) does not delete the other's lock.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pymongo.errors import ConnectionFailure
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Outages worth waiting out (the work is retried); anything else is a bad record or a bug.
TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    RedisConnectionError,
    OSError,
    asyncio.TimeoutError,
)

FIRST_DELAY = 0.25  # seconds before the first retry; doubled after each
MAX_DELAY = 5.0  # the longest wait between two attempts, by default


async def retrying(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int | None = 8,
    first_delay: float = FIRST_DELAY,
    max_delay: float = MAX_DELAY,
    what: str = "a call",
) -> T:
    """Await `fn()`, calling it again after a `TRANSIENT` error, `attempts` times at most
    (None: until it works). The waits double from `first_delay` up to `max_delay`.

    Each retry is logged at WARNING with the error's type only (messages of connection
    errors may carry addresses or credentials). The last transient error, and any other
    error at once, is raised."""
    delay = first_delay
    attempt = 1
    while True:
        try:
            return await fn()
        except TRANSIENT as exc:
            if attempts is not None and attempt >= attempts:
                raise
            log.warning(
                "%s waits for Mongo/Redis (%s); attempt %d failed, retry in %.2fs",
                what,
                type(exc).__name__,
                attempt,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
            attempt += 1


OnError = Callable[[Any, BaseException], Awaitable[None]]


async def each_record(
    records: Sequence[R],
    fn: Callable[[R], Awaitable[Any]],
    *,
    on_error: OnError | None = None,
    key: Callable[[R], Hashable] | None = None,
    concurrency: int = 8,
    attempts: int | None = 8,
    max_delay: float = MAX_DELAY,
) -> list[R]:
    """Process records one at a time: the records of one `key` in order, different keys
    concurrently (at most `concurrency` keys at once; without `key`, all in order).

    Each record is retried through outages (`retrying`). A record that fails otherwise is
    logged ("record skipped") and handed to `on_error`, and the next one goes on. Returns
    the finished records: processed, or failed for good; not those whose outage outlasted
    the retries (they are left for the sweeper)."""
    groups: dict[Hashable, list[R]] = defaultdict(list)
    for r in records:
        groups[key(r) if key is not None else None].append(r)
    # Bounded: past a handful of concurrent writers the database spends its time on write
    # conflicts and connection churn instead of work (measured with bench/webhooks.py).
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(record: R) -> bool:
        try:
            await retrying(
                lambda: fn(record), attempts=attempts, max_delay=max_delay, what="a record"
            )
            return True
        except TRANSIENT:
            log.warning("record left for the sweeper: services unavailable", exc_info=True)
            return False
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop the others
            log.exception("record skipped")
            if on_error is not None:
                try:
                    await on_error(record, exc)
                except Exception:  # noqa: BLE001
                    log.exception("could not record the failure")
            return True

    async def run(group: list[R]) -> list[R]:
        async with limit:
            return [r for r in group if await one(r)]

    results = await asyncio.gather(*(run(g) for g in groups.values()))
    return [r for finished in results for r in finished]


async def consume_batch(
    records: Sequence[R],
    process: Callable[[list[R]], Awaitable[Any]],
    *,
    process_one: Callable[[R], Awaitable[Any]] | None = None,
    on_error: OnError | None = None,
    key: Callable[[R], Hashable] | None = None,
    concurrency: int = 8,
    attempts: int | None = 8,
    max_delay: float = MAX_DELAY,
    what: str = "records",
) -> list[R]:
    """Process `records` together with `process(records)`, retried through outages; when
    that fails for another reason, process them one by one (`each_record`, with
    `process_one`, by default `process([record])`) so that only the bad records are
    skipped and handed to `on_error`.

    Returns the finished records; none when an outage outlasted the retries of the batch
    (they are left for the sweeper)."""
    batch = list(records)
    if not batch:
        return []
    try:
        await retrying(
            lambda: process(batch),
            attempts=attempts,
            max_delay=max_delay,
            what=f"a batch of {len(batch)} {what}",
        )
        return batch
    except TRANSIENT:
        log.warning("%d %s left for the sweeper: services unavailable", len(batch), what)
        return []
    except Exception:  # noqa: BLE001 - find the bad record by processing them one by one
        log.exception("a batch of %d %s failed; applying them one by one", len(batch), what)

    async def single(record: R) -> Any:
        return await process([record])

    return await each_record(
        batch,
        process_one or single,
        on_error=on_error,
        key=key,
        concurrency=concurrency,
        attempts=attempts,
        max_delay=max_delay,
    )


def parse_all(batch: Iterable[Any], model: Any) -> list[Any]:
    """The batch's values read as `model`; unreadable ones are logged and skipped."""
    out = []
    for value in batch:
        try:
            out.append(model.model_validate(value))
        except Exception as exc:  # noqa: BLE001 - a record we cannot read must not stop the stream
            log.error("skipping unreadable %s record: %r", model.__name__, exc)
    return out


# Deletes the lock only while it still holds this acquisition's token.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


@asynccontextmanager
async def sweeper_lock(redis: Redis, key: str, owner: str, ttl: int) -> AsyncIterator[bool]:
    """Take `key` for `ttl` seconds if no one holds it; yields whether we got it.

    The lock's value is `owner` plus a random part, new for each acquisition; on leaving,
    the lock is deleted only if it still holds that value (compare-and-delete in one Lua
    script), so a lock that ran out and was taken by another worker stays theirs. Errors
    of Redis are raised to the caller (taking or releasing)."""
    token = f"{owner}:{secrets.token_hex(8)}"
    acquired = bool(await redis.set(key, token, nx=True, ex=ttl))
    try:
        yield acquired
    finally:
        if acquired:
            await redis.eval(_RELEASE, 1, key, token)
