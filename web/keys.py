"""Typed application keys: everything a handler may take from `request.app`."""

from __future__ import annotations

from aiohttp import web
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from adapters.event_log import RedisEventLog
from adapters.kafka import KafkaStream
from inbox.config import Settings
from inbox.ports import Deps
from web.realtime.hub import Hub
from web.realtime.presence import Presence

SETTINGS = web.AppKey("settings", Settings)
MONGO = web.AppKey("mongo", AsyncMongoClient)
REDIS = web.AppKey("redis", Redis)
STREAM = web.AppKey("stream", KafkaStream)
EVENT_LOG = web.AppKey("event_log", RedisEventLog)
DEPS = web.AppKey("deps", Deps)
HUB = web.AppKey("hub", Hub)
PRESENCE = web.AppKey("presence", Presence)
