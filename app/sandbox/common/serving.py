"""Serve a WSGI app on a real socket in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any, ClassVar, Protocol, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from app.sandbox.faults import FaultInjector


class QuietRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive, as a real API server offers, and no per-request access log lines
    (errors are still logged).

    werkzeug's development server answers every request with ``Connection: close`` and,
    after each response, reads whatever the socket holds (which would swallow the next
    request on a kept-alive connection). Here the body is wrapped in a
    :class:`LimitedStream` of its declared length and drained after the response instead,
    and werkzeug's own post-response read is pointed at an idle socket; chunked or oversized
    bodies still close the connection.
    """

    #: a connection (idle between requests, or a reader slower than the answer) is closed
    #: after this many seconds without progress: enough for a client streaming a 100k-entry
    #: vault while it works on each batch
    timeout = 300
    #: answers go out at once (Nagle's algorithm would hold a small answer back on a
    #: kept-alive connection until the previous one is acknowledged: ~40 ms a call)
    disable_nagle_algorithm = True
    _drain: LimitedStream | None = None

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ["werkzeug.socket"] = self._client  # the fault injector drops this one
        self._drain = None
        length = environ.get("CONTENT_LENGTH") or "0"
        chunked = "wsgi.input_terminated" in environ
        if not chunked and length.isdigit() and int(length) <= MAX_DRAIN:
            self._drain = LimitedStream(self.rfile, int(length))  # type: ignore[arg-type]
            environ["wsgi.input"] = self._drain
        if self._drain is None:
            self.close_connection = True
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close" and self._keeps_alive():
            return
        super().send_header(keyword, value)

    def _keeps_alive(self) -> bool:
        return self._drain is not None and not self.close_connection

    def run_wsgi(self) -> None:
        self._client = self.connection
        idle, other = socket.socketpair()
        self.connection = idle  # werkzeug's post-response read finds nothing here
        try:
            super().run_wsgi()
        finally:
            self.connection = self._client
            idle.close()
            other.close()
        if self._keeps_alive():
            try:
                self._drain.exhaust()  # type: ignore[union-attr]
            except (OSError, ValueError):
                self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


#: request bodies up to this size are drained to keep the connection; larger ones close it
MAX_DRAIN = 8 * 1024 * 1024


def serve(host: str, port: int, app: Any) -> BaseWSGIServer:
    """Bind the socket ourselves, so a busy port raises OSError (werkzeug would exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host.strip("[]"), port), family=family, backlog=128)
    try:
        return make_server(
            host,
            listener.getsockname()[1],
            app,
            threaded=True,
            request_handler=QuietRequestHandler,
            fd=listener.fileno(),
        )
    finally:
        listener.close()  # the server holds its own duplicate of the descriptor


class Closable(Protocol):
    def close(self) -> None: ...


@contextlib.contextmanager
def closed_on_failure(store: Closable) -> Iterator[None]:
    """Close ``store`` when the block (opening, seeding, binding the socket) fails."""
    try:
        yield
    except BaseException:
        store.close()
        raise


class RunningServer:
    """``server`` serving on a daemon thread from construction until :meth:`stop` (or the
    end of a ``with`` block), which also closes ``store``.

    ``root_url`` is ``http://host:port``; ``base_url`` adds the API's ``URL_PREFIX``;
    ``faults`` is the emulator's fault injector; ``seeded`` is True when this start
    seeded the store. Subclasses annotate their own attributes, given as keywords.
    """

    THREAD_NAME: ClassVar[str] = "sandbox"
    URL_PREFIX: ClassVar[str] = ""

    def __init__(
        self,
        server: BaseWSGIServer,
        store: Closable,
        faults: FaultInjector,
        seeded: bool,
        **attributes: Any,
    ) -> None:
        declared = {n for k in type(self).__mro__ for n in getattr(k, "__annotations__", {})}
        for name, value in attributes.items():
            if name not in declared:
                raise TypeError(f"{type(self).__name__} has no attribute {name!r}")
            setattr(self, name, value)
        self._server = server
        self.store = store
        self.faults = faults
        self.seeded = seeded
        address, port = server.server_address[:2]
        host = str(address)
        host = f"[{host}]" if ":" in host else host
        self.host, self.port = str(host), int(port)
        self.root_url = f"http://{host}:{port}"
        self.base_url = self.root_url + self.URL_PREFIX
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"{self.THREAD_NAME}-{port}",
            daemon=True,
        )
        self._stopped = False
        self._thread.start()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        stopper = threading.Thread(target=self._server.shutdown, daemon=True)
        stopper.start()
        self._poke()  # wake serve_forever's select() instead of waiting for its poll
        stopper.join(timeout=5)
        self._server.server_close()
        self._thread.join(timeout=5)
        self.store.close()

    def _poke(self) -> None:
        host = str(self._server.server_address[0])
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - only to pick a reachable address
            host = "127.0.0.1" if host != "::" else "::1"
        with contextlib.suppress(OSError):
            socket.create_connection((host, self.port), timeout=0.5).close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
