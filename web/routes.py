"""Every URL of the web process: each area's route table, registered in one order.

Order matters where a fixed path and a path parameter meet (`/orgs/macros/{orgId}` and
`/orgs/analytics/...` before `/orgs/{orgId}/...`; `/customers/segmentation` before
`/customers/{customerId}`): aiohttp answers with the first route that matches.
"""

from __future__ import annotations

from aiohttp import web

from web import openapi
from web.accounts.auth import routes as auth
from web.accounts.orgs import routes as orgs
from web.analytics.dashboard import routes as dashboard
from web.analytics.inbox_analytics import routes as inbox_analytics
from web.audit.handlers import routes as audit
from web.automation.handlers import routes as automation
from web.campaigns.broadcasts import routes as broadcasts
from web.campaigns.handlers import routes as campaigns
from web.campaigns.tracking import routes as tracking
from web.channels.handlers import routes as channels
from web.channels.webhooks import routes as webhooks
from web.commerce.categories import routes as categories
from web.commerce.coupons import routes as coupons
from web.commerce.orders import routes as orders
from web.commerce.products import routes as products
from web.conversations.handlers import routes as tickets
from web.conversations.macros import routes as macros
from web.crm.handlers import routes as customers
from web.crm.segments import routes as segments
from web.endpoints import Routes
from web.health import routes as health
from web.hooks.handlers import routes as hooks
from web.media import routes as media
from web.notifications.handlers import routes as notifications
from web.pages import routes as pages
from web.realtime.websocket import routes as websocket

TABLES: list[Routes] = [
    health,
    auth,
    macros,
    inbox_analytics,
    orgs,
    channels,
    tickets,
    dashboard,
    customers,
    campaigns,
    broadcasts,
    segments,
    coupons,
    orders,
    categories,
    products,
    media,
    audit,
    notifications,
    automation,
    hooks,
    webhooks,
    tracking,
    websocket,
    pages,
]


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/openapi.json", openapi.openapi_json)
    app.router.add_get("/docs", openapi.docs)
    app.router.add_static("/docs/assets", openapi.SWAGGER_UI_DIR)
    for table in TABLES:
        table.register(app)
