"""Run the Qoder emulator on a real socket in a background thread."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from app.sandbox.common.serving import RunningServer, closed_on_failure, serve
from app.sandbox.faults import FaultInjector

from .api import API_PREFIX, LIMIT_MODES, create_qoder_app
from .resources import SHAPES
from .seed import seed_store
from .service import Settings
from .store import Store

PAT_PREFIX = "qpat_"
SETTING_CHOICES = {
    "shape": (SHAPES, "shape must be 'flat' or 'nested'"),
    "limit_over_100": (LIMIT_MODES, "limit_over_100 must be 'error' or 'cap'"),
}


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


def _check_setting(name: str, value: Any) -> None:
    allowed, message = SETTING_CHOICES[name]
    if value not in allowed:
        raise ValueError(message)


def _setting(name: str) -> property:
    """A read/write view of ``settings.<name>`` that rejects values outside its choices."""

    def get(box: RunningQoderSandbox) -> str:
        return getattr(box.settings, name)

    def set_(box: RunningQoderSandbox, value: str) -> None:
        _check_setting(name, value)
        setattr(box.settings, name, value)

    return property(get, set_)


class RunningQoderSandbox(RunningServer):
    """The emulator serving on ``base_url`` (``http://host:port/api/v1/cloud``)."""

    THREAD_NAME = "qoder-sandbox"
    URL_PREFIX = API_PREFIX
    store: Store
    settings: Settings
    pat: str
    #: True when the sandbox chose the PAT (now or on an earlier start of the store)
    generated_pat: bool

    shape = _setting("shape")
    limit_over_100 = _setting("limit_over_100")

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
    _check_setting("shape", shape)
    _check_setting("limit_over_100", limit_over_100)
    if pat is not None:
        check_pat(pat)
    store = Store(data)
    with closed_on_failure(store):
        pat, generated = open_pat(store, pat)
        seeded = seed_store(store) if seed else False
        faults = FaultInjector()
        settings = Settings(shape=shape, limit_over_100=limit_over_100)
        server = serve(host, port, create_qoder_app(store, faults, pat, settings))
    return RunningQoderSandbox(
        server, store, faults, seeded, settings=settings, pat=pat, generated_pat=generated
    )
