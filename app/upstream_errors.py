"""The one error family every upstream (CloudCruise, Qoder, r4) raises.

Which class a non-2xx answer becomes is decided by one table, by HTTP status
(:data:`app.httpclient.STATUS_ERRORS`); each class builds a message that names the service
("Qoder answered 503."). A client may replace a message where its API has something more
useful to say (:meth:`app.httpclient.ApiClient.error_message`).

Every message is safe to show to an operator and to log: only the body's message, code and
field name are read, nothing from the request payload is echoed, and a client scrubs its
own key (and any secret it just sent) from messages before raising.

No Flask imports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

_MAX_MESSAGE = 300
#: how messages name a service when the error was raised without one
SOMEONE = "the upstream service"


def clip(text: Any) -> str:
    """One line of at most 300 characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def _sentence(template: str, service: str | None) -> str:
    text = template.format(service=service or SOMEONE)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class ErrorDetail:
    """What an error body says, whatever the API's envelope: its message(s), code, the
    request field it names (``param``) and anything else a class may use (``extra``)."""

    message: str | None = None
    code: str | None = None
    param: str | None = None
    #: every message of a body that lists several (NestJS validation), in order
    messages: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None


class UpstreamError(Exception):
    """Base class. ``status`` is the HTTP status (None when no response arrived);
    ``service`` names the API in messages ("Qoder", "r4", "CloudCruise")."""

    default_message: ClassVar[str] = "The request to {service} failed."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        body: Any = None,
        service: str | None = None,
    ) -> None:
        self.service = service
        self.message = clip(message or _sentence(self.default_message, service))
        self.status = status
        self.code = code
        self.body = body if isinstance(body, dict) else None
        super().__init__(self.message)

    @property
    def outcome(self) -> str:
        """Short label for logs and the audit trail, e.g. ``upstream 503``."""
        return f"upstream {self.status}" if self.status else f"upstream {type(self).__name__}"

    @classmethod
    def from_answer(
        cls,
        service: str,
        status: int,
        detail: ErrorDetail,
        *,
        message: str | None = None,
        retry_after: float | None = None,
        field_of: Callable[[str], str | None] | None = None,
    ) -> UpstreamError:
        """The error for a non-2xx answer. ``message`` (the client's own wording) wins over
        :meth:`describe` (the body's message, else the class's default)."""
        extra = cls.answer_fields(detail, retry_after=retry_after, field_of=field_of)
        return cls(
            message or cls.describe(service, status, detail, retry_after),
            status=status,
            code=detail.code,
            body=detail.body,
            service=service,
            **extra,
        )

    @classmethod
    def describe(
        cls, service: str, status: int, detail: ErrorDetail, retry_after: float | None
    ) -> str:
        if detail.message:
            return detail.message
        if cls is UpstreamError:  # a status the table does not map
            return f"{service} answered {status}."
        return _sentence(cls.default_message, service)

    @classmethod
    def answer_fields(cls, detail: ErrorDetail, **context: Any) -> dict[str, Any]:
        """Constructor arguments a subclass reads from the answer."""
        return {}


class AuthError(UpstreamError):
    """401/403: the key (or, for CloudCruise, the encryption key) was refused."""

    default_message = "{service} rejected the console's credentials."


class NotFoundError(UpstreamError):
    default_message = "{service} has no such item; it may have been deleted."


class ConflictError(UpstreamError):
    default_message = "{service} reported a conflict."


class ValidationError(UpstreamError):
    """400/422. ``field_errors`` maps request field names to messages; the rest is general.

    The field comes from the body's ``param`` when the API names it (Qoder), else from each
    message's wording through ``field_of`` (CloudCruise: "property x should not exist")."""

    default_message = "{service} rejected the request."

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        messages: tuple[str, ...] | list[str] = (),
        field_of: Callable[[str], str | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.field_errors: dict[str, list[str]] = {}
        self.general_errors: list[str] = []
        if param:
            self.field_errors[param] = [self.message]
            return
        for text in messages or [self.message]:
            if not text:
                continue
            text = clip(text)
            name = field_of(text) if field_of else None
            if name:
                self.field_errors.setdefault(name, []).append(text)
            else:
                self.general_errors.append(text)

    @classmethod
    def answer_fields(cls, detail: ErrorDetail, **context: Any) -> dict[str, Any]:
        return {
            "param": detail.param,
            "messages": detail.messages,
            "field_of": context.get("field_of"),
        }


class RateLimitedError(UpstreamError):
    default_message = "{service} is rate limiting this console."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after

    @classmethod
    def describe(
        cls, service: str, status: int, detail: ErrorDetail, retry_after: float | None
    ) -> str:
        when = (
            f"Retry in {max(1, math.ceil(retry_after))} s."
            if retry_after is not None
            else "Retry shortly."
        )
        return f"{_sentence(cls.default_message, service)} {when}"

    @classmethod
    def answer_fields(cls, detail: ErrorDetail, **context: Any) -> dict[str, Any]:
        return {"retry_after": context.get("retry_after")}


class UnavailableError(UpstreamError):
    """No usable answer: 5xx, timeout, refused connection, garbage or oversized body.

    ``kind`` is one of ``server``, ``timeout``, ``connection``, ``malformed``.
    """

    default_message = "{service} did not give a usable answer."

    def __init__(self, message: str | None = None, *, kind: str = "server", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.kind = kind

    @property
    def outcome(self) -> str:
        return f"upstream {self.status}" if self.status else f"upstream {self.kind}"

    @classmethod
    def describe(
        cls, service: str, status: int, detail: ErrorDetail, retry_after: float | None
    ) -> str:
        said = detail.message
        return f"{service} answered {status}" + (f": {said}" if said else ".")


class NotAvailableError(UpstreamError):
    """501 (Qoder's ``feature_not_available``): the API does not offer this operation (yet).

    Not an :class:`UnavailableError`: retrying does not help."""

    default_message = "This {service} feature is not available."

    def __init__(
        self,
        message: str | None = None,
        *,
        feature: str | None = None,
        available_from: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.feature = feature
        self.available_from = available_from

    @classmethod
    def describe(
        cls, service: str, status: int, detail: ErrorDetail, retry_after: float | None
    ) -> str:
        fields = cls.answer_fields(detail)
        feature, since = fields["feature"], fields["available_from"]
        text = f"This {service} feature is not available" + (f" ({feature})" if feature else "")
        return text + (f"; available from {since}." if since else ".")

    @classmethod
    def answer_fields(cls, detail: ErrorDetail, **context: Any) -> dict[str, Any]:
        feature = detail.extra.get("feature")
        since = detail.extra.get("available_from")
        return {
            "feature": feature if isinstance(feature, str) else None,
            "available_from": since if isinstance(since, str) else None,
        }


__all__ = [
    "AuthError",
    "ConflictError",
    "ErrorDetail",
    "NotAvailableError",
    "NotFoundError",
    "RateLimitedError",
    "UnavailableError",
    "UpstreamError",
    "ValidationError",
]
