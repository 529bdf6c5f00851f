"""JSON-over-HTTP transport shared by the upstream clients (CloudCruise, Qoder, r4).

* One pooled :class:`requests.Session` per client; connect and read timeouts on every call.
* Retries (urllib3 ``Retry``): GET on 5xx, connection and read errors, with backoff; any
  method on 429 when ``Retry-After`` is short (a rate-limited request was not processed).
  POST/PUT/DELETE/PATCH are otherwise never retried.
* A response-size cap; bodies that are not JSON are reported, not parsed.
* Transport failures become :class:`UnavailableError` (timeout / connection / malformed).
* Non-2xx answers become the typed errors of :mod:`app.upstream_errors` through ONE table,
  :data:`STATUS_ERRORS` (HTTP status -> class), for every client; a client only says how to
  read its API's error envelope (:meth:`ApiClient.error_detail`) and, where it has better
  wording, replaces a message (:meth:`ApiClient.describe_error`).

No Flask imports. Nothing here logs bodies, only method, path, status and timing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import ijson
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from app.upstream_errors import (
    AuthError,
    ConflictError,
    ErrorDetail,
    NotAvailableError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
    UpstreamError,
    ValidationError,
)

MAX_RESPONSE_BYTES = 1024 * 1024 * 1024

#: The one mapping of an HTTP error status to the error it becomes, for every upstream.
#: Other 5xx are :class:`UnavailableError` (kind ``server``); anything else unmapped is the
#: base :class:`UpstreamError`.
STATUS_ERRORS: dict[int, type[UpstreamError]] = {
    400: ValidationError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
    501: NotAvailableError,
}


def error_class(status: int) -> type[UpstreamError]:
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    return UnavailableError if status >= 500 else UpstreamError


def upstream_error(
    service: str,
    status: int,
    detail: ErrorDetail,
    *,
    retry_after: float | None = None,
    message: str | None = None,
    field_of: Callable[[str], str | None] | None = None,
) -> UpstreamError:
    """The typed error for a non-2xx answer of ``service`` (see :data:`STATUS_ERRORS`)."""
    return error_class(status).from_answer(
        service, status, detail, message=message, retry_after=retry_after, field_of=field_of
    )


class _CappedReader:
    """A file-like view of a streamed response body for ijson, refusing more than ``cap``
    bytes (the body is read in chunks, never held whole)."""

    def __init__(self, resp: requests.Response, cap: int, name: str) -> None:
        self._raw = resp.raw
        self._cap = cap
        self._name = name
        self._size = 0
        self._head = b""
        try:
            declared = int(resp.headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0
        if declared > cap:
            raise self._too_large()

    def _too_large(self) -> UnavailableError:
        return UnavailableError(
            f"{self._name} sent a response too large to process.",
            kind="malformed",
            service=self._name,
        )

    def read(self, size: int = 256 * 1024) -> bytes:
        if size == 0:  # ijson probes the stream's type with read(0)
            return b""
        if self._head:
            chunk, self._head = self._head, b""
            return chunk
        chunk = self._raw.read(size if size > 0 else 256 * 1024, decode_content=True)
        self._size += len(chunk)
        if self._size > self._cap:
            raise self._too_large()
        return chunk

    def peek_first(self) -> bytes:
        """The first byte that is not white space (kept for the parser), or b""."""
        while True:
            chunk = self.read()
            if not chunk:
                return b""
            stripped = chunk.lstrip()
            if stripped:
                self._head = stripped
                return stripped[:1]


class ConsoleRetry(Retry):
    """urllib3 Retry that also retries 429 for every method, but only for a short wait."""

    max_retry_after = 5.0

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429:
            return bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, **kw):
        if response is not None and response.status == 429:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_retry_after:
                # Too long to wait inside a page request: hand the 429 to the operator.
                raise MaxRetryError(_pool, url or "", "Retry-After too long")
        return super().increment(method, url, response, error, _pool, **kw)


def retry_policy(retries: int, backoff: float) -> Retry:
    return ConsoleRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
        status_forcelist=frozenset({500, 502, 503, 504}),
        backoff_factor=backoff,
        backoff_max=4.0,
        respect_retry_after_header=True,
        # No cap here: ConsoleRetry.increment refuses waits above max_retry_after instead
        # of sleeping a shortened (too early) wait.
        retry_after_max=86400,
        raise_on_status=False,
        raise_on_redirect=False,
        redirect=0,
    )


def retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class _NotJson:
    def __repr__(self) -> str:
        return "<not json>"


NOT_JSON = _NotJson()


@dataclass
class Answer:
    """A complete HTTP answer: status, headers and the parsed JSON body (or NOT_JSON/None)."""

    status: int
    headers: Mapping[str, str]
    payload: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class JsonHttp:
    """A pooled session to one API. ``name`` appears in messages ("Qoder did not answer…")."""

    def __init__(
        self,
        name: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.25,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        logger: logging.Logger | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_response_bytes = max_response_bytes
        self.log = logger or logging.getLogger("app.http")
        self.session = requests.Session()
        adapter = HTTPAdapter(
            pool_connections=4, pool_maxsize=16, max_retries=retry_policy(retries, backoff)
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json", **headers})

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> Answer:
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params)
        headers = {"X-Request-Id": request_id or uuid.uuid4().hex}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        started = time.perf_counter()
        status: int | None = None
        try:
            resp = self.session.request(
                method, url, data=data, headers=headers, timeout=self.timeout, stream=True
            )
            status = resp.status_code
            payload = self._read_body(resp)
        except requests.exceptions.Timeout:
            raise self._timeout() from None
        except requests.exceptions.ConnectionError as exc:
            cause = exc.args[0] if exc.args else None
            # a read timeout while streaming the body, or one that exhausted the retries
            # (wrapped in MaxRetryError), surfaces as ConnectionError
            if isinstance(cause, ReadTimeoutError) or (
                isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError)
            ):
                raise self._timeout() from None
            raise UnavailableError(
                f"Could not reach {self.name} (connection refused or dropped).",
                kind="connection",
                service=self.name,
            ) from None
        except requests.exceptions.RequestException:
            raise UnavailableError(
                f"The request to {self.name} failed.", kind="connection", service=self.name
            ) from None
        finally:
            self.log.info(
                "%s %s %s -> %s in %.0f ms",
                self.name.lower(),
                method,
                path,
                status if status is not None else "no response",
                (time.perf_counter() - started) * 1000,
                extra={"upstream_status": status, "request_id": headers["X-Request-Id"]},
            )
        if resp.ok and payload is NOT_JSON:
            raise UnavailableError(
                f"{self.name} answered with something that is not JSON.",
                kind="malformed",
                status=resp.status_code,
                service=self.name,
            )
        return Answer(resp.status_code, resp.headers, payload)

    @contextlib.contextmanager
    def stream_items(
        self, path: str, *, request_id: str | None = None
    ) -> Iterator[tuple[Answer, Iterator[Any]]]:
        """GET ``path`` and parse its JSON array body as a stream, one element at a time.

        Yields ``(answer, items)``. For a non-2xx status ``answer.payload`` is the parsed
        error body and ``items`` is empty; on success ``items`` yields the array's elements
        (a lone object counts as a one-element array) while the body is still arriving, so
        memory does not grow with the body. The size cap applies to the bytes read. A body
        that stops being JSON part way raises :class:`UnavailableError` (malformed).
        """
        url = self.base_url + path
        headers = {"X-Request-Id": request_id or uuid.uuid4().hex}
        started = time.perf_counter()
        status: int | None = None
        try:
            resp = self.session.get(url, headers=headers, timeout=self.timeout, stream=True)
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc) from None
        status = resp.status_code
        try:
            if not resp.ok:
                yield Answer(resp.status_code, resp.headers, self._read_body(resp)), iter(())
                return
            if "json" not in resp.headers.get("Content-Type", "").lower():
                raise UnavailableError(
                    f"{self.name} answered with something that is not JSON.",
                    kind="malformed",
                    status=resp.status_code,
                    service=self.name,
                )
            reader = _CappedReader(resp, self.max_response_bytes, self.name)
            yield Answer(resp.status_code, resp.headers, None), self._items(reader)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise self._transport_error(exc) from None
        finally:
            resp.close()
            self.log.info(
                "%s GET %s -> %s in %.0f ms (streamed)",
                self.name.lower(),
                path,
                status,
                (time.perf_counter() - started) * 1000,
                extra={"upstream_status": status, "request_id": headers["X-Request-Id"]},
            )

    def _items(self, reader: _CappedReader) -> Iterator[Any]:
        first = reader.peek_first()
        prefix = "item" if first == b"[" else ""
        if first not in (b"[", b"{"):
            raise UnavailableError(
                f"{self.name} answered with something that is not a JSON list.",
                kind="malformed",
                service=self.name,
            )
        try:
            yield from ijson.items(reader, prefix, use_float=True)
        except ijson.JSONError:
            raise UnavailableError(
                f"{self.name} answered with something that is not JSON "
                "(the list breaks off part way).",
                kind="malformed",
                service=self.name,
            ) from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise self._transport_error(exc) from None

    def _transport_error(self, exc: Exception) -> UnavailableError:
        if isinstance(exc, requests.exceptions.Timeout | ReadTimeoutError):
            return self._timeout()
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, ReadTimeoutError) or (
            isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError)
        ):
            return self._timeout()
        return UnavailableError(
            f"Could not reach {self.name} (connection refused or dropped).",
            kind="connection",
            service=self.name,
        )

    def _timeout(self) -> UnavailableError:
        return UnavailableError(
            f"{self.name} did not answer within {self.timeout[1]:g} s.",
            kind="timeout",
            service=self.name,
        )

    def _read_body(self, resp: requests.Response) -> Any:
        too_large = UnavailableError(
            f"{self.name} sent a response too large to process.",
            kind="malformed",
            service=self.name,
        )
        try:
            declared = int(resp.headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0
        if declared > self.max_response_bytes:
            resp.close()
            raise too_large
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(chunk_size=256 * 1024):
            size += len(chunk)
            if size > self.max_response_bytes:
                resp.close()
                raise too_large
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            return None
        if "json" not in resp.headers.get("Content-Type", "").lower():
            return NOT_JSON
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return NOT_JSON

    @staticmethod
    def expect(payload: Any, kind: type, name: str, what: str) -> Any:
        if not isinstance(payload, kind):
            raise malformed(name, what)
        return payload


def malformed(service: str, what: str) -> UnavailableError:
    """``service`` answered ``what`` in a shape the client cannot read."""
    return UnavailableError(
        f"{service} answered {what} in an unexpected shape.", kind="malformed", service=service
    )


def nested_error_detail(
    payload: Any, *, codes: tuple[str, ...] = ("code",), extra: tuple[str, ...] = ()
) -> ErrorDetail:
    """The detail of an ``{"error": {<code>, "message", "param"?, ...}}`` body (Qoder, r4):
    the first of ``codes`` that is a string is the code; ``extra`` keys are kept aside."""
    err = payload.get("error") if isinstance(payload, dict) else None
    err = err if isinstance(err, dict) else {}

    def text(key: str) -> str | None:
        value = err.get(key)
        return value if isinstance(value, str) and value else None

    return ErrorDetail(
        message=text("message"),
        code=next((text(k) for k in codes if text(k)), None),
        param=text("param"),
        extra={k: err[k] for k in extra if k in err},
        body=payload if isinstance(payload, dict) else None,
    )


def scrub(detail: ErrorDetail, secrets: tuple[str, ...]) -> ErrorDetail:
    """``detail`` with every secret (4 characters or more) in its messages replaced by …."""
    secrets = tuple(s for s in secrets if s and len(s) >= 4)
    if not secrets:
        return detail

    def clean(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "…")
        return text

    return ErrorDetail(
        message=clean(detail.message) if detail.message else detail.message,
        code=detail.code,
        param=detail.param,
        messages=tuple(clean(m) for m in detail.messages),
        extra=detail.extra,
        body=detail.body if not any(s in json.dumps(detail.body) for s in secrets) else None,
    )


USER_AGENT = "vault-console/0.1"


class ApiClient:
    """What every upstream client shares: one :class:`JsonHttp`, a redacted key, ``with``,
    error mapping through :data:`STATUS_ERRORS`, and a cheap probe for the status page.

    Subclasses name the service (``service``, used in messages and ``repr``), say how the
    key authenticates (``auth_headers``) and how their API's error bodies read
    (``error_detail``); the key itself never appears in ``repr`` or in a message."""

    service = "API"
    logger = logging.getLogger("app.http")
    #: one cheap authenticated GET, for :meth:`probe`
    probe_path = "/"
    #: the request field a validation message is about (None: messages stay general)
    field_of: Callable[[str], str | None] | None = None

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.25,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._key = key
        self.http = JsonHttp(
            self.service,
            base_url,
            {**self.auth_headers(key), "User-Agent": USER_AGENT, **(extra_headers or {})},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=retries,
            backoff=backoff,
            max_response_bytes=max_response_bytes,
            logger=self.logger,
        )
        self.base_url = self.http.base_url

    def auth_headers(self, key: str) -> dict[str, str]:
        raise NotImplementedError

    # ------------------------------------------------------------------ errors
    def error_detail(self, payload: Any) -> ErrorDetail:
        """What the API's error body says (override for the API's envelope)."""
        data = payload if isinstance(payload, dict) else {}
        message, code = data.get("message"), data.get("code")
        return ErrorDetail(
            message=message if isinstance(message, str) and message else None,
            code=code if isinstance(code, str) else None,
            body=data or None,
        )

    @classmethod
    def describe_error(
        cls, status: int, detail: ErrorDetail, context: Mapping[str, str] | None = None
    ) -> str | None:
        """The client's own message for this answer, or None for the error class's wording.
        ``context`` holds what the request was about (ids), for messages that name it."""
        return None

    def answer_retry_after(self, answer: Answer, detail: ErrorDetail) -> float | None:
        """How long a 429 asks to wait (``Retry-After``; an API may say more)."""
        return retry_after(answer.headers)

    def error(
        self,
        answer: Answer,
        context: Mapping[str, str] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> UpstreamError:
        """The typed error for a non-2xx ``answer``; the key and ``secrets`` are scrubbed."""
        detail = scrub(self.error_detail(answer.payload), (self._key, *secrets))
        return upstream_error(
            self.service,
            answer.status,
            detail,
            retry_after=self.answer_retry_after(answer, detail),
            message=self.describe_error(answer.status, detail, context or {}),
            field_of=type(self).field_of,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        request_id: str | None = None,
        context: Mapping[str, str] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> Any:
        """One request; the parsed JSON body of a 2xx answer, else the typed error.
        ``secrets`` (values sent in ``body``) are scrubbed from any error message."""
        answer = self.http.request(method, path, params=params, body=body, request_id=request_id)
        if not answer.ok:
            raise self.error(answer, context, secrets)
        return answer.payload

    # ------------------------------------------------------------------ diagnostics
    def probe(self) -> dict[str, Any]:
        """One cheap authenticated read (``probe_path``): status, latency and the server's
        clock (``Date`` header). Transport failures raise :class:`requests.RequestException`."""
        from email.utils import parsedate_to_datetime

        started = time.perf_counter()
        resp = self.http.session.get(
            self.base_url + self.probe_path, timeout=self.http.timeout, allow_redirects=False
        )
        latency_ms = (time.perf_counter() - started) * 1000
        resp.close()
        server_time = None
        if resp.headers.get("Date"):
            try:
                server_time = parsedate_to_datetime(resp.headers["Date"])
            except (TypeError, ValueError):
                server_time = None
        return {"status": resp.status_code, "latency_ms": latency_ms, "server_time": server_time}

    # ------------------------------------------------------------------ identity
    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, key=<redacted>)"

    @property
    def key_hint(self) -> str:
        """``"…"`` plus the key's last four characters (just ``"…"`` for short keys)."""
        return "…" + self._key[-4:] if len(self._key) > 8 else "…"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
