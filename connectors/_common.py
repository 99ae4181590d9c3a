"""Small helpers shared by the webhook parsers (pure functions, no I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import StringConstraints, ValidationError

from connectors.base import InboundMessage, MalformedPayload, StatusUpdate

Event = InboundMessage | StatusUpdate


class SkipItem(Exception):  # noqa: N818 - a signal, not an error the caller sees
    """Raised by an item parser when one message/status cannot be read.

    The batch loop records the reason and goes on with the next item, so one broken item
    never drops the good ones delivered with it.
    """


class Batch:
    """Collects the events of one delivery and the reasons items were skipped.

    Policy: skip individual items that lack what we need (id, sender, timestamp) and keep
    the rest; raise MalformedPayload only when the delivery yields nothing *and* something
    was skipped, i.e. when nothing sensible could be read. Items that are simply not
    messages (optins, comments, template updates...) are ignored silently and are not
    problems: an all-ignorable delivery parses to [].
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.problems: list[str] = []

    def skip(self, reason: str) -> None:
        self.problems.append(reason)

    def add(self, where: str, parse: Callable[..., Event | list[Event] | None], *args: Any) -> None:
        """Run one item parser; keep what it returns, or record why the item was skipped."""
        try:
            result = parse(*args)
        except SkipItem as exc:
            self.skip(f"{where}: {exc}")
            return
        except ValidationError as exc:  # a field of the wrong type, e.g. a numeric name
            fields = ", ".join(".".join(map(str, err["loc"])) for err in exc.errors())
            self.skip(f"{where}: invalid {fields}")
            return
        if isinstance(result, list):
            self.events.extend(result)
        elif result is not None:
            self.events.append(result)

    def finish(self) -> list[Event]:
        if not self.events and self.problems:
            shown = "; ".join(self.problems[:5])
            more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
            raise MalformedPayload(f"no usable message or status: {shown}{more}")
        return self.events


def require_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} must be an object, got {type(value).__name__}")
    return value


def require_object(payload: Any, expected: str) -> dict[str, Any]:
    """Check the envelope `{"object": expected, "entry": [...]}` and return it."""
    payload = require_dict(payload, "payload")
    obj = payload.get("object")
    if obj != expected:
        raise MalformedPayload(f"expected object {expected!r}, got {obj!r}")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise MalformedPayload(f"'entry' must be a list, got {type(entries).__name__}")
    return payload


def list_field(container: Mapping[str, Any], key: str, where: str, batch: Batch) -> list[Any]:
    """`container[key]` as a list; absent -> []; present but not a list -> recorded problem."""
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        batch.skip(f"{where}.{key} is not a list")
        return []
    return value


def nonempty_str(value: Any) -> str | None:
    """The value when it is a usable id/string (ints are accepted and stringified)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise SkipItem(f"invalid {what} {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SkipItem(f"invalid {what} {value!r}") from None


def from_unix_seconds(value: Any) -> datetime:
    """WhatsApp sends unix seconds as strings ("1712345678")."""
    try:
        return datetime.fromtimestamp(_number(value, "timestamp"), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise SkipItem(f"invalid timestamp {value!r}") from None


def from_unix_millis(value: Any) -> datetime:
    """Messenger and Instagram send unix milliseconds as ints."""
    try:
        return datetime.fromtimestamp(_number(value, "timestamp") / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise SkipItem(f"invalid timestamp {value!r}") from None


def from_seconds_or_iso(value: Any) -> datetime:
    """Unix seconds (number or numeric string) or ISO-8601; naive ISO is taken as UTC."""
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SkipItem(f"invalid timestamp {value!r}") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return from_unix_seconds(value)


def derived_id(prefix: str, *parts: Any) -> str:
    """A stable id for events the platform sends without one (postbacks, reactions).

    Stable across redeliveries (same inputs -> same id), so downstream dedup still works.
    """
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode())
    return f"{prefix}-{digest.hexdigest()[:32]}"


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_dict(data: Any, **renames: str) -> dict[str, Any]:
    """Shallow snake_case -> camelCase copy without None values (metadata is camelCase)."""
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        out[renames.get(key, camel(str(key)))] = value
    return out


def compact(**fields: Any) -> dict[str, Any]:
    """A dict of the given fields without the None ones."""
    return {k: v for k, v in fields.items() if v is not None}


def format_coordinates(lat: Any, long: Any) -> str:
    return f"({lat}, {long})"


# Config field types: required credentials must be non-empty; surrounding whitespace
# (a common copy-paste accident) is stripped.
RequiredStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
OptionalStr = Annotated[str | None, StringConstraints(strip_whitespace=True)]
