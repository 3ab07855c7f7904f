"""The texts of the exports: labels in English, Dutch and German, numbers, times.

:class:`Locale` renders numbers with the language's decimal mark and times in the
export's time zone. :func:`pdf_text` and :func:`clip` fit text to the PDF core font
(:data:`PDF_FONT`, Latin-1 only), so that every writer measures text the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final
import unicodedata

_EXCEL_EPOCH: Final = datetime(1899, 12, 30)
DAY: Final = timedelta(days=1)
PDF_FONT: Final = "Helvetica"

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
class Locale:
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
        return (self.local(value).replace(tzinfo=None) - _EXCEL_EPOCH) / DAY

    def iso(self, value: datetime) -> str:
        local = self.local(value)
        return local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")

    def short(self, value: datetime) -> str:
        return self.local(value).strftime("%Y-%m-%d %H:%M")


def locale_for(locale: str, tz: tzinfo | None) -> Locale:
    """The texts and number format of a language ("nl", "de-CH"; English otherwise)."""
    language = locale.replace("_", "-").split("-")[0].lower()
    texts = _TEXTS.get(language, _TEXTS["en"])
    zone = tz or UTC
    name = str(getattr(zone, "key", None) or zone.tzname(None) or "UTC")
    return Locale(texts=texts, decimal_comma=language in ("nl", "de"), tz=zone, tz_name=name)


def duration_text(value: timedelta | None) -> str | None:
    """Hours, minutes and seconds (h:mm:ss; hours go on past 24)."""
    if value is None:
        return None
    seconds = int(value.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


# ---------------------------------------------------------------------------- PDF core font

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


def clip(text: str, width_mm: float, size_pt: float) -> str:
    """``text`` cut (ending in ".") to about what fits ``width_mm`` at ``size_pt``."""
    # Helvetica averages about half an em per character.
    limit = max(1, int(width_mm / (size_pt * 0.3528 * 0.52)))
    return text if len(text) <= limit else text[: limit - 1] + "."
