"""Pre-aggregated sales figures for the dashboards, kept exact by the order service.

One document per (org, UTC hour) and per (org, UTC day), `_id` "<orgId>:hour:<YYYY-MM-DDTHH>"
or "<orgId>:day:<YYYY-MM-DD>", holding per order type (online/offline) the number of orders,
their sales (order totals) and units. The order service moves them with `$inc` (upsert) in the
same transaction as the order (cancelling takes them back), so they never drift from the orders.
Dashboards read them instead of reading every order of a period. `ProductRollup` does the
same per product for the top products.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from pydantic import ConfigDict
from pymongo import ASCENDING, IndexModel

from inbox.document_base import _alias

__all__ = ["SalesRollup", "ProductRollup", "CustomerRollup", "ROLLUP_DOCUMENTS"]


class SalesRollup(Document):
    model_config = ConfigDict(alias_generator=_alias, populate_by_name=True)

    id: str  # type: ignore[assignment]
    org_id: str
    unit: str  # "hour" | "day" | "meta" (the org's rollups were built from its orders)
    at: datetime | None = None  # the bucket's start (UTC)
    online_orders: int = 0
    online_sales: float = 0.0
    online_units: int = 0
    offline_orders: int = 0
    offline_sales: float = 0.0
    offline_units: int = 0

    class Settings:
        name = "sales_rollups"
        indexes = [IndexModel([("orgId", ASCENDING), ("unit", ASCENDING), ("at", ASCENDING)])]


class ProductRollup(Document):
    """Units and revenue per product in one (org, UTC hour / day / month) or for all time
    (`unit` "all"): `products` maps a product id to {units, revenue, name (as last ordered)}.
    One document per period rather than per (period, product), so a month of top products
    is 30 documents, not thousands."""

    model_config = ConfigDict(alias_generator=_alias, populate_by_name=True)

    id: str  # type: ignore[assignment]
    org_id: str
    unit: str  # "hour" | "day" | "month" | "all"
    at: datetime | None = None
    products: dict[str, dict[str, Any]] = {}

    class Settings:
        name = "product_rollups"
        indexes = [IndexModel([("orgId", ASCENDING), ("unit", ASCENDING), ("at", ASCENDING)])]


class CustomerRollup(Document):
    """Customers counted for the dashboards (`inbox/crm/customer_rollups.py`): per (org,
    UTC hour / day) how many customers were created then and still exist (`unit` "hour" /
    "day", `created`), and per org (`unit` "totals", `_id` "<orgId>:totals") how many
    customers there are, how many have ordered, their orders and revenue, and an upper bound
    of one customer's revenue."""

    model_config = ConfigDict(alias_generator=_alias, populate_by_name=True)

    id: str  # type: ignore[assignment]
    org_id: str
    unit: str  # "hour" | "day" | "totals"
    at: datetime | None = None
    created: int = 0
    customers: int = 0
    with_orders: int = 0
    orders: int = 0
    revenue: float = 0.0
    max_revenue: float = 0.0  # at least any customer's revenue (never lowered by $inc)
    version: int | None = None  # of the totals, see `customer_rollups.VERSION`

    class Settings:
        name = "customer_rollups"
        indexes = [IndexModel([("orgId", ASCENDING), ("unit", ASCENDING), ("at", ASCENDING)])]


ROLLUP_DOCUMENTS: list[type[Document]] = [SalesRollup, ProductRollup, CustomerRollup]
