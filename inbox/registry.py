"""Every Beanie document of every area, in one list: what `inbox.db.connect` binds.

Each area keeps its documents in `inbox/<area>/documents.py`; add a new one here too.
"""

from beanie import Document
from pymongo import ASCENDING, IndexModel

from inbox.accounts.documents import Invite, Organisation, RefreshToken, User
from inbox.analytics.documents import ROLLUP_DOCUMENTS
from inbox.audit.documents import AuditLog
from inbox.automation.documents import AUTOMATION_DOCUMENTS
from inbox.campaigns.documents import Campaign, CampaignRecipient
from inbox.campaigns.template_documents import TEMPLATE_DOCUMENTS
from inbox.channels.documents import Channel, WebhookDelivery
from inbox.commerce.documents import COMMERCE_DOCUMENTS
from inbox.conversations.documents import Macro, Message, PendingStatus, Ticket
from inbox.crm.customer_documents import Customer, CustomerIdentity
from inbox.crm.documents import CRM_DOCUMENTS
from inbox.hooks.documents import HOOK_DOCUMENTS
from inbox.notifications.documents import Notification

CORE_DOCUMENTS: list[type[Document]] = [
    Organisation,
    User,
    RefreshToken,
    Invite,
    Channel,
    Customer,
    CustomerIdentity,
    Ticket,
    Message,
    PendingStatus,
    WebhookDelivery,
    Macro,
    AuditLog,
    Notification,
    Campaign,
    CampaignRecipient,
]

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
