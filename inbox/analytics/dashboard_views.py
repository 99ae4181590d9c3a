"""The sales dashboard's figures (sales-dashboard document) and the CRM overview (CRM document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from inbox.campaigns.documents import CampaignStatus
from inbox.crm.customer_views import CustomerView
from inbox.view_base import View

__all__ = [
    "ChangeType",
    "MetricView",
    "DashboardWindow",
    "DashboardMetricsView",
    "RevenueChartView",
    "TopProductView",
    "StatsOverview",
    "RecentCampaignView",
    "CampaignPerformanceView",
    "RecentSegmentView",
    "DashboardStatsView",
    "WithOrdersView",
    "WithoutOrdersView",
    "CustomerSegmentationView",
]

ChangeType = Literal["increase", "decrease", "neutral"]


class MetricView(View):
    value: int | float = Field(description="Sales in the store's currency; counts are whole")
    change: float = Field(
        description="Percent change against the previous period of the same length, one "
        "decimal; 100 when the previous period had none and this one has some"
    )
    change_type: ChangeType


class DashboardWindow(View):
    from_: datetime = Field(alias="from", description="Start, inclusive (UTC)")
    to: datetime = Field(description="End, exclusive (UTC)")


class DashboardMetricsView(View):
    period: DashboardWindow
    previous_period: DashboardWindow
    total_sales: MetricView = Field(description="Sum of the totals of orders not cancelled")
    total_orders: MetricView = Field(description="Orders not cancelled")
    products_sold: MetricView = Field(description="Units in orders not cancelled")
    new_customers: MetricView = Field(description="Customers created in the period")


class RevenueChartView(View):
    period: Literal["day", "week", "month", "year"]
    from_: datetime = Field(alias="from", description="Start of the period, inclusive (UTC)")
    to: datetime = Field(description="End of the period, exclusive (UTC)")
    timezone: str = Field(description="The time zone the buckets are counted in")
    labels: list[str] = Field(
        description="Hours of the day, days of the week, days of the month or months"
    )
    online: list[float] = Field(description="Sales of online orders per label")
    offline: list[float] = Field(description="Sales of offline orders per label")
    total_online: float
    total_offline: float


class TopProductView(View):
    id: str = Field(description="The product's id")
    rank: int
    name: str = Field(description="The product's current name (as ordered, once deleted)")
    popularity: float = Field(description="Share of all units sold in the period, percent")
    sales: int = Field(description="Units sold (orders not cancelled)")
    revenue: float = Field(description="Sum of the line totals")


class StatsOverview(View):
    total_customers: int
    customers_with_orders: int
    total_orders: int = Field(description="Orders not cancelled (from the customers' totals)")
    total_revenue: float = Field(description="Their revenue (from the customers' totals)")
    total_segments: int
    total_campaigns: int
    messages_sent: int = Field(description="Campaign messages sent")
    messages_failed: int = Field(description="Campaign messages that failed")
    messages_pending: int = Field(description="Campaign messages not sent yet")
    success_rate: float | None = Field(
        description="Sent of sent + failed, percent (two decimals); null before any send"
    )


class RecentCampaignView(View):
    id: str
    name: str
    status: CampaignStatus
    channel_id: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class CampaignPerformanceView(View):
    id: str
    name: str
    recipients: int
    sent: int
    failed: int
    pending: int
    success_rate: float | None = Field(description="Sent of sent + failed, percent")


class RecentSegmentView(View):
    id: str
    name: str
    customer_count: int
    counted_at: datetime | None
    created_at: datetime


class DashboardStatsView(View):
    overview: StatsOverview
    recent_campaigns: list[RecentCampaignView] = Field(description="The latest campaigns")
    recent_segments: list[RecentSegmentView] = Field(description="The latest segments")
    campaign_performance: list[CampaignPerformanceView] = Field(
        description="Sent, failed and pending recipients of the latest campaigns"
    )


class WithOrdersView(View):
    count: int
    total_revenue: float
    total_orders: int
    average_order_value: float = Field(description="Revenue per order, 0 without orders")
    customers: list[CustomerView] = Field(description="Top customers by revenue")


class WithoutOrdersView(View):
    count: int
    customers: list[CustomerView] = Field(description="Newest customers without an order")


class CustomerSegmentationView(View):
    total_customers: int
    with_orders: WithOrdersView
    without_orders: WithoutOrdersView
    conversion_rate: float = Field(
        description="Customers with at least one order, percent of all (two decimals)"
    )
