"""Topic names; prefixed per deployment (`TOPIC_PREFIX`) so test runs can share a broker."""

from __future__ import annotations

from inbox.config import Settings


def inbound(settings: Settings) -> str:
    return settings.topic("inbound")


def outbound(settings: Settings) -> str:
    return settings.topic("outbound")


def events(settings: Settings) -> str:
    return settings.topic("events")


def campaign(settings: Settings) -> str:
    return settings.topic("campaign")
