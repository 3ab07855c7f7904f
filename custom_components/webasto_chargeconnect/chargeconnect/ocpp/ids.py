"""Transaction ids unique across the installation: a counter persisted before each id."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging

from ..storage import StateStore

_LOGGER = logging.getLogger(__name__)


class PersistentIdAllocator:
    """Transaction ids: a counter persisted before each id is handed out.

    The counter is read once, under the lock every allocation takes, so no allocation
    runs before it is read and no later read can set it back. An id the session archive
    or a charger's saved state already holds is never handed out again: the counter
    starts above ``highest_used()`` (the archive's highest id, consulted with the
    counter) and above what :meth:`note_used` reports, with a warning when it was
    behind (its file lost or restored from an old backup).
    """

    def __init__(
        self,
        store: StateStore,
        *,
        highest_used: Callable[[], Awaitable[int]] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self._store = store
        self._highest_used = highest_used
        self._logger = logger or _LOGGER
        self._next = 1
        self._lock = asyncio.Lock()
        self._loaded = False

    async def load(self) -> None:
        """Read the counter (once; later calls return at once)."""
        async with self._lock:
            await self._load()

    async def _load(self) -> None:
        """Read the counter and the highest id in use; the caller holds the lock."""
        if self._loaded:
            return
        data = await self._store.async_load()
        if isinstance(data, dict) and isinstance(data.get("next_transaction_id"), int):
            self._next = max(1, data["next_transaction_id"])
        used = 0
        if self._highest_used is not None:
            try:
                used = await self._highest_used()
            except Exception as err:  # the counter alone is still the best we have
                self._logger.warning(
                    "Could not read the highest transaction id in use: %s; "
                    "continuing with the saved counter",
                    err,
                )
        self._loaded = True
        await self._raise_above(used, "the session archive")

    async def _raise_above(self, used: int, source: str) -> None:
        if used < self._next:
            return
        self._logger.warning(
            "The transaction id counter was behind %s (next id %s, highest id there %s); "
            "continuing at %s so that no id is used twice",
            source,
            self._next,
            used,
            used + 1,
        )
        self._next = used + 1
        await self._store.async_save({"next_transaction_id": self._next})

    async def note_used(self, used: int, source: str) -> None:
        """``used`` (and every id below it) is taken: never hand it out."""
        async with self._lock:
            await self._load()
            await self._raise_above(used, source)

    async def allocate(self) -> int:
        """Return a new, never used transaction id."""
        async with self._lock:
            await self._load()
            value = self._next
            self._next += 1
            await self._store.async_save({"next_transaction_id": self._next})
            return value
