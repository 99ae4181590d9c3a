"""MongoDB documents (Beanie), one module per area. Python names are snake_case; stored and
served names camelCase. Every document but Organisation carries `org_id`, and every query
filters by it.

Import from here (`from inbox.documents import Customer`); `ALL_DOCUMENTS` is what Beanie binds.
"""

from beanie import Document
from pymongo import ASCENDING, IndexModel

from inbox.documents.automation import *  # noqa: F403
from inbox.documents.automation import AUTOMATION_DOCUMENTS
from inbox.documents.commerce import *  # noqa: F403
from inbox.documents.commerce import COMMERCE_DOCUMENTS
from inbox.documents.core import *  # noqa: F403
from inbox.documents.core import CORE_DOCUMENTS
from inbox.documents.crm import *  # noqa: F403
from inbox.documents.crm import CRM_DOCUMENTS
from inbox.documents.hooks import *  # noqa: F403
from inbox.documents.hooks import HOOK_DOCUMENTS
from inbox.documents.rollups import *  # noqa: F403
from inbox.documents.rollups import ROLLUP_DOCUMENTS
from inbox.documents.templates import *  # noqa: F403
from inbox.documents.templates import TEMPLATE_DOCUMENTS

ALL_DOCUMENTS: list[type[Document]] = [
    *CORE_DOCUMENTS,
    *COMMERCE_DOCUMENTS,
    *HOOK_DOCUMENTS,
    *CRM_DOCUMENTS,
    *AUTOMATION_DOCUMENTS,
    *TEMPLATE_DOCUMENTS,
    *ROLLUP_DOCUMENTS,
]

# The embedded MongoDB-protocol server's planner uses an index only when the index covers every
# field of the query, so `{_id, orgId}` — how every org-scoped read by id is written — would
# scan the whole collection. An (orgId, _id) index on each org-scoped collection serves those
# reads (a real MongoDB would use `_id` alone; the extra index costs it little). Collections
# written on every message and never read by (orgId, _id) are left out to keep inserts cheap.
_NOT_READ_BY_ORG_AND_ID = {
    "messages",
    "webhook_deliveries",
    "customer_identities",
    "audit_logs",
    "campaign_recipients",  # read by campaign or `_id` (each index costs every campaign send)
}
for _document in ALL_DOCUMENTS:
    _settings = _document.__dict__.get("Settings")
    if (
        "org_id" in _document.model_fields
        and _settings is not None
        and getattr(_settings, "name", None) not in _NOT_READ_BY_ORG_AND_ID
    ):
        _settings.indexes = [
            *getattr(_settings, "indexes", []),
            IndexModel([("orgId", ASCENDING), ("_id", ASCENDING)]),
        ]
