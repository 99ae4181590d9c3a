"""/orgs/{orgId}/dashboard/*: the sales dashboard and the CRM overview, and
/orgs/{orgId}/customers/segmentation. Readable by every member of the org."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from aiohttp import web

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
from web.auth import authenticated, current_user
from web.openapi import spec
from web.parsing import query

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


@spec(
    "Sales metrics against the previous period",
    description="totalSales, totalOrders, productsSold (units) and newCustomers in a window "
    "ending now (`period`: day = 24 hours, week = 7 days, month = 30 days, year = 365 days; "
    "default week) or `from`/`to`, each with the % change against the window of the same "
    "length just before it. Cancelled orders never count.",
    tags=_TAGS,
    query=MetricsQuery,
    response=DashboardMetricsView,
)
@authenticated()
async def metrics(request: web.Request) -> web.Response:
    q = query(request, MetricsQuery)
    window = _window(q, Span.WEEK)
    assert window is not None
    result = await dashboard_service.metrics(current_user(request).org_id, window)
    return web.json_response(result.dump())


@spec(
    "Revenue chart: online and offline sales per hour, weekday, day or month",
    description="The calendar `period` containing `date` (default today) in time zone `tz` "
    "(default UTC): day = 24 hours, week = Monday to Sunday, month = its days, year = its "
    "months. Cancelled orders never count.",
    tags=_TAGS,
    query=RevenueQuery,
    response=RevenueChartView,
)
@authenticated()
async def revenue(request: web.Request) -> web.Response:
    q = query(request, RevenueQuery)
    tz = ZoneInfo(q.tz)
    day: date = q.date_ or utcnow().astimezone(tz).date()
    result = await dashboard_service.revenue(current_user(request).org_id, Span(q.period), day, tz)
    return web.json_response(result.dump())


@spec(
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
@authenticated()
async def top_products(request: web.Request) -> web.Response:
    q = query(request, TopProductsQuery)
    found = await dashboard_service.top_products(
        current_user(request).org_id, _window(q, None), q.limit
    )
    return web.json_response([p.dump() for p in found])


@spec(
    "CRM overview: customers, orders, revenue, segments, campaigns and messages",
    description="Totals (orders and revenue from the customers' order totals), campaign "
    "messages sent, failed and pending with the success rate, and the latest campaigns "
    "(with their progress) and segments.",
    tags=_TAGS,
    response=DashboardStatsView,
)
@authenticated()
async def stats(request: web.Request) -> web.Response:
    result = await dashboard_service.stats(current_user(request).org_id)
    return web.json_response(result.dump())


@spec(
    "Customers with and without orders",
    description="Counts, the revenue and average order value of customers with orders, the "
    "conversion rate (% with at least one order), and up to `limit` customers of each group "
    "(top spenders; newest without an order).",
    tags=["customers"],
    query=SegmentationQuery,
    response=CustomerSegmentationView,
)
@authenticated()
async def segmentation(request: web.Request) -> web.Response:
    q = query(request, SegmentationQuery)
    result = await dashboard_service.segmentation(current_user(request).org_id, q.limit)
    return web.json_response(result.dump())
