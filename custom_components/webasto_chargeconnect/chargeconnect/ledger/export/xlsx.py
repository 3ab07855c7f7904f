"""The XLSX export (XlsxWriter, streaming in constant memory).

Times are Excel date-times in the export's time zone, durations are days (shown as
``[h]:mm:ss``), and the totals are formulas over the rows (with the computed value
cached, for readers that do not calculate).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
import sqlite3
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

from ..models import SessionFilter, SessionRecord
from .columns import COLUMNS, INDEX, Kind, Pace, Steps, Sum, chunks, totals_rows
from .texts import DAY, Locale


def _days(value: timedelta) -> float:
    return value / DAY


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


def write_xlsx(
    conn: sqlite3.Connection, tmp: Path, flt: SessionFilter, loc: Locale, title: str
) -> Steps:
    workbook: Any = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    try:
        workbook.set_properties({"title": title, "comments": "Webasto ChargeConnect"})
        sheet: Any = workbook.add_worksheet(_sheet_name(loc.text("sheet")))
        header = workbook.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bottom": 1}
        )
        number_formats = {
            Kind.INT: "0",
            Kind.TIME: "yyyy-mm-dd hh:mm:ss",
            Kind.DURATION: "[h]:mm:ss",
            Kind.KWH: "0.000",
            Kind.MONEY: "0.00",
            Kind.PRICE: "0.0000",
            Kind.KM: "0",
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
            if column.kind == Kind.STR:
                convert = None
            elif column.kind == Kind.TIME:
                convert = loc.excel
            elif column.kind == Kind.DURATION:
                convert = _days
            else:
                convert = float
            converters.append((column.get, convert, formats.get(column.kind)))
        write_number = sheet.write_number
        write_string = sheet.write_string
        acc = Sum()
        row = 0
        pace = Pace()
        for chunk in chunks(conn, flt):
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
        energy_col = _col(INDEX["energy"])
        cost_col = _col(INDEX["cost"])
        currency_col = _col(INDEX["currency"])
        for offset, cells in enumerate(totals_rows(totals, loc, float)):
            total_row = first_row + offset
            for index, value in enumerate(cells):
                if value is None:
                    sheet.write_blank(total_row, index, None, bold_text)
                elif isinstance(value, str):
                    sheet.write_string(total_row, index, value, bold_text)
                elif row == 0:
                    sheet.write_number(total_row, index, value, bold[COLUMNS[index].kind])
                elif index == INDEX["energy"]:
                    sheet.write_formula(
                        total_row,
                        index,
                        f"=SUM({energy_col}2:{energy_col}{last})",
                        bold[Kind.KWH],
                        value,
                    )
                else:
                    currency = str(cells[INDEX["currency"]]).replace('"', '""')
                    sheet.write_formula(
                        total_row,
                        index,
                        f'=SUMIF({currency_col}2:{currency_col}{last},"{currency}",'
                        f"{cost_col}2:{cost_col}{last})",
                        bold[Kind.MONEY],
                        value,
                    )
        sheet.autofilter(0, 0, max(row, 1), len(COLUMNS) - 1)
    finally:
        workbook.close()
    return totals
