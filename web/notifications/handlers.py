"""/orgs/{orgId}/notifications: the caller's own notifications, never anyone else's."""

from __future__ import annotations

from aiohttp import web

from inbox.notifications import service as notification_service
from inbox.notifications.views import MarkedReadView, NotificationView
from web.auth import authenticated, current_user
from web.notifications.schemas import NotificationQuery
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import query

OPERATION_PREFIX = "notifications"  # operation ids in /openapi.json


@spec(
    "List the caller's own notifications, newest first",
    description="The `X-Unread-Count` response header holds the caller's unread count.",
    tags=["notifications"],
    query=NotificationQuery,
    response=NotificationView,
    list_response=True,
)
@authenticated()
async def list_notifications(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, NotificationQuery)
    me = current_user(request)
    found, total = await notification_service.list_for(
        me, unread_only=q.unread_only, skip=page.skip, limit=page.limit
    )
    response = paged_response(request, [n.dump() for n in found], total, page)
    # The badge count, so a client needs no second request for it.
    response.headers["X-Unread-Count"] = str(
        total if q.unread_only else await notification_service.unread_count(me)
    )
    return response


@spec(
    "Mark one of the caller's notifications read", tags=["notifications"], response=NotificationView
)
@authenticated()
async def mark_read(request: web.Request) -> web.Response:
    found = await notification_service.mark_read(
        current_user(request), request.match_info["notificationId"]
    )
    return web.json_response(found.dump())


@spec("Mark all the caller's notifications read", tags=["notifications"], response=MarkedReadView)
@authenticated()
async def mark_all_read(request: web.Request) -> web.Response:
    count = await notification_service.mark_all_read(current_user(request))
    marked = MarkedReadView(
        success=True,
        message=f"{count} notification{'' if count == 1 else 's'} marked as read",
        count=count,
    )
    return web.json_response(marked.dump())
