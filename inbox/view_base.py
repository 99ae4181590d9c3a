"""What every view builds on: camelCase out, and small references to other documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from connectors.base import ChannelType


class View(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Ref(View):
    id: str
    name: str


class ChannelRef(Ref):
    type: ChannelType


class CustomerRef(Ref):
    platform: ChannelType | None
