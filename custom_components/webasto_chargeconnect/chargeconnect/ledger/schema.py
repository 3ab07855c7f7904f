"""The ledger's SQLite schema, its migrations and the reads shared by the store and the exports.

Times are stored as integer milliseconds since the epoch (UTC) from schema version 2 on;
version 1 stored ISO 8601 text. ``PRAGMA user_version`` holds the schema version and
:data:`MIGRATIONS` is the ordered list of steps: ``MIGRATIONS[n]`` takes a database from
version ``n`` to ``n + 1``. A new database runs every step, so each is always exercised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import sqlite3
from typing import Any, Final

from ..timeutil import parse_ocpp_time
from .models import Sample, SessionFilter, SessionRecord, Totals, from_ms, to_ms

# The first, deliberately minimal schema (times as ISO 8601 text). Kept verbatim: it is
# migration step 0 -> 1, and tests build version-1 databases from it.
SCHEMA_V1: Final = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    charger TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    transaction_id INTEGER NOT NULL UNIQUE,
    id_tag TEXT NOT NULL,
    start_time TEXT NOT NULL,
    stop_time TEXT,
    meter_start_wh REAL NOT NULL,
    meter_stop_wh REAL,
    stop_reason TEXT
);
CREATE TABLE samples (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    timestamp TEXT NOT NULL,
    power_w REAL,
    register_wh REAL
);
CREATE INDEX samples_session ON samples(session_id, timestamp);
"""

# Version 2: integer times, tariff and cost, plug-in/out, driver's log, per-phase currents,
# the latest register of a running session, and the indexes every query relies on.
_V1_TO_V2: Final = """
CREATE TABLE sessions_v2 (
    id INTEGER PRIMARY KEY,
    transaction_id INTEGER NOT NULL UNIQUE,
    charger TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    tag_alias TEXT,
    group_id TEXT,
    plug_in_time INTEGER,
    plug_out_time INTEGER,
    start_time INTEGER NOT NULL,
    stop_time INTEGER,
    meter_start_wh REAL NOT NULL,
    meter_stop_wh REAL,
    meter_last_wh REAL,
    meter_last_time INTEGER,
    energy_kwh REAL,
    currency TEXT,
    fixed_fee REAL,
    price_per_kwh REAL,
    cost REAL,
    stop_reason TEXT,
    stop_id_tag TEXT,
    stop_estimated INTEGER NOT NULL DEFAULT 0,
    odometer_km REAL,
    vehicle_id TEXT
);
INSERT INTO sessions_v2 (
    id, transaction_id, charger, connector_id, id_tag, start_time, stop_time,
    meter_start_wh, meter_stop_wh, energy_kwh, stop_reason
)
SELECT
    id, transaction_id, charger, connector_id, id_tag,
    coalesce(iso_ms(start_time), 0), iso_ms(stop_time), meter_start_wh, meter_stop_wh,
    CASE WHEN stop_time IS NOT NULL
        THEN round(max(0.0, coalesce(meter_stop_wh, meter_start_wh) - meter_start_wh) / 1000.0, 6)
    END,
    stop_reason
FROM sessions;
CREATE TABLE samples_v2 (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    ts INTEGER NOT NULL,
    power_w REAL,
    current_l1 REAL,
    current_l2 REAL,
    current_l3 REAL,
    register_wh REAL,
    PRIMARY KEY (session_id, ts)
) WITHOUT ROWID;
INSERT OR IGNORE INTO samples_v2 (session_id, ts, power_w, register_wh)
SELECT session_id, iso_ms(timestamp), power_w, register_wh
FROM samples
WHERE iso_ms(timestamp) IS NOT NULL AND session_id IN (SELECT id FROM sessions)
ORDER BY session_id, timestamp;
UPDATE sessions_v2 SET (meter_last_wh, meter_last_time) = (
    SELECT register_wh, ts FROM samples_v2
    WHERE samples_v2.session_id = sessions_v2.id AND register_wh IS NOT NULL
    ORDER BY ts DESC LIMIT 1
);
DROP TABLE samples;
DROP TABLE sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;
ALTER TABLE samples_v2 RENAME TO samples;
CREATE INDEX sessions_start ON sessions(start_time);
CREATE INDEX sessions_charger_start ON sessions(charger, start_time);
CREATE INDEX sessions_stop ON sessions(stop_time);
CREATE INDEX sessions_charger_stop ON sessions(charger, stop_time);
CREATE INDEX sessions_tag_start ON sessions(id_tag, start_time);
CREATE INDEX sessions_group_start ON sessions(group_id, start_time);
"""


def _iso_ms(value: str | None) -> int | None:
    """SQL function ``iso_ms(text)``: ISO 8601 text to epoch milliseconds (None if invalid)."""
    if value is None:
        return None
    try:
        return to_ms(parse_ocpp_time(str(value)))
    except ValueError:
        return None


