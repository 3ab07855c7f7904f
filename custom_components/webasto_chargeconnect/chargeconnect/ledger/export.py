"""Exports of the session archive: CSV, XLSX (XlsxWriter) and PDF (fpdf2).

An export is a generator run step by step in the ledger's thread (see
:meth:`Ledger.export`): it reads the matching *stopped* sessions, oldest first, from its
own read-only connection (one consistent snapshot), about :data:`STEP_BUDGET` of work per
step, writes them to a temp file beside the target and renames it into place at the end.
CSV and XLSX stream (memory does not grow with the number of sessions); the PDF is built
in memory by fpdf2.
The writer libraries are imported only when an export runs.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
import contextlib
import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
import itertools
import math
import os
from pathlib import Path
import sqlite3
import tempfile
import time
from typing import TYPE_CHECKING, Any, Final
import unicodedata

from ..timeutil import utcnow
from .errors import ExportError, ExportFormatError
from .models import ExportResult, Sample, SessionFilter, SessionRecord, Totals, from_ms
from .schema import RECORD_COLUMNS, filter_sql, read_samples, record_from_row, totals_of

if TYPE_CHECKING:
    from fpdf import FPDF

CHUNK: Final = 25  # sessions fetched at a time
# Work per step (one executor job). A step that writes files can keep the GIL from the
# event loop for its whole length: CPython forces a GIL hand-over only when the holder has
# not released it for 5 ms, and every buffered write releases it briefly. Short steps
# bound the loop's wait.
STEP_BUDGET: Final = 0.008
_EXCEL_EPOCH: Final = datetime(1899, 12, 30)
_DAY: Final = timedelta(days=1)
FORMATS: Final = ("csv", "xlsx", "pdf")

type Steps = Generator[None, None, Totals]

# ---------------------------------------------------------------------------- texts

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "session": "Session",
        "charger": "Charger",
        "tag": "Tag",
        "tag_alias": "Tag name",
        "plug_in": "Plug-in ({tz})",
        "plug_out": "Plug-out ({tz})",
        "start": "Start ({tz})",
        "stop": "Stop ({tz})",
        "duration": "Duration (h:mm:ss)",
        "energy": "Energy (kWh)",
        "meter_start": "Meter start (kWh)",
        "meter_stop": "Meter stop (kWh)",
        "price_per_kwh": "Price per kWh",
        "fixed_fee": "Fixed fee",
        "cost": "Cost",
        "currency": "Currency",
        "stop_reason": "Stop reason",
        "odometer": "Odometer (km)",
        "vehicle": "Vehicle ID",
        "total": "Total",
        "sheet": "Sessions",
        "sessions": "Sessions",
        "period": "Period",
        "filter": "Filter",
        "all": "all sessions",
        "chargers": "chargers",
        "tags": "tags",
        "group": "group",
        "ids": "sessions",
        "now": "now",
        "generated": "Generated",
        "details": "Session details",
        "connector": "Connector",
        "group_id": "Group",
        "stop_tag": "Stopped by tag",
        "power_curve": "Power curve",
        "time": "Time ({tz})",
        "no_samples": "No power samples recorded for this session.",
        "page": "Page",
        "none": "no sessions",
    },
    "nl": {
        "session": "Sessie",
        "charger": "Laadpaal",
        "tag": "Tag",
        "tag_alias": "Tagnaam",
        "plug_in": "Ingeplugd ({tz})",
        "plug_out": "Uitgeplugd ({tz})",
        "start": "Start ({tz})",
        "stop": "Stop ({tz})",
        "duration": "Duur (u:mm:ss)",
        "energy": "Energie (kWh)",
        "meter_start": "Meterstand start (kWh)",
        "meter_stop": "Meterstand stop (kWh)",
        "price_per_kwh": "Prijs per kWh",
        "fixed_fee": "Vaste kosten",
        "cost": "Kosten",
        "currency": "Valuta",
        "stop_reason": "Reden stop",
        "odometer": "Kilometerstand (km)",
        "vehicle": "Voertuig-ID",
        "total": "Totaal",
        "sheet": "Sessies",
        "sessions": "Sessies",
        "period": "Periode",
        "filter": "Filter",
        "all": "alle sessies",
        "chargers": "laadpalen",
        "tags": "tags",
        "group": "groep",
        "ids": "sessies",
        "now": "nu",
        "generated": "Gemaakt",
        "details": "Sessiegegevens",
        "connector": "Aansluiting",
        "group_id": "Groep",
        "stop_tag": "Gestopt met tag",
        "power_curve": "Laadvermogen",
        "time": "Tijd ({tz})",
        "no_samples": "Voor deze sessie zijn geen vermogensmetingen opgeslagen.",
        "page": "Pagina",
        "none": "geen sessies",
    },
    "de": {
        "session": "Sitzung",
        "charger": "Ladestation",
        "tag": "Tag",
        "tag_alias": "Tag-Name",
        "plug_in": "Eingesteckt ({tz})",
        "plug_out": "Ausgesteckt ({tz})",
        "start": "Start ({tz})",
        "stop": "Ende ({tz})",
        "duration": "Dauer (h:mm:ss)",
        "energy": "Energie (kWh)",
        "meter_start": "Zählerstand Start (kWh)",
        "meter_stop": "Zählerstand Ende (kWh)",
        "price_per_kwh": "Preis pro kWh",
        "fixed_fee": "Grundgebühr",
        "cost": "Kosten",
        "currency": "Währung",
        "stop_reason": "Stoppgrund",
        "odometer": "Kilometerstand (km)",
        "vehicle": "Fahrzeug-ID",
        "total": "Summe",
        "sheet": "Sitzungen",
        "sessions": "Sitzungen",
        "period": "Zeitraum",
        "filter": "Filter",
        "all": "alle Sitzungen",
        "chargers": "Ladestationen",
        "tags": "Tags",
        "group": "Gruppe",
        "ids": "Sitzungen",
        "now": "jetzt",
        "generated": "Erstellt",
        "details": "Sitzungsdetails",
        "connector": "Anschluss",
        "group_id": "Gruppe",
        "stop_tag": "Beendet mit Tag",
        "power_curve": "Ladeleistung",
        "time": "Zeit ({tz})",
        "no_samples": "Für diese Sitzung wurden keine Leistungswerte gespeichert.",
        "page": "Seite",
        "none": "keine Sitzungen",
    },
}


@dataclass(frozen=True, slots=True)
class _Locale:
    texts: dict[str, str]
    decimal_comma: bool
    tz: tzinfo
    tz_name: str

    def text(self, key: str) -> str:
        return self.texts[key].replace("{tz}", self.tz_name)

    def number(self, value: float, decimals: int = 6) -> str:
        """Shortest fixed-point text (no exponent), with the locale's decimal mark."""
        text = f"{value:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
        return text.replace(".", ",") if self.decimal_comma else text

    def fixed(self, value: float, decimals: int) -> str:
        """Exactly ``decimals`` digits (for money in reports)."""
        text = f"{value:,.{decimals}f}"
        if self.decimal_comma:
            return text.replace(",", " ").replace(".", ",").replace(" ", ".")
        return text

    def local(self, value: datetime) -> datetime:
        return value if self.tz is UTC and value.tzinfo is UTC else value.astimezone(self.tz)

    def excel(self, value: datetime) -> float:
        """An Excel serial date-time (days since 1899-12-30) in the export's time zone."""
        return (self.local(value).replace(tzinfo=None) - _EXCEL_EPOCH) / _DAY

    def iso(self, value: datetime) -> str:
        local = self.local(value)
        return local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")

    def short(self, value: datetime) -> str:
        return self.local(value).strftime("%Y-%m-%d %H:%M")


