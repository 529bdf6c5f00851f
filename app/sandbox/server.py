"""Run the sandbox on a real socket in a background thread."""

from __future__ import annotations

from pathlib import Path

from .api import create_sandbox_app
from .common.serving import RunningServer, closed_on_failure, serve
from .faults import FaultInjector
from .ratelimit import DEFAULT_RATE_LIMITS, RateLimiter
from .seed import seed_store
from .store import Store
from .workspace import Workspace, open_workspace


class RunningSandbox(RunningServer):
    """A sandbox serving on ``base_url``; stop it with :meth:`stop` or a ``with`` block."""

    THREAD_NAME = "cloudcruise-sandbox"
    store: Store
    workspace: Workspace
    rate_limiter: RateLimiter | None

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

    def __repr__(self) -> str:
        return f"<RunningSandbox {self.base_url} data={self.store.path}>"


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
    with closed_on_failure(store):
        workspace = open_workspace(store, api_key=api_key, encryption_key=encryption_key)
        seeded = seed_store(store, workspace, seed)
        faults = FaultInjector()
        limiter = RateLimiter(rate_limits) if rate_limits is not None else None
        server = serve(host, port, create_sandbox_app(store, faults, limiter, workspace))
    return RunningSandbox(server, store, faults, seeded, workspace=workspace, rate_limiter=limiter)
