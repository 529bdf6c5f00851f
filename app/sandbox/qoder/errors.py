"""The Qoder error envelope: ``{"type":"error","error":{"type","message","param"?}}``."""

from __future__ import annotations

from typing import Any

from app.sandbox.common.emulator import ErrorDialect

#: ``error.type`` per HTTP status (conventions/errors page); other 5xx are ``api_error``.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    501: "feature_not_available",
}

DEFAULT_MESSAGES = {
    400: "The request is not valid.",
    401: "Invalid API key or token.",
    403: "This token is not permitted to perform this action.",
    404: "The requested resource was not found.",
    409: "The request conflicts with the current state of the resource.",
    429: "Too many requests. Please retry later.",
    500: "An internal error occurred.",
    501: "This feature is not available.",
    502: "Bad gateway.",
    503: "The service is temporarily unavailable.",
    504: "Gateway timeout.",
}


def error_type(status: int) -> str:
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(status: int, message: str | None = None, **extra: Any) -> dict[str, Any]:
    """The envelope for ``status``; ``extra`` (``param``, ``feature``...) goes into ``error``."""
    error: dict[str, Any] = {
        "type": error_type(status),
        "message": message or DEFAULT_MESSAGES.get(status, "The request failed."),
    }
    error.update({k: v for k, v in extra.items() if v is not None})
    return {"type": "error", "error": error}


class QoderApiError(Exception):
    """Raised anywhere in a request; the app turns it into the JSON envelope."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(status, message, param=param)
        self.headers = headers or {}


def invalid(message: str, param: str | None = None) -> QoderApiError:
    return QoderApiError(400, message, param=param)


def not_found(message: str) -> QoderApiError:
    return QoderApiError(404, message)


def conflict(message: str) -> QoderApiError:
    return QoderApiError(409, message)


def _unknown_fields(names: list[str]) -> QoderApiError:
    first = sorted(names)[0]
    return invalid(f"Unknown field: {first}", first)


#: the envelope in the emulator app factory's terms
ERRORS = ErrorDialect(
    error=QoderApiError,
    body=error_body,
    invalid=invalid,
    unknown_fields=_unknown_fields,
    invalid_json="The request body must be valid JSON.",
    not_object="The request body must be a JSON object.",
    not_found="No route for {method} {path}.",
    not_allowed="Method {method} is not allowed on {path}.",
    too_large=(400, "The request body is too large."),  # documented as 400
    internal=None,
)
