"""Organisations, their users (ADMIN or AGENT), refresh tokens and invites."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pymongo import ASCENDING, DESCENDING, IndexModel

from inbox.document_base import _Base


class Role(StrEnum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"


class Organisation(_Base):
    name: str

    class Settings:
        name = "organisations"


class User(_Base):
    org_id: str
    name: str
    email: str
    password_hash: str
    role: Role
    is_active: bool = True

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("email", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("createdAt", ASCENDING)]),
        ]


class RefreshToken(_Base):
    """Stored as a SHA-256 hash; rotated on every use. Reuse of a rotated token revokes its
    whole family, since only a thief would present it."""

    org_id: str
    user_id: str
    token_hash: str
    family_id: str
    expires_at: datetime
    revoked_at: datetime | None = None

    class Settings:
        name = "refresh_tokens"
        indexes = [
            IndexModel([("tokenHash", ASCENDING)], unique=True),
            IndexModel([("familyId", ASCENDING)]),
            IndexModel([("userId", ASCENDING)]),
        ]


class Invite(_Base):
    org_id: str
    email: str
    role: Role
    token_hash: str
    expires_at: datetime
    invited_by: str
    accepted_at: datetime | None = None

    class Settings:
        name = "invites"
        indexes = [
            IndexModel([("tokenHash", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
        ]
