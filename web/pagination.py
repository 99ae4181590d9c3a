"""The one pagination helper: `page`/`limit` in, `X-Total-Count` and `Link` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from inbox.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Far past any real list, and keeps `skip` inside MongoDB's 64-bit integers.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def skip(self) -> int:
        return (self.page - 1) * self.limit


def page_of(request: web.Request, default_limit: int = DEFAULT_LIMIT) -> Page:
    details = {}
    try:
        page = int(request.query.get("page", "1"))
        if not 1 <= page <= MAX_PAGE:
            raise ValueError
    except ValueError:
        details["page"] = f"must be a whole number from 1 to {MAX_PAGE}"
        page = 1
    try:
        limit = int(request.query.get("limit", str(default_limit)))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        details["limit"] = f"must be a whole number from 1 to {MAX_LIMIT}"
        limit = default_limit
    if details:
        raise ValidationFailed("Invalid paging parameters", details=details)
    return Page(page, limit)


def paged_response(request: web.Request, items: list[Any], total: int, page: Page) -> web.Response:
    headers = {"X-Total-Count": str(total)}
    links = []
    last = max(1, -(-total // page.limit))

    def url(n: int) -> str:
        return str(request.rel_url.update_query({"page": n, "limit": page.limit}))

    links.append(f'<{url(1)}>; rel="first"')
    if page.page > 1:
        links.append(f'<{url(page.page - 1)}>; rel="prev"')
    if page.page < last:
        links.append(f'<{url(page.page + 1)}>; rel="next"')
    links.append(f'<{url(last)}>; rel="last"')
    headers["Link"] = ", ".join(links)
    return web.json_response(items, headers=headers)
