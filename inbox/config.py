"""The one settings object: every knob comes from the environment, with safe defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_GRAPH_API_BASE_URL = "https://graph.facebook.com/v21.0"


def _env(name: str, default: Any) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_db: str = "inbox"
    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Every process of one deployment must share this; `inbox up` keeps one under the data dir.
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    invite_ttl_seconds: int = 7 * 24 * 3600
    bcrypt_rounds: int = 12
    graph_api_base_url: str = DEFAULT_GRAPH_API_BASE_URL
    webhook_max_bytes: int = 10 * 1024 * 1024
    # Kafka topics are prefixed so several deployments (or test runs) can share one broker.
    topic_prefix: str = "inbox"
    topic_partitions: int = 8
    kafka_group_id: str = "inbox-worker"
    # Realtime replay window: events kept per org in its Redis stream.
    events_retention: int = 10_000
    # A webhook journal entry still unprocessed after this long is handed to the stream again.
    redelivery_after_seconds: float = 30.0
    send_max_attempts: int = 6
    send_backoff_base_seconds: float = 0.5
    worker_heartbeat_seconds: float = 5.0
    # Conversations a worker threads at once (each conversation's records stay in order).
    worker_concurrency: int = 8
    # Inbound records a worker threads together at most. A worker that is behind takes all
    # it has (up to this), so each conversation's customer and ticket are written once for
    # many of its messages; one that keeps up gets a few at a time and adds no delay.
    worker_batch_size: int = 2000
    # Campaign sends per second per channel, shared by all workers (WhatsApp's default 80/s).
    campaign_rate_per_second: float = 80.0
    # The same for EMAIL channels: SMTP relays take far more than chat platforms (set it to
    # the relay's own limit, e.g. 14 for a new Amazon SES account). 0 = unpaced.
    campaign_email_rate_per_second: float = 500.0
    # Campaign sends in flight at once per worker (different conversations).
    campaign_send_concurrency: int = 32
    public_url: str = "http://127.0.0.1:8080"
    # Uploaded media (product images), on local disk; `inbox up` puts it under its data dir.
    # Several web processes must share it (one volume), as they serve each other's uploads.
    media_dir: str = ".inbox/media"
    # Rate limits (sliding window in Redis). Limits count per window, a minute unless the
    # window is changed (tests shorten it). Auth counts per client IP and per email.
    rate_limit_enabled: bool = True
    rate_limit_auth_per_minute: int = 5
    rate_limit_api_per_minute: int = 100
    rate_limit_webhook_per_minute: int = 1000
    rate_limit_window_seconds: float = 60.0
    # Redis key prefix of the counters, so deployments (or test runs) can share one Redis.
    rate_limit_key_prefix: str = "ratelimit"
    # Reverse proxies in front of `inbox web` that append to X-Forwarded-For (nginx: 1).
    # 0 trusts no header and limits by the socket's peer address.
    trusted_proxy_hops: int = 0
    # Outbound webhooks: retry backoff base (10 s, 30 s, 1.5 min ... capped at an hour), how
    # long after the event retries go on, the timeout of one POST, and POSTs in flight per
    # worker (at most 4 of them to any one subscription).
    webhook_retry_base_seconds: float = 10.0
    webhook_retry_window_seconds: float = 24 * 3600.0
    webhook_timeout_seconds: float = 10.0
    webhook_concurrency: int = 32
    # Automation rules: the length of one unit of `delayMinutes` (tests shorten the minute),
    # also how often the birthday/anniversary scan looks for rules not yet scanned today;
    # and the timeout of a call_webhook action's POST.
    automation_delay_unit_seconds: float = 60.0
    automation_webhook_timeout_seconds: float = 5.0

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        values: dict[str, Any] = {}
        defaults = cls()
        for f in fields(cls):
            values[f.name] = _env(f.name.upper(), getattr(defaults, f.name))
        values.update(overrides)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that makes `Settings.from_env()` in a child process equal self."""
        return {f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"
