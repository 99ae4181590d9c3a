"""Every URL of the web process: each area's route table, registered in one order.

Order matters where a fixed path and a path parameter meet (`/orgs/macros/{orgId}` and
`/orgs/analytics/...` before `/orgs/{orgId}/...`; `/customers/segmentation` before
`/customers/{customerId}`): aiohttp answers with the first route that matches.
"""

from __future__ import annotations

from types import ModuleType

from aiohttp import web

from web import health, media, openapi, pages
from web.accounts import auth, orgs
from web.analytics import dashboard
from web.analytics import inbox_analytics as analytics
from web.audit import handlers as audit_logs
from web.automation import handlers as automation
from web.campaigns import broadcasts as messaging
from web.campaigns import handlers as campaigns
from web.campaigns import tracking
from web.channels import handlers as channels
from web.channels import webhooks
from web.commerce import categories, coupons, orders, products
from web.conversations import handlers as tickets
from web.conversations import macros
from web.crm import handlers as customers
from web.crm import segments
from web.endpoints import Routes
from web.hooks import handlers as outbound_webhooks
from web.notifications import handlers as notifications
from web.realtime import websocket as realtime

# Areas in registration order.
AREAS: list[ModuleType] = [
    health,
    auth,
    macros,
    analytics,
    orgs,
    channels,
    tickets,
    dashboard,
    customers,
    campaigns,
    messaging,
    segments,
    coupons,
    orders,
    categories,
    products,
    media,
    audit_logs,
    notifications,
    automation,
    outbound_webhooks,
    webhooks,
    tracking,
    realtime,
    pages,
]


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/openapi.json", openapi.openapi_json)
    r.add_get("/docs", openapi.docs)
    r.add_static("/docs/assets", openapi.SWAGGER_UI_DIR)
    for area in AREAS:
        table = getattr(area, "routes", None)
        if isinstance(table, Routes):
            table.register(app)
        else:
            LEGACY[area.__name__](r)


def _legacy_health(r: web.UrlDispatcher) -> None:
    r.add_get("/health", health.health)


def _legacy_auth(r: web.UrlDispatcher) -> None:
    r.add_post("/auth/signup", auth.signup)
    r.add_post("/auth/login", auth.login)
    r.add_post("/auth/refresh", auth.refresh)
    r.add_post("/auth/logout", auth.logout)
    r.add_post("/auth/accept-invite", auth.accept_invite)
    r.add_get("/auth/me", auth.me)


