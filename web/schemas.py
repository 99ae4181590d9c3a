"""What every request body and query model builds on, and the plain `Ok` answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    field_validator,
)
from pydantic.alias_generators import to_camel


class Body(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )


class _Query(Body):
    """Query strings: paging keys pass through; an empty value means "not given"."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", str_strip_whitespace=True
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        if isinstance(v, str) and "\x00" in v:
            # MongoDB refuses NUL in a regular expression (searches), so say so up front.
            raise ValueError("must not contain NUL characters")
        return None if isinstance(v, str) and not v.strip() else v


class Ok(BaseModel):
    success: Literal[True] = True
    message: str
