"""Organisations, their users, and invites."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from inbox import security
from inbox.accounts.auth import normalise_email, revoke_all
from inbox.accounts.documents import Invite, Organisation, Role, User
from inbox.accounts.views import InviteView, OrgView, UserView, invite_view, org_view, user_view
from inbox.audit import service as audit
from inbox.config import Settings
from inbox.document_base import utcnow
from inbox.errors import Conflict, NotFound
from inbox.queries import get_in_org


async def get_org(org_id: str) -> Organisation:
    org = await Organisation.find_one(Organisation.id == org_id)
    if org is None:
        raise NotFound("Organisation not found")
    return org


async def org_detail(org_id: str) -> OrgView:
    return org_view(await get_org(org_id))


async def update_org(org_id: str, *, name: str | None, actor: User | None = None) -> OrgView:
    org = await get_org(org_id)
    if name is not None:
        org.name = name
        org.updated_at = utcnow()
        await org.save()
        await audit.record(actor, "org.update", "org", org.id, {"name": name})
    return org_view(org)


async def list_users(org_id: str, skip: int, limit: int) -> tuple[list[UserView], int]:
    query = User.find(User.org_id == org_id)
    total = await query.count()
    users = await query.sort(+User.created_at).skip(skip).limit(limit).to_list()
    return [user_view(u) for u in users], total


async def get_user(org_id: str, user_id: str) -> User:
    return await get_in_org(User, org_id, user_id, "User")


async def user_detail(org_id: str, user_id: str) -> UserView:
    return user_view(await get_user(org_id, user_id))


async def invite(
    settings: Settings,
    org_id: str,
    *,
    email: str,
    role: Role,
    invited_by: str,
    actor: User | None = None,
) -> dict[str, Any]:
    """The invite's view with its `token`, shown this once: only the token's hash is stored."""
    email = normalise_email(email)
    if await User.find_one(User.email == email):
        raise Conflict("A user with this email already exists", code="EMAIL_TAKEN")
    token = security.new_opaque_token()
    inv = Invite(
        org_id=org_id,
        email=email,
        role=role,
        token_hash=security.digest(token),
        expires_at=utcnow() + timedelta(seconds=settings.invite_ttl_seconds),
        invited_by=invited_by,
    )
    await inv.insert()
    await audit.record(actor, "user.invite", "invite", inv.id, {"email": email, "role": role.value})
    return {**invite_view(inv).dump(), "token": token}


async def list_invites(org_id: str, skip: int, limit: int) -> tuple[list[InviteView], int]:
    query = Invite.find(Invite.org_id == org_id)
    total = await query.count()
    invites = await query.sort(-Invite.created_at).skip(skip).limit(limit).to_list()
    return [invite_view(i) for i in invites], total


async def deactivate(
    org_id: str, user_id: str, *, acting_user_id: str, actor: User | None = None
) -> dict[str, Any]:
    """Deactivate a user and end their sessions; the answer names them and shows their view."""
    user = await get_user(org_id, user_id)
    if user.id == acting_user_id:
        raise Conflict("You cannot deactivate yourself", code="SELF_DEACTIVATION")
    if user.is_active:
        user.is_active = False
        user.updated_at = utcnow()
        await user.save()
    await revoke_all(user.id)
    await audit.record(actor, "user.deactivate", "user", user.id, {"email": user.email})
    return {
        "success": True,
        "message": f"User {user.email} deactivated",
        "user": user_view(user).dump(),
    }
