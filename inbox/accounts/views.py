"""What the API shows of organisations, users and invites (never a hash)."""

from __future__ import annotations

from datetime import datetime

from inbox.accounts.documents import Invite, Organisation, Role, User
from inbox.view_base import View


class UserView(View):
    id: str
    email: str
    name: str
    role: Role
    org_id: str
    is_active: bool
    created_at: datetime


class AuthUserView(View):
    id: str
    email: str
    name: str
    role: Role
    org_id: str


class OrgView(View):
    id: str
    name: str
    created_at: datetime
    updated_at: datetime


class InviteView(View):
    id: str
    email: str
    role: Role
    accepted: bool
    expires_at: datetime
    created_at: datetime


def user_view(user: User) -> UserView:
    return UserView.model_validate(user, from_attributes=True)


def auth_user_view(user: User) -> AuthUserView:
    return AuthUserView.model_validate(user, from_attributes=True)


def org_view(org: Organisation) -> OrgView:
    return OrgView.model_validate(org, from_attributes=True)


def invite_view(invite: Invite) -> InviteView:
    return InviteView(
        id=invite.id,
        email=invite.email,
        role=invite.role,
        accepted=invite.accepted_at is not None,
        expires_at=invite.expires_at,
        created_at=invite.created_at,
    )
