"""The audit log's query string."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from web.schemas import _Query


class AuditQuery(_Query):
    action: str | None = Field(default=None, max_length=100)
    entity: str | None = Field(default=None, max_length=100)
    user_id: str | None = Field(default=None, max_length=100)
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None

    @field_validator("from_", "to")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        # A time without a zone is read as UTC, like every time the API returns.
        return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v

    @model_validator(mode="after")
    def _ordered(self) -> AuditQuery:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValidationError.from_exception_data(
                "AuditQuery",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("range_order", "must not be after `to`"),
                        loc=("from",),
                        input=self.from_.isoformat(),
                    )
                ],
            )
        return self
