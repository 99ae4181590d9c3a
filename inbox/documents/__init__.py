"""MongoDB documents (Beanie), one module per area. Python names are snake_case; stored and
served names camelCase. Every document but Organisation carries `org_id`, and every query
filters by it.

Import from here (`from inbox.documents import Customer`); `ALL_DOCUMENTS` is what Beanie binds.
"""

from beanie import Document

from inbox.documents.commerce import *  # noqa: F403
from inbox.documents.commerce import COMMERCE_DOCUMENTS
from inbox.documents.core import *  # noqa: F403
from inbox.documents.core import CORE_DOCUMENTS
from inbox.documents.crm import *  # noqa: F403
from inbox.documents.crm import CRM_DOCUMENTS
from inbox.documents.hooks import *  # noqa: F403
from inbox.documents.hooks import HOOK_DOCUMENTS

ALL_DOCUMENTS: list[type[Document]] = [
    *CORE_DOCUMENTS,
    *COMMERCE_DOCUMENTS,
    *HOOK_DOCUMENTS,
    *CRM_DOCUMENTS,
]
