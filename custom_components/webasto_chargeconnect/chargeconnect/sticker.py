"""Scan & Charge: a charger link as a QR code (SVG, PNG) and as a printable A6 sticker (PDF).

The QR code is made by ``segno``; the sticker by fpdf2 (as the session reports are): the
charger's name above the code, the link below it, on an A6 page (105 x 148 mm). Everything
is built in memory; :func:`write_sticker` writes the file (call it off the event loop).
"""

from __future__ import annotations

from dataclasses import dataclass
import io
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
import segno

from .ledger.export.texts import PDF_FONT, pdf_text

A6 = (105.0, 148.0)  # mm
QR_SIZE = 80.0  # mm, the code on the sticker (quiet zone included)


@dataclass(frozen=True)
class QrCode:
    """One charger link as an SVG document and a PNG image."""

    link: str
    svg: str
    png: bytes


def make_qr(link: str, *, scale: int = 10) -> QrCode:
    """The QR code of ``link`` (error correction M, four modules of quiet zone)."""
    code = segno.make(link, error="m", micro=False)
    svg = io.BytesIO()
    code.save(svg, kind="svg", scale=scale, border=4, xmldecl=True, title=link)
    png = io.BytesIO()
    code.save(png, kind="png", scale=scale, border=4)
    return QrCode(link=link, svg=svg.getvalue().decode("utf-8"), png=png.getvalue())


def sticker_pdf(name: str, qr: QrCode, caption: str) -> bytes:
    """The A6 sticker: ``name`` as its title, the code, ``caption`` and the link below."""
    pdf = FPDF(orientation="P", unit="mm", format=A6)
    pdf.set_auto_page_break(False)
    pdf.set_margins(8, 8, 8)
    pdf.set_title(pdf_text(name))
    pdf.set_creator("Webasto ChargeConnect for Home Assistant")
    pdf.add_page()
    width = A6[0] - 16
    pdf.set_font(PDF_FONT, "B", 18)
    pdf.multi_cell(width, 8, pdf_text(name), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    top = max(pdf.get_y() + 4, 26.0)
    pdf.image(io.BytesIO(qr.png), x=(A6[0] - QR_SIZE) / 2, y=top, w=QR_SIZE, h=QR_SIZE)
    pdf.set_xy(8, top + QR_SIZE + 4)
    pdf.set_font(PDF_FONT, "B", 12)
    pdf.multi_cell(width, 6, pdf_text(caption), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(PDF_FONT, "", 7)
    pdf.multi_cell(width, 3.5, pdf_text(qr.link), align=Align.C)
    return bytes(pdf.output())


def write_sticker(path: str | Path, name: str, qr: QrCode, caption: str) -> Path:
    """Write the sticker to ``path`` (folders made as needed); blocking."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(sticker_pdf(name, qr, caption))
    return target
