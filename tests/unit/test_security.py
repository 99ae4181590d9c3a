"""Access tokens, opaque tokens and password hashing."""

from __future__ import annotations

import time

import jwt
import pytest

from inbox import security
from inbox.errors import Unauthorized


def test_access_token_round_trips_its_claims():
    token = security.issue_access_token(
        user_id="u1", org_id="o1", role="AGENT", secret="s", ttl_seconds=60
    )
    claims = security.read_access_token(token, "s")
    assert (claims.user_id, claims.org_id, claims.role) == ("u1", "o1", "AGENT")


def test_access_token_signed_with_another_secret_is_refused():
    token = security.issue_access_token(
        user_id="u1", org_id="o1", role="AGENT", secret="a", ttl_seconds=60
    )
    with pytest.raises(Unauthorized) as err:
        security.read_access_token(token, "b")
    assert err.value.code == "INVALID_TOKEN"


def test_expired_access_token_is_refused_as_expired():
    token = security.issue_access_token(
        user_id="u1", org_id="o1", role="AGENT", secret="s", ttl_seconds=-1
    )
    with pytest.raises(Unauthorized) as err:
        security.read_access_token(token, "s")
    assert err.value.code == "TOKEN_EXPIRED"


def test_a_token_without_the_access_type_is_refused():
    token = jwt.encode(
        {"sub": "u1", "org": "o1", "role": "ADMIN", "exp": int(time.time()) + 60}, "s"
    )
    with pytest.raises(Unauthorized):
        security.read_access_token(token, "s")


def test_unsigned_tokens_are_refused():
    token = jwt.encode(
        {"sub": "u1", "org": "o1", "role": "ADMIN", "typ": "access", "exp": int(time.time()) + 60},
        key=None,
        algorithm="none",
    )
    with pytest.raises(Unauthorized):
        security.read_access_token(token, "s")


def test_opaque_tokens_are_random_and_stored_only_as_a_digest():
    a, b = security.new_opaque_token(), security.new_opaque_token()
    assert a != b and len(a) >= 40
    assert security.digest(a) == security.digest(a) != a


async def test_passwords_are_hashed_with_bcrypt_and_checked():
    hashed = await security.hash_password("correct horse", rounds=4)
    assert hashed.startswith("$2b$04$") and "correct horse" not in hashed
    assert await security.check_password("correct horse", hashed)
    assert not await security.check_password("wrong horse", hashed)
