"""Meta's X-Hub-Signature-256 is an HMAC over the exact bytes received."""

from __future__ import annotations

import hashlib
import hmac
import json

from connectors.signature import sign, verify
from tests.fakes.payloads import meta_body, signed, whatsapp_text

SECRET = "app-secret-123"
# As Meta sends it: non-ASCII escaped as \u00e9, slashes escaped.
RAW = (
    b'{"object":"page","entry":[{"messaging":[{"message":{"text":"caf\\u00e9 \\/ cr\\u00e8me"}}]}]}'
)


def test_signature_is_sha256_hmac_of_the_raw_body() -> None:
    expected = hmac.new(SECRET.encode(), RAW, hashlib.sha256).hexdigest()
    assert sign(SECRET, RAW) == f"sha256={expected}"


def test_body_with_escaped_non_ascii_verifies_over_its_raw_bytes() -> None:
    assert verify(SECRET, RAW, sign(SECRET, RAW))


def test_reserialised_body_does_not_verify() -> None:
    header = sign(SECRET, RAW)
    reserialised = json.dumps(json.loads(RAW), ensure_ascii=False).encode()
    assert json.loads(reserialised) == json.loads(RAW)  # same data ...
    assert not verify(SECRET, reserialised, header)  # ... different bytes


def test_missing_or_empty_header_does_not_verify() -> None:
    assert not verify(SECRET, RAW, None)
    assert not verify(SECRET, RAW, "")


def test_wrong_secret_does_not_verify() -> None:
    assert not verify("another-secret", RAW, sign(SECRET, RAW))


def test_empty_secret_never_verifies() -> None:
    assert not verify("", RAW, sign("", RAW))


def test_sha1_header_is_not_accepted() -> None:
    sha1 = "sha1=" + hmac.new(SECRET.encode(), RAW, hashlib.sha1).hexdigest()
    assert not verify(SECRET, RAW, sha1)


def test_tampered_body_does_not_verify() -> None:
    header = sign(SECRET, RAW)
    assert not verify(SECRET, RAW.replace(b"caf", b"cof"), header)


def test_surrounding_whitespace_in_header_is_tolerated() -> None:
    assert verify(SECRET, RAW, f"  {sign(SECRET, RAW)}\n")


def test_signed_fake_payload_verifies_and_escapes_like_meta() -> None:
    payload = whatsapp_text(body="Crème brûlée / 🍮")
    body, headers = signed(payload, SECRET)
    assert b"\\u00e8" in body and b"\\/" in body and b'","' in body  # compact, escaped
    assert body == meta_body(payload)
    assert json.loads(body) == payload
    assert verify(SECRET, body, headers["X-Hub-Signature-256"])
