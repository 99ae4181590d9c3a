"""Calls that arrive while a round trip is in flight go together in the next one."""

from __future__ import annotations

import asyncio

import pytest

from inbox.coalescing import Coalescer


class Server:
    """Answers each item doubled, one "round trip" per flush; refuses negative items."""

    def __init__(self) -> None:
        self.flushes: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def flush(self, items: list[int]) -> list[int | BaseException]:
        self.flushes.append(items)
        await self.gate.wait()
        return [ValueError(f"bad {i}") if i < 0 else 2 * i for i in items]


async def test_callers_waiting_on_one_flush_share_the_next() -> None:
    server = Server()
    server.gate.clear()
    coalescer = Coalescer(server.flush)
    first = asyncio.ensure_future(coalescer.submit(1))
    await asyncio.sleep(0)  # the first flush is in flight, holding item 1
    rest = [asyncio.ensure_future(coalescer.submit(i)) for i in (2, 3, 4)]
    await asyncio.sleep(0)
    server.gate.set()
    assert await first == 2
    assert await asyncio.gather(*rest) == [4, 6, 8]
    assert server.flushes == [[1], [2, 3, 4]]


async def test_an_idle_coalescer_sends_at_once() -> None:
    server = Server()
    coalescer = Coalescer(server.flush)
    assert await coalescer.submit(5) == 10
    assert await coalescer.submit(6) == 12
    assert server.flushes == [[5], [6]]


async def test_one_refused_item_fails_only_its_own_caller() -> None:
    server = Server()
    coalescer = Coalescer(server.flush)
    results = await asyncio.gather(
        coalescer.submit(1), coalescer.submit(-1), coalescer.submit(2), return_exceptions=True
    )
    assert results[0] == 2 and results[2] == 4
    assert isinstance(results[1], ValueError)


async def test_a_failed_flush_fails_its_callers_and_the_next_flush_runs() -> None:
    calls = 0

    async def flaky(items: list[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("server went away")
        return list(items)

    coalescer = Coalescer(flaky)
    with pytest.raises(ConnectionError):
        await coalescer.submit(1)
    assert await coalescer.submit(2) == 2


async def test_a_flush_answering_the_wrong_number_of_results_fails_its_callers() -> None:
    async def short(items: list[int]) -> list[int | BaseException]:
        return items[:-1]

    coalescer = Coalescer(short)
    results = await asyncio.gather(coalescer.submit(1), coalescer.submit(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_a_caller_that_gives_up_does_not_disturb_the_others() -> None:
    server = Server()
    server.gate.clear()
    coalescer = Coalescer(server.flush)
    gone = asyncio.ensure_future(coalescer.submit(1))
    stays = asyncio.ensure_future(coalescer.submit(2))
    await asyncio.sleep(0)
    gone.cancel()
    server.gate.set()
    assert await stays == 4
    assert gone.cancelled()


async def test_flushes_carry_at_most_max_batch_items() -> None:
    server = Server()
    server.gate.clear()
    coalescer = Coalescer(server.flush, max_batch=2)
    calls = [asyncio.ensure_future(coalescer.submit(i)) for i in range(5)]
    await asyncio.sleep(0)
    server.gate.set()
    assert await asyncio.gather(*calls) == [0, 2, 4, 6, 8]
    assert server.flushes == [[0, 1], [2, 3], [4]]
