"""The agents' web pages: static shells rendered by Jinja2; every datum comes from the JSON API.

The pages carry no data and need no session on the server: the access token lives in the
browser (localStorage) and the page's script calls the API with it, so one set of endpoints,
checks and tests serves both the API clients and the browser.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from web.endpoints import Routes

routes = Routes("pages")

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES = WEB_DIR / "templates"
STATIC = WEB_DIR / "static"

# (href, label, page key, admins only)
NAV: list[tuple[str, str, str, bool]] = [
    ("/inbox", "Inbox", "inbox", False),
    ("/admin/channels", "Channels", "channels", True),
    ("/admin/users", "Users", "users", True),
    ("/admin/macros", "Macros", "macros", False),
    ("/admin/campaigns", "Campaigns", "campaigns", True),
    ("/admin/analytics", "Analytics", "analytics", False),
]

# Everything is served from this origin; no inline script. Images may come from the
# platforms' CDNs (customer media), so img-src allows any https source.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def _static_versions() -> dict[str, str]:
    """Content hashes of the static files, appended as ?v= so browsers never run stale JS."""
    out: dict[str, str] = {}
    for path in STATIC.rglob("*"):
        if path.is_file():
            rel = path.relative_to(STATIC).as_posix()
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return out


def setup_templates(app: web.Application) -> None:
    versions = _static_versions()

    def static(rel: str) -> str:
        version = versions.get(rel)
        return f"/static/{rel}?v={version}" if version else f"/static/{rel}"

    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    env.globals.update(static=static, nav=NAV)
    app.router.add_static("/static", STATIC, name="static", append_version=False)


def _render(
    request: web.Request, template: str, page: str, title: str, **extra: Any
) -> web.Response:
    context = {"page": page, "title": title, "script": page, "bare": False, **extra}
    response = aiohttp_jinja2.render_template(template, request, context)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    # A shell without data: safe to cache briefly, but always revalidate after a deploy.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _page(path: str, summary: str) -> Any:
    """An HTML page: public, and raw (it renders a template rather than answering JSON)."""
    return routes.get(
        path,
        summary,
        description="An HTML shell of the agents' web inbox; its script loads data from the API.",
        tags=["pages"],
        content_type="text/html",
        auth=False,
        raw=True,
    )


@_page("/", "Start: sends the browser to /inbox, or to /login without a session")
async def root(request: web.Request) -> web.Response:
    # The session lives in the browser, so the browser decides where to go (root.js).
    return _render(request, "root.html", "root", "Omni Inbox", bare=True)


@_page("/login", "Log in, sign up or accept an invite")
async def login(request: web.Request) -> web.Response:
    return _render(request, "login.html", "login", "Log in", bare=True)


@_page("/inbox/{ticketId}", "The inbox: tickets, conversation, customer")
@_page("/inbox", "The inbox: tickets, conversation, customer")
async def inbox(request: web.Request) -> web.Response:
    return _render(request, "inbox.html", "inbox", "Inbox")


@_page("/admin/channels", "Admin: channels")
async def channels(request: web.Request) -> web.Response:
    return _render(request, "admin/channels.html", "channels", "Channels")


@_page("/admin/users", "Admin: users and invites")
async def users(request: web.Request) -> web.Response:
    return _render(request, "admin/users.html", "users", "Users")


@_page("/admin/macros", "Macros")
async def macros(request: web.Request) -> web.Response:
    return _render(request, "admin/macros.html", "macros", "Macros")


@_page("/admin/campaigns", "Admin: campaigns")
async def campaigns(request: web.Request) -> web.Response:
    return _render(request, "admin/campaigns.html", "campaigns", "Campaigns")


@_page("/admin/analytics", "Analytics dashboard")
async def analytics(request: web.Request) -> web.Response:
    return _render(request, "admin/analytics.html", "analytics", "Analytics")
