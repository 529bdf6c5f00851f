"""Run the r4 emulator on a real socket in a background thread."""

from __future__ import annotations

from pathlib import Path

from app.r4.checkpoints import DEFAULT, Scheme
from app.sandbox.common.serving import RunningServer, closed_on_failure, serve
from app.sandbox.common.sqlite_store import MetaTables
from app.sandbox.faults import FaultInjector

from .api import PREFIX, create_r4_app
from .crypto import check_api_key, new_api_key, new_id
from .seed import seed as seed_vaults
from .store import R4Store
from .vaults import VaultModel, iso


class RunningR4Sandbox(RunningServer):
    """An r4 emulator serving on ``base_url`` (``…/api/v1/machine``); stop it with
    :meth:`stop` or a ``with`` block."""

    THREAD_NAME = "r4-sandbox"
    URL_PREFIX = PREFIX
    store: R4Store
    model: VaultModel
    api_key: str
    #: True when the emulator chose the key (now or on an earlier start of the store)
    generated_key: bool

    def vault_id(self, name: str) -> str:
        """The id of the vault called ``name`` (seeded names are fixed)."""
        return self.model.vault_id_by_name(name)

    def __repr__(self) -> str:
        return f"<RunningR4Sandbox {self.base_url} data={self.store.path}>"


def _open(store: R4Store, model: VaultModel, api_key: str | None, seed: bool):
    """Load or create the key and the creating user id; seed a never-seeded store."""
    with store.write() as conn:
        db = MetaTables(conn)
        meta = db.meta()

        def put(key: str, value: str) -> None:
            meta[key] = value
            db.set_meta(key, value)

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
    scheme: Scheme = DEFAULT,
) -> RunningR4Sandbox:
    """Open (or create) the SQLite file ``data`` and serve the emulated r4 API.

    The key is generated on the first start unless given (a given key replaces the stored
    one). ``seed`` seeds the demo vaults once per store. ``scheme`` signs the
    checkpoints (tests vary it: a verifier must not depend on the salt length). Raises
    ``ValueError`` for a bad key and ``OSError`` when the address cannot be bound.
    """
    if api_key is not None:
        check_api_key(api_key)
    store = R4Store(data)
    with closed_on_failure(store):
        model = VaultModel(store, scheme)
        key, generated, seeded = _open(store, model, api_key, seed)
        faults = FaultInjector()
        server = serve(host, port, create_r4_app(model, faults, key))
    return RunningR4Sandbox(
        server, store, faults, seeded, model=model, api_key=key, generated_key=generated
    )
