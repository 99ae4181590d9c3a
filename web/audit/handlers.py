"""/orgs/{orgId}/audit-logs: who changed what (ADMIN only)."""

from __future__ import annotations

from inbox.accounts.documents import Role
from inbox.audit import service as audit_service
from inbox.audit.views import AuditLogView, AuditSummaryView
from web.audit.schemas import AuditQuery
from web.endpoints import Call, Paged, Routes

routes = Routes("audit")  # operation ids in /openapi.json


def _filters(q: AuditQuery) -> audit_service.AuditFilters:
    return audit_service.AuditFilters(
        action=q.action, entity=q.entity, user_id=q.user_id, since=q.from_, until=q.to
    )


@routes.get(
    "/orgs/{orgId}/audit-logs",
    "List audit log entries, newest first",
    role=Role.ADMIN,
    tags=["audit"],
    query=AuditQuery,
    response=AuditLogView,
    list_response=True,
)
async def list_logs(call: Call[None, AuditQuery]) -> Paged:
    return Paged(
        *await audit_service.list_logs(
            call.org_id, _filters(call.query), call.page.skip, call.page.limit
        )
    )


@routes.get(
    "/orgs/{orgId}/audit-logs/summary",
    "Count audit log entries per action and entity",
    role=Role.ADMIN,
    tags=["audit"],
    query=AuditQuery,
    response=AuditSummaryView,
)
async def summary(call: Call[None, AuditQuery]) -> AuditSummaryView:
    return await audit_service.summary(call.org_id, _filters(call.query))


@routes.get(
    "/orgs/{orgId}/audit-logs/user/{userId}",
    "List one user's audit log entries, newest first",
    role=Role.ADMIN,
    tags=["audit"],
    query=AuditQuery,
    response=AuditLogView,
    list_response=True,
)
async def for_user(call: Call[None, AuditQuery]) -> Paged:
    return Paged(
        *await audit_service.list_for_user(
            call.org_id,
            call.path("userId"),
            _filters(call.query),
            call.page.skip,
            call.page.limit,
        )
    )
