"""The one auth decorator: bearer token -> active user, role check, and org scoping."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from inbox.accounts import auth as auth_service
from inbox.accounts.documents import Role, User
from inbox.errors import Forbidden, NotFound, Unauthorized
from web import keys

USER = web.RequestKey("user", User)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token", code="TOKEN_MISSING")
    return token.strip()


def authenticated(*roles: Role, org_scoped: bool = True) -> Callable[[Handler], Handler]:
    """`@authenticated()` any member; `@authenticated(Role.ADMIN)` admins only.

    With `org_scoped`, the `{orgId}` in the path must be the caller's own org; any other org
    answers 404, exactly as if it did not exist.
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            user = await auth_service.authenticate(
                request.app[keys.SETTINGS], bearer_token(request)
            )
            if org_scoped and request.match_info.get("orgId") != user.org_id:
                raise NotFound("Organisation not found")
            if roles and user.role not in roles:
                raise Forbidden(f"This action needs the {' or '.join(roles)} role")
            request[USER] = user
            return await handler(request)

        # Read by /openapi.json (web/openapi.py): bearer auth, 403 for roles, 404 for orgs.
        wrapper.__auth__ = {  # type: ignore[attr-defined]
            "roles": [r.value for r in roles],
            "org_scoped": org_scoped,
        }
        return wrapper

    return decorate


def current_user(request: web.Request) -> User:
    return request[USER]
