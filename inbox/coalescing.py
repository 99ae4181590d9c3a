"""Concurrent calls that each need a round trip to a server, sent together in one.

The webhook journal (one insert per request) and the rate limiter (one Redis script per
request) both sit in front of every webhook. Under load, a round trip each is most of a
request's time; a `Coalescer` makes callers that arrive while one round trip is in flight
wait for the next, which carries all of them. One flush runs at a time, so an idle server
adds no delay, and a busy one gets one command per flush instead of one per caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


class Coalescer(Generic[T, R]):
    """`submit(item)` returns `flush`'s answer for that item, or raises its exception.

    `flush` takes the items in arrival order and answers one result (or exception) per item,
    in the same order; if it raises, every caller of that flush gets the exception. A caller
    that goes away (cancelled, timed out) keeps its item in the flush but gets no answer.
    Futures belong to one event loop: use one coalescer per loop.
    """

    def __init__(self, flush: Flush[T, R], max_batch: int = 500):
        self._flush = flush
        self.max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())
        return await future

    async def _flush_all(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                results = await self._flush([item for item, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"{len(results)} results for {len(batch)} items")
            except Exception as exc:  # noqa: BLE001 - each waiting caller gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # the caller went away meanwhile
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
