"""/orgs/{orgId}/audit-logs: who changed what (ADMIN only)."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.audit import service as audit_service
from inbox.audit.views import AuditLogView, AuditSummaryView
from web.audit.schemas import AuditQuery
from web.auth import authenticated, current_user
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import query

OPERATION_PREFIX = "audit"  # operation ids in /openapi.json


def _filters(request: web.Request) -> audit_service.AuditFilters:
    q = query(request, AuditQuery)
    return audit_service.AuditFilters(
        action=q.action, entity=q.entity, user_id=q.user_id, since=q.from_, until=q.to
    )


@spec(
    "List audit log entries, newest first",
    tags=["audit"],
    query=AuditQuery,
    response=AuditLogView,
    list_response=True,
)
@authenticated(Role.ADMIN)
async def list_logs(request: web.Request) -> web.Response:
    page = page_of(request)
    logs, total = await audit_service.list_logs(
        current_user(request).org_id, _filters(request), page.skip, page.limit
    )
    return paged_response(request, [entry.dump() for entry in logs], total, page)


@spec(
    "Count audit log entries per action and entity",
    tags=["audit"],
    query=AuditQuery,
    response=AuditSummaryView,
)
@authenticated(Role.ADMIN)
async def summary(request: web.Request) -> web.Response:
    found = await audit_service.summary(current_user(request).org_id, _filters(request))
    return web.json_response(found.dump())


@spec(
    "List one user's audit log entries, newest first",
    tags=["audit"],
    query=AuditQuery,
    response=AuditLogView,
    list_response=True,
)
@authenticated(Role.ADMIN)
async def for_user(request: web.Request) -> web.Response:
    page = page_of(request)
    logs, total = await audit_service.list_for_user(
        current_user(request).org_id,
        request.match_info["userId"],
        _filters(request),
        page.skip,
        page.limit,
    )
    return paged_response(request, [entry.dump() for entry in logs], total, page)
