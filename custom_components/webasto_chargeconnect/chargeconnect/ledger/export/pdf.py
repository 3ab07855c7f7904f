"""The PDF export (fpdf2): a report of the sessions, with totals at the top and the end.

The report is landscape A4: a title, the period and filter, a summary, then one table
row per session (the header repeated on every page it continues on) and the totals. A
report of one session shows its details and power curve above the table (see
:mod:`.pdf_session`). fpdf2 builds the document in memory and writes it at the end.

Rows are written as PDF text operators (see :func:`_row`), through two small shims over
fpdf2's internals at the end of this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
import sqlite3
from typing import Any, Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import CoreFont
from fpdf.util import escape_parens

from ...timeutil import utcnow
from ..models import SessionFilter, SessionRecord, Totals, from_ms
from ..schema import filter_sql, get_record, read_samples, totals_of
from .columns import COLUMNS, INDEX, Kind, Pace, Steps, Sum, chunks
from .pdf_session import draw_curve, draw_details
from .texts import PDF_FONT, Locale, clip, duration_text, pdf_text

_TABLE_COLUMNS: Final[tuple[tuple[str, float, str], ...]] = (
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
_TABLE_W: Final = sum(width for _key, width, _align in _TABLE_COLUMNS)


class Report(FPDF):
    """The report document: landscape A4, 10 mm margins, the title and page in the footer.

    While :attr:`in_table` is set, each new page starts with the title and the table's
    column titles.
    """

    def __init__(self, loc: Locale, title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.loc = loc
        self.report_title = title
        self.in_table = False
        # The column titles, wrapped once: (x, [(offset, line), ...]) per column.
        self._heading: list[tuple[float, list[tuple[float, str]]]] = []
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(False)
        self.set_title(pdf_text(title))
        self.set_creator("Webasto ChargeConnect for Home Assistant")

    def header(self) -> None:
        # Pages the session table continues on repeat its header.
        if not self.in_table:
            return
        self.set_font(PDF_FONT, "B", 9)
        self.cell(0, 6, pdf_text(self.report_title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.table_header()

    def table_header(self) -> None:
        """Column titles on up to two lines, over a shaded band.

        Wrapped once, then drawn with text(): multi_cell() on 500 pages would cost seconds.
        """
        self.set_font(PDF_FONT, "B", 6.5)
        if not self._heading:
            self._heading.extend(self._wrap_heading())
        y = self.get_y()
        self.set_fill_color(225, 230, 238)
        self.rect(self.l_margin, y, _TABLE_W, 7.4, style="F")
        self.set_fill_color(0, 0, 0)
        for x, lines in self._heading:
            for index, (offset, text) in enumerate(lines):
                self.text(x + offset, y + 3.0 + index * 3.3, text)
        self.set_xy(self.l_margin, y + 8)
        self.set_font(PDF_FONT, "", 7)

    def _wrap_heading(self) -> list[tuple[float, list[tuple[float, str]]]]:
        columns: list[tuple[float, list[tuple[float, str]]]] = []
        x = self.l_margin
        for key, width, align in _TABLE_COLUMNS:
            lines: list[str] = []
            for word in pdf_text(self.loc.text(key)).split():
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
        self.set_font(PDF_FONT, "", 7)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, pdf_text(self.report_title), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"{self.loc.text('page')} {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def _describe(flt: SessionFilter, loc: Locale) -> str:
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


def _period(conn: sqlite3.Connection, flt: SessionFilter, loc: Locale) -> str:
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


def _cells(record: SessionRecord, loc: Locale) -> list[str]:
    cells: list[str] = []
    for key, width, _align in _TABLE_COLUMNS:
        column = COLUMNS[INDEX[key]]
        value = column.get(record)
        if value is None:
            text = ""
        elif key == "tag":
            text = value if not record.tag_alias else f"{value} ({record.tag_alias})"
        elif column.kind in (Kind.INT, Kind.STR):
            text = str(value)
        elif column.kind == Kind.TIME:
            text = loc.short(value)
        elif column.kind == Kind.DURATION:
            text = duration_text(value) or ""
        elif column.kind == Kind.KWH:
            text = loc.fixed(value, 3)
        elif column.kind == Kind.MONEY:
            text = loc.fixed(value, 2)
        elif column.kind == Kind.PRICE:
            text = loc.fixed(value, 2 if round(value, 2) == value else 4)
        else:
            text = loc.fixed(value, 0)
        cells.append(pdf_text(clip(text, width, 7)))
    return cells


def _summary(pdf: FPDF, totals: Totals, loc: Locale) -> None:
    costs = "; ".join(
        f"{loc.fixed(cost, 2)} {currency}" for currency, cost in totals.cost_by_currency.items()
    )
    line = (
        f"{loc.text('sessions')}: {totals.sessions}    "
        f"{loc.text('energy')}: {loc.fixed(totals.energy_kwh, 3)}"
        + (f"    {loc.text('cost')}: {costs}" if costs else "")
    )
    pdf.set_font(PDF_FONT, "B", 10)
    pdf.cell(0, 6, pdf_text(line), new_x="LMARGIN", new_y="NEXT")


def _row(pdf: Report, baseline: float, cells: Sequence[str]) -> None:
    """One table row, written as PDF text operators directly.

    fpdf2's ``cell()`` costs about 0.2 ms (line breaking, markdown, text shaping) and
    ``text()`` still 0.03 ms: with 14 cells x 20,000 sessions that is the whole export
    time. The first cell goes through ``text()``, which also puts the font on a new page;
    the rest are Latin-1 strings (see :func:`pdf_text`) in the current font and colour.
    """
    x = pdf.l_margin
    first = True
    widths = _glyph_widths(pdf)
    scale = pdf.font_size_pt / 1000.0 / pdf.k  # glyph units to mm
    k = pdf.k
    y = (pdf.h - baseline) * k
    ops: list[str] = []
    for (_key, width, align), text in zip(_TABLE_COLUMNS, cells, strict=True):
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
        _append_operators(pdf, " ".join(ops))


def write_pdf(
    conn: sqlite3.Connection, tmp: Path, flt: SessionFilter, loc: Locale, title: str
) -> Steps:
    pdf = Report(loc, title)
    pdf.add_page()
    pdf.set_font(PDF_FONT, "B", 16)
    pdf.cell(0, 9, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(PDF_FONT, "", 9)
    for label, value in (
        (loc.text("period"), _period(conn, flt, loc)),
        (loc.text("filter"), _describe(flt, loc)),
        (loc.text("generated"), f"{loc.short(utcnow())} ({loc.tz_name})"),
    ):
        pdf.cell(0, 5, pdf_text(clip(f"{label}: {value}", 270, 9)), new_x="LMARGIN", new_y="NEXT")
    _summary(pdf, totals_of(conn, flt), loc)
    pdf.ln(2)

    single = flt.single_session
    if single is not None:
        record = get_record(conn, single)
        if record is not None:
            draw_details(pdf, record, loc)
            draw_curve(pdf, record, read_samples(conn, single), loc)

    bottom = pdf.h - 14
    if pdf.get_y() + 8 + _ROW_H > bottom:
        pdf.add_page()
    pdf.in_table = True
    pdf.table_header()
    acc = Sum()
    shade = False
    pace = Pace()
    for chunk in chunks(conn, flt):
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
            _row(pdf, y + _BASELINE, _cells(record, loc))
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


# ---------------------------------------------------------------------------- fpdf2 shims
# The only two places that reach past fpdf2's public API. fpdf2 2.8.9 (checked in its
# source) has no public call to add text operators to a page, nor to measure a string
# without running it through text normalisation and bidirectional splitting each time;
# the table rows need both to stay fast (see _row). They can go when fpdf2 offers a
# public way to append content-stream operators (or when FPDF.text() and
# get_string_width() get cheap enough for _row to use them for every cell): compare the
# "export PDF all" line of scripts/bench_ledger.py before and after.


def _glyph_widths(pdf: FPDF) -> Mapping[str, int]:
    """The current core font's glyph widths in 1/1000 em (``CoreFont.cw``, undocumented)."""
    font = pdf.current_font
    if not isinstance(font, CoreFont):  # pragma: no cover - the report sets only core fonts
        raise TypeError(f"the session table is set in a core font, not {font!r}")
    return font.cw


def _append_operators(pdf: FPDF, operators: str) -> None:
    """Append PDF content-stream operators to the current page (``FPDF._out``, private)."""
    pdf._out(operators)
