"""Outbound webhooks without servers: validation, the body and signature, the retry schedule,
and the sender's per-subscription bounds."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from inbox import events
from inbox.config import Settings
from inbox.errors import ValidationFailed
from inbox.hooks import service as hooks
from inbox.hooks.documents import OutboundWebhook
from streams.hooks import PER_WEBHOOK, Sender, poll_interval


def test_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"id":"1-0","event":"order.created"}'
    expected = hmac.new(b"whsec_key", body, hashlib.sha256).hexdigest()
    assert hooks.sign("whsec_key", body) == f"sha256={expected}"


@pytest.mark.parametrize(
    "url", ["https://shop.example.invalid/hooks", "http://127.0.0.1:8081/x?token=1", "HTTPS://A.B/"]
)
def test_http_and_https_urls_are_accepted_as_given(url: str) -> None:
    assert hooks.check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.invalid/x",
        "javascript:alert(1)",
        "hooks.example.invalid/hooks",
        "https://",
        "http://[::1",
        "http://host:notaport/",
        "https://exa mple.com/",
        "file:///etc/passwd",
    ],
)
def test_other_urls_are_a_400_on_the_url_field(url: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        hooks.check_url(url)
    assert "url" in err.value.details


def test_unknown_event_names_are_a_400_naming_each_of_them() -> None:
    with pytest.raises(ValidationFailed) as err:
        hooks.check_events(["order.created", "order.exploded", "nope"])
    assert err.value.code == "UNKNOWN_EVENTS"
    assert "order.exploded" in err.value.details["events"]
    assert "nope" in err.value.details["events"]
    assert "order.created" not in err.value.details["events"]


def test_a_star_subscribes_to_everything_and_duplicates_collapse() -> None:
    assert hooks.check_events(["order.created", "*"]) == ["*"]
    assert hooks.check_events(["order.created", "order.created", "message.sent"]) == [
        "order.created",
        "message.sent",
    ]


def test_private_and_internal_events_are_not_subscribable() -> None:
    names = hooks.subscribable_events()
    assert events.NOTIFICATION_CREATED not in names
    assert events.RESYNC_REQUIRED not in names
    assert events.WEBHOOK_TEST not in names
    for name in ("order.created", "customer.registered", "message.sent", "campaign.started"):
        assert name in names


def test_a_subscription_matches_its_events_or_everything_with_a_star() -> None:
    # model_construct: a Beanie document cannot be built before Beanie is bound to a database.
    some = OutboundWebhook.model_construct(events=["order.created"], is_active=True)
    every = OutboundWebhook.model_construct(events=["*"], is_active=True)
    off = OutboundWebhook.model_construct(events=["*"], is_active=False)
    assert hooks.wants(some, "order.created") and not hooks.wants(some, "order.updated")
    assert hooks.wants(every, "ticket.created")
    assert not hooks.wants(every, events.NOTIFICATION_CREATED)
    assert not hooks.wants(off, "order.created")


def test_the_body_carries_the_event_id_name_time_org_and_data() -> None:
    at = hooks.event_time("1764585000123-4")
    assert at == datetime(2025, 12, 1, 10, 30, 0, 123000, tzinfo=UTC)
    body = json.loads(hooks.payload("1764585000123-4", "order.created", "org-1", at, {"a": 1}))
    assert body == {
        "id": "1764585000123-4",
        "event": "order.created",
        "timestamp": "2025-12-01T10:30:00.123Z",
        "orgId": "org-1",
        "data": {"a": 1},
    }


def test_retries_back_off_exponentially_from_the_base_and_are_capped_at_an_hour() -> None:
    settings = Settings(webhook_retry_base_seconds=10.0)
    assert [hooks.backoff_seconds(settings, n) for n in (1, 2, 3, 4)] == [10, 30, 90, 270]
    assert hooks.backoff_seconds(settings, 30) == 3600
    fast = Settings(webhook_retry_base_seconds=0.2)
    assert hooks.backoff_seconds(fast, 1) == pytest.approx(0.2)
    assert poll_interval(fast) == pytest.approx(0.2) and poll_interval(settings) == 1.0


def test_retrying_for_24_hours_takes_a_few_dozen_attempts() -> None:
    settings = Settings()
    elapsed, attempts = 0.0, 0
    while elapsed <= settings.webhook_retry_window_seconds:
        attempts += 1
        elapsed += hooks.backoff_seconds(settings, attempts)
    assert 20 <= attempts <= 40


def test_one_subscription_never_takes_more_than_its_share_of_send_slots() -> None:
    sender = Sender(Settings(webhook_concurrency=10))
    assert all(sender.reserve("slow") for _ in range(PER_WEBHOOK))
    assert not sender.reserve("slow")
    assert sender.reserve("other")
    sender.release("slow")
    assert sender.reserve("slow")
    assert sender.free() == 10 - PER_WEBHOOK - 1