def register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions the migrations use."""
    conn.create_function("iso_ms", 1, _iso_ms, deterministic=True)


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def step(conn: sqlite3.Connection) -> None:
        conn.executescript(sql)

    return step


# MIGRATIONS[n] takes the database from version n to n + 1, inside one transaction.
MIGRATIONS: Final[Sequence[Callable[[sqlite3.Connection], None]]] = (
    _script(SCHEMA_V1),
    _script(_V1_TO_V2),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

RECORD_COLUMNS: Final = (
    "transaction_id, charger, connector_id, id_tag, start_time, meter_start_wh, tag_alias, "
    "group_id, plug_in_time, plug_out_time, stop_time, meter_stop_wh, meter_last_wh, "
    "energy_kwh, currency, fixed_fee, price_per_kwh, cost, stop_reason, stop_id_tag, "
    "odometer_km, vehicle_id"
)

SELECT_RECORDS: Final = f"SELECT {RECORD_COLUMNS} FROM sessions"


def _time(value: int | None) -> Any:
    return None if value is None else from_ms(value)


def record_from_row(row: Sequence[Any]) -> SessionRecord:
    """A :class:`SessionRecord` from a row selected with :data:`RECORD_COLUMNS`."""
    (
        transaction_id,
        charger,
        connector_id,
        id_tag,
        start_time,
        meter_start_wh,
        tag_alias,
        group_id,
        plug_in_time,
        plug_out_time,
        stop_time,
        meter_stop_wh,
        meter_last_wh,
        energy_kwh,
        currency,
        fixed_fee,
        price_per_kwh,
        cost,
        stop_reason,
        stop_id_tag,
        odometer_km,
        vehicle_id,
    ) = row
    if energy_kwh is None:
        # A running session: the energy so far, from the latest register received.
        energy_kwh = (
            0.0
            if meter_last_wh is None
            else round(max(0.0, meter_last_wh - meter_start_wh) / 1000.0, 6)
        )
    return SessionRecord(
        transaction_id=transaction_id,
        charger=charger,
        connector_id=connector_id,
        id_tag=id_tag,
        start_time=from_ms(start_time),
        meter_start_wh=meter_start_wh,
        tag_alias=tag_alias,
        group_id=group_id,
        plug_in_time=_time(plug_in_time),
        plug_out_time=_time(plug_out_time),
        stop_time=_time(stop_time),
        meter_stop_wh=meter_stop_wh,
        meter_last_wh=meter_last_wh,
        energy_kwh=float(energy_kwh),
        currency=currency,
        fixed_fee=fixed_fee,
        price_per_kwh=price_per_kwh,
        cost=cost,
        stop_reason=stop_reason,
        stop_id_tag=stop_id_tag,
        odometer_km=odometer_km,
        vehicle_id=vehicle_id,
    )


def get_record(conn: sqlite3.Connection, transaction_id: int) -> SessionRecord | None:
    """One session, or None."""
    row = conn.execute(f"{SELECT_RECORDS} WHERE transaction_id = ?", (transaction_id,)).fetchone()
    return None if row is None else record_from_row(row)


def _in(column: str, values: Sequence[Any], clauses: list[str], params: list[Any]) -> None:
    unique = list(dict.fromkeys(values))
    if not unique:
        clauses.append("0")
        return
    clauses.append(f"{column} IN ({', '.join('?' * len(unique))})")
    params.extend(unique)


def filter_sql(flt: SessionFilter, *, stopped_only: bool = False) -> tuple[str, list[Any]]:
    """The WHERE clause (with leading ``WHERE``, or empty) and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if flt.chargers is not None:
        _in("charger", flt.chargers, clauses, params)
    if flt.id_tags is not None:
        _in("id_tag", flt.id_tags, clauses, params)
    if flt.transaction_ids is not None:
        _in("transaction_id", [int(t) for t in flt.transaction_ids], clauses, params)
    if flt.group_id is not None:
        clauses.append("group_id = ?")
        params.append(flt.group_id)
    if flt.start is not None:
        clauses.append("start_time >= ?")
        params.append(to_ms(flt.start))
    if flt.end is not None:
        clauses.append("start_time < ?")
        params.append(to_ms(flt.end))
    if stopped_only:
        clauses.append("stop_time IS NOT NULL")
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def read_samples(conn: sqlite3.Connection, transaction_id: int) -> list[Sample]:
    """A session's samples ordered by time."""
    rows = conn.execute(
        """
        SELECT ts, power_w, current_l1, current_l2, current_l3, register_wh FROM samples
        WHERE session_id = (SELECT id FROM sessions WHERE transaction_id = ?)
        ORDER BY ts
        """,
        (transaction_id,),
    )
    return [Sample(from_ms(ts), power, l1, l2, l3, reg) for ts, power, l1, l2, l3, reg in rows]


def totals_of(conn: sqlite3.Connection, flt: SessionFilter) -> Totals:
    """Totals of the stopped sessions matching ``flt``."""
    where, params = filter_sql(flt, stopped_only=True)
    sessions = 0
    energy = 0.0
    costs: dict[str, float] = {}
    for currency, count, energy_sum, cost_sum in conn.execute(
        f"SELECT currency, count(*), total(energy_kwh), total(cost) FROM sessions {where} "
        "GROUP BY currency ORDER BY currency",
        params,
    ):
        sessions += count
        energy += energy_sum
        if currency is not None:
            costs[currency] = round(cost_sum, 4)
    return Totals(sessions=sessions, energy_kwh=round(energy, 6), cost_by_currency=costs)
