"""/orgs/{orgId}/notifications: the caller's own notifications, never anyone else's."""

from __future__ import annotations

from aiohttp import web

from inbox.notifications import service as notification_service
from inbox.notifications.views import MarkedReadView, NotificationView
from web.endpoints import Call, Routes, jsonable
from web.notifications.schemas import NotificationQuery
from web.pagination import paged_response

routes = Routes("notifications")  # operation ids in /openapi.json


@routes.get(
    "/orgs/{orgId}/notifications",
    "List the caller's own notifications, newest first",
    description="The `X-Unread-Count` response header holds the caller's unread count.",
    tags=["notifications"],
    query=NotificationQuery,
    response=NotificationView,
    list_response=True,
)
async def list_notifications(call: Call[None, NotificationQuery]) -> web.Response:
    me = call.user
    found, total = await notification_service.list_for(
        me, unread_only=call.query.unread_only, skip=call.page.skip, limit=call.page.limit
    )
    response = paged_response(call.request, jsonable(found), total, call.page)
    # The badge count, so a client needs no second request for it.
    response.headers["X-Unread-Count"] = str(
        total if call.query.unread_only else await notification_service.unread_count(me)
    )
    return response


@routes.patch(
    "/orgs/{orgId}/notifications/mark-all-read",
    "Mark all the caller's notifications read",
    tags=["notifications"],
    response=MarkedReadView,
)
async def mark_all_read(call: Call[None, None]) -> MarkedReadView:
    count = await notification_service.mark_all_read(call.user)
    return MarkedReadView(
        success=True,
        message=f"{count} notification{'' if count == 1 else 's'} marked as read",
        count=count,
    )


@routes.patch(
    "/orgs/{orgId}/notifications/{notificationId}/read",
    "Mark one of the caller's notifications read",
    tags=["notifications"],
    response=NotificationView,
)
async def mark_read(call: Call[None, None]) -> NotificationView:
    return await notification_service.mark_read(call.user, call.path("notificationId"))
