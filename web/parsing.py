"""Turning request bodies and query strings into validated pydantic models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from inbox.errors import ValidationFailed
from web.errors import validation_details

M = TypeVar("M", bound=BaseModel)


async def json_body(request: web.Request, model: type[M]) -> M:
    """The JSON body as `model`; 400 with field details when it is not."""
    # `read()` rather than `can_read_body`: the rate limiter may have read (and aiohttp cached)
    # the body already, which leaves the stream at its end.
    body = await request.read()
    if not body:
        raw: Any = {}
    else:
        try:
            raw = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise ValidationFailed("Body is not valid JSON", code="INVALID_JSON") from exc
    if not isinstance(raw, dict):
        raise ValidationFailed("Body must be a JSON object", code="INVALID_JSON")
    return _validate(model, raw)


def query(request: web.Request, model: type[M]) -> M:
    return _validate(model, dict(request.query))


def _validate(model: type[M], raw: dict[str, Any]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed("Invalid request", details=validation_details(exc)) from exc
