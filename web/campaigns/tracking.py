"""/t/...: public (no auth) open and click tracking of campaign e-mails.

The token in the path is the recipient's own random token (inbox/campaigns/email_campaigns.py);
nothing here reveals whether a token exists: the pixel is always the same GIF, and a click
on anything but a link the e-mail contained is a plain 404, never a redirect.
"""

from __future__ import annotations

import re

from aiohttp import web

from inbox.campaigns import email_campaigns
from inbox.errors import NotFound
from web.campaigns.tracking_schemas import ClickQuery
from web.endpoints import Call, Routes

routes = Routes("tracking")

_TAGS = ["tracking"]
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,128}")
# Mail clients and proxies must ask again each time, or later opens would never reach us.
_NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, private, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}


@routes.get(
    "/t/o/{token}.gif",
    "E-mail open pixel",
    description="A 1x1 transparent GIF embedded in campaign e-mails. The first request for a "
    "recipient's token counts one open on the campaign (`openedCount`); repeats count nothing.",
    tags=_TAGS,
    content_type="image/gif",
    response_description="A 1x1 transparent GIF, whatever the token",
    auth=False,
)
async def open_pixel(call: Call[None, None]) -> web.Response:
    token = call.path("token")
    if _TOKEN.fullmatch(token):
        await email_campaigns.record_open(token)
    return web.Response(body=email_campaigns.PIXEL_GIF, content_type="image/gif", headers=_NO_CACHE)


@routes.get(
    "/t/c/{token}",
    "E-mail link click",
    description="Redirects (302) to `u` when it is a link of the e-mail sent with this token; "
    "the first click of a recipient counts one click (`clickedCount`), and an open if none was "
    "seen. Anything else is a 404: never an open redirect.",
    tags=_TAGS,
    query=ClickQuery,
    status=302,
    content_type=None,
    response_description="Found: `Location` is the link's original URL",
    errors=[404],
    auth=False,
)
async def click(call: Call[None, ClickQuery]) -> web.Response:
    token = call.path("token")
    target = (
        await email_campaigns.record_click(token, call.query.u) if _TOKEN.fullmatch(token) else None
    )
    if target is None:
        raise NotFound("Unknown tracking link", code="TRACKING_LINK_UNKNOWN")
    raise web.HTTPFound(location=target, headers=_NO_CACHE)
