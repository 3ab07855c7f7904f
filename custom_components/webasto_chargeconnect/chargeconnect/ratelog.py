"""Log lines about what chargers (or strangers) send, at most one per cause and charger a minute.

A charger that keeps sending the same bad frame, a client that keeps guessing a password, or a
flood of made-up identities must not fill the log: the first line of a cause for a charger is
written, the repeats within the interval are counted, and the count is added to the next line of
that cause once the interval has passed. Memory is bounded: each cause keeps at most
``max_subjects`` chargers per interval; more distinct chargers (identities chosen by a stranger)
share one entry per cause, so a flood still writes at most one more line per cause and interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import logging
import time
from typing import Any

OVERFLOW = "*"


def printable(text: str, limit: int = 64) -> str:
    """Text from the network, safe for one log line: control characters escaped, cut short."""
    cut = text[:limit]
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    return safe if len(text) <= limit else f"{safe}…({len(text)} characters)"


@dataclass
class _Entry:
    since: float
    suppressed: int = 0


class RateLimitedLog:
    """Writes a cause's line for a subject at most once per ``interval`` seconds."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 60.0,
        max_subjects: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.max_subjects = max_subjects
        self._clock = clock
        self._causes: dict[str, dict[str, _Entry]] = {}

    def log(
        self,
        level: int,
        cause: str,
        subject: str,
        msg: str,
        *args: Any,
        exc_info: BaseException | bool | None = None,
    ) -> bool:
        """Log ``msg % args`` unless this cause was logged for this subject lately.

        Returns True when the line was written.
        """
        now = self._clock()
        entries = self._causes.setdefault(cause, {})
        key = subject[:64]
        if key not in entries and len(entries) >= self.max_subjects:
            for old in [k for k, e in entries.items() if now - e.since >= self.interval]:
                del entries[old]
            if len(entries) >= self.max_subjects:
                key = OVERFLOW
        entry = entries.get(key)
        if entry is not None and now - entry.since < self.interval:
            entry.suppressed += 1
            return False
        suppressed = entry.suppressed if entry is not None else 0
        entries[key] = _Entry(now)
        if not self.logger.isEnabledFor(level):
            return False
        if suppressed:
            msg += " (%d more like this since the last report)"
            args = (*args, suppressed)
        if key == OVERFLOW:
            msg += " (and others: too many to report each)"
        self.logger.log(level, msg, *args, exc_info=exc_info, stacklevel=2)
        return True

    def forget(self, subject: str) -> None:
        """Drop what is known about a subject (e.g. a charger that was just added)."""
        for entries in self._causes.values():
            entries.pop(subject[:64], None)
