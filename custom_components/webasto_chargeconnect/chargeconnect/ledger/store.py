"""The session ledger: an archive of charging sessions in SQLite, used from asyncio.

Every SQLite access runs in the ledger's own single-thread executor, on one connection
that this thread opens and owns; the event loop only awaits. Exports stream from a
second, read-only connection of the same thread, in chunks, so that writes queued
meanwhile (a stop, samples) are not held up for the whole export.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
import contextlib
from contextlib import contextmanager
from datetime import datetime, tzinfo
import logging
from pathlib import Path
import sqlite3
from typing import Any, Literal

from ..models import Tariff
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
    from_ms,
    to_ms,
)
from .schema import (
    MIGRATIONS,
    RECORD_COLUMNS,
    SCHEMA_VERSION,
    filter_sql,
    read_samples,
    record_from_row,
    register_functions,
    totals_of,
)

_LOGGER = logging.getLogger(__name__)

_SELECT = f"SELECT {RECORD_COLUMNS} FROM sessions"
_SAMPLE_INSERT = (
    "INSERT OR IGNORE INTO samples "
    "(session_id, ts, power_w, current_l1, current_l2, current_l3, register_wh) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_MAX_LIMIT = 10_000


def _energy_kwh(meter_start_wh: float, meter_stop_wh: float) -> float:
    """Energy between two register readings, in kWh, never negative."""
    return round(max(0.0, meter_stop_wh - meter_start_wh) / 1000.0, 6)


def _sample_row(session_id: int, sample: Sample) -> tuple[Any, ...]:
    return (
        session_id,
        to_ms(sample.timestamp),
        sample.power_w,
        sample.current_l1,
        sample.current_l2,
        sample.current_l3,
        sample.register_wh,
    )


def _ms(value: datetime | None) -> int | None:
    return None if value is None else to_ms(value)


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
        """True between ``async_open`` and ``async_close``."""
        return self._executor is not None

    async def _run[T](self, func: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise LedgerClosedError
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)
        except sqlite3.Error as err:
            raise LedgerDatabaseError(str(self.path), str(err)) from err

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LedgerClosedError
        return self._conn

    @contextmanager
    def _transaction(self) -> Generator[sqlite3.Connection]:
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    async def async_open(self) -> None:
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
        while version < SCHEMA_VERSION:
            if version:
                _LOGGER.info("Migrating %s from schema %s to %s", self.path, version, version + 1)
            with self._transaction():
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            version += 1

    async def async_close(self) -> None:
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
        return await self._run(self._start_session, start)

    def _start_session(self, start: SessionStart) -> SessionRecord:
        tariff = start.tariff
        with self._transaction() as conn:
            conn.execute(
                """
                INSERT INTO sessions (
                    transaction_id, charger, connector_id, id_tag, tag_alias, group_id,
                    plug_in_time, start_time, meter_start_wh, currency, fixed_fee,
                    price_per_kwh, odometer_km, vehicle_id
                ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (transaction_id) DO UPDATE SET
                    tag_alias = coalesce(tag_alias, excluded.tag_alias),
                    group_id = coalesce(group_id, excluded.group_id),
                    plug_in_time = coalesce(plug_in_time, excluded.plug_in_time),
                    odometer_km = coalesce(odometer_km, excluded.odometer_km),
                    vehicle_id = coalesce(vehicle_id, excluded.vehicle_id)
                WHERE stop_time IS NULL AND charger = excluded.charger
                    AND start_time = excluded.start_time
                """,
                (
                    start.transaction_id,
                    start.charger,
                    start.connector_id,
                    start.id_tag,
                    start.tag_alias,
                    start.group_id,
                    _ms(start.plug_in_time),
                    to_ms(start.start_time),
                    float(start.meter_start_wh),
                    None if tariff is None else tariff.currency,
                    None if tariff is None else tariff.fixed_fee,
                    None if tariff is None else tariff.price_per_kwh,
                    start.odometer_km,
                    start.vehicle_id,
                ),
            )
            record = self._get(start.transaction_id)
        assert record is not None
        return record

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
                    counts = await self._run(
                        self._add_sample_batch, [(tx, items) for tx, items, _ in batch]
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

    def _add_sample_batch(self, batch: list[tuple[int, list[Sample]]]) -> list[int | LedgerError]:
        """Write the samples of many sessions in one transaction, each in a savepoint.

        One session's rows that cannot be written (a value SQLite cannot hold) fail
        that session's caller only; the others' samples are written all the same.
        """
        results: list[int | LedgerError] = []
        with self._transaction() as conn:
            for tx, samples in batch:
                conn.execute("SAVEPOINT session_samples")
                try:
                    count = self._add_samples_in(conn, tx, samples)
                except (sqlite3.Error, OverflowError, ValueError) as err:
                    conn.execute("ROLLBACK TO session_samples")
                    conn.execute("RELEASE session_samples")
                    _LOGGER.debug("samples of transaction %s not written: %s", tx, err)
                    results.append(LedgerDatabaseError(str(self.path), str(err)))
                    continue
                conn.execute("RELEASE session_samples")
                results.append(count)
        return results

    def _add_samples_in(
        self, conn: sqlite3.Connection, transaction_id: int, samples: list[Sample]
    ) -> int:
        row = conn.execute(
            "SELECT id, meter_last_time FROM sessions WHERE transaction_id = ?",
            (transaction_id,),
        ).fetchone()
        if row is None:
            return 0
        session_id, last_time = row
        cursor = conn.executemany(_SAMPLE_INSERT, [_sample_row(session_id, s) for s in samples])
        stored = cursor.rowcount
        latest = max(
            (s for s in samples if s.register_wh is not None),
            key=lambda s: s.timestamp,
            default=None,
        )
        if latest is not None and latest.register_wh is not None:
            latest_ms = to_ms(latest.timestamp)
            if last_time is None or latest_ms >= last_time:
                conn.execute(
                    "UPDATE sessions SET meter_last_wh = ?, meter_last_time = ? WHERE id = ?",
                    (latest.register_wh, latest_ms, session_id),
                )
        return stored

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
        return await self._run(
            self._stop_session, transaction_id, stop_time, meter_stop_wh, stop_reason, stop_id_tag
        )

    def _stop_session(
        self,
        transaction_id: int,
        stop_time: datetime,
        meter_stop_wh: float | None,
        stop_reason: str | None,
        stop_id_tag: str | None,
    ) -> SessionRecord | None:
        with self._transaction() as conn:
            row = conn.execute(
                """
                SELECT id, stop_time, stop_estimated, meter_start_wh, meter_last_wh,
                       currency, fixed_fee, price_per_kwh
                FROM sessions WHERE transaction_id = ?
                """,
                (transaction_id,),
            ).fetchone()
            if row is None:
                return None
            (session_id, stopped, estimated, meter_start, meter_last, currency, fee, price) = row
            if stopped is not None and (not estimated or meter_stop_wh is None):
                return self._get(transaction_id)
            estimate = meter_stop_wh is None
            if meter_stop_wh is None:
                meter_stop_wh = meter_start if meter_last is None else meter_last
            energy = _energy_kwh(meter_start, float(meter_stop_wh))
            cost = (
                None
                if currency is None
                else Tariff(currency, fee or 0.0, price or 0.0).cost(energy)
            )
            conn.execute(
                """
                UPDATE sessions SET stop_time = ?, meter_stop_wh = ?, energy_kwh = ?, cost = ?,
                    stop_reason = ?, stop_id_tag = ?, stop_estimated = ?
                WHERE id = ?
                """,
                (
                    to_ms(stop_time),
                    float(meter_stop_wh),
                    energy,
                    cost,
                    stop_reason,
                    stop_id_tag,
                    int(estimate),
                    session_id,
                ),
            )
            return self._get(transaction_id)

    async def close_interrupted(
        self, transaction_id: int, stop_reason: str
    ) -> SessionRecord | None:
        """Close a session that was lost (nobody will stop it) as interrupted.

        Like ``stop_session`` with ``meter_stop_wh=None``: the energy up to the latest
        register received, an estimate a later real stop replaces. It stops at the
        latest sample (or at its start without one). Returns the session, or None for
        an unknown transaction.
        """
        return await self._run(self._close_interrupted, transaction_id, stop_reason)

    def _close_interrupted(self, transaction_id: int, stop_reason: str) -> SessionRecord | None:
        row = (
            self._db()
            .execute(
                """
                SELECT max(s.start_time, coalesce(s.meter_last_time, s.start_time),
                           coalesce((SELECT max(ts) FROM samples WHERE session_id = s.id),
                                    s.start_time))
                FROM sessions s WHERE s.transaction_id = ?
                """,
                (transaction_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return self._stop_session(transaction_id, from_ms(row[0]), None, stop_reason, None)

    async def set_plug_out(
        self, charger: str, time: datetime, connector_id: int | None = None
    ) -> SessionRecord | None:
        """Note the unplugging on the charger's (connector's) last stopped session.

        Only when that session has no plug-out time yet and ``time`` is not before its
        stop. Returns the updated session, or None when nothing was changed.
        """
        return await self._run(self._set_plug_out, charger, time, connector_id)

    def _set_plug_out(
        self, charger: str, time: datetime, connector_id: int | None
    ) -> SessionRecord | None:
        connector = "" if connector_id is None else " AND connector_id = ?"
        params: list[Any] = [charger] if connector_id is None else [charger, connector_id]
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT transaction_id, stop_time, plug_out_time FROM sessions "
                f"WHERE charger = ? AND stop_time IS NOT NULL{connector} "
                "ORDER BY stop_time DESC LIMIT 1",
                params,
            ).fetchone()
            if row is None:
                return None
            transaction_id, stop_time, plug_out = row
            time_ms = to_ms(time)
            if plug_out is not None or time_ms < stop_time:
                return None
            conn.execute(
                "UPDATE sessions SET plug_out_time = ? WHERE transaction_id = ?",
                (time_ms, transaction_id),
            )
            return self._get(transaction_id)

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
        return await self._run(self._update_session, transaction_id, changes)

    def _update_session(self, transaction_id: int, changes: dict[str, Any]) -> SessionRecord | None:
        with self._transaction() as conn:
            if changes:
                assignments = ", ".join(f"{column} = ?" for column in changes)
                conn.execute(
                    f"UPDATE sessions SET {assignments} WHERE transaction_id = ?",
                    [*changes.values(), transaction_id],
                )
            return self._get(transaction_id)

    # ------------------------------------------------------------------ reading

    def _get(self, transaction_id: int) -> SessionRecord | None:
        row = (
            self._db().execute(f"{_SELECT} WHERE transaction_id = ?", (transaction_id,)).fetchone()
        )
        return None if row is None else record_from_row(row)

    def _records(self, sql: str, params: Sequence[Any] = ()) -> list[SessionRecord]:
        return [record_from_row(row) for row in self._db().execute(sql, params)]

    async def get_session(self, transaction_id: int) -> SessionRecord | None:
        """One session, or None."""
        return await self._run(self._get, transaction_id)

    async def open_sessions(self, charger: str | None = None) -> list[SessionRecord]:
        """Sessions not stopped yet (of one charger, or all), oldest first."""
        if charger is None:
            sql, params = f"{_SELECT} WHERE stop_time IS NULL ORDER BY start_time", []
        else:
            sql = f"{_SELECT} WHERE charger = ? AND stop_time IS NULL ORDER BY start_time"
            params = [charger]
        return await self._run(self._records, sql, params)

    async def last_session(self, charger: str | None = None) -> SessionRecord | None:
        """The session that stopped last (of one charger, or of all)."""
        if charger is None:
            sql, params = f"{_SELECT} WHERE stop_time IS NOT NULL", []
        else:
            sql, params = f"{_SELECT} WHERE charger = ? AND stop_time IS NOT NULL", [charger]
        records = await self._run(
            self._records, f"{sql} ORDER BY stop_time DESC, transaction_id DESC LIMIT 1", params
        )
        return records[0] if records else None

    async def samples(self, transaction_id: int) -> list[Sample]:
        """A session's power curve, ordered by time (empty for an unknown transaction)."""
        return await self._run(self._samples, transaction_id)

    def _samples(self, transaction_id: int) -> list[Sample]:
        return read_samples(self._db(), transaction_id)

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
                f"{_SELECT} {where} ORDER BY start_time DESC, transaction_id DESC LIMIT ? OFFSET ?",
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
        return await self._run(self._totals, flt)

    def _totals(self, flt: SessionFilter) -> Totals:
        return totals_of(self._db(), flt)

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
            count, done = await self._run(self._import_batch, iterator, batch)
            inserted += count
            if done:
                return inserted

    def _import_batch(
        self, iterator: Iterable[tuple[SessionRecord, Sequence[Sample]]], batch: int
    ) -> tuple[int, bool]:
        inserted = 0
        done = True
        with self._transaction() as conn:
            for index, (record, samples) in enumerate(iterator):
                last = next(
                    (
                        s
                        for s in sorted(samples, key=lambda s: s.timestamp, reverse=True)
                        if s.register_wh is not None
                    ),
                    None,
                )
                cursor = conn.execute(
                    """
                    INSERT OR IGNORE INTO sessions (
                        transaction_id, charger, connector_id, id_tag, tag_alias, group_id,
                        plug_in_time, plug_out_time, start_time, stop_time, meter_start_wh,
                        meter_stop_wh, meter_last_wh, meter_last_time, energy_kwh, currency,
                        fixed_fee, price_per_kwh, cost, stop_reason, stop_id_tag, odometer_km,
                        vehicle_id
                    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    (
                        record.transaction_id,
                        record.charger,
                        record.connector_id,
                        record.id_tag,
                        record.tag_alias,
                        record.group_id,
                        _ms(record.plug_in_time),
                        _ms(record.plug_out_time),
                        to_ms(record.start_time),
                        _ms(record.stop_time),
                        record.meter_start_wh,
                        record.meter_stop_wh,
                        None if last is None else last.register_wh,
                        None if last is None else to_ms(last.timestamp),
                        None if record.stop_time is None else record.energy_kwh,
                        record.currency,
                        record.fixed_fee,
                        record.price_per_kwh,
                        record.cost,
                        record.stop_reason,
                        record.stop_id_tag,
                        record.odometer_km,
                        record.vehicle_id,
                    ),
                )
                if cursor.rowcount:
                    inserted += 1
                    session_id = cursor.lastrowid
                    assert session_id is not None
                    conn.executemany(_SAMPLE_INSERT, [_sample_row(session_id, s) for s in samples])
                if index + 1 >= batch:
                    done = False
                    break
        return inserted, done

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
