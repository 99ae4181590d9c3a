"""Sign-up, login, token rotation, invites accepted, and who a bearer token belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from inbox import security
from inbox.accounts.documents import Invite, Organisation, RefreshToken, Role, User
from inbox.accounts.views import auth_user_view, user_view
from inbox.config import Settings
from inbox.document_base import new_id, utcnow
from inbox.errors import Conflict, NotFound, Unauthorized


@dataclass(frozen=True)
class Session:
    user: User
    access_token: str
    refresh_token: str


def _shown(session: Session) -> dict[str, Any]:
    """A new session as the API answers it: the user and both tokens."""
    return {
        "user": auth_user_view(session.user).dump(),
        "accessToken": session.access_token,
        "refreshToken": session.refresh_token,
    }


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def _issue(settings: Settings, user: User, family_id: str | None = None) -> Session:
    refresh = security.new_opaque_token()
    await RefreshToken(
        org_id=user.org_id,
        user_id=user.id,
        token_hash=security.digest(refresh),
        family_id=family_id or new_id(),
        expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
    ).insert()
    access = security.issue_access_token(
        user_id=user.id,
        org_id=user.org_id,
        role=user.role,
        secret=settings.jwt_secret,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    return Session(user=user, access_token=access, refresh_token=refresh)


async def signup(
    settings: Settings, *, org_name: str, name: str, email: str, password: str
) -> dict[str, Any]:
    """A new organisation with its first ADMIN, signed in: the session as `_shown`."""
    email = normalise_email(email)
    if await User.find_one(User.email == email):
        raise Conflict("An account with this email already exists", code="EMAIL_TAKEN")
    org = Organisation(name=org_name)
    user = User(
        org_id=org.id,
        name=name,
        email=email,
        password_hash=await security.hash_password(password, settings.bcrypt_rounds),
        role=Role.ADMIN,
    )
    try:
        # User first: the unique email index is the real guard against a concurrent sign-up.
        await user.insert()
    except DuplicateKeyError as exc:
        raise Conflict("An account with this email already exists", code="EMAIL_TAKEN") from exc
    await org.insert()
    return _shown(await _issue(settings, user))


async def login(settings: Settings, *, email: str, password: str) -> dict[str, Any]:
    """A new session as `_shown`."""
    user = await User.find_one(User.email == normalise_email(email))
    # Same answer for unknown email and wrong password: no account enumeration.
    if user is None or not await security.check_password(password, user.password_hash):
        raise Unauthorized("Invalid email or password", code="INVALID_CREDENTIALS")
    if not user.is_active:
        raise Unauthorized("This account is deactivated", code="USER_DEACTIVATED")
    return _shown(await _issue(settings, user))


async def refresh(settings: Settings, refresh_token: str) -> dict[str, str]:
    """The new access token and the rotated refresh token (the one sent is now spent)."""
    stored = await RefreshToken.find_one(RefreshToken.token_hash == security.digest(refresh_token))
    if stored is None:
        raise Unauthorized("Invalid refresh token", code="INVALID_TOKEN")
    if stored.revoked_at is not None:
        # A rotated token presented again means it leaked: end the whole session family.
        await RefreshToken.find(
            RefreshToken.family_id == stored.family_id,
            RefreshToken.revoked_at == None,  # noqa: E711
        ).update({"$set": {"revokedAt": utcnow()}})
        raise Unauthorized("Refresh token was already used", code="TOKEN_REUSED")
    if stored.expires_at <= utcnow():
        raise Unauthorized("Refresh token expired", code="TOKEN_EXPIRED")
    # Conditional revoke: of two concurrent refreshes with one token, only one wins.
    claimed = await RefreshToken.get_pymongo_collection().update_one(
        {"_id": stored.id, "revokedAt": None}, {"$set": {"revokedAt": utcnow()}}
    )
    if claimed.modified_count != 1:
        raise Unauthorized("Refresh token was already used", code="TOKEN_REUSED")
    user = await User.find_one(User.id == stored.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("This account is deactivated", code="USER_DEACTIVATED")
    session = await _issue(settings, user, family_id=stored.family_id)
    return {"accessToken": session.access_token, "refreshToken": session.refresh_token}


async def logout(refresh_token: str) -> None:
    await RefreshToken.get_pymongo_collection().update_one(
        {"tokenHash": security.digest(refresh_token), "revokedAt": None},
        {"$set": {"revokedAt": utcnow()}},
    )


async def revoke_all(user_id: str) -> None:
    await RefreshToken.get_pymongo_collection().update_many(
        {"userId": user_id, "revokedAt": None}, {"$set": {"revokedAt": utcnow()}}
    )


async def accept_invite(
    settings: Settings, *, token: str, name: str, password: str
) -> dict[str, Any]:
    """The invited user, created and signed in: the session as `_shown`."""
    invite = await Invite.find_one(Invite.token_hash == security.digest(token))
    if invite is None:
        raise NotFound("Invite not found", code="INVITE_NOT_FOUND")
    if invite.accepted_at is not None:
        raise Conflict("Invite was already accepted", code="INVITE_USED")
    if invite.expires_at <= utcnow():
        raise Conflict("Invite has expired", code="INVITE_EXPIRED")
    # Claim the invite atomically so a token works exactly once.
    claimed = await Invite.get_pymongo_collection().update_one(
        {"_id": invite.id, "acceptedAt": None}, {"$set": {"acceptedAt": utcnow()}}
    )
    if claimed.modified_count != 1:
        raise Conflict("Invite was already accepted", code="INVITE_USED")
    user = User(
        org_id=invite.org_id,
        name=name,
        email=invite.email,
        password_hash=await security.hash_password(password, settings.bcrypt_rounds),
        role=invite.role,
    )
    try:
        await user.insert()
    except DuplicateKeyError as exc:
        await Invite.get_pymongo_collection().update_one(
            {"_id": invite.id}, {"$set": {"acceptedAt": None}}
        )
        raise Conflict("An account with this email already exists", code="EMAIL_TAKEN") from exc
    return _shown(await _issue(settings, user))


async def authenticate(settings: Settings, access_token: str) -> User:
    """The active user behind a bearer token. Checked against the database on every call,
    so deactivation takes effect at once, even for tokens issued before."""
    claims = security.read_access_token(access_token, settings.jwt_secret)
    user = await User.find_one(User.id == claims.user_id)
    if user is None or user.org_id != claims.org_id:
        raise Unauthorized("Invalid access token", code="INVALID_TOKEN")
    if not user.is_active:
        raise Unauthorized("This account is deactivated", code="USER_DEACTIVATED")
    return user


def me(user: User) -> dict[str, Any]:
    """The caller's own user as /auth/me shows it: its view without `createdAt`."""
    data = user_view(user).dump()
    data.pop("createdAt", None)
    return data
