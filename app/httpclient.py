"""JSON-over-HTTP transport shared by the upstream clients (CloudCruise, Qoder, r4).

* One pooled :class:`requests.Session` per client; connect and read timeouts on every call.
* Retries (urllib3 ``Retry``): GET on 5xx, connection and read errors, with backoff; any
  method on 429 when ``Retry-After`` is short (a rate-limited request was not processed).
  POST/PUT/DELETE/PATCH are otherwise never retried.
* A response-size cap; bodies that are not JSON are reported, not parsed.
* Transport failures become :class:`UnavailableError` (timeout / connection / malformed);
  callers map non-2xx answers to their own typed errors (each API has its own envelope).

No Flask imports. Nothing here logs bodies, only method, path, status and timing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import ijson
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from app.cloudcruise.errors import UnavailableError

MAX_RESPONSE_BYTES = 1024 * 1024 * 1024


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
            f"{self._name} sent a response too large to process.", kind="malformed"
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
                f"Could not reach {self.name} (connection refused or dropped).", kind="connection"
            ) from None
        except requests.exceptions.RequestException:
            raise UnavailableError(
                f"The request to {self.name} failed.", kind="connection"
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
                f"{self.name} answered with something that is not a JSON list.", kind="malformed"
            )
        try:
            yield from ijson.items(reader, prefix, use_float=True)
        except ijson.JSONError:
            raise UnavailableError(
                f"{self.name} answered with something that is not JSON "
                "(the list breaks off part way).",
                kind="malformed",
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
            f"Could not reach {self.name} (connection refused or dropped).", kind="connection"
        )

    def _timeout(self) -> UnavailableError:
        return UnavailableError(
            f"{self.name} did not answer within {self.timeout[1]:g} s.", kind="timeout"
        )

    def _read_body(self, resp: requests.Response) -> Any:
        too_large = UnavailableError(
            f"{self.name} sent a response too large to process.", kind="malformed"
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
            raise UnavailableError(
                f"{name} answered {what} in an unexpected shape.", kind="malformed"
            )
        return payload


USER_AGENT = "vault-console/0.1"


class ApiClient:
    """What every upstream client shares: one :class:`JsonHttp`, a redacted key, ``with``.

    Subclasses name the service (``service``, used in messages and ``repr``) and say how the
    key authenticates (``auth_headers``); the key itself never appears in ``repr``."""

    service = "API"
    logger = logging.getLogger("app.http")

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
    ) -> None:
        self._key = key
        self.http = JsonHttp(
            self.service,
            base_url,
            {**self.auth_headers(key), "User-Agent": USER_AGENT},
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
