"""/orgs/{orgId}/dashboard/*: the sales dashboard and the CRM overview, and
/orgs/{orgId}/customers/segmentation. Readable by every member of the org."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from inbox.analytics import dashboard as dashboard_service
from inbox.analytics.dashboard import Span, Window
from inbox.analytics.dashboard_views import (
    CustomerSegmentationView,
    DashboardMetricsView,
    DashboardStatsView,
    RevenueChartView,
    TopProductView,
)
from inbox.analytics.inbox_analytics import Period
from inbox.document_base import utcnow
from inbox.errors import ValidationFailed
from web.analytics.dashboard_schemas import (
    DashboardPeriodQuery,
    MetricsQuery,
    RevenueQuery,
    SegmentationQuery,
    TopProductsQuery,
)
from web.endpoints import Call, Routes

routes = Routes("dashboard")

_TAGS = ["dashboard"]


def _window(q: DashboardPeriodQuery, default: Span | None) -> Window | None:
    """`from`/`to` (`to` defaults to now), else the rolling `period`, else `default`."""
    if q.from_ is not None:
        period = Period.of(q.from_, q.to)
        assert period.start is not None  # `from` was given
        window = Window(period.start, period.end or utcnow())
        if window.start >= window.end:
            raise ValidationFailed(
                "Invalid period", details={"from": "must be before `to` (or now, without `to`)"}
            )
        return window
    span = Span(q.period) if q.period else default
    return Window.rolling(span) if span else None


@routes.get(
    "/orgs/{orgId}/customers/segmentation",
    "Customers with and without orders",
    description="Counts, the revenue and average order value of customers with orders, the "
    "conversion rate (% with at least one order), and up to `limit` customers of each group "
    "(top spenders; newest without an order).",
    tags=["customers"],
    query=SegmentationQuery,
    response=CustomerSegmentationView,
)
async def segmentation(call: Call[None, SegmentationQuery]) -> CustomerSegmentationView:
    return await dashboard_service.segmentation(call.org_id, call.query.limit)


@routes.get(
    "/orgs/{orgId}/dashboard/metrics",
    "Sales metrics against the previous period",
    description="totalSales, totalOrders, productsSold (units) and newCustomers in a window "
    "ending now (`period`: day = 24 hours, week = 7 days, month = 30 days, year = 365 days; "
    "default week) or `from`/`to`, each with the % change against the window of the same "
    "length just before it. Cancelled orders never count.",
    tags=_TAGS,
    query=MetricsQuery,
    response=DashboardMetricsView,
)
async def metrics(call: Call[None, MetricsQuery]) -> DashboardMetricsView:
    window = _window(call.query, Span.WEEK)
    assert window is not None
    return await dashboard_service.metrics(call.org_id, window)


@routes.get(
    "/orgs/{orgId}/dashboard/revenue",
    "Revenue chart: online and offline sales per hour, weekday, day or month",
    description="The calendar `period` containing `date` (default today) in time zone `tz` "
    "(default UTC): day = 24 hours, week = Monday to Sunday, month = its days, year = its "
    "months. Cancelled orders never count.",
    tags=_TAGS,
    query=RevenueQuery,
    response=RevenueChartView,
)
async def revenue(call: Call[None, RevenueQuery]) -> RevenueChartView:
    q = call.query
    tz = ZoneInfo(q.tz)
    day: date = q.date_ or utcnow().astimezone(tz).date()
    return await dashboard_service.revenue(call.org_id, Span(q.period), day, tz)


@routes.get(
    "/orgs/{orgId}/dashboard/top-products",
    "Top products by units sold",
    description="`popularity` is the product's share of all units sold in the period (%). "
    "All time unless `period` (a window ending now) or `from`/`to` is given. Cancelled orders "
    "never count.",
    tags=_TAGS,
    query=TopProductsQuery,
    response=TopProductView,
    list_response=True,
    paged=False,
)
async def top_products(call: Call[None, TopProductsQuery]) -> list[TopProductView]:
    q = call.query
    return await dashboard_service.top_products(call.org_id, _window(q, None), q.limit)


@routes.get(
    "/orgs/{orgId}/dashboard/stats",
    "CRM overview: customers, orders, revenue, segments, campaigns and messages",
    description="Totals (orders and revenue from the customers' order totals), campaign "
    "messages sent, failed and pending with the success rate, and the latest campaigns "
    "(with their progress) and segments.",
    tags=_TAGS,
    response=DashboardStatsView,
)
async def stats(call: Call[None, None]) -> DashboardStatsView:
    return await dashboard_service.stats(call.org_id)
