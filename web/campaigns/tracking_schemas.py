"""Query strings of the public e-mail tracking endpoints (/t/...)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from inbox.campaigns.email_campaigns import MAX_TRACKED_LINK_CHARS


class ClickQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    u: str = Field(
        min_length=1,
        max_length=MAX_TRACKED_LINK_CHARS,
        pattern="^[!-~]+$",
        description="The link's original URL; it must be one the recipient's e-mail contained",
    )
