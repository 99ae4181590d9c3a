"""Query strings of the public e-mail tracking endpoints (/t/...)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClickQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    u: str = Field(
        min_length=1,
        max_length=8192,
        description="The link's original URL; it must be one the recipient's e-mail contained",
    )
