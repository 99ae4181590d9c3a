"""Channels as webhook intake sees them, cached for a few seconds per process.

Every webhook POST needs its channel (org, type, secrets); reading it from the database
each time was about a quarter of the web process's work per webhook under load. Entries
live `TTL_SECONDS` and are dropped at once by this process's channel updates and deletes;
another web process sees such a change within the TTL. A signature that fails against a
cached channel is checked again against a fresh read (see `inbox.channels.intake`), so a
rotated app secret never refuses a valid delivery.
"""

from __future__ import annotations

import time

from inbox.channels.documents import Channel
from inbox.errors import NotFound

TTL_SECONDS = 5.0
_MAX_ENTRIES = 10_000


class ChannelCache:
    """One per process (`Deps.caches.channels`)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Channel]] = {}

    async def get(self, channel_id: str, *, fresh: bool = False) -> tuple[Channel, bool]:
        """The active channel and whether it came from the cache; NotFound when it is
        missing, deleted or inactive (misses are never cached)."""
        now = time.monotonic()
        hit = self._entries.get(channel_id)
        if hit is not None and not fresh and now - hit[0] < TTL_SECONDS:
            return hit[1], True
        # `_id` alone: a point lookup. (Adding `deletedAt: null` to the filter makes the
        # embedded engine scan the whole collection.)
        channel = await Channel.find_one({"_id": channel_id})
        if channel is None or channel.deleted_at is not None or not channel.is_active:
            self._entries.pop(channel_id, None)
            raise NotFound("Channel not found")
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[channel_id] = (now, channel)
        return channel, False

    def forget(self, channel_id: str) -> None:
        """Called when a channel changes or is deleted in this process."""
        self._entries.pop(channel_id, None)
