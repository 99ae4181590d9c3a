"""One error hierarchy for the whole product; the web edge maps it to HTTP (web/errors.py)."""

from __future__ import annotations

from typing import Any


class InboxError(Exception):
    status = 500
    code = "INTERNAL_ERROR"

    def __init__(
        self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class ValidationFailed(InboxError):
    status = 400
    code = "VALIDATION_ERROR"


class Unauthorized(InboxError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(InboxError):
    status = 403
    code = "FORBIDDEN"


class NotFound(InboxError):
    status = 404
    code = "NOT_FOUND"


class Conflict(InboxError):
    status = 409
    code = "CONFLICT"


class PayloadTooLarge(InboxError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class ServiceUnavailable(InboxError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
