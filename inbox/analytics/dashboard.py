"""The sales dashboard (metrics, revenue chart, top products), the CRM overview and the
customer segmentation, all by MongoDB aggregation.

Sales metrics and the revenue chart read the sales rollups (`inbox/analytics/rollups.py`, kept
by the order service in the orders' own transactions) rather than every order of the period:
the same figures from a few hundred documents. Pipelines over the orders remain for the rest.

Every orders pipeline starts with a `$match` on `orgId` and a `createdAt` range alone, so the
(orgId, createdAt) index picks the period's orders; cancelled orders are dropped by a second
`$match` (they never count as sales). Kept apart on purpose: given `status` in the same stage,
the embedded server's planner chooses the (orgId, status, createdAt) index for `$ne` and reads
every order of the org (measured: 30 ms became 6 s for one day out of 100,000 orders). A real
MongoDB merges the two stages itself. Python only shapes the grouped rows.

Periods are UTC unless a time zone is given (the revenue chart). Metrics compare a window
ending now (`day` = the last 24 hours, `week` 7 days, `month` 30 days, `year` 365 days, or
`from`/`to`) with the window of the same length just before it.
"""

from __future__ import annotations

import asyncio
import calendar
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from inbox.analytics import rollups
from inbox.analytics.dashboard_views import (
    CampaignPerformanceView,
    ChangeType,
    CustomerSegmentationView,
    DashboardMetricsView,
    DashboardStatsView,
    DashboardWindow,
    MetricView,
    RecentCampaignView,
    RecentSegmentView,
    RevenueChartView,
    StatsOverview,
    TopProductView,
    WithOrdersView,
    WithoutOrdersView,
)
from inbox.campaigns.documents import Campaign
from inbox.commerce.documents import Order, OrderStatus, OrderType, Product
from inbox.crm import customer_rollups
from inbox.crm.customer_documents import Customer
from inbox.crm.customer_views import customer_view
from inbox.crm.documents import Segment
from inbox.document_base import utcnow

RECENT = 5  # campaigns and segments in the overview
_NOT_CANCELLED = {"$match": {"status": {"$ne": OrderStatus.CANCELLED.value}}}


