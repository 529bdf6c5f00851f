"""Sliding-window rate limiter (docs/cloudcruise-api.md), in memory, per process.

Each client (an API key, or the remote IP for unauthenticated requests) has a log of
the times of its admitted requests. A request is admitted when every window still has
room; the most restrictive window decides the 429 and the ``X-RateLimit-*`` headers.
Rejected requests are not logged, so a client that backs off recovers on time.
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

DEFAULT_RATE_LIMITS: tuple[tuple[int, float], ...] = ((500, 1.0), (1000, 15.0), (2000, 60.0))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers


class RateLimiter:
    def __init__(self, limits: list[tuple[int, float]] | tuple[tuple[int, float], ...]) -> None:
        limits = [(int(n), float(w)) for n, w in limits]
        if not limits or any(n < 1 or w <= 0 for n, w in limits):
            raise ValueError("rate limits must be (max_requests >= 1, window_seconds > 0) pairs")
        self.limits = sorted(limits, key=lambda lw: lw[1])
        self._longest = max(w for _, w in self.limits)
        self._log: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._log.clear()

    def hit(self, client: str, now: float | None = None) -> Decision:
        """Count one request by ``client``, unless a window is full."""
        now = time.monotonic() if now is None else now
        with self._lock:
            log = self._log.setdefault(client, deque())
            while log and log[0] <= now - self._longest:
                log.popleft()
            times = list(log) if len(self.limits) > 1 else log
            states = []
            for limit, window in self.limits:
                start = bisect_right(times, now - window)
                in_window = len(times) - start
                # the request that must leave the window before one more fits:
                oldest = times[len(times) - limit] if in_window >= limit else None
                states.append((limit, window, in_window, start, oldest))
            blocked = [s for s in states if s[2] >= s[0]]
            if blocked:
                # a blocked limit always has an oldest request (in_window >= limit)
                limit, window, _, _, oldest = max(blocked, key=lambda s: (s[4] or 0.0) + s[1])
                wait = max(1, math.ceil((oldest or now) + window - now))
                return Decision(False, limit, 0, wait, wait)
            log.append(now)
            limit, window, in_window, start, _ = min(states, key=lambda s: s[0] - s[2] - 1)
            first = times[start] if in_window else now
            reset = max(0, math.ceil(first + window - now))
            return Decision(True, limit, limit - in_window - 1, reset, 0)
