"""The session ledger: an archive of charging sessions in SQLite, used from asyncio.

Every SQLite access runs in the ledger's own single-thread executor, on one connection
that this thread opens and owns; the event loop only awaits. Exports stream from a
second, read-only connection of the same thread, in chunks, so that writes queued
meanwhile (a stop, samples) are not held up for the whole export.

This module is the asyncio side: the executor, opening and migrating, the batching of
samples and the driving of exports. The write transactions it runs are in
:mod:`.writes`, the reads it shares with the exports in :mod:`.schema`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
import contextlib
from datetime import datetime, tzinfo
import logging
from pathlib import Path
import sqlite3
from typing import Any, Literal

from . import writes
from .errors import (
    LedgerClosedError,
    LedgerDatabaseError,
    LedgerError,
    LedgerOpenError,
    LedgerSchemaError,
)
from .export import export_steps
from .models import (
    UNSET,
    ExportResult,
    Sample,
    SessionFilter,
    SessionRecord,
    SessionStart,
    Totals,
    _Unset,
)
from .schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SELECT_RECORDS,
    filter_sql,
    get_record,
    read_samples,
    record_from_row,
    register_functions,
    totals_of,
)

_LOGGER = logging.getLogger(__name__)

_MAX_LIMIT = 10_000


class Ledger:
    """The archive of charging sessions (one SQLite file)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        # Owned by the executor's thread: never touched on the event loop.
        self._conn: sqlite3.Connection | None = None
        self._exports: set[Generator[None, None, ExportResult]] = set()
        # Power-curve samples waiting for the next batched write (event loop side).
        self._sample_queue: list[tuple[int, list[Sample], asyncio.Future[int]]] = []
        self._sample_writer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def is_open(self) -> bool:
        """True between ``open`` and ``close``."""
        return self._executor is not None

    async def _run[T](self, func: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise LedgerClosedError
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)
        except sqlite3.Error as err:
            raise LedgerDatabaseError(str(self.path), str(err)) from err

    async def _sql[T](self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``func(connection, *args, **kwargs)`` in the ledger's thread, on its connection."""
        return await self._run(self._on_connection, func, args, kwargs)

    def _on_connection[T](
        self, func: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        return func(self._db(), *args, **kwargs)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LedgerClosedError
        return self._conn

    async def open(self) -> None:
        """Open the database, creating or migrating it. Cheap on a large archive."""
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chargeconnect_ledger")
        self._executor = executor
        try:
            await self._run(self._open)
        except asyncio.CancelledError:
            # The open may still be running: close after it, without waiting here.
            self._executor = None
            executor.submit(self._close)
            executor.shutdown(wait=False)
            raise
        except BaseException:
            self._executor = None
            try:
                await asyncio.get_running_loop().run_in_executor(executor, self._close)
            finally:
                executor.shutdown(wait=True)  # idle: joining takes microseconds
            raise

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, autocommit=True, timeout=10)
        except (OSError, sqlite3.Error) as err:
            raise LedgerOpenError(str(self.path), str(err)) from err
        self._conn = conn
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            register_functions(conn)
            self._migrate(conn)
        except LedgerError:
            raise
        except sqlite3.Error as err:
            raise LedgerOpenError(str(self.path), str(err)) from err

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LedgerSchemaError(str(self.path), version, SCHEMA_VERSION)
        created = version == 0  # a new database is built up through every version: no news
        while version < SCHEMA_VERSION:
            if not created:
                _LOGGER.info("Migrating %s from schema %s to %s", self.path, version, version + 1)
            with writes.transaction(conn):
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            version += 1

    async def close(self) -> None:
        """Finish queued work, close the database and stop the executor thread."""
        executor = self._executor
        if executor is None:
            return
        if self._sample_writer is not None:
            await asyncio.shield(self._sample_writer)
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._close)
        finally:
            self._executor = None
            # The thread is idle now: joining it takes microseconds.
            executor.shutdown(wait=True)

    def _close(self) -> None:
        for export in list(self._exports):
            export.close()
        self._exports.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ------------------------------------------------------------------ sessions

    async def start_session(self, start: SessionStart) -> SessionRecord:
        """Archive a new session; a re-sent start changes nothing (only fills blanks).

        Returns the archived session. When another session (another charger or start
        time) holds the transaction id already, that one is returned unchanged: the
        caller sees from it that this start was not archived.
        """
        return await self._sql(writes.start_session, start)

    async def add_samples(self, transaction_id: int, samples: Sequence[Sample]) -> int:
        """Store power-curve samples (any order, also after the stop); return how many are new.

        A sample whose timestamp the session already has is ignored, and so are the
        samples of an unknown transaction (0 is returned).
        """
        if not samples:
            return 0
        if self._executor is None:
            raise LedgerClosedError
        # Samples from every charger that arrive while a write is running go into the
        # next write together: one transaction for many MeterValues under load.
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._sample_queue.append((transaction_id, list(samples), future))
        if self._sample_writer is None:
            self._sample_writer = asyncio.get_running_loop().create_task(
                self._write_sample_batches(), name="chargeconnect ledger samples"
            )
        return await asyncio.shield(future)

    async def _write_sample_batches(self) -> None:
        try:
            while self._sample_queue:
                batch, self._sample_queue = self._sample_queue, []
                try:
                    counts = await self._sql(
                        writes.add_sample_batch,
                        str(self.path),
                        [(tx, items) for tx, items, _ in batch],
                    )
                except Exception as err:  # handed to every waiting caller
                    for _tx, _items, future in batch:
                        if not future.done():
                            future.set_exception(err)
                    continue
                for (_tx, _items, future), count in zip(batch, counts, strict=True):
                    if future.done():
                        continue
                    if isinstance(count, LedgerError):
                        future.set_exception(count)
                    else:
                        future.set_result(count)
        finally:
            self._sample_writer = None

    async def stop_session(
        self,
        transaction_id: int,
        stop_time: datetime,
        meter_stop_wh: float | None,
        stop_reason: str | None,
        stop_id_tag: str | None = None,
    ) -> SessionRecord | None:
        """Close a session: energy (kWh, never negative) and cost from the tariff at start.

        ``meter_stop_wh=None`` closes an interrupted session with the latest register
        received (or no energy): such a stop is an estimate, and a later stop with a real
        meter value (the charger's queued StopTransaction) replaces it. Any other repeated
        stop changes nothing. Returns the session, or None for an unknown transaction.
        """
        return await self._sql(
            writes.stop_session,
            transaction_id,
            stop_time,
            meter_stop_wh,
            stop_reason=stop_reason,
            stop_id_tag=stop_id_tag,
        )

    async def close_interrupted(
        self, transaction_id: int, stop_reason: str
    ) -> SessionRecord | None:
        """Close a session that was lost (nobody will stop it) as interrupted.

        Like ``stop_session`` with ``meter_stop_wh=None``: the energy up to the latest
        register received, an estimate a later real stop replaces. It stops at the
        latest sample (or at its start without one). Returns the session, or None for
        an unknown transaction.
        """
        return await self._sql(writes.close_interrupted, transaction_id, stop_reason)

    async def set_plug_out(
        self, charger: str, time: datetime, connector_id: int | None = None
    ) -> SessionRecord | None:
        """Note the unplugging on the charger's (connector's) last stopped session.

        Only when that session has no plug-out time yet and ``time`` is not before its
        stop. Returns the updated session, or None when nothing was changed.
        """
        return await self._sql(writes.set_plug_out, charger, time, connector_id)

    async def update_session(
        self,
        transaction_id: int,
        *,
        odometer_km: float | _Unset | None = UNSET,
        vehicle_id: str | _Unset | None = UNSET,
        tag_alias: str | _Unset | None = UNSET,
        group_id: str | _Unset | None = UNSET,
    ) -> SessionRecord | None:
        """Edit the driver's log of a session (None clears a value; leave out to keep it)."""
        changes: dict[str, Any] = {}
        if not isinstance(odometer_km, _Unset):
            changes["odometer_km"] = None if odometer_km is None else float(odometer_km)
        if not isinstance(vehicle_id, _Unset):
            changes["vehicle_id"] = vehicle_id
        if not isinstance(tag_alias, _Unset):
            changes["tag_alias"] = tag_alias
        if not isinstance(group_id, _Unset):
            changes["group_id"] = group_id
        return await self._sql(writes.update_session, transaction_id, changes)

    # ------------------------------------------------------------------ reading

    def _records(self, sql: str, params: Sequence[Any] = ()) -> list[SessionRecord]:
        return [record_from_row(row) for row in self._db().execute(sql, params)]

    async def get_session(self, transaction_id: int) -> SessionRecord | None:
        """One session, or None."""
        return await self._sql(get_record, transaction_id)

    async def open_sessions(self, charger: str | None = None) -> list[SessionRecord]:
        """Sessions not stopped yet (of one charger, or all), oldest first."""
        if charger is None:
            sql, params = f"{SELECT_RECORDS} WHERE stop_time IS NULL ORDER BY start_time", []
        else:
            sql = f"{SELECT_RECORDS} WHERE charger = ? AND stop_time IS NULL ORDER BY start_time"
            params = [charger]
        return await self._run(self._records, sql, params)

    async def last_session(self, charger: str | None = None) -> SessionRecord | None:
        """The session that stopped last (of one charger, or of all)."""
        if charger is None:
            sql, params = f"{SELECT_RECORDS} WHERE stop_time IS NOT NULL", []
        else:
            sql, params = f"{SELECT_RECORDS} WHERE charger = ? AND stop_time IS NOT NULL", [charger]
        records = await self._run(
            self._records, f"{sql} ORDER BY stop_time DESC, transaction_id DESC LIMIT 1", params
        )
        return records[0] if records else None

    async def samples(self, transaction_id: int) -> list[Sample]:
        """A session's power curve, ordered by time (empty for an unknown transaction)."""
        return await self._sql(read_samples, transaction_id)

    async def query(
        self, flt: SessionFilter, offset: int = 0, limit: int = 100
    ) -> tuple[list[SessionRecord], int]:
        """One page of matching sessions, newest first, and how many match in all."""
        return await self._run(self._query, flt, max(0, offset), max(0, min(limit, _MAX_LIMIT)))

    def _query(
        self, flt: SessionFilter, offset: int, limit: int
    ) -> tuple[list[SessionRecord], int]:
        where, params = filter_sql(flt)
        conn = self._db()
        conn.execute("BEGIN")  # one snapshot for the page and the count
        try:
            total: int = conn.execute(f"SELECT count(*) FROM sessions {where}", params).fetchone()[
                0
            ]
            page = self._records(
                f"{SELECT_RECORDS} {where} "
                "ORDER BY start_time DESC, transaction_id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        finally:
            conn.execute("COMMIT")
        return page, total

    async def totals(
        self, charger: str | None, since: datetime, until: datetime | None = None
    ) -> Totals:
        """Sessions, energy and cost per currency of the stopped sessions started in a window.

        ``since`` is inclusive, ``until`` exclusive (None: up to now and beyond).
        """
        flt = SessionFilter(chargers=None if charger is None else [charger], start=since, end=until)
        return await self._sql(totals_of, flt)

    # ------------------------------------------------------------------ bulk and export

    async def import_sessions(
        self, sessions: Iterable[tuple[SessionRecord, Sequence[Sample]]], batch: int = 500
    ) -> int:
        """Bulk-insert finished sessions with their samples (imports, benchmarks).

        The iterable is consumed in the ledger's thread, ``batch`` sessions per
        transaction (the event loop stays free in between). Sessions whose transaction id
        exists are skipped. Energy and cost are taken from the records as given. Returns
        the number of sessions inserted.
        """
        iterator = iter(sessions)
        inserted = 0
        while True:
            count, done = await self._sql(writes.import_batch, iterator, batch)
            inserted += count
            if done:
                return inserted

    async def export(
        self,
        fmt: Literal["csv", "xlsx", "pdf"],
        path: str | Path,
        flt: SessionFilter,
        *,
        locale: str = "en",
        title: str = "Charging sessions",
        tz: tzinfo | None = None,
    ) -> ExportResult:
        """Write the stopped sessions matching ``flt`` to ``path`` (see :mod:`.export`)."""
        steps = export_steps(self.path, fmt, Path(path), flt, locale=locale, title=title, tz=tz)
        finished = False
        try:
            while True:
                result = await self._run(self._export_step, steps)
                if result is not None:
                    finished = True
                    return result
        finally:
            if not finished and self._executor is not None:
                # Cancelled or failed: remove the temp file and the read connection.
                with contextlib.suppress(RuntimeError):  # shut down meanwhile
                    self._executor.submit(self._export_abort, steps)

    def _export_step(self, steps: Generator[None, None, ExportResult]) -> ExportResult | None:
        self._db()  # refuse once closed
        self._exports.add(steps)
        try:
            next(steps)
        except StopIteration as stop:
            self._exports.discard(steps)
            result: ExportResult = stop.value
            return result
        except BaseException:
            self._exports.discard(steps)
            raise
        return None

    def _export_abort(self, steps: Generator[None, None, ExportResult]) -> None:
        self._exports.discard(steps)
        steps.close()


def highest_transaction_id(path: str | Path) -> int:
    """The highest transaction id an archive file holds (0 without the file or a session).

    Blocking, and usable before (or without) opening a :class:`Ledger`: the transaction
    id counter starts above it. Reads through a read-only connection of its own.
    """
    path = Path(path)
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").fetchone():
                return int(
                    conn.execute("SELECT max(transaction_id) FROM sessions").fetchone()[0] or 0
                )
            return 0
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise LedgerDatabaseError(str(path), str(err)) from err
