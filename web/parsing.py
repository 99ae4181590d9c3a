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
            # Strict JSON: NaN and Infinity are not JSON, and could not be answered back as JSON.
            raw = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise ValidationFailed("Body is not valid JSON", code="INVALID_JSON") from exc
    if not isinstance(raw, dict):
        raise ValidationFailed("Body must be a JSON object", code="INVALID_JSON")
    if (problem := _unstorable(raw)) is not None:
        where, why = problem
        raise ValidationFailed("Body holds a value that cannot be stored", details={where: why})
    return _validate(model, raw)


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _unstorable(value: Any) -> tuple[str, str] | None:
    """The first place in parsed JSON that MongoDB cannot store, and why; None when all is well.

    Free-form fields (channel `config`, message `metadata`, ...) pass pydantic untouched, so
    this is checked once for every body: NUL in keys, lone UTF-16 surrogates (not encodable as
    UTF-8) and integers beyond 64 bits."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                here = f"{path}.{key}" if path else key
                if "\x00" in key:
                    return _shown(here), "a key contains a NUL character"
                if not _encodable(key):
                    return _shown(here), "a key is not valid Unicode"
                stack.append((here, child))
        elif isinstance(node, list):
            stack.extend((f"{path}.{i}", child) for i, child in enumerate(node))
        elif isinstance(node, str):
            if not _encodable(node):
                return _shown(path) or "body", "not valid Unicode (a lone surrogate)"
        elif isinstance(node, int) and not isinstance(node, bool):
            if not INT64_MIN <= node <= INT64_MAX:
                return _shown(path) or "body", "integer outside the 64-bit range"
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(path: str) -> str:
    return path.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def query(request: web.Request, model: type[M]) -> M:
    return _validate(model, dict(request.query))


def _validate(model: type[M], raw: dict[str, Any]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed("Invalid request", details=validation_details(exc)) from exc
