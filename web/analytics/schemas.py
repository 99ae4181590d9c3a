"""Query strings of /orgs/analytics/*: a period, and for tickets a channel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from web.schemas import Body

_PERIOD_HELP = "an ISO date (YYYY-MM-DD, the whole day, UTC) or date-time"
# Far enough apart for any report, and far from the calendar's ends (no overflow).
_EARLIEST = date(1970, 1, 1)
_LATEST = date(9000, 12, 31)


class AnalyticsQuery(Body):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", str_strip_whitespace=True
    )

    from_: datetime | date | None = Field(
        default=None, alias="from", description=f"Start of the period: {_PERIOD_HELP}"
    )
    to: datetime | date | None = Field(
        default=None, description=f"End of the period, inclusive: {_PERIOD_HELP}"
    )

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _iso(cls, v: Any) -> Any:
        if not isinstance(v, str):
            return v
        v = v.strip()
        if not v:
            return None
        try:
            if len(v) == 10:
                day = date.fromisoformat(v)
                instant = None
            else:
                instant = datetime.fromisoformat(v)
                # Periods are UTC; a time without a zone is read as UTC.
                instant = (
                    instant.replace(tzinfo=UTC)
                    if instant.tzinfo is None
                    else instant.astimezone(UTC)
                )
                day = instant.date()
        except (ValueError, OverflowError):
            raise ValueError(f"must be {_PERIOD_HELP}") from None
        if not _EARLIEST <= day <= _LATEST:
            raise ValueError(f"must be between {_EARLIEST} and {_LATEST}")
        return instant or day

    @model_validator(mode="after")
    def _ordered(self) -> AnalyticsQuery:
        if self.from_ is not None and self.to is not None and _day(self.from_) > _day(self.to):
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("range_order", "must not be after `to`"),
                        loc=("from",),
                        input=self.from_.isoformat(),
                    )
                ],
            )
        return self


def _day(value: date | datetime) -> tuple[date, str]:
    # Compare a date with a date-time by day first, then by time within the day.
    if isinstance(value, datetime):
        return value.date(), value.time().isoformat()
    return value, ""


class TicketAnalyticsQuery(AnalyticsQuery):
    channel_id: str | None = Field(default=None, max_length=100)
