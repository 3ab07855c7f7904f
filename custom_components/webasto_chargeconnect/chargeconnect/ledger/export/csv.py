"""The CSV export: one row per session in :data:`~.columns.COLUMNS` order, then the totals.

Dutch and German exports use ``;`` between cells and a decimal comma, and start with a
byte order mark, so that Excel in those languages opens them as it shows numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import csv
from datetime import datetime
from pathlib import Path
import sqlite3
from typing import Any, Final

from ..models import SessionFilter
from .columns import COLUMNS, Pace, Steps, Sum, raw_chunks, totals_rows
from .texts import Locale

_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    # A leading formula character would make Excel evaluate the cell (CSV injection).
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_row_function(loc: Locale) -> Callable[[Sequence[Any]], list[str]]:
    """The CSV cells of a raw session row (:data:`RECORD_COLUMNS`), in :data:`COLUMNS` order.

    The hot path of the CSV export, so it works on the database row itself: no
    :class:`SessionRecord`, and times go from epoch milliseconds straight to local ISO text.
    Only stopped sessions are exported, so the stored energy is final.
    """
    number = loc.number
    tz = loc.tz
    fromtimestamp = datetime.fromtimestamp

    def when(ms: int | None) -> str:
        if ms is None:
            return ""
        return fromtimestamp(ms / 1000, tz).isoformat(
            timespec="milliseconds" if ms % 1000 else "seconds"
        )

    def text(value: str | None) -> str:
        return "" if value is None else _csv_text(value)

    def num(value: float | None) -> str:
        return "" if value is None else number(value)

    def row(r: Sequence[Any]) -> list[str]:
        start, stop = r[4], r[10]
        seconds = max(0, stop - start) // 1000
        return [
            str(r[0]),  # transaction id
            _csv_text(r[1]),  # charger
            _csv_text(r[3]),  # id tag
            text(r[6]),  # tag alias
            when(r[8]),  # plug-in
            when(r[9]),  # plug-out
            when(start),
            when(stop),
            f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}",
            number(r[13]),  # energy
            number(r[5] / 1000.0),  # meter start
            "" if r[11] is None else number(r[11] / 1000.0),  # meter stop
            num(r[16]),  # price per kWh
            num(r[15]),  # fixed fee
            num(r[17]),  # cost
            text(r[14]),  # currency
            text(r[18]),  # stop reason
            num(r[20]),  # odometer
            text(r[21]),  # vehicle id
        ]

    return row


def write_csv(conn: sqlite3.Connection, tmp: Path, flt: SessionFilter, loc: Locale) -> Steps:
    separator = ";" if loc.decimal_comma else ","
    encoding = "utf-8-sig" if loc.decimal_comma else "utf-8"
    acc = Sum()
    with tmp.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=separator)
        writer.writerow([loc.text(column.key) for column in COLUMNS])
        cells = _csv_row_function(loc)
        pace = Pace()
        for rows in raw_chunks(conn, flt):
            for row in rows:
                acc.add_row(row)
            writer.writerows(map(cells, rows))
            if pace.due():
                yield
                pace.restart()
        totals = acc.totals()
        for row in totals_rows(totals, loc, loc.number):
            writer.writerow(["" if cell is None else cell for cell in row])
    return totals
