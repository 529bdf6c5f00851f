"""Run the r4 emulator on a real socket in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from app.sandbox.faults import FaultInjector
from app.sandbox.server import QuietRequestHandler

from .api import PREFIX, create_r4_app
from .crypto import check_api_key, new_api_key, new_id
from .seed import seed as seed_vaults
from .store import R4Store
from .vaults import VaultModel, iso


class RunningR4Sandbox:
    """An r4 emulator serving on ``base_url`` (``…/api/v1/machine``); stop it with
    :meth:`stop` or a ``with`` block."""

    def __init__(
        self,
        server: BaseWSGIServer,
        store: R4Store,
        model: VaultModel,
        faults: FaultInjector,
        api_key: str,
        generated_key: bool,
        seeded: bool,
    ) -> None:
        self._server = server
        self.store = store
        self.model = model
        self.faults = faults
        self.api_key = api_key
        #: True when the emulator chose the key (now or on an earlier start of the store)
        self.generated_key = generated_key
        #: True when this start seeded the store
        self.seeded = seeded
        host, port = server.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        self.host, self.port = str(host), int(port)
        self.root_url = f"http://{host}:{port}"
        self.base_url = self.root_url + PREFIX
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name=f"r4-sandbox-{port}",
            daemon=True,
        )
        self._stopped = False
        self._thread.start()

    def vault_id(self, name: str) -> str:
        """The id of the vault called ``name`` (seeded names are fixed)."""
        return self.model.vault_id_by_name(name)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        stopper = threading.Thread(target=self._server.shutdown, daemon=True)
        stopper.start()
        host = self._server.server_address[0]
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - only to pick a reachable address
            host = "127.0.0.1" if host != "::" else "::1"
        with contextlib.suppress(OSError):  # wake serve_forever's select()
            socket.create_connection((host, self.port), timeout=0.5).close()
        stopper.join(timeout=5)
        self._server.server_close()
        self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> RunningR4Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningR4Sandbox {self.base_url} data={self.store.path}>"


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
        listener.close()


def _open(store: R4Store, model: VaultModel, api_key: str | None, seed: bool):
    """Load or create the key and the creating user id; seed a never-seeded store."""
    with store.write() as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())

        def put(key: str, value: str) -> None:
            meta[key] = value
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

        if "user_id" not in meta:
            put("user_id", new_id())
        if api_key is not None:
            if meta.get("api_key") != api_key or meta.get("api_key_source") != "given":
                put("api_key", api_key)
                put("api_key_source", "given")
        elif "api_key" not in meta:
            put("api_key", new_api_key())
            put("api_key_source", "generated")
        seeded = False
        if seed and "seeded_at" not in meta:
            seed_vaults(model, conn, meta["user_id"])
            put("seeded_at", iso())
            seeded = True
    return meta["api_key"], meta.get("api_key_source") == "generated", seeded


def start_r4_sandbox(
    data: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    seed: bool = True,
) -> RunningR4Sandbox:
    """Open (or create) the SQLite file ``data`` and serve the emulated r4 API.

    The key is generated on the first start unless given (a given key replaces the stored
    one). ``seed`` seeds the five demo vaults once per store. Raises ``ValueError`` for a
    bad key and ``OSError`` when the address cannot be bound.
    """
    if api_key is not None:
        check_api_key(api_key)
    store = R4Store(data)
    try:
        model = VaultModel(store)
        key, generated, seeded = _open(store, model, api_key, seed)
        faults = FaultInjector()
        server = _serve(host, port, create_r4_app(model, faults, key))
    except BaseException:
        store.close()
        raise
    return RunningR4Sandbox(server, store, model, faults, key, generated, seeded)
