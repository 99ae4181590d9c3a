"""The audit log: who changed what, when."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from inbox.document_base import _Base


class AuditLog(_Base):
    """One write by a user: who did what to which entity. Metadata never holds secrets."""

    org_id: str
    user_id: str
    action: str  # "<entity>.<verb>", e.g. "ticket.assign"
    entity: str
    entity_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)

    class Settings:
        name = "audit_logs"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("action", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("entity", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("userId", ASCENDING), ("createdAt", DESCENDING)]),
        ]
