"""Limits on guessing: failed link tokens and wrong access codes, per key, per minute.

A key is whatever is being guessed from or at: a client address, a charger. After ``limit``
failures within ``window`` seconds under any of the keys of a request, that request is
refused until the oldest of those failures leaves the window (``retry_after``). The clock
is injected (monotonic seconds), memory is bounded (the least recently failed keys go).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
import math
import time

DEFAULT_LIMIT = 5
DEFAULT_WINDOW = 60.0
MAX_KEYS = 10_000


class AttemptLimiter:
    """Counts failures per key in a sliding window."""

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        window: float = DEFAULT_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def _recent(self, key: Hashable, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def retry_after(self, *keys: Hashable) -> int | None:
        """Whole seconds to wait before trying again under ``keys``, None when allowed."""
        now = self._clock()
        wait = 0.0
        for key in keys:
            failures = self._recent(key, now)
            if failures is not None and len(failures) >= self.limit:
                wait = max(wait, failures[-self.limit] + self.window - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, *keys: Hashable) -> None:
        """Count one failure under each of ``keys``."""
        now = self._clock()
        for key in keys:
            failures = self._recent(key, now)
            if failures is None:
                failures = self._failures[key] = deque(maxlen=self.limit)
            failures.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)
