"""Query strings of /orgs/{orgId}/dashboard/* and /orgs/{orgId}/customers/segmentation."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from web.analytics.schemas import AnalyticsQuery
from web.schemas import _Query

Span = Literal["day", "week", "month", "year"]


class DashboardPeriodQuery(AnalyticsQuery):
    """`period` (a window ending now) or `from`/`to` (UTC dates, inclusive, or date-times)."""

    period: Span | None = Field(
        default=None,
        description="The last 24 hours, 7, 30 or 365 days; or give `from` (and `to`) instead",
    )

    @field_validator("period", mode="before")
    @classmethod
    def _blank(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @model_validator(mode="after")
    def _one_way(self) -> DashboardPeriodQuery:
        if self.period is not None and (self.from_ is not None or self.to is not None):
            raise _field_error(type(self).__name__, "period", "give either period or from/to")
        if self.to is not None and self.from_ is None:
            raise _field_error(type(self).__name__, "from", "is needed with `to`")
        return self


def _field_error(model: str, field: str, message: str) -> ValidationError:
    # On a named field, so the 400's details say which parameter is wrong.
    return ValidationError.from_exception_data(
        model,
        [InitErrorDetails(type=PydanticCustomError("period", message), loc=(field,), input=None)],
    )


class MetricsQuery(DashboardPeriodQuery):
    pass


class TopProductsQuery(DashboardPeriodQuery):
    limit: int = Field(default=10, ge=1, le=100, description="How many products")


class RevenueQuery(_Query):
    period: Span = Field(
        default="week",
        description="day: hours; week: Monday to Sunday; month: its days; year: its months",
    )
    date_: date | None = Field(
        default=None, alias="date", description="Any day of the period to show; default today"
    )
    tz: str = Field(
        default="UTC",
        max_length=64,
        description="IANA time zone of the calendar, e.g. Africa/Lagos",
    )

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "must be an IANA time zone such as UTC or Africa/Johannesburg"
            ) from None
        return v

    @field_validator("date_")
    @classmethod
    def _calendar(cls, v: date | None) -> date | None:
        # Whole years either side stay inside datetime's range in any time zone.
        if v is not None and not date(1971, 1, 1) <= v <= date(9000, 12, 31):
            raise ValueError("must be between 1971-01-01 and 9000-12-31")
        return v


class SegmentationQuery(_Query):
    limit: int = Field(
        default=5, ge=0, le=50, description="Customers shown per group (0: counts only)"
    )
