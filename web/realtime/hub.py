"""Fan-out of org events to this process's websockets.

One reader per web process follows every org that has a connected client (one XREAD over
all of them) and copies each event into the subscribers' queues, so a thousand agents of one
org cost one Redis read, not a thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from adapters.event_log import RedisEventLog
from inbox.events import OrgEvent

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscriber:
    org_id: str
    queue: asyncio.Queue[OrgEvent] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))
    overflowed: bool = False


class Hub:
    def __init__(self, event_log: RedisEventLog, block_ms: int = 250):
        self.log = event_log
        self.block_ms = block_ms
        self.subscribers: dict[str, set[Subscriber]] = {}
        self.cursors: dict[str, str] = {}
        self._wake = asyncio.Event()

    async def subscribe(self, org_id: str) -> Subscriber:
        sub = Subscriber(org_id)
        if org_id not in self.cursors:
            # Start after the newest event: older ones are the replay's job.
            self.cursors[org_id] = await self.log.last_id(org_id)
        self.subscribers.setdefault(org_id, set()).add(sub)
        self._wake.set()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self.subscribers.get(sub.org_id)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self.subscribers[sub.org_id]
            self.cursors.pop(sub.org_id, None)

    def push(self, org_id: str, event: OrgEvent) -> None:
        """Hand an ephemeral event (not in the log, e.g. presence) to this process's sockets."""
        for sub in list(self.subscribers.get(org_id, ())):
            # A socket too far behind for this drops it; the next update carries the full state.
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(event)

    async def run(self) -> None:
        while True:
            if not self.cursors:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                batches = await self.log.read_many(dict(self.cursors), block_ms=self.block_ms)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis blip: keep the cursors, try again
                log.warning("realtime reader: Redis unavailable, retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            for org_id, events in batches:
                if org_id not in self.cursors or not events:
                    continue
                self.cursors[org_id] = events[-1].id
                for sub in list(self.subscribers.get(org_id, ())):
                    for event in events:
                        try:
                            sub.queue.put_nowait(event)
                        except asyncio.QueueFull:
                            # A client this far behind gets told to resync instead of
                            # holding the whole process's memory hostage.
                            sub.overflowed = True
                            break
