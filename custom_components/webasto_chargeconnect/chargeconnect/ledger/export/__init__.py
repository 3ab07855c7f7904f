"""Exports of the session archive: CSV, XLSX (XlsxWriter) and PDF (fpdf2).

An export is a generator run step by step in the ledger's thread (see
:meth:`Ledger.export`): it reads the matching *stopped* sessions, oldest first, from its
own read-only connection (one consistent snapshot), about :data:`.columns.STEP_BUDGET`
of work per step, writes them to a temp file beside the target and renames it into
place at the end. CSV and XLSX stream (memory does not grow with the number of
sessions); the PDF is built in memory by fpdf2.

The modules: :mod:`.texts` (labels in three languages, number and time formats),
:mod:`.columns` (the columns and what every writer shares), and one writer each in
:mod:`.csv`, :mod:`.xlsx` and :mod:`.pdf` (with :mod:`.pdf_session`).
"""

from __future__ import annotations

from collections.abc import Generator
import contextlib
from datetime import tzinfo
import os
from pathlib import Path
import sqlite3
import tempfile
from typing import Final

from ..errors import ExportError, ExportFormatError
from ..models import ExportResult, SessionFilter
from .columns import Steps
from .csv import write_csv
from .texts import Locale, locale_for

FORMATS: Final = ("csv", "xlsx", "pdf")

__all__ = ["FORMATS", "export_steps"]


def _steps(
    fmt: str, conn: sqlite3.Connection, tmp: Path, flt: SessionFilter, loc: Locale, *, title: str
) -> Steps:
    """The writer of ``fmt``, not started yet.

    The XLSX and PDF writers are imported here, when such an export runs (in the
    ledger's thread), not with the ledger: fpdf2 brings Pillow and fontTools, about half
    a second of imports that Home Assistant's start-up should not pay for an export
    that may never run.
    """
    if fmt == "csv":
        return write_csv(conn, tmp, flt, loc)
    if fmt == "xlsx":
        from .xlsx import write_xlsx

        return write_xlsx(conn, tmp, flt, loc, title)
    from .pdf import write_pdf

    return write_pdf(conn, tmp, flt, loc, title)


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
    loc = locale_for(locale, tz)
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
        totals = yield from _steps(fmt, conn, tmp, flt, loc, title=title)
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
