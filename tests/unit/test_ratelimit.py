"""Who a request is counted against: the client address behind proxies, and the email."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from web.ratelimit import Decision, _email_in, client_ip

PEER = "192.0.2.1"


def _request(xff: str | None = None) -> web.Request:
    headers = {"X-Forwarded-For": xff} if xff is not None else {}
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (PEER, 40000) if name == "peername" else default
    )
    return make_mocked_request("GET", "/auth/me", headers=headers, transport=transport)


def test_without_trusted_proxies_the_forwarded_header_is_ignored() -> None:
    assert client_ip(_request("203.0.113.9"), trusted_hops=0) == PEER


@pytest.mark.parametrize(
    ("xff", "hops", "expected"),
    [
        # nginx appends the address it saw: the right-most entry is the real client.
        ("198.51.100.7", 1, "198.51.100.7"),
        # Whatever the client wrote itself stays to the left and is not believed.
        ("6.6.6.6, 198.51.100.7", 1, "198.51.100.7"),
        ("6.6.6.6, 198.51.100.7, 10.0.0.2", 2, "198.51.100.7"),
        ("198.51.100.7", 3, "198.51.100.7"),
    ],
)
def test_with_trusted_proxies_the_entry_they_appended_is_the_client(
    xff: str, hops: int, expected: str
) -> None:
    assert client_ip(_request(xff), trusted_hops=hops) == expected


def test_with_a_trusted_proxy_but_no_header_the_peer_is_the_client() -> None:
    assert client_ip(_request(), trusted_hops=1) == PEER


def test_the_email_is_read_from_a_json_body_in_one_spelling() -> None:
    assert _email_in(json.dumps({"email": "  Ada@Example.COM "}).encode()) == "ada@example.com"


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'{"email": 42}', b'{"email": "  "}', b'{"token": "t"}'],
)
def test_bodies_without_an_email_give_none(body: bytes) -> None:
    assert _email_in(body) is None


def test_hostile_nesting_is_not_an_email_and_not_a_crash() -> None:
    assert _email_in(b"[" * 100_000 + b"]" * 100_000) is None


def test_headers_never_show_a_negative_remaining() -> None:
    decision = Decision(allowed=False, limit=5, remaining=-1, reset_seconds=12)
    assert decision.headers() == {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "12",
    }
