"""The campaign send throttle: per-channel pacing that every worker shares (sending.py acquires
a slot before each send)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis


class Throttle:
    """Per-channel pacing shared by every worker: a Redis reservation (GCRA) clock.

    Each send reserves the next free slot of its channel (`1/rate` seconds apart) in one
    atomic script and sleeps until it; slots are reserved in arrival order, so concurrent
    senders on any number of workers never exceed the rate together."""

    _SCRIPT = """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    local interval = tonumber(ARGV[1])
    local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
    if tat < now then tat = now end
    local ttl_ms = math.ceil((tat + interval - now) / 1000) + 1000
    redis.call('SET', KEYS[1], string.format('%d', tat + interval), 'PX', ttl_ms)
    return tat - now
    """

    def __init__(self, redis: Redis, rate_per_second: float):
        self.rate = rate_per_second
        self._script = redis.register_script(self._SCRIPT)

    async def acquire(self, channel_id: str, rate: float | None = None) -> float:
        """Wait for this channel's next send slot (at `rate` per second, else the
        throttle's own); returns the seconds waited."""
        rate = self.rate if rate is None else rate
        if rate <= 0:
            return 0.0
        interval_us = max(1, int(1_000_000 / rate))
        key = f"inbox:campaign-rate:{channel_id}"
        wait_us = int(await self._script(keys=[key], args=[interval_us]))
        if wait_us > 0:
            await asyncio.sleep(wait_us / 1_000_000)
        return wait_us / 1_000_000
