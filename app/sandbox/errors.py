"""Errors the emulator answers, in the NestJS shape the real backend uses."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(status: int, message: Any = None, **extra: Any) -> dict[str, Any]:
    """``{"statusCode", "error", "message", ...}``; ``message`` defaults to the reason phrase."""
    body: dict[str, Any] = {"statusCode": status, "error": reason(status)}
    body.update(extra)
    body["message"] = reason(status) if message is None else message
    return body


class ApiError(Exception):
    """Raised anywhere in a request; the app turns it into a JSON response."""

    def __init__(
        self,
        status: int,
        message: Any = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(status, message, **extra)
        self.headers = headers or {}


def bad_request(messages: list[str] | str) -> ApiError:
    """A class-validator style 400: ``message`` is a list of "<field> ..." strings."""
    if isinstance(messages, str):
        messages = [messages]
    return ApiError(400, list(messages))


def not_found(message: str = "Vault entry not found") -> ApiError:
    return ApiError(404, message)


def conflict(message: str, code: str | None = None) -> ApiError:
    return ApiError(409, message, code=code) if code else ApiError(409, message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", code="UNAUTHENTICATED")


def invalid_encryption(field: str) -> ApiError:
    return ApiError(
        401,
        f"{field} is not encrypted with this workspace's encryption key",
        code="INVALID_ENCRYPTION",
    )