class Span(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


ROLLING_DAYS = {Span.DAY: 1, Span.WEEK: 7, Span.MONTH: 30, Span.YEAR: 365}


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    @property
    def previous(self) -> Window:
        length = self.end - self.start
        # A window reaching back to the calendar's start has a shorter one before it.
        earliest = datetime.min.replace(tzinfo=UTC)
        start = self.start - length if self.start - earliest > length else earliest
        return Window(start, self.start)

    def view(self) -> DashboardWindow:
        return DashboardWindow(from_=self.start, to=self.end)

    @classmethod
    def rolling(cls, span: Span, now: datetime | None = None) -> Window:
        end = now or utcnow()
        return cls(end - timedelta(days=ROLLING_DAYS[span]), end)


def money(value: float) -> float:
    return round(float(value or 0.0) + 0.0, 2)


def percent(part: float, whole: float, digits: int = 2) -> float:
    return round(part * 100.0 / whole, digits) if whole else 0.0


async def _rows(collection: Any, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return await (await collection.aggregate(pipeline)).to_list()


def _in(window: Window) -> dict[str, Any]:
    return {"$gte": window.start, "$lt": window.end}


# ----------------------------------------------------------------------------- metrics


def metric(current: float, previous: float) -> MetricView:
    if previous == 0:
        change = 0.0 if current == 0 else 100.0
    else:
        change = round((current - previous) * 100.0 / previous, 1) + 0.0  # no -0.0
    kind: ChangeType = (
        "increase" if current > previous else "decrease" if current < previous else "neutral"
    )
    return MetricView(value=current, change=change, change_type=kind)


_UNITS = {
    "$reduce": {
        "input": {"$ifNull": ["$items", []]},
        "initialValue": 0,
        "in": {"$add": ["$$value", "$$this.quantity"]},
    }
}


async def metrics(org_id: str, window: Window) -> DashboardMetricsView:
    """Sales, orders, units and new customers in `window` against the window before it,
    from the sales and customer rollups (exactly the orders' and customers' own figures)."""
    now_by_kind, before_by_kind, new_now, new_before = await asyncio.gather(
        rollups.totals(org_id, window.start, window.end),
        rollups.totals(org_id, window.previous.start, window.previous.end),
        customer_rollups.created(org_id, window.start, window.end),
        customer_rollups.created(org_id, window.previous.start, window.previous.end),
    )

    def summed(by_kind: dict[str, rollups.Figures]) -> dict[str, Any]:
        return {
            "sales": sum(f.sales for f in by_kind.values()),
            "orders": sum(f.orders for f in by_kind.values()),
            "units": sum(f.units for f in by_kind.values()),
        }

    now, before = summed(now_by_kind), summed(before_by_kind)
    return DashboardMetricsView(
        period=window.view(),
        previous_period=window.previous.view(),
        total_sales=metric(money(now["sales"]), money(before["sales"])),
        total_orders=metric(now["orders"], before["orders"]),
        products_sold=metric(int(now["units"]), int(before["units"])),
        new_customers=metric(new_now, new_before),
    )


# ------------------------------------------------------------------------- revenue chart

WEEKDAYS = list(calendar.day_name)  # Monday first, as ISO weeks
MONTHS = list(calendar.month_name)[1:]


@dataclass(frozen=True)
class Chart:
    span: Span
    window: Window
    labels: list[str]
    bucket: dict[str, Any]  # the $group key that numbers buckets from 1 (hours from 0)
    first: int  # the bucket number of labels[0]
    tz: ZoneInfo = ZoneInfo("UTC")

    def local_bucket(self, at: datetime) -> int:
        """The bucket number (as `bucket` gives it) of the instant `at`, in the chart's zone."""
        local = at.astimezone(self.tz)
        if self.span is Span.DAY:
            return local.hour
        if self.span is Span.WEEK:
            return local.isoweekday()
        if self.span is Span.MONTH:
            return local.day
        return local.month


def chart(span: Span, day: date, tz: ZoneInfo) -> Chart:
    """The calendar `span` (in time zone `tz`) that contains `day`, and its buckets."""

    def at(d: date) -> datetime:
        return datetime.combine(d, time.min, tzinfo=tz).astimezone(UTC)

    by = {"date": "$createdAt", "timezone": tz.key}
    if span is Span.DAY:
        return Chart(
            span,
            Window(at(day), at(day + timedelta(days=1))),
            [f"{h:02d}:00" for h in range(24)],
            {"$hour": by},
            0,
            tz,
        )
    if span is Span.WEEK:
        monday = day - timedelta(days=day.weekday())
        return Chart(
            span,
            Window(at(monday), at(monday + timedelta(days=7))),
            WEEKDAYS,
            {"$isoDayOfWeek": by},
            1,
            tz,
        )
    if span is Span.MONTH:
        first = day.replace(day=1)
        days = calendar.monthrange(day.year, day.month)[1]
        return Chart(
            span,
            Window(at(first), at(first + timedelta(days=days))),
            [str(n) for n in range(1, days + 1)],
            {"$dayOfMonth": by},
            1,
            tz,
        )
    return Chart(
        span,
        Window(at(date(day.year, 1, 1)), at(date(day.year + 1, 1, 1))),
        MONTHS,
        {"$month": by},
        1,
        tz,
    )


async def revenue(org_id: str, span: Span, day: date, tz: ZoneInfo) -> RevenueChartView:
    """Sales of online and offline orders per hour / weekday / day of month / month."""
    c = chart(span, day, tz)
    online = [0.0] * len(c.labels)
    offline = [0.0] * len(c.labels)
    found = await rollups.series(org_id, c.window.start, c.window.end, c.local_bucket)
    if found is None:  # buckets that do not follow whole hours: read the orders
        found = await _revenue_from_orders(org_id, c)
    for (bucket, kind), sales in found.items():
        i = int(bucket) - c.first
        if not 0 <= i < len(c.labels):
            continue  # cannot happen for orders inside the window; never index out of range
        series = offline if kind == OrderType.OFFLINE.value else online
        series[i] += sales
    return RevenueChartView(
        period=span.value,
        from_=c.window.start,
        to=c.window.end,
        timezone=tz.key,
        labels=c.labels,
        online=[money(v) for v in online],
        offline=[money(v) for v in offline],
        total_online=money(sum(online)),
        total_offline=money(sum(offline)),
    )


async def _revenue_from_orders(org_id: str, c: Chart) -> dict[tuple[int, str], float]:
    pipeline = [
        {"$match": {"orgId": org_id, "createdAt": _in(c.window)}},
        _NOT_CANCELLED,
        {
            "$group": {
                "_id": {"bucket": c.bucket, "type": "$orderType"},
                "sales": {"$sum": "$total"},
            }
        },
    ]
    out: dict[tuple[int, str], float] = {}
    for row in await _rows(Order.get_pymongo_collection(), pipeline):
        key = (int(row["_id"]["bucket"]), rollups.kind_of(row["_id"].get("type")))
        out[key] = out.get(key, 0.0) + row["sales"]
    return out


# -------------------------------------------------------------------------- top products


async def top_products(org_id: str, window: Window | None, limit: int) -> list[TopProductView]:
    """Products by units sold (then revenue) in `window` (all time without one)."""
    found = await rollups.product_sales(
        org_id, window.start if window else None, window.end if window else None
    )
    sold = [(pid, f) for pid, f in found.items() if f.units > 0]  # cancelled ones gave back
    units = sum(f.units for _, f in sold)
    # Revenue to the cent: sums added in another order must not reorder equal revenues.
    sold.sort(key=lambda row: (-row[1].units, -round(row[1].revenue, 2), row[0]))
    top = sold[:limit]
    ids = [pid for pid, _ in top]
    # Today's names: a product renamed since shows its new name.
    names = {
        p["_id"]: p["name"]
        async for p in Product.get_pymongo_collection().find(
            {"orgId": org_id, "_id": {"$in": ids}}, {"name": 1}
        )
    }
    return [
        TopProductView(
            id=pid,
            rank=rank,
            name=names.get(pid) or f.name or "",
            popularity=percent(f.units, units, 1),
            sales=int(f.units),
            revenue=money(f.revenue),
        )
        for rank, (pid, f) in enumerate(top, start=1)
    ]


# ------------------------------------------------------------------------ customer totals


# The embedded server reads every match of a query before it sorts or applies a limit
# (about 20 µs a customer: 0.4 s for 20,000), so the samples below read the org's customers in
# ranges of an indexed field, most promising first, and stop once a range completes the sample.
_REVENUE_STEP = 0.8  # each revenue range starts at 0.8 times the one before it
_REVENUE_RANGES = 24  # then everything above zero below the last one
_AGE_STEPS_DAYS = tuple(2**k for k in range(13))  # 1, 2, 4 ... 4096 days back, then older


def _orders(doc: dict[str, Any]) -> int:
    return int(doc.get("totalOrders") or 0)


async def _in_range(org_id: str, field: str, lower: Any, upper: Any) -> list[dict[str, Any]]:
    bounds: dict[str, Any] = {}
    if lower is not None:
        bounds["$gte"] = lower
    if upper is not None:
        bounds["$lt"] = upper
    query = {"orgId": org_id, field: bounds}
    return await Customer.get_pymongo_collection().find(query).to_list()


async def _top_spenders(
    org_id: str, limit: int, totals: customer_rollups.CustomerTotals
) -> list[dict[str, Any]]:
    """Up to `limit` buyers by revenue (highest first, then by id), among those with revenue
    above zero: revenue ranges on the (orgId, totalRevenue) index, from the highest revenue a
    customer has reached (kept by the customer rollups) down by a fifth each time."""
    if limit <= 0 or totals.with_orders <= 0:
        return []
    edges: list[float] = []
    edge = totals.max_revenue * _REVENUE_STEP
    while edge > 0 and len(edges) < _REVENUE_RANGES:
        edges.append(edge)
        edge *= _REVENUE_STEP
    found: list[dict[str, Any]] = []
    upper = None
    for lower in [*edges, math.ulp(0.0)]:
        found += [d for d in await _in_range(org_id, "totalRevenue", lower, upper) if _orders(d)]
        if len(found) >= limit:
            break
        upper = lower
    found.sort(key=lambda d: (-float(d.get("totalRevenue") or 0.0), d["_id"]))
    return found[:limit]


async def _newest_without_orders(org_id: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` customers without orders, newest first (then by id): creation-time
    ranges on the (orgId, createdAt) index, the last day first, then 2, 4, 8 ... days back."""
    if limit <= 0:
        return []
    now = utcnow()
    edges = [now - timedelta(days=days) for days in _AGE_STEPS_DAYS]
    found: list[dict[str, Any]] = []
    upper = None
    for lower in [*edges, None]:
        found += [d for d in await _in_range(org_id, "createdAt", lower, upper) if not _orders(d)]
        if len(found) >= limit:
            break
        upper = lower
    found.sort(key=lambda d: d["_id"])
    found.sort(key=lambda d: d["createdAt"], reverse=True)
    return found[:limit]


async def segmentation(org_id: str, sample: int = 5) -> CustomerSegmentationView:
    """Customers with and without orders, their revenue, average order value and the
    conversion rate (from the customer rollups), plus up to `sample` customers of each group:
    the top spenders and the newest without orders."""
    totals = await customer_rollups.totals(org_id)
    top, newest = await asyncio.gather(
        _top_spenders(org_id, sample, totals), _newest_without_orders(org_id, sample)
    )
    found = {"top": top, "newest": newest}

    def customers(key: str) -> list[Any]:
        return [customer_view(Customer.model_validate(doc)) for doc in found[key]]

    return CustomerSegmentationView(
        total_customers=totals.customers,
        with_orders=WithOrdersView(
            count=totals.with_orders,
            total_revenue=totals.revenue,
            total_orders=totals.orders,
            average_order_value=money(totals.revenue / totals.orders) if totals.orders else 0.0,
            customers=customers("top"),
        ),
        without_orders=WithoutOrdersView(
            count=totals.customers - totals.with_orders,
            customers=customers("newest"),
        ),
        conversion_rate=percent(totals.with_orders, totals.customers),
    )


# --------------------------------------------------------------------------- CRM overview


def _success(sent: int, failed: int) -> float | None:
    return percent(sent, sent + failed) if sent + failed else None


async def stats(org_id: str) -> DashboardStatsView:
    """The CRM document's overview: totals, campaign messages sent/failed and the success
    rate, the latest campaigns (with their recipients' progress) and segments.

    Customers come from the customer rollups and messages from the campaigns' own recipient
    counters (moved by `$inc` as recipients are added and settle; `campaigns.recount` sets
    them from the recipients), so nothing here reads every customer or recipient."""
    sums = [
        {"$match": {"orgId": org_id}},
        {
            "$group": {
                "_id": None,
                "campaigns": {"$sum": 1},
                "recipients": {"$sum": "$recipientCount"},
                "sent": {"$sum": "$sentCount"},
                "failed": {"$sum": "$failedCount"},
            }
        },
    ]
    totals, rows, recent_campaigns, segments, segment_count = await asyncio.gather(
        customer_rollups.totals(org_id),
        _rows(Campaign.get_pymongo_collection(), sums),
        Campaign.find(Campaign.org_id == org_id)
        .sort(-Campaign.created_at, +Campaign.id)
        .limit(RECENT)
        .to_list(),
        Segment.find(Segment.org_id == org_id)
        .sort(-Segment.created_at, +Segment.id)
        .limit(RECENT)
        .to_list(),
        Segment.find(Segment.org_id == org_id).count(),
    )
    row = rows[0] if rows else {}
    campaign_count = int(row.get("campaigns", 0))
    sent, failed = int(row.get("sent", 0)), int(row.get("failed", 0))
    pending = max(0, int(row.get("recipients", 0)) - sent - failed)

    def performance(campaign: Campaign) -> CampaignPerformanceView:
        c_sent, c_failed = campaign.sent_count, campaign.failed_count
        c_pending = max(0, campaign.recipient_count - c_sent - c_failed)
        return CampaignPerformanceView(
            id=campaign.id,
            name=campaign.name,
            recipients=c_sent + c_failed + c_pending,
            sent=c_sent,
            failed=c_failed,
            pending=c_pending,
            success_rate=_success(c_sent, c_failed),
        )

    return DashboardStatsView(
        overview=StatsOverview(
            total_customers=totals.customers,
            customers_with_orders=totals.with_orders,
            total_orders=totals.orders,
            total_revenue=totals.revenue,
            total_segments=segment_count,
            total_campaigns=campaign_count,
            messages_sent=sent,
            messages_failed=failed,
            messages_pending=pending,
            success_rate=_success(sent, failed),
        ),
        recent_campaigns=[
            RecentCampaignView(
                id=c.id,
                name=c.name,
                status=c.status,
                channel_id=c.channel_id,
                created_at=c.created_at,
                started_at=c.started_at,
                completed_at=c.completed_at,
            )
            for c in recent_campaigns
        ],
        recent_segments=[
            RecentSegmentView(
                id=s.id,
                name=s.name,
                customer_count=s.customer_count,
                counted_at=s.counted_at,
                created_at=s.created_at,
            )
            for s in segments
        ],
        campaign_performance=[performance(c) for c in recent_campaigns],
    )
