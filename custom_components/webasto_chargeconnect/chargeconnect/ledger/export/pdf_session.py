"""The part of the PDF report about one session: its details and its power curve.

A report filtered to a single session (:attr:`SessionFilter.single_session`) shows these
above the session table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
import itertools
import math

from fpdf import FPDF

from ..models import Sample, SessionRecord
from .columns import kwh
from .texts import PDF_FONT, Locale, clip, duration_text, pdf_text


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


def draw_details(pdf: FPDF, record: SessionRecord, loc: Locale) -> None:
    """Every field of the session, in two columns."""

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
        (loc.text("duration"), duration_text(record.duration) or ""),
        (loc.text("energy"), loc.fixed(record.energy_kwh, 3)),
        (loc.text("meter_start"), number(kwh(record.meter_start_wh), 3)),
        (loc.text("meter_stop"), number(kwh(record.meter_stop_wh), 3)),
        (loc.text("price_per_kwh"), number(record.price_per_kwh, 4)),
        (loc.text("fixed_fee"), number(record.fixed_fee, 2)),
        (loc.text("cost"), f"{number(record.cost, 2)} {record.currency or ''}".strip()),
        (loc.text("stop_reason"), record.stop_reason or ""),
        (loc.text("stop_tag"), record.stop_id_tag or ""),
        (loc.text("odometer"), number(record.odometer_km, 0)),
        (loc.text("vehicle"), record.vehicle_id or ""),
    ]
    pdf.set_font(PDF_FONT, "B", 11)
    pdf.cell(0, 7, pdf_text(loc.text("details")), new_x="LMARGIN", new_y="NEXT")
    half = (len(rows) + 1) // 2
    top = pdf.get_y()
    for index, (label, value) in enumerate(rows):
        x = pdf.l_margin + (0 if index < half else 140)
        pdf.set_xy(x, top + (index % half) * 4.8)
        pdf.set_font(PDF_FONT, "B", 8)
        pdf.cell(42, 4.8, pdf_text(label))
        pdf.set_font(PDF_FONT, "", 8)
        pdf.cell(95, 4.8, pdf_text(clip(value, 95, 8)))
    pdf.set_xy(pdf.l_margin, top + half * 4.8 + 3)


def draw_curve(pdf: FPDF, record: SessionRecord, samples: Sequence[Sample], loc: Locale) -> None:
    """Draw the power curve: kW over time, with axes and tick labels."""
    pdf.set_font(PDF_FONT, "B", 11)
    pdf.cell(0, 7, pdf_text(loc.text("power_curve")), new_x="LMARGIN", new_y="NEXT")
    points = curve_points(samples)
    if not points:
        pdf.set_font(PDF_FONT, "", 9)
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

    pdf.set_font(PDF_FONT, "", 7)
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
