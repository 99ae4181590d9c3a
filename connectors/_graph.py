"""Calling Meta's Graph API: auth headers, timeouts, error classification, token hygiene.

Shared by WhatsApp, Messenger and Instagram, which all speak the same Graph error shape:
`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id", "error_data"}}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from connectors.base import (
    ConnectionResult,
    PermanentSendError,
    RetryableSendError,
    SendError,
)

DEFAULT_API_BASE_URL = "https://graph.facebook.com/v21.0"
DEFAULT_TIMEOUT_SECONDS = 15.0

# Meta error codes worth retrying: throttling (4, 17, 32, 613, 80007, 130429, 131048,
# 131056) and "temporary / unknown" server errors (1, 2). 131000 is generic: it is only
# retried when it comes with an HTTP 5xx, which the status check already covers.
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131048, 131056})

M = TypeVar("M", bound=BaseModel)


def load_config(model: type[M], config: dict[str, Any], platform: str) -> M:
    """Validate the channel config; the error names fields only, never their values."""
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) or "config" for err in exc.errors()})
        raise PermanentSendError(
            f"{platform} channel config is invalid: {', '.join(fields)}",
            code="INVALID_CONFIG",
            details={"fields": fields},
        ) from None


def base_url(config: BaseModel) -> str:
    base = getattr(config, "apiBaseUrl", None) or DEFAULT_API_BASE_URL
    return base.rstrip("/")


def redact(value: Any, secrets: tuple[str, ...]) -> Any:
    """Replace every secret occurring in strings (recursively) with '***'."""
    secrets = tuple(s for s in secrets if s)
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    return value


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify_error(
    platform: str,
    status: int,
    body: Any,
    text: str,
    retry_after: float | None,
    secrets: tuple[str, ...],
) -> SendError:
    """Turn a non-2xx Graph response into RetryableSendError or PermanentSendError."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        code = err.get("code")
        reason = err.get("message") or err.get("error_user_msg") or "unknown error"
        details: dict[str, Any] = {
            key: value
            for key, value in {
                "httpStatus": status,
                "type": err.get("type"),
                "code": code,
                "subcode": err.get("error_subcode"),
                "fbtraceId": err.get("fbtrace_id"),
                "errorData": err.get("error_data"),
                "userTitle": err.get("error_user_title"),
                "userMessage": err.get("error_user_msg"),
            }.items()
            if value is not None
        }
        transient = err.get("is_transient") is True
    else:
        code = None
        reason = text.strip()[:300] or "empty response"
        details = {"httpStatus": status}
        transient = False

    retryable = status == 429 or status >= 500 or code in RETRYABLE_CODES or transient
    shown_code = code if code is not None else f"HTTP_{status}"
    message = redact(f"{platform} API error {shown_code} (HTTP {status}): {reason}", secrets)
    details = redact(details, secrets)
    if retryable:
        return RetryableSendError(
            message, code=shown_code, details=details, retry_after=retry_after
        )
    return PermanentSendError(message, code=shown_code, details=details)


async def graph_request(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str,
    platform: str,
    timeout_seconds: float,
    json_body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """One Graph call; returns the JSON object of a 2xx answer or raises a SendError."""
    headers = {"Authorization": f"Bearer {token}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    secrets = (token,)
    try:
        async with http.request(
            method,
            url,
            json=json_body,
            params=params,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        ) as resp:
            status = resp.status
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            text = await resp.text(errors="replace")
    except TimeoutError:
        # Checked before ClientError: aiohttp's timeout errors are both.
        raise RetryableSendError(
            f"{platform} API did not answer within {timeout_seconds:g}s",
            code="TIMEOUT",
            details={"timeoutSeconds": timeout_seconds},
        ) from None
    except aiohttp.ClientError as exc:
        raise RetryableSendError(
            redact(f"{platform} API unreachable: {type(exc).__name__}: {exc}", secrets),
            code="NETWORK_ERROR",
        ) from None

    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = None
    if 200 <= status < 300:
        if not isinstance(body, dict):
            # The platform may have acted on it, so retrying could double-send: permanent.
            raise PermanentSendError(
                f"{platform} API answered HTTP {status} without a JSON object",
                code="BAD_RESPONSE",
                details={"httpStatus": status},
            )
        return body
    raise classify_error(platform, status, body, text, retry_after, secrets)


async def check_connection(
    http: aiohttp.ClientSession,
    *,
    url: str,
    token: str,
    fields: str,
    platform: str,
    timeout_seconds: float,
    describe: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]],
) -> ConnectionResult:
    """GET a Graph node and report whether the credentials reach it.

    `describe` turns the node into (display name, details). Every failure becomes
    ok=False with the platform's own message; tokens never appear in the result.
    """
    try:
        node = await graph_request(
            http,
            "GET",
            url,
            token=token,
            platform=platform,
            timeout_seconds=timeout_seconds,
            params={"fields": fields},
        )
    except SendError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        return ConnectionResult(
            ok=False,
            message=exc.message,
            details={**details, "code": exc.code, "retryable": isinstance(exc, RetryableSendError)},
        )
    name, details = describe(node)
    return ConnectionResult(
        ok=True, message=f"Connected to {name}", details=redact(details, (token,))
    )
