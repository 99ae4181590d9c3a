"""The error middleware: every failure leaves in the one error shape (docs/api.md), no trace."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from inbox.errors import InboxError

log = logging.getLogger(__name__)

_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "code": code or _CODES.get(status, "ERROR"),
        "details": details or {},
    }
    return web.json_response(body, status=status, headers=headers)


def validation_details(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in exc.errors()}


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except InboxError as exc:
        return error_response(exc.status, exc.message, exc.code, exc.details)
    except ValidationError as exc:
        return error_response(400, "Invalid request", "VALIDATION_ERROR", validation_details(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason
        if exc.status == 413:
            message = "Request body is too large"
        return error_response(
            exc.status,
            message or exc.reason,
            headers={k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}},
        )
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Internal server error", "INTERNAL_ERROR")
