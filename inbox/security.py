"""Passwords, access tokens and opaque secrets. Nothing here touches the database."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt

from inbox.errors import Unauthorized

_ALGORITHM = "HS256"
# bcrypt hashes at most this many bytes of a password (bcrypt 5 refuses longer ones).
BCRYPT_MAX_BYTES = 72


async def hash_password(password: str, rounds: int) -> str:
    # bcrypt is deliberately slow; keep it off the event loop.
    return await asyncio.to_thread(
        lambda: bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
    )


async def check_password(password: str, password_hash: str) -> bool:
    raw = password.encode()
    if len(raw) > BCRYPT_MAX_BYTES:  # never settable, so never right (and bcrypt would raise)
        return False
    return await asyncio.to_thread(bcrypt.checkpw, raw, password_hash.encode())


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """Opaque tokens (refresh, invite) are stored only as this hash."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    org_id: str
    role: str
    expires_at: datetime


def issue_access_token(
    *, user_id: str, org_id: str, role: str, secret: str, ttl_seconds: int
) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": user_id,
        "org": org_id,
        "role": role,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "typ": "access",
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def read_access_token(token: str, secret: str) -> AccessClaims:
    try:
        payload = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Access token expired", code="TOKEN_EXPIRED") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("Invalid access token", code="INVALID_TOKEN") from exc
    if payload.get("typ") != "access":
        raise Unauthorized("Invalid access token", code="INVALID_TOKEN")
    return AccessClaims(
        user_id=payload["sub"],
        org_id=payload["org"],
        role=payload["role"],
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
    )
