"""A list of callbacks: add one (get back its remover), call them all, survive a failing one."""

from __future__ import annotations

from collections.abc import Callable
import logging


class Callbacks[**P]:
    """Callbacks with the same signature, called in the order they were added.

    One that raises is logged (with ``what`` naming it) and the others still run.
    """

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._callbacks: list[Callable[P, None]] = []
        self._logger = logger
        self._what = what

    def __len__(self) -> int:
        return len(self._callbacks)

    def add(self, callback: Callable[P, None]) -> Callable[[], None]:
        """Add ``callback``; returns a function that removes it (safe to call twice)."""
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every callback."""
        for callback in list(self._callbacks):
            try:
                callback(*args, **kwargs)
            except Exception:
                self._logger.exception("%s failed", self._what)