def _legacy_analytics(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/analytics/tickets", analytics.tickets)
    r.add_get("/orgs/analytics/channels", analytics.channels)
    r.add_get("/orgs/analytics/campaigns", analytics.campaigns)
    r.add_get("/orgs/analytics/agents", analytics.agents)


def _legacy_orgs(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}", orgs.get_org)
    r.add_patch("/orgs/{orgId}", orgs.patch_org)
    r.add_get("/orgs/{orgId}/users", orgs.list_users)
    r.add_post("/orgs/{orgId}/users/invites", orgs.invite)
    r.add_get("/orgs/{orgId}/users/invites/list", orgs.list_invites)
    r.add_get("/orgs/{orgId}/users/{userId}", orgs.get_user)
    r.add_post("/orgs/{orgId}/users/{userId}/deactivate", orgs.deactivate)


def _legacy_channels(r: web.UrlDispatcher) -> None:
    r.add_post("/orgs/{orgId}/channels", channels.create)
    r.add_get("/orgs/{orgId}/channels", channels.list_channels)
    r.add_get("/orgs/{orgId}/channels/{channelId}", channels.get)
    r.add_put("/orgs/{orgId}/channels/{channelId}", channels.update)
    r.add_delete("/orgs/{orgId}/channels/{channelId}", channels.delete)
    r.add_get("/orgs/{orgId}/channels/{channelId}/customers", channels.customers)
    r.add_post("/orgs/{orgId}/channels/{channelId}/test-connection", channels.test_connection)


def _legacy_tickets(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/tickets", tickets.list_tickets)
    r.add_post("/orgs/{orgId}/tickets", tickets.create)
    r.add_get("/orgs/{orgId}/tickets/{ticketId}", tickets.get)
    r.add_put("/orgs/{orgId}/tickets/{ticketId}", tickets.update)
    r.add_post("/orgs/{orgId}/tickets/{ticketId}/assign", tickets.assign)
    r.add_post("/orgs/{orgId}/tickets/{ticketId}/close", tickets.close)
    r.add_get("/orgs/{orgId}/tickets/{ticketId}/messages", tickets.list_messages)
    r.add_post("/orgs/{orgId}/tickets/{ticketId}/messages", tickets.post_message)


def _legacy_dashboard(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/customers/segmentation", dashboard.segmentation)
    r.add_get("/orgs/{orgId}/dashboard/metrics", dashboard.metrics)
    r.add_get("/orgs/{orgId}/dashboard/revenue", dashboard.revenue)
    r.add_get("/orgs/{orgId}/dashboard/top-products", dashboard.top_products)
    r.add_get("/orgs/{orgId}/dashboard/stats", dashboard.stats)


def _legacy_customers(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/customers", customers.list_customers)
    r.add_get("/orgs/{orgId}/customers/stats/platforms", customers.platform_stats)
    r.add_get("/orgs/{orgId}/customers/overview/dashboard", customers.dashboard)
    r.add_post("/orgs/{orgId}/customers", customers.create)
    r.add_get("/orgs/{orgId}/customers/{customerId}", customers.get)
    r.add_put("/orgs/{orgId}/customers/{customerId}", customers.update)
    r.add_delete("/orgs/{orgId}/customers/{customerId}", customers.delete)
    r.add_get("/orgs/{orgId}/customers/{customerId}/tickets", customers.tickets)
    r.add_post("/orgs/{orgId}/customers/{customerId}/merge", customers.merge)


def _legacy_campaigns(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/campaigns", campaigns.list_campaigns)
    r.add_post("/orgs/{orgId}/campaigns", campaigns.create)
    r.add_get("/orgs/{orgId}/campaigns/{campaignId}", campaigns.get)
    r.add_post("/orgs/{orgId}/campaigns/{campaignId}/recipients", campaigns.add_recipients)
    r.add_get("/orgs/{orgId}/campaigns/{campaignId}/recipients", campaigns.list_recipients)
    r.add_post("/orgs/{orgId}/campaigns/{campaignId}/start", campaigns.start)
    r.add_get("/orgs/{orgId}/campaigns/{campaignId}/stats", campaigns.stats)
    r.add_put("/orgs/{orgId}/campaigns/{campaignId}/audience", campaigns.set_audience)


def _legacy_messaging(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/emails/campaigns", messaging.list_email_campaigns)
    r.add_post("/orgs/{orgId}/emails/campaigns", messaging.create_email_campaign)
    r.add_get("/orgs/{orgId}/emails/campaigns/stats", messaging.email_stats)
    r.add_get("/orgs/{orgId}/emails/campaigns/{campaignId}", messaging.get_email_campaign)
    r.add_post("/orgs/{orgId}/emails/campaigns/{campaignId}/send", messaging.send_email_campaign)
    r.add_get("/orgs/{orgId}/emails/templates", messaging.list_email_templates)
    r.add_post("/orgs/{orgId}/emails/templates", messaging.create_email_template)
    r.add_put("/orgs/{orgId}/emails/templates/{templateId}", messaging.update_email_template)
    r.add_delete("/orgs/{orgId}/emails/templates/{templateId}", messaging.delete_email_template)
    r.add_get("/orgs/{orgId}/messages", messaging.list_messages)
    r.add_get("/orgs/{orgId}/messages/stats", messaging.message_stats)
    r.add_post("/orgs/{orgId}/messages/send", messaging.send_message)
    r.add_get("/orgs/{orgId}/messages/templates", messaging.list_message_templates)
    r.add_post("/orgs/{orgId}/messages/templates", messaging.create_message_template)
    r.add_put("/orgs/{orgId}/messages/templates/{templateId}", messaging.update_message_template)
    r.add_delete("/orgs/{orgId}/messages/templates/{templateId}", messaging.delete_message_template)


def _legacy_segments(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/segments", segments.list_segments)
    r.add_post("/orgs/{orgId}/segments", segments.create)
    r.add_post("/orgs/{orgId}/segments/preview", segments.preview)
    r.add_get("/orgs/{orgId}/segments/{segmentId}", segments.get)
    r.add_put("/orgs/{orgId}/segments/{segmentId}", segments.update)
    r.add_delete("/orgs/{orgId}/segments/{segmentId}", segments.delete)
    r.add_get("/orgs/{orgId}/segments/{segmentId}/customers", segments.customers)


def _legacy_coupons(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/coupons", coupons.list_coupons)
    r.add_post("/orgs/{orgId}/coupons", coupons.create)
    r.add_get("/orgs/{orgId}/coupons/{code}/validate", coupons.validate)
    r.add_get("/orgs/{orgId}/coupons/{couponId}", coupons.get)
    r.add_put("/orgs/{orgId}/coupons/{couponId}", coupons.update)
    r.add_delete("/orgs/{orgId}/coupons/{couponId}", coupons.delete)


def _legacy_orders(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/orders", orders.list_orders)
    r.add_post("/orgs/{orgId}/orders", orders.create)
    r.add_get("/orgs/{orgId}/orders/stats", orders.stats)
    r.add_get("/orgs/{orgId}/orders/{orderId}", orders.get)
    r.add_patch("/orgs/{orgId}/orders/{orderId}/status", orders.change_status)
    r.add_patch("/orgs/{orgId}/orders/{orderId}/payment", orders.change_payment)


def _legacy_categories(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/categories", categories.list_categories)
    r.add_post("/orgs/{orgId}/categories", categories.create)
    r.add_get("/orgs/{orgId}/categories/tree", categories.tree)
    r.add_get("/orgs/{orgId}/categories/slug/{slug}", categories.get_by_slug)
    r.add_get("/orgs/{orgId}/categories/{categoryId}", categories.get)
    r.add_put("/orgs/{orgId}/categories/{categoryId}", categories.update)
    r.add_delete("/orgs/{orgId}/categories/{categoryId}", categories.delete)


def _legacy_products(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/products", products.list_products)
    r.add_post("/orgs/{orgId}/products", products.create)
    r.add_get("/orgs/{orgId}/products/slug/{slug}", products.get_by_slug)
    r.add_get("/orgs/{orgId}/products/{productId}", products.get)
    r.add_put("/orgs/{orgId}/products/{productId}", products.update)
    r.add_delete("/orgs/{orgId}/products/{productId}", products.delete)
    r.add_patch("/orgs/{orgId}/products/{productId}/stock", products.adjust_stock)
    r.add_post("/orgs/{orgId}/products/{productId}/images", products.upload_image)
    r.add_delete("/orgs/{orgId}/products/{productId}/images/{imageId}", products.delete_image)


def _legacy_media(r: web.UrlDispatcher) -> None:
    r.add_get("/media/{key}", media.serve)


def _legacy_audit_logs(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/audit-logs", audit_logs.list_logs)
    r.add_get("/orgs/{orgId}/audit-logs/summary", audit_logs.summary)
    r.add_get("/orgs/{orgId}/audit-logs/user/{userId}", audit_logs.for_user)


def _legacy_notifications(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/notifications", notifications.list_notifications)
    r.add_patch("/orgs/{orgId}/notifications/mark-all-read", notifications.mark_all_read)
    r.add_patch("/orgs/{orgId}/notifications/{notificationId}/read", notifications.mark_read)


def _legacy_automation(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/automation/rules", automation.list_rules)
    r.add_post("/orgs/{orgId}/automation/rules", automation.create)
    r.add_get("/orgs/{orgId}/automation/rules/{ruleId}", automation.get)
    r.add_put("/orgs/{orgId}/automation/rules/{ruleId}", automation.update)
    r.add_delete("/orgs/{orgId}/automation/rules/{ruleId}", automation.delete)
    r.add_post("/orgs/{orgId}/automation/rules/{ruleId}/toggle", automation.toggle)
    r.add_get("/orgs/{orgId}/automation/rules/{ruleId}/logs", automation.logs)


def _legacy_outbound_webhooks(r: web.UrlDispatcher) -> None:
    r.add_get("/orgs/{orgId}/webhooks", outbound_webhooks.list_webhooks)
    r.add_post("/orgs/{orgId}/webhooks", outbound_webhooks.create)
    r.add_get("/orgs/{orgId}/webhooks/events", outbound_webhooks.events)
    r.add_get("/orgs/{orgId}/webhooks/{webhookId}", outbound_webhooks.get)
    r.add_put("/orgs/{orgId}/webhooks/{webhookId}", outbound_webhooks.update)
    r.add_delete("/orgs/{orgId}/webhooks/{webhookId}", outbound_webhooks.delete)
    r.add_post("/orgs/{orgId}/webhooks/{webhookId}/test", outbound_webhooks.test)
    r.add_get("/orgs/{orgId}/webhooks/{webhookId}/deliveries", outbound_webhooks.list_deliveries)
    r.add_get(
        "/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}", outbound_webhooks.get_delivery
    )
    r.add_post(
        "/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
        outbound_webhooks.redeliver,
    )


def _legacy_webhooks(r: web.UrlDispatcher) -> None:
    r.add_get("/webhook/{channelId}", webhooks.verify)
    r.add_post("/webhook/{channelId}", webhooks.receive)


def _legacy_tracking(r: web.UrlDispatcher) -> None:
    r.add_get("/t/o/{token}.gif", tracking.open_pixel)
    r.add_get("/t/c/{token}", tracking.click)


def _legacy_realtime(r: web.UrlDispatcher) -> None:
    r.add_get("/ws", realtime.websocket)


def _legacy_pages(r: web.UrlDispatcher) -> None:
    r.add_get("/", pages.root)
    r.add_get("/login", pages.login)
    r.add_get("/inbox", pages.inbox)
    r.add_get("/inbox/{ticketId}", pages.inbox)
    r.add_get("/admin/channels", pages.channels)
    r.add_get("/admin/users", pages.users)
    r.add_get("/admin/macros", pages.macros)
    r.add_get("/admin/campaigns", pages.campaigns)
    r.add_get("/admin/analytics", pages.analytics)


LEGACY = {
    health.__name__: _legacy_health,
    auth.__name__: _legacy_auth,
    analytics.__name__: _legacy_analytics,
    orgs.__name__: _legacy_orgs,
    channels.__name__: _legacy_channels,
    tickets.__name__: _legacy_tickets,
    dashboard.__name__: _legacy_dashboard,
    customers.__name__: _legacy_customers,
    campaigns.__name__: _legacy_campaigns,
    messaging.__name__: _legacy_messaging,
    segments.__name__: _legacy_segments,
    coupons.__name__: _legacy_coupons,
    orders.__name__: _legacy_orders,
    categories.__name__: _legacy_categories,
    products.__name__: _legacy_products,
    media.__name__: _legacy_media,
    audit_logs.__name__: _legacy_audit_logs,
    notifications.__name__: _legacy_notifications,
    automation.__name__: _legacy_automation,
    outbound_webhooks.__name__: _legacy_outbound_webhooks,
    webhooks.__name__: _legacy_webhooks,
    tracking.__name__: _legacy_tracking,
    realtime.__name__: _legacy_realtime,
    pages.__name__: _legacy_pages,
}
