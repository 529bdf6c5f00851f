"""Serve a WSGI app on a real socket in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any, ClassVar, Protocol, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietRequestHandler(WSGIRequestHandler):
    """No per-request access log lines (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


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


class RunningServer:
    """``server`` serving on a daemon thread from construction until :meth:`stop` (or the
    end of a ``with`` block), which also closes ``store``.

    ``root_url`` is ``http://host:port``; ``base_url`` adds the API's ``URL_PREFIX``.
    Subclasses set their own attributes before calling ``super().__init__``.
    """

    THREAD_NAME: ClassVar[str] = "sandbox"
    URL_PREFIX: ClassVar[str] = ""

    def __init__(self, server: BaseWSGIServer, store: Closable) -> None:
        self._server = server
        self.store = store
        host, port = server.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
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
        host = self._server.server_address[0]
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - only to pick a reachable address
            host = "127.0.0.1" if host != "::" else "::1"
        with contextlib.suppress(OSError):
            socket.create_connection((host, self.port), timeout=0.5).close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
