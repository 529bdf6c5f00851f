"""Run the Qoder emulator on a real socket in a background thread."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer

from app.sandbox.faults import FaultInjector
from app.sandbox.server import _serve

from .api import API_PREFIX, LIMIT_MODES, create_qoder_app
from .resources import SHAPES
from .seed import seed_store
from .service import Settings
from .store import Store

PAT_PREFIX = "qpat_"


def new_pat() -> str:
    return PAT_PREFIX + secrets.token_urlsafe(30)


def check_pat(pat: str) -> str:
    if not isinstance(pat, str) or not pat or any(ch.isspace() for ch in pat) or len(pat) > 256:
        raise ValueError("The PAT must be a non-empty string without spaces (at most 256).")
    return pat


def open_pat(store: Store, pat: str | None) -> tuple[str, bool]:
    """The store's PAT: the given one (stored, replacing another), or the stored or a new
    generated one. Returns ``(pat, generated)``; the first process to create a store wins."""
    if pat is not None:
        check_pat(pat)
    with store.write() as db:
        meta = db.meta()
        if pat is not None:
            if meta.get("pat") != pat or meta.get("pat_source") != "given":
                db.set_meta("pat", pat)
                db.set_meta("pat_source", "given")
            return pat, False
        if "pat" not in meta:
            meta["pat"], meta["pat_source"] = new_pat(), "generated"
            db.set_meta("pat", meta["pat"])
            db.set_meta("pat_source", "generated")
        return meta["pat"], meta.get("pat_source") == "generated"


class RunningQoderSandbox:
    """The emulator serving on ``base_url`` (``http://host:port/api/v1/cloud``)."""

    def __init__(
        self,
        server: BaseWSGIServer,
        store: Store,
        faults: FaultInjector,
        settings: Settings,
        pat: str,
        generated_pat: bool,
        seeded: bool,
    ) -> None:
        self._server = server
        self.store = store
        self.faults = faults
        self.settings = settings
        self.pat = pat
        #: True when the sandbox chose the PAT (now or on an earlier start of the store)
        self.generated_pat = generated_pat
        #: True when this start seeded the store
        self.seeded = seeded
        host, port = server.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        self.host, self.port = str(host), int(port)
        self.root_url = f"http://{host}:{port}"
        self.base_url = self.root_url + API_PREFIX
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"qoder-sandbox-{port}",
            daemon=True,
        )
        self._stopped = False
        self._thread.start()

    @property
    def shape(self) -> str:
        return self.settings.shape

    @shape.setter
    def shape(self, value: str) -> None:
        if value not in SHAPES:
            raise ValueError("shape must be 'flat' or 'nested'")
        self.settings.shape = value

    @property
    def limit_over_100(self) -> str:
        return self.settings.limit_over_100

    @limit_over_100.setter
    def limit_over_100(self, value: str) -> None:
        if value not in LIMIT_MODES:
            raise ValueError("limit_over_100 must be 'error' or 'cap'")
        self.settings.limit_over_100 = value

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

    def __enter__(self) -> RunningQoderSandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningQoderSandbox {self.base_url} shape={self.shape} data={self.store.path}>"


def start_qoder_sandbox(
    data: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    pat: str | None = None,
    shape: str = "nested",
    seed: bool = True,
    limit_over_100: str = "error",
) -> RunningQoderSandbox:
    """Open (or create) the store at ``data`` and serve the emulated API on ``host:port``.

    The PAT is generated (``qpat_`` + random) on the first start unless given; a given
    PAT is stored and replaces the old one. ``seed`` seeds a store never seeded before.
    Raises ``ValueError`` for bad arguments and ``OSError`` when the address is taken.
    """
    if shape not in SHAPES:
        raise ValueError("shape must be 'flat' or 'nested'")
    if limit_over_100 not in LIMIT_MODES:
        raise ValueError("limit_over_100 must be 'error' or 'cap'")
    if pat is not None:
        check_pat(pat)
    store = Store(data)
    try:
        pat, generated = open_pat(store, pat)
        seeded = seed_store(store) if seed else False
        faults = FaultInjector()
        settings = Settings(shape=shape, limit_over_100=limit_over_100)
        app = create_qoder_app(store, faults, pat, settings)
        server = _serve(host, port, app)
    except BaseException:
        store.close()
        raise
    return RunningQoderSandbox(server, store, faults, settings, pat, generated, seeded)
