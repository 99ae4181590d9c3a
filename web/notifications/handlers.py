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
    found, total, unread = await notification_service.list_for(
        call.user, unread_only=call.query.unread_only, skip=call.page.skip, limit=call.page.limit
    )
    response = paged_response(call.request, jsonable(found), total, call.page)
    response.headers["X-Unread-Count"] = str(unread)
    return response


@routes.patch(
    "/orgs/{orgId}/notifications/mark-all-read",
    "Mark all the caller's notifications read",
    tags=["notifications"],
    response=MarkedReadView,
)
async def mark_all_read(call: Call[None, None]) -> MarkedReadView:
    return await notification_service.mark_all_read(call.user)


@routes.patch(
    "/orgs/{orgId}/notifications/{notificationId}/read",
    "Mark one of the caller's notifications read",
    tags=["notifications"],
    response=NotificationView,
)
async def mark_read(call: Call[None, None]) -> NotificationView:
    return await notification_service.mark_read(call.user, call.path("notificationId"))
