"""The ledger's writes: one SQLite transaction each, run in the ledger's thread.

Every function takes the ledger's connection as its first argument:
:class:`~.store.Ledger` runs them in its executor and keeps the event loop side (the
asyncio API, the batching of samples). Those that change one session return it as it
is afterwards, read in the same transaction.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime
import logging
import sqlite3
from typing import Any

from ..models import Tariff
from .errors import LedgerDatabaseError, LedgerError
from .models import Sample, SessionRecord, SessionStart, from_ms, to_ms
from .schema import get_record

_LOGGER = logging.getLogger(__name__)

_SAMPLE_INSERT = (
    "INSERT OR IGNORE INTO samples "
    "(session_id, ts, power_w, current_l1, current_l2, current_l3, register_wh) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


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


@contextmanager
def transaction(conn: sqlite3.Connection) -> Generator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def start_session(conn: sqlite3.Connection, start: SessionStart) -> SessionRecord:
    """Insert a session, or fill blanks of the same re-sent start (see ``Ledger.start_session``)."""
    tariff = start.tariff
    with transaction(conn):
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
        record = get_record(conn, start.transaction_id)
    assert record is not None
    return record


def add_sample_batch(
    conn: sqlite3.Connection, path: str, batch: list[tuple[int, list[Sample]]]
) -> list[int | LedgerError]:
    """Write the samples of many sessions in one transaction, each in a savepoint.

    One session's rows that cannot be written (a value SQLite cannot hold) fail
    that session's caller only; the others' samples are written all the same. The batch
    is first tried without savepoints (three statements a session fewer, on the path of
    every power-curve point); only a batch that fails is rolled back and written again
    session by session.
    """
    try:
        with transaction(conn):
            return [_add_samples(conn, tx, samples) for tx, samples in batch]
    except (sqlite3.Error, OverflowError, ValueError):
        pass  # rolled back: again, each session in its savepoint
    results: list[int | LedgerError] = []
    with transaction(conn):
        for tx, samples in batch:
            conn.execute("SAVEPOINT session_samples")
            try:
                count = _add_samples(conn, tx, samples)
            except (sqlite3.Error, OverflowError, ValueError) as err:
                conn.execute("ROLLBACK TO session_samples")
                conn.execute("RELEASE session_samples")
                _LOGGER.debug("samples of transaction %s not written: %s", tx, err)
                results.append(LedgerDatabaseError(path, str(err)))
                continue
            conn.execute("RELEASE session_samples")
            results.append(count)
    return results


def _add_samples(conn: sqlite3.Connection, transaction_id: int, samples: list[Sample]) -> int:
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


def stop_session(
    conn: sqlite3.Connection,
    transaction_id: int,
    stop_time: datetime,
    meter_stop_wh: float | None,
    *,
    stop_reason: str | None,
    stop_id_tag: str | None,
) -> SessionRecord | None:
    """Close a session, energy and cost from the tariff (see ``Ledger.stop_session``)."""
    with transaction(conn):
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
            return get_record(conn, transaction_id)
        estimate = meter_stop_wh is None
        if meter_stop_wh is None:
            meter_stop_wh = meter_start if meter_last is None else meter_last
        energy = _energy_kwh(meter_start, float(meter_stop_wh))
        cost = None if currency is None else Tariff(currency, fee or 0.0, price or 0.0).cost(energy)
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
        return get_record(conn, transaction_id)


def close_interrupted(
    conn: sqlite3.Connection, transaction_id: int, stop_reason: str
) -> SessionRecord | None:
    """Close a lost session at its latest sample (see ``Ledger.close_interrupted``)."""
    row = conn.execute(
        """
        SELECT max(s.start_time, coalesce(s.meter_last_time, s.start_time),
                   coalesce((SELECT max(ts) FROM samples WHERE session_id = s.id),
                            s.start_time))
        FROM sessions s WHERE s.transaction_id = ?
        """,
        (transaction_id,),
    ).fetchone()
    if row is None:
        return None
    return stop_session(
        conn, transaction_id, from_ms(row[0]), None, stop_reason=stop_reason, stop_id_tag=None
    )


def set_plug_out(
    conn: sqlite3.Connection, charger: str, time: datetime, connector_id: int | None
) -> SessionRecord | None:
    """Note the unplugging on the last stopped session (see ``Ledger.set_plug_out``)."""
    connector = "" if connector_id is None else " AND connector_id = ?"
    params: list[Any] = [charger] if connector_id is None else [charger, connector_id]
    with transaction(conn):
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
        return get_record(conn, transaction_id)


def update_session(
    conn: sqlite3.Connection, transaction_id: int, changes: dict[str, Any]
) -> SessionRecord | None:
    """Set the given columns of a session (the driver's log)."""
    with transaction(conn):
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            conn.execute(
                f"UPDATE sessions SET {assignments} WHERE transaction_id = ?",
                [*changes.values(), transaction_id],
            )
        return get_record(conn, transaction_id)


def import_batch(
    conn: sqlite3.Connection, iterator: Iterable[tuple[SessionRecord, Sequence[Sample]]], batch: int
) -> tuple[int, bool]:
    """Insert up to ``batch`` finished sessions from ``iterator``; return (count, done)."""
    inserted = 0
    done = True
    with transaction(conn):
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
