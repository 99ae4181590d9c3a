"""Channel request bodies."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
)

from connectors.base import ChannelType
from web.schemas import Body


class ChannelCreateBody(Body):
    type: ChannelType
    name: str = Field(min_length=1, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)


class ChannelUpdateBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, Any] | None = None
    is_active: bool | None = None
