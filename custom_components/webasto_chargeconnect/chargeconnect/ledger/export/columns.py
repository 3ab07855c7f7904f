"""The columns of the exports and what every writer shares: totals, pacing, chunks.

Every writer reads the matching *stopped* sessions in chunks of :data:`CHUNK`, oldest
first, and yields to the ledger's executor once a step has used :data:`STEP_BUDGET`
(see :class:`Pace`). The totals are added up from the rows written (:class:`Sum`), so
they always match the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum, auto
import sqlite3
import time
from typing import Any, Final

from ..models import SessionFilter, SessionRecord, Totals
from ..schema import RECORD_COLUMNS, filter_sql, record_from_row
from .texts import Locale

CHUNK: Final = 25  # sessions fetched at a time
# Work per step (one executor job). A step that writes files can keep the GIL from the
# event loop for its whole length: CPython forces a GIL hand-over only when the holder has
# not released it for 5 ms, and every buffered write releases it briefly. Short steps
# bound the loop's wait.
STEP_BUDGET: Final = 0.008

type Steps = Generator[None, None, Totals]


class Kind(Enum):
    """Kinds of column: how each writer renders the value."""

    INT = auto()
    STR = auto()
    TIME = auto()
    DURATION = auto()
    KWH = auto()
    MONEY = auto()
    PRICE = auto()
    KM = auto()


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    kind: Kind
    get: Callable[[SessionRecord], Any]
    width: float  # XLSX width in characters


def kwh(value: float | None) -> float | None:
    """Wh to kWh (None stays None)."""
    return None if value is None else value / 1000.0


COLUMNS: Final[tuple[Column, ...]] = (
    Column("session", Kind.INT, lambda r: r.transaction_id, 10),
    Column("charger", Kind.STR, lambda r: r.charger, 20),
    Column("tag", Kind.STR, lambda r: r.id_tag, 16),
    Column("tag_alias", Kind.STR, lambda r: r.tag_alias, 16),
    Column("plug_in", Kind.TIME, lambda r: r.plug_in_time, 19),
    Column("plug_out", Kind.TIME, lambda r: r.plug_out_time, 19),
    Column("start", Kind.TIME, lambda r: r.start_time, 19),
    Column("stop", Kind.TIME, lambda r: r.stop_time, 19),
    Column("duration", Kind.DURATION, lambda r: r.duration, 12),
    Column("energy", Kind.KWH, lambda r: r.energy_kwh, 12),
    Column("meter_start", Kind.KWH, lambda r: kwh(r.meter_start_wh), 14),
    Column("meter_stop", Kind.KWH, lambda r: kwh(r.meter_stop_wh), 14),
    Column("price_per_kwh", Kind.PRICE, lambda r: r.price_per_kwh, 12),
    Column("fixed_fee", Kind.MONEY, lambda r: r.fixed_fee, 10),
    Column("cost", Kind.MONEY, lambda r: r.cost, 10),
    Column("currency", Kind.STR, lambda r: r.currency, 9),
    Column("stop_reason", Kind.STR, lambda r: r.stop_reason, 14),
    Column("odometer", Kind.KM, lambda r: r.odometer_km, 13),
    Column("vehicle", Kind.STR, lambda r: r.vehicle_id, 14),
)
INDEX: Final = {column.key: index for index, column in enumerate(COLUMNS)}


class Sum:
    """Totals accumulated while the rows are written (so they always match the rows)."""

    def __init__(self) -> None:
        self.sessions = 0
        self.energy = 0.0
        self.costs: dict[str, float] = {}

    def add(self, record: SessionRecord) -> None:
        self.sessions += 1
        self.energy += record.energy_kwh
        if record.currency is not None:
            self.costs[record.currency] = self.costs.get(record.currency, 0.0) + (
                record.cost or 0.0
            )

    def add_row(self, row: Sequence[Any]) -> None:
        """The same for a raw row of :data:`RECORD_COLUMNS` (of a stopped session)."""
        self.sessions += 1
        self.energy += row[13]
        currency = row[14]
        if currency is not None:
            self.costs[currency] = self.costs.get(currency, 0.0) + (row[17] or 0.0)

    def totals(self) -> Totals:
        return Totals(
            sessions=self.sessions,
            energy_kwh=round(self.energy, 6),
            cost_by_currency={c: round(v, 4) for c, v in sorted(self.costs.items())},
        )


class Pace:
    """Says when the current step has used its :data:`STEP_BUDGET`."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + STEP_BUDGET

    def due(self) -> bool:
        return time.monotonic() >= self.deadline

    def restart(self) -> None:
        self.deadline = time.monotonic() + STEP_BUDGET


def raw_chunks(conn: sqlite3.Connection, flt: SessionFilter) -> Iterator[list[Any]]:
    """The stopped sessions matching ``flt`` as rows of :data:`RECORD_COLUMNS`, oldest first."""
    where, params = filter_sql(flt, stopped_only=True)
    cursor = conn.execute(
        f"SELECT {RECORD_COLUMNS} FROM sessions {where} ORDER BY start_time, transaction_id",
        params,
    )
    while rows := cursor.fetchmany(CHUNK):
        yield rows


def chunks(conn: sqlite3.Connection, flt: SessionFilter) -> Iterator[list[SessionRecord]]:
    """The same as :class:`SessionRecord` objects."""
    for rows in raw_chunks(conn, flt):
        yield [record_from_row(row) for row in rows]


def totals_rows(totals: Totals, loc: Locale, numbers: Callable[[float], Any]) -> list[list[Any]]:
    """The totals rows: energy (and cost) on the first, one more row per extra currency."""
    rows: list[list[Any]] = []
    costs: list[tuple[str | None, float | None]] = list(totals.cost_by_currency.items())
    costs = costs or [(None, None)]
    for index, (currency, cost) in enumerate(costs):
        row: list[Any] = [None] * len(COLUMNS)
        row[0] = loc.text("total")
        row[INDEX["session"] + 1] = f"{totals.sessions} {loc.text('sessions').lower()}"
        if index == 0:
            row[INDEX["energy"]] = numbers(totals.energy_kwh)
        if currency is not None and cost is not None:
            row[INDEX["cost"]] = numbers(cost)
            row[INDEX["currency"]] = currency
        rows.append(row)
    return rows
