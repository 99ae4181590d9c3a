"""What the API returns: pydantic views of the documents, one module per area.

Import from here (`from inbox.views import TicketView`).
"""

from inbox.views.automation import *  # noqa: F403
from inbox.views.catalogue import *  # noqa: F403
from inbox.views.core import *  # noqa: F403
from inbox.views.customers import *  # noqa: F403
from inbox.views.dashboard import *  # noqa: F403
from inbox.views.hooks import *  # noqa: F403
from inbox.views.messaging import *  # noqa: F403
from inbox.views.orders import *  # noqa: F403
from inbox.views.segments import *  # noqa: F403