def _locale(locale: str, tz: tzinfo | None) -> _Locale:
    language = locale.replace("_", "-").split("-")[0].lower()
    texts = _TEXTS.get(language, _TEXTS["en"])
    zone = tz or UTC
    name = str(getattr(zone, "key", None) or zone.tzname(None) or "UTC")
    return _Locale(texts=texts, decimal_comma=language in ("nl", "de"), tz=zone, tz_name=name)


def _duration_text(value: timedelta | None) -> str | None:
    if value is None:
        return None
    seconds = int(value.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


# ---------------------------------------------------------------------------- columns

# Kinds of column: how each writer renders the value.
_INT, _STR, _TIME, _DURATION, _KWH, _MONEY, _PRICE, _KM = range(8)


@dataclass(frozen=True, slots=True)
class _Column:
    key: str
    kind: int
    get: Callable[[SessionRecord], Any]
    width: float  # XLSX width in characters


def _kwh(value: float | None) -> float | None:
    return None if value is None else value / 1000.0


COLUMNS: Final[tuple[_Column, ...]] = (
    _Column("session", _INT, lambda r: r.transaction_id, 10),
    _Column("charger", _STR, lambda r: r.charger, 20),
    _Column("tag", _STR, lambda r: r.id_tag, 16),
    _Column("tag_alias", _STR, lambda r: r.tag_alias, 16),
    _Column("plug_in", _TIME, lambda r: r.plug_in_time, 19),
    _Column("plug_out", _TIME, lambda r: r.plug_out_time, 19),
    _Column("start", _TIME, lambda r: r.start_time, 19),
    _Column("stop", _TIME, lambda r: r.stop_time, 19),
    _Column("duration", _DURATION, lambda r: r.duration, 12),
    _Column("energy", _KWH, lambda r: r.energy_kwh, 12),
    _Column("meter_start", _KWH, lambda r: _kwh(r.meter_start_wh), 14),
    _Column("meter_stop", _KWH, lambda r: _kwh(r.meter_stop_wh), 14),
    _Column("price_per_kwh", _PRICE, lambda r: r.price_per_kwh, 12),
    _Column("fixed_fee", _MONEY, lambda r: r.fixed_fee, 10),
    _Column("cost", _MONEY, lambda r: r.cost, 10),
    _Column("currency", _STR, lambda r: r.currency, 9),
    _Column("stop_reason", _STR, lambda r: r.stop_reason, 14),
    _Column("odometer", _KM, lambda r: r.odometer_km, 13),
    _Column("vehicle", _STR, lambda r: r.vehicle_id, 14),
)
_INDEX: Final = {column.key: index for index, column in enumerate(COLUMNS)}


class _Sum:
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


class _Pace:
    """Says when the current step has used its :data:`STEP_BUDGET`."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + STEP_BUDGET

    def due(self) -> bool:
        return time.monotonic() >= self.deadline

    def restart(self) -> None:
        self.deadline = time.monotonic() + STEP_BUDGET


def _raw_chunks(conn: sqlite3.Connection, flt: SessionFilter) -> Iterator[list[Any]]:
    """The stopped sessions matching ``flt`` as rows of :data:`RECORD_COLUMNS`, oldest first."""
    where, params = filter_sql(flt, stopped_only=True)
    cursor = conn.execute(
        f"SELECT {RECORD_COLUMNS} FROM sessions {where} ORDER BY start_time, transaction_id",
        params,
    )
    while rows := cursor.fetchmany(CHUNK):
        yield rows


def _chunks(conn: sqlite3.Connection, flt: SessionFilter) -> Iterator[list[SessionRecord]]:
    """The same as :class:`SessionRecord` objects."""
    for rows in _raw_chunks(conn, flt):
        yield [record_from_row(row) for row in rows]


# ---------------------------------------------------------------------------- CSV

_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    # A leading formula character would make Excel evaluate the cell (CSV injection).
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_row_function(loc: _Locale) -> Callable[[Sequence[Any]], list[str]]:
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


def _totals_rows(totals: Totals, loc: _Locale, numbers: Callable[[float], Any]) -> list[list[Any]]:
    """The totals rows: energy (and cost) on the first, one more row per extra currency."""
    rows: list[list[Any]] = []
    costs: list[tuple[str | None, float | None]] = list(totals.cost_by_currency.items())
    costs = costs or [(None, None)]
    for index, (currency, cost) in enumerate(costs):
        row: list[Any] = [None] * len(COLUMNS)
        row[0] = loc.text("total")
        row[_INDEX["session"] + 1] = f"{totals.sessions} {loc.text('sessions').lower()}"
        if index == 0:
            row[_INDEX["energy"]] = numbers(totals.energy_kwh)
        if currency is not None and cost is not None:
            row[_INDEX["cost"]] = numbers(cost)
            row[_INDEX["currency"]] = currency
        rows.append(row)
    return rows


def _write_csv(conn: sqlite3.Connection, tmp: Path, flt: SessionFilter, loc: _Locale) -> Steps:
    separator = ";" if loc.decimal_comma else ","
    encoding = "utf-8-sig" if loc.decimal_comma else "utf-8"
    acc = _Sum()
    with tmp.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=separator)
        writer.writerow([loc.text(column.key) for column in COLUMNS])
        cells = _csv_row_function(loc)
        pace = _Pace()
        for rows in _raw_chunks(conn, flt):
            for row in rows:
                acc.add_row(row)
            writer.writerows(map(cells, rows))
            if pace.due():
                yield
                pace.restart()
        totals = acc.totals()
        for row in _totals_rows(totals, loc, loc.number):
            writer.writerow(["" if cell is None else cell for cell in row])
    return totals


# ---------------------------------------------------------------------------- XLSX


def _days(value: timedelta) -> float:
    return value / _DAY


def _col(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _sheet_name(text: str) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in text).strip("'")
    return cleaned[:31] or "Sessions"


def _write_xlsx(
    conn: sqlite3.Connection, tmp: Path, flt: SessionFilter, loc: _Locale, title: str
) -> Steps:
    import xlsxwriter  # type: ignore[import-untyped]

    workbook: Any = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    try:
        workbook.set_properties({"title": title, "comments": "Webasto ChargeConnect"})
        sheet: Any = workbook.add_worksheet(_sheet_name(loc.text("sheet")))
        header = workbook.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bottom": 1}
        )
        number_formats = {
            _INT: "0",
            _TIME: "yyyy-mm-dd hh:mm:ss",
            _DURATION: "[h]:mm:ss",
            _KWH: "0.000",
            _MONEY: "0.00",
            _PRICE: "0.0000",
            _KM: "0",
        }
        formats = {
            kind: workbook.add_format({"num_format": f}) for kind, f in number_formats.items()
        }
        bold = {
            kind: workbook.add_format({"num_format": f, "bold": True, "top": 1})
            for kind, f in number_formats.items()
        }
        bold_text = workbook.add_format({"bold": True, "top": 1})
        for index, column in enumerate(COLUMNS):
            sheet.set_column(index, index, column.width)
        sheet.set_row(0, 30)
        sheet.freeze_panes(1, 0)
        for index, column in enumerate(COLUMNS):
            sheet.write_string(0, index, loc.text(column.key), header)

        # Per column: how to turn the value into a number (None: a string) and its format.
        converters: list[tuple[Callable[[SessionRecord], Any], Any, Any]] = []
        for column in COLUMNS:
            convert: Any
            if column.kind == _STR:
                convert = None
            elif column.kind == _TIME:
                convert = loc.excel
            elif column.kind == _DURATION:
                convert = _days
            else:
                convert = float
            converters.append((column.get, convert, formats.get(column.kind)))
        write_number = sheet.write_number
        write_string = sheet.write_string
        acc = _Sum()
        row = 0
        pace = _Pace()
        for chunk in _chunks(conn, flt):
            for record in chunk:
                acc.add(record)
                row += 1
                for index, (get, convert, cell_format) in enumerate(converters):
                    value = get(record)
                    if value is None:
                        continue
                    if convert is None:
                        write_string(row, index, value)
                    else:
                        write_number(row, index, convert(value), cell_format)
            if pace.due():
                yield
                pace.restart()

        totals = acc.totals()
        last = row + 1  # Excel row number of the last session
        first_row = row + 1
        energy_col = _col(_INDEX["energy"])
        cost_col = _col(_INDEX["cost"])
        currency_col = _col(_INDEX["currency"])
        for offset, cells in enumerate(_totals_rows(totals, loc, float)):
            total_row = first_row + offset
            for index, value in enumerate(cells):
                if value is None:
                    sheet.write_blank(total_row, index, None, bold_text)
                elif isinstance(value, str):
                    sheet.write_string(total_row, index, value, bold_text)
                elif row == 0:
                    sheet.write_number(total_row, index, value, bold[COLUMNS[index].kind])
                elif index == _INDEX["energy"]:
                    sheet.write_formula(
                        total_row,
                        index,
                        f"=SUM({energy_col}2:{energy_col}{last})",
                        bold[_KWH],
                        value,
                    )
                else:
                    currency = str(cells[_INDEX["currency"]]).replace('"', '""')
                    sheet.write_formula(
                        total_row,
                        index,
                        f'=SUMIF({currency_col}2:{currency_col}{last},"{currency}",'
                        f"{cost_col}2:{cost_col}{last})",
                        bold[_MONEY],
                        value,
                    )
        sheet.autofilter(0, 0, max(row, 1), len(COLUMNS) - 1)
    finally:
        workbook.close()
    return totals


# ---------------------------------------------------------------------------- PDF

_PDF_COLUMNS: Final[tuple[tuple[str, float, str], ...]] = (
    # (column key, width in mm, alignment); landscape A4 has 277 mm between the margins.
    ("session", 15, "R"),
    ("charger", 30, "L"),
    ("tag", 33, "L"),
    ("start", 26, "L"),
    ("stop", 26, "L"),
    ("duration", 16, "R"),
    ("energy", 17, "R"),
    ("price_per_kwh", 16, "R"),
    ("fixed_fee", 14, "R"),
    ("cost", 16, "R"),
    ("currency", 14, "L"),
    ("stop_reason", 22, "L"),
    ("odometer", 14, "R"),
    ("vehicle", 18, "L"),
)
_ROW_H: Final = 4.6
_BASELINE: Final = 3.1  # from the top of a row, for 7 pt text
_TABLE_W: Final = sum(width for _key, width, _align in _PDF_COLUMNS)
_FONT: Final = "Helvetica"
_SPECIAL: Final = {
    "\u20ac": "EUR",  # euro sign
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u2022": "-",
    "\u0141": "L",  # L with stroke: no decomposition
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u00a0": " ",
    "\u202f": " ",
}


def pdf_text(value: str) -> str:
    """Text the PDF core fonts can show (Latin-1): map or strip everything else."""
    if value.isascii():
        return value
    out: list[str] = []
    for char in value:
        if ord(char) < 256:
            out.append(char)
        elif char in _SPECIAL:
            out.append(_SPECIAL[char])
        else:
            base = "".join(
                c
                for c in unicodedata.normalize("NFKD", char)
                if ord(c) < 256 and not unicodedata.combining(c)
            )
            out.append(base or "?")
    return "".join(out)


def _clip(text: str, width_mm: float, size_pt: float) -> str:
    # Helvetica averages about half an em per character.
    limit = max(1, int(width_mm / (size_pt * 0.3528 * 0.52)))
    return text if len(text) <= limit else text[: limit - 1] + "."


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks if span > 0 else 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover


def curve_points(samples: Sequence[Sample]) -> list[tuple[datetime, float]]:
    """(time, kW) of a session: the power samples, or power derived from the register."""
    points = [(s.timestamp, s.power_w / 1000.0) for s in samples if s.power_w is not None]
    if points:
        return points
    registers = [(s.timestamp, s.register_wh) for s in samples if s.register_wh is not None]
    derived: list[tuple[datetime, float]] = []
    for (t0, r0), (t1, r1) in itertools.pairwise(registers):
        hours = (t1 - t0).total_seconds() / 3600
        if hours > 0:
            derived.append((t1, max(0.0, (r1 - r0) / 1000.0 / hours)))
    return derived


def _make_pdf(loc: _Locale, title: str) -> FPDF:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    heading: list[tuple[float, list[tuple[float, str]]]] = []

    class Report(FPDF):
        in_table = False

        def header(self) -> None:
            # Pages the session table continues on repeat its header.
            if not self.in_table:
                return
            self.set_font(_FONT, "B", 9)
            self.cell(0, 6, pdf_text(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.table_header()

        def table_header(self) -> None:
            # Column titles on up to two lines, over a shaded band (wrapped once, then
            # drawn with text(): multi_cell() on 500 pages would cost seconds).
            self.set_font(_FONT, "B", 6.5)
            if not heading:
                heading.extend(self._wrap_heading())
            y = self.get_y()
            self.set_fill_color(225, 230, 238)
            self.rect(self.l_margin, y, _TABLE_W, 7.4, style="F")
            self.set_fill_color(0, 0, 0)
            for x, lines in heading:
                for index, (offset, text) in enumerate(lines):
                    self.text(x + offset, y + 3.0 + index * 3.3, text)
            self.set_xy(self.l_margin, y + 8)
            self.set_font(_FONT, "", 7)

        def _wrap_heading(self) -> list[tuple[float, list[tuple[float, str]]]]:
            columns: list[tuple[float, list[tuple[float, str]]]] = []
            x = self.l_margin
            for key, width, align in _PDF_COLUMNS:
                lines: list[str] = []
                for word in pdf_text(loc.text(key)).split():
                    joined = f"{lines[-1]} {word}" if lines else word
                    if lines and self.get_string_width(joined) <= width - 2:
                        lines[-1] = joined
                    else:
                        lines.append(word)
                placed: list[tuple[float, str]] = []
                for line in lines[:2]:
                    text = line
                    while len(text) > 1 and self.get_string_width(text) > width - 2:
                        text = text[:-1]
                    right = width - 1 - self.get_string_width(text)
                    placed.append((right if align == "R" else 1.0, text))
                columns.append((x, placed))
                x += width
            return columns

        def footer(self) -> None:
            self.set_y(-10)
            self.set_font(_FONT, "", 7)
            self.set_text_color(110, 110, 110)
            self.cell(0, 5, pdf_text(title), align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"{loc.text('page')} {self.page_no()}/{{nb}}", align="R")
            self.set_text_color(0, 0, 0)

    pdf = Report(orientation="L", unit="mm", format="A4")
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(False)
    pdf.set_title(pdf_text(title))
    pdf.set_creator("Webasto ChargeConnect for Home Assistant")
    return pdf


def _describe(flt: SessionFilter, loc: _Locale) -> str:
    parts: list[str] = []

    def listed(key: str, values: Sequence[Any]) -> None:
        shown = ", ".join(str(v) for v in list(values)[:10])
        more = ", ..." if len(values) > 10 else ""
        parts.append(f"{loc.text(key)}: {shown}{more}")

    if flt.chargers is not None:
        listed("chargers", flt.chargers)
    if flt.id_tags is not None:
        listed("tags", flt.id_tags)
    if flt.group_id is not None:
        parts.append(f"{loc.text('group')}: {flt.group_id}")
    if flt.transaction_ids is not None:
        listed("ids", flt.transaction_ids)
    return "; ".join(parts) if parts else loc.text("all")


def _period(conn: sqlite3.Connection, flt: SessionFilter, loc: _Locale) -> str:
    where, params = filter_sql(flt, stopped_only=True)
    first, last = conn.execute(
        f"SELECT min(start_time), max(stop_time) FROM sessions {where}", params
    ).fetchone()
    start = flt.start or (None if first is None else from_ms(first))
    end = flt.end or (None if last is None else from_ms(last))
    if start is None and end is None:
        return loc.text("none")
    begin = "..." if start is None else loc.short(start)
    finish = loc.text("now") if end is None else loc.short(end)
    return f"{begin} - {finish} ({loc.tz_name})"


def _pdf_cells(record: SessionRecord, loc: _Locale) -> list[str]:
    cells: list[str] = []
    for key, width, _align in _PDF_COLUMNS:
        column = COLUMNS[_INDEX[key]]
        value = column.get(record)
        if value is None:
            text = ""
        elif key == "tag":
            text = value if not record.tag_alias else f"{value} ({record.tag_alias})"
        elif column.kind in (_INT, _STR):
            text = str(value)
        elif column.kind == _TIME:
            text = loc.short(value)
        elif column.kind == _DURATION:
            text = _duration_text(value) or ""
        elif column.kind == _KWH:
            text = loc.fixed(value, 3)
        elif column.kind == _MONEY:
            text = loc.fixed(value, 2)
        elif column.kind == _PRICE:
            text = loc.fixed(value, 2 if round(value, 2) == value else 4)
        else:
            text = loc.fixed(value, 0)
        cells.append(pdf_text(_clip(text, width, 7)))
    return cells


def _summary(pdf: FPDF, totals: Totals, loc: _Locale) -> None:
    costs = "; ".join(
        f"{loc.fixed(cost, 2)} {currency}" for currency, cost in totals.cost_by_currency.items()
    )
    line = (
        f"{loc.text('sessions')}: {totals.sessions}    "
        f"{loc.text('energy')}: {loc.fixed(totals.energy_kwh, 3)}"
        + (f"    {loc.text('cost')}: {costs}" if costs else "")
    )
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(0, 6, pdf_text(line), new_x="LMARGIN", new_y="NEXT")


def _details(pdf: FPDF, record: SessionRecord, loc: _Locale) -> None:
    def moment(value: datetime | None) -> str:
        return "" if value is None else loc.short(value)

    def number(value: float | None, decimals: int) -> str:
        return "" if value is None else loc.fixed(value, decimals)

    tag = record.id_tag + (f" ({record.tag_alias})" if record.tag_alias else "")
    rows = [
        (loc.text("session"), str(record.transaction_id)),
        (loc.text("charger"), f"{record.charger} / {loc.text('connector')} {record.connector_id}"),
        (loc.text("tag"), tag),
        (loc.text("group_id"), record.group_id or ""),
        (loc.text("plug_in"), moment(record.plug_in_time)),
        (loc.text("start"), moment(record.start_time)),
        (loc.text("stop"), moment(record.stop_time)),
        (loc.text("plug_out"), moment(record.plug_out_time)),
        (loc.text("duration"), _duration_text(record.duration) or ""),
        (loc.text("energy"), loc.fixed(record.energy_kwh, 3)),
        (loc.text("meter_start"), number(_kwh(record.meter_start_wh), 3)),
        (loc.text("meter_stop"), number(_kwh(record.meter_stop_wh), 3)),
        (loc.text("price_per_kwh"), number(record.price_per_kwh, 4)),
        (loc.text("fixed_fee"), number(record.fixed_fee, 2)),
        (loc.text("cost"), f"{number(record.cost, 2)} {record.currency or ''}".strip()),
        (loc.text("stop_reason"), record.stop_reason or ""),
        (loc.text("stop_tag"), record.stop_id_tag or ""),
        (loc.text("odometer"), number(record.odometer_km, 0)),
        (loc.text("vehicle"), record.vehicle_id or ""),
    ]
    pdf.set_font(_FONT, "B", 11)
    pdf.cell(0, 7, pdf_text(loc.text("details")), new_x="LMARGIN", new_y="NEXT")
    half = (len(rows) + 1) // 2
    top = pdf.get_y()
    for index, (label, value) in enumerate(rows):
        x = pdf.l_margin + (0 if index < half else 140)
        pdf.set_xy(x, top + (index % half) * 4.8)
        pdf.set_font(_FONT, "B", 8)
        pdf.cell(42, 4.8, pdf_text(label))
        pdf.set_font(_FONT, "", 8)
        pdf.cell(95, 4.8, pdf_text(_clip(value, 95, 8)))
    pdf.set_xy(pdf.l_margin, top + half * 4.8 + 3)


def _curve(pdf: FPDF, record: SessionRecord, samples: Sequence[Sample], loc: _Locale) -> None:
    """Draw the power curve: kW over time, with axes and tick labels."""
    pdf.set_font(_FONT, "B", 11)
    pdf.cell(0, 7, pdf_text(loc.text("power_curve")), new_x="LMARGIN", new_y="NEXT")
    points = curve_points(samples)
    if not points:
        pdf.set_font(_FONT, "", 9)
        pdf.cell(0, 6, pdf_text(loc.text("no_samples")), new_x="LMARGIN", new_y="NEXT")
        return
    left = pdf.l_margin + 16
    top = pdf.get_y() + 6
    width = pdf.w - pdf.r_margin - left - 4
    height = max(35.0, min(55.0, pdf.h - 60 - top))
    bottom = top + height
    t0 = min(points[0][0], record.start_time)
    t1 = max(points[-1][0], record.stop_time or points[-1][0])
    span = max((t1 - t0).total_seconds(), 60.0)
    step = _nice_step(max(p for _t, p in points) * 1.05 or 1.0)
    top_kw = step * max(1, math.ceil(max(p for _t, p in points) / step))

    def x_of(moment: datetime) -> float:
        return left + (moment - t0).total_seconds() / span * width

    def y_of(kw: float) -> float:
        return bottom - min(kw, top_kw) / top_kw * height

    pdf.set_font(_FONT, "", 7)
    pdf.set_draw_color(215, 215, 215)
    pdf.set_line_width(0.15)
    ticks = round(top_kw / step)
    for index in range(ticks + 1):
        kw = index * step
        y = y_of(kw)
        pdf.line(left, y, left + width, y)
        pdf.text(left - 12, y + 1.2, pdf_text(loc.number(kw, 2)))
    time_ticks = 6
    for index in range(time_ticks + 1):
        moment = t0 + timedelta(seconds=span * index / time_ticks)
        x = x_of(moment)
        pdf.line(x, top, x, bottom)
        pdf.text(x - 4, bottom + 4, loc.local(moment).strftime("%H:%M"))
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.3)
    pdf.line(left, top, left, bottom)
    pdf.line(left, bottom, left + width, bottom)
    pdf.text(left - 12, top - 2.5, "kW")
    pdf.text(left + width / 2 - 8, bottom + 8.5, pdf_text(loc.text("time")))
    pdf.set_draw_color(20, 90, 200)
    pdf.set_line_width(0.45)
    line = [(x_of(t), y_of(p)) for t, p in points]
    if len(line) == 1:
        line.append((line[0][0] + 0.5, line[0][1]))
    pdf.polyline(line)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_xy(pdf.l_margin, bottom + 12)


def _pdf_row(pdf: Any, baseline: float, cells: Sequence[str]) -> None:
    """One table row, written as PDF text operators directly.

    fpdf2's ``cell()`` costs about 0.2 ms (line breaking, markdown, text shaping) and
    ``text()`` still 0.03 ms: with 14 cells x 20,000 sessions that is the whole export
    time. The first cell goes through ``text()``, which also puts the font on a new page;
    the rest are Latin-1 strings (see :func:`pdf_text`) in the current font and colour.
    """
    from fpdf.util import escape_parens

    x = pdf.l_margin
    first = True
    widths = pdf.current_font.cw
    scale = pdf.font_size_pt / 1000.0 / pdf.k  # glyph units to mm
    k = pdf.k
    y = (pdf.h - baseline) * k
    ops: list[str] = []
    for (_key, width, align), text in zip(_PDF_COLUMNS, cells, strict=True):
        if text:
            if align == "R":
                offset = width - 1.0 - sum(widths.get(ch, 600) for ch in text) * scale
            else:
                offset = 1.0
            if first:
                pdf.text(x + offset, baseline, text)
                first = False
            else:
                ops.append(f"BT {(x + offset) * k:.2f} {y:.2f} Td ({escape_parens(text)}) Tj ET")
        x += width
    if ops:
        pdf._out(" ".join(ops))


def _write_pdf(
    conn: sqlite3.Connection, tmp: Path, flt: SessionFilter, loc: _Locale, title: str
) -> Steps:
    pdf: Any = _make_pdf(loc, title)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 16)
    pdf.cell(0, 9, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", 9)
    for label, value in (
        (loc.text("period"), _period(conn, flt, loc)),
        (loc.text("filter"), _describe(flt, loc)),
        (loc.text("generated"), f"{loc.short(utcnow())} ({loc.tz_name})"),
    ):
        pdf.cell(0, 5, pdf_text(_clip(f"{label}: {value}", 270, 9)), new_x="LMARGIN", new_y="NEXT")
    _summary(pdf, totals_of(conn, flt), loc)
    pdf.ln(2)

    single = flt.single_session
    if single is not None:
        row = conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM sessions WHERE transaction_id = ?", (single,)
        ).fetchone()
        if row is not None:
            record = record_from_row(row)
            _details(pdf, record, loc)
            _curve(pdf, record, read_samples(conn, single), loc)

    bottom = pdf.h - 14
    if pdf.get_y() + 8 + _ROW_H > bottom:
        pdf.add_page()
    pdf.in_table = True
    pdf.table_header()
    acc = _Sum()
    shade = False
    pace = _Pace()
    for chunk in _chunks(conn, flt):
        for record in chunk:
            acc.add(record)
            if pdf.get_y() + _ROW_H > bottom:
                pdf.add_page()
                shade = False
            y = pdf.get_y()
            if shade:
                pdf.set_fill_color(244, 246, 250)
                pdf.rect(pdf.l_margin, y, _TABLE_W, _ROW_H, style="F")
                pdf.set_fill_color(0, 0, 0)  # text is painted with the fill colour
            shade = not shade
            _pdf_row(pdf, y + _BASELINE, _pdf_cells(record, loc))
            pdf.set_xy(pdf.l_margin, y + _ROW_H)
        if pace.due():
            yield
            pace.restart()
    totals = acc.totals()
    pdf.in_table = False
    if pdf.get_y() + 3 * _ROW_H > bottom:
        pdf.add_page()
    pdf.set_draw_color(0, 0, 0)
    pdf.line(pdf.l_margin, pdf.get_y() + 0.5, pdf.l_margin + _TABLE_W, pdf.get_y() + 0.5)
    pdf.ln(1.5)
    _summary(pdf, totals, loc)
    pdf.output(str(tmp))
    return totals


# ---------------------------------------------------------------------------- driver


def export_steps(
    db_path: Path,
    fmt: str,
    path: Path,
    flt: SessionFilter,
    *,
    locale: str = "en",
    title: str = "Charging sessions",
    tz: tzinfo | None = None,
) -> Generator[None, None, ExportResult]:
    """Write an export, one chunk of sessions per ``next()``; return its result."""
    if fmt not in FORMATS:
        raise ExportFormatError(str(fmt))
    loc = _locale(locale, tz)
    tmp: Path | None = None
    conn: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        tmp = Path(name)
        conn = sqlite3.connect(db_path, autocommit=True)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")  # one snapshot for the whole export
        if fmt == "csv":
            steps = _write_csv(conn, tmp, flt, loc)
        elif fmt == "xlsx":
            steps = _write_xlsx(conn, tmp, flt, loc, title)
        else:
            steps = _write_pdf(conn, tmp, flt, loc, title)
        totals = yield from steps
        tmp.chmod(0o644)
        tmp.replace(path)
        tmp = None
    except (OSError, sqlite3.Error) as err:
        raise ExportError(str(path), str(err)) from err
    finally:
        if conn is not None:
            conn.close()
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return ExportResult(path=path, sessions=totals.sessions, totals=totals)
