"""Sign-up, sign-in, invite and organisation request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    EmailStr,
    Field,
)

from inbox.accounts.documents import Role
from inbox.security import BCRYPT_MAX_BYTES
from web.schemas import Body


def _fits_bcrypt(password: str) -> str:
    # bcrypt reads at most 72 bytes: refuse longer passwords rather than cut them silently.
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise ValueError(f"must be at most {BCRYPT_MAX_BYTES} bytes in UTF-8")
    return password


NewPassword = Annotated[
    str, Field(min_length=8, max_length=BCRYPT_MAX_BYTES), AfterValidator(_fits_bcrypt)
]


class SignupBody(Body):
    org_name: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: NewPassword


class LoginBody(Body):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)


class RefreshBody(Body):
    refresh_token: str = Field(min_length=1)


class AcceptInviteBody(Body):
    token: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=200)
    password: NewPassword


class OrgPatchBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class InviteBody(Body):
    email: EmailStr
    role: Role = Role.AGENT
