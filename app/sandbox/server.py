"""Run the sandbox on a real socket in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .api import create_sandbox_app
from .faults import FaultInjector
from .ratelimit import DEFAULT_RATE_LIMITS, RateLimiter
from .seed import seed_store
from .store import Store
from .workspace import Workspace, open_workspace


class QuietRequestHandler(WSGIRequestHandler):
    """No per-request access log lines (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class RunningSandbox:
    """A sandbox serving on ``base_url``; stop it with :meth:`stop` or a ``with`` block."""

    def __init__(
        self,
        server: BaseWSGIServer,
        store: Store,
        workspace: Workspace,
        faults: FaultInjector,
        rate_limiter: RateLimiter | None,
        seeded: bool,
    ) -> None:
        self._server = server
        self.store = store
        self.workspace = workspace
        self.faults = faults
        self.rate_limiter = rate_limiter
        #: True when this start seeded the store (it had never been seeded).
        self.seeded = seeded
        host, port = server.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        self.host, self.port = str(host), int(port)
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"cloudcruise-sandbox-{port}",
            daemon=True,
        )
        self._stopped = False
        self._thread.start()

    @property
    def api_key(self) -> str:
        return self.workspace.api_key

    @property
    def encryption_key(self) -> str:
        return self.workspace.encryption_key

    @property
    def generated_keys(self) -> bool:
        """True when the sandbox chose a key (now or on an earlier start of the store)."""
        return self.workspace.generated_api_key or self.workspace.generated_encryption_key

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

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningSandbox {self.base_url} data={self.store.path}>"


def _serve(host: str, port: int, app: Any) -> BaseWSGIServer:
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


def start_sandbox(
    data: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    encryption_key: str | None = None,
    seed: int = 40,
    rate_limits: list[tuple[int, float]]
    | tuple[tuple[int, float], ...]
    | None = DEFAULT_RATE_LIMITS,
) -> RunningSandbox:
    """Open (or create) the store at ``data`` and serve the emulated API on ``host:port``.

    Keys are generated on the first start unless given; explicit keys replace stored
    ones. ``seed`` entries are created only if the store was never seeded.
    ``rate_limits=None`` disables rate limiting. Raises ``ValueError`` for a bad key
    and ``OSError`` when the address cannot be bound.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError("seed must be a non-negative integer")
    store = Store(data)
    try:
        workspace = open_workspace(store, api_key=api_key, encryption_key=encryption_key)
        seeded = seed_store(store, workspace, seed)
        faults = FaultInjector()
        limiter = RateLimiter(rate_limits) if rate_limits is not None else None
        app = create_sandbox_app(store, faults, limiter, workspace)
        server = _serve(host, port, app)
    except BaseException:
        store.close()
        raise
    return RunningSandbox(server, store, workspace, faults, limiter, seeded)
