"""Persistence interface of the library.

Home Assistant's ``helpers.storage.Store`` fits :class:`StateStore` as it is; the
library itself ships :class:`JsonFileStore` for use without Home Assistant (the
simulator, benchmarks, tests of the library alone).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
import os
from pathlib import Path
import tempfile
from typing import Any, Protocol


class StateStore(Protocol):
    """Where a charger's state survives a restart."""

    async def async_load(self) -> Any:
        """Return the saved data, or None."""

    async def async_save(self, data: Any) -> None:
        """Save now (atomically)."""

    def async_delay_save(self, data_func: Callable[[], Any], delay: float = 0) -> None:
        """Save soon, coalescing repeated calls."""


class JsonFileStore:
    """A :class:`StateStore` on a JSON file, written atomically off the event loop."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._timer: asyncio.TimerHandle | None = None
        self._data_func: Callable[[], Any] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _read(self) -> Any:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def _write(self, data: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.path)

    async def async_load(self) -> Any:
        """Load the file (None when missing)."""
        return await asyncio.get_running_loop().run_in_executor(None, self._read)

    async def async_save(self, data: Any) -> None:
        """Write the file now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await asyncio.get_running_loop().run_in_executor(None, self._write, data)

    def async_delay_save(self, data_func: Callable[[], Any], delay: float = 0) -> None:
        """Write the file after ``delay`` seconds, once for many calls."""
        self._data_func = data_func
        if self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay, self._save_delayed)

    def _save_delayed(self) -> None:
        self._timer = None
        if self._data_func is None:
            return
        task = asyncio.get_running_loop().create_task(self.async_save(self._data_func()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Write a pending delayed save now."""
        if self._timer is not None and self._data_func is not None:
            await self.async_save(self._data_func())
        if self._tasks:
            await asyncio.gather(*self._tasks)


class MemoryStore:
    """A :class:`StateStore` that keeps data in memory (for a charger never persisted)."""

    def __init__(self) -> None:
        self.data: Any = None

    async def async_load(self) -> Any:
        """Return what was saved."""
        return self.data

    async def async_save(self, data: Any) -> None:
        """Keep a copy."""
        self.data = json.loads(json.dumps(data))

    def async_delay_save(self, data_func: Callable[[], Any], delay: float = 0) -> None:
        """Keep a copy now."""
        self.data = json.loads(json.dumps(data_func()))
