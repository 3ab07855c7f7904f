"""What of a link survives a restart, and when it is written.

One document per charger in a :class:`~..storage.StateStore`: ``{"version", "next_seq",
"queue", "transactions", "finished"}`` (the billing messages of the :class:`.Outbox` and the
:class:`.TransactionMap`). Decides when it is written:

- Urgent changes (a new message, a new id mapping, a start or stop answered) at once.
- Removals of answered MeterValues within :data:`SAVE_INTERVAL`, so that draining a long
  queue does not rewrite it for every message; a crash in between replays a few of them
  again (at-least-once, never lost).
- Writes never overlap and the last state is always written; a store that cannot write is
  logged and forwarding goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
import logging
from typing import Any

from ..storage import StateStore
from .outbox import Outbox
from .transactions import TransactionMap

STORAGE_VERSION = 1
# Longest delay before an answered MeterValues is removed from the stored queue.
SAVE_INTERVAL = timedelta(seconds=1)


@dataclass(kw_only=True, eq=False)
class LinkState:
    """Loads and writes one link's queue and transaction map."""

    store: StateStore
    outbox: Outbox
    transactions: TransactionMap
    logger: logging.Logger
    name: str  # the charger, for logs
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _urgent: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _dirty: bool = field(default=False, init=False)

    async def load(self) -> None:
        """Replace the queue and the map with what was stored."""
        self.outbox.clear()
        self.transactions.clear()
        data = await self.store.async_load()
        if not isinstance(data, dict):
            return
        self.outbox.load(data)
        self.transactions.load(data)

    def save_soon(self, urgent: bool = True) -> None:
        """Write soon: at once when ``urgent``, else within SAVE_INTERVAL."""
        self._dirty = True
        if urgent:
            self._urgent.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._save_loop())

    async def flush(self) -> None:
        """Wait until what changed is written."""
        self._urgent.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def close(self) -> None:
        """Write what changed, then the final state once more."""
        await self.flush()
        await self._save_now()

    async def _save_loop(self) -> None:
        while self._dirty:
            self._dirty = False
            self._urgent.clear()
            await self._save_now()
            if self._dirty and not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SAVE_INTERVAL.total_seconds()):
                        await self._urgent.wait()

    def _snapshot(self) -> dict[str, Any]:
        outbox = self.outbox.to_storage()
        return {
            "version": STORAGE_VERSION,
            "next_seq": outbox["next_seq"],
            "queue": outbox["queue"],
            **self.transactions.to_storage(),
        }

    async def _save_now(self) -> None:
        try:
            await self.store.async_save(self._snapshot())
        except Exception:
            self.logger.exception("%s: cannot save the upstream queue", self.name)
