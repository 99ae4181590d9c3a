"""What the API shows of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from inbox.accounts.documents import User
from inbox.audit.documents import AuditLog
from inbox.view_base import Ref, View


class AuditLogView(View):
    id: str
    action: str
    entity: str
    entity_id: str
    metadata: dict[str, Any]
    created_at: datetime
    user: Ref | None


def audit_log_view(entry: AuditLog, user: User | None) -> AuditLogView:
    return AuditLogView(
        id=entry.id,
        action=entry.action,
        entity=entry.entity,
        entity_id=entry.entity_id,
        metadata=entry.metadata,
        created_at=entry.created_at,
        user=Ref(id=user.id, name=user.name) if user else None,
    )


class AuditSummaryView(View):
    total: int
    by_action: dict[str, int] = Field(description="Entries per action, most frequent first")
    by_entity: dict[str, int] = Field(description="Entries per entity, most frequent first")
