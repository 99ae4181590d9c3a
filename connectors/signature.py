"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`."""

from __future__ import annotations

import hashlib
import hmac


def sign(app_secret: str, raw_body: bytes) -> str:
    """The header value Meta would send for this body (used by tests, benchmarks and fakes)."""
    digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """True when `header` is the signature of the exact bytes received.

    The HMAC is over the raw bytes, never over re-serialised JSON: Meta escapes non-ASCII
    (`\\u00e9`) and a re-dump would not match.
    """
    if not header or not app_secret:
        return False
    return hmac.compare_digest(sign(app_secret, raw_body), header.strip())
