"""Slowing down whoever tries invitation codes: a few wrong codes, then a pause.

A code is 256 random bits, so guessing one is hopeless; but an unthrottled
server answered 8,236 wrong codes in 25 s (issue 28), which lets anyone load
it at will. Each client (by address, as the server sees it: behind a proxy,
with ``--proxy-headers``, the forwarded one) may present
:data:`MAX_FAILURES` wrong codes; each further one within
:data:`WINDOW_S` of the first is refused with 429 before the store is asked,
and the window starts again once it has passed. The counts live in the server
process (each ``--workers`` process keeps its own), bounded to
:data:`MAX_CLIENTS` addresses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

MAX_FAILURES = 5
WINDOW_S = 60.0
MAX_CLIENTS = 10_000


class CodeThrottle:
    """Wrong-code counts per client address, each over a window of :data:`WINDOW_S` seconds."""

    def __init__(self, *, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: OrderedDict[str, tuple[float, int]] = OrderedDict()  # client -> (start, count)
        self._lock = threading.Lock()

    def wait_s(self, client: str, now: float) -> float:
        """Seconds ``client`` must wait before presenting another code (0: go ahead)."""
        with self._lock:
            start, count = self._failures.get(client, (now, 0))
            if now - start >= self.window_s:
                self._failures.pop(client, None)
                return 0.0
            return self.window_s - (now - start) if count >= self.max_failures else 0.0

    def failed(self, client: str, now: float) -> None:
        """Count one wrong code from ``client``."""
        with self._lock:
            start, count = self._failures.pop(client, (now, 0))
            if now - start >= self.window_s:
                start, count = now, 0
            self._failures[client] = (start, count + 1)
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)
