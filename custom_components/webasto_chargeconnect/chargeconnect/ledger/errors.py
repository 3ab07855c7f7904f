"""Errors of the session ledger (each with its own translation key)."""

from __future__ import annotations

from ..exceptions import ChargeConnectError


class LedgerError(ChargeConnectError):
    """Base class of the ledger's errors."""

    translation_key = "ledger_error"


class LedgerOpenError(LedgerError):
    """The session database cannot be opened or created."""

    translation_key = "ledger_open_failed"

    def __init__(self, path: str, error: str) -> None:
        super().__init__(
            f"Cannot open the session database {path}: {error}", path=path, error=error
        )
        self.path = path


class LedgerSchemaError(LedgerError):
    """The session database was written by a newer version of the integration."""

    translation_key = "ledger_schema_newer"

    def __init__(self, path: str, version: int, supported: int) -> None:
        super().__init__(
            f"The session database {path} has schema version {version}; this version of the "
            f"integration supports up to {supported}",
            path=path,
            version=str(version),
            supported=str(supported),
        )
        self.version = version


class LedgerDatabaseError(LedgerError):
    """SQLite failed while reading or writing the session database (disk full, I/O error)."""

    translation_key = "ledger_database_error"

    def __init__(self, path: str, error: str) -> None:
        super().__init__(f"The session database {path} failed: {error}", path=path, error=error)
        self.path = path


class LedgerClosedError(LedgerError):
    """The ledger was used before ``open`` or after ``close``."""

    translation_key = "ledger_closed"

    def __init__(self) -> None:
        super().__init__("The session database is not open")


class ExportFormatError(LedgerError):
    """An export was asked for in a format the ledger cannot write."""

    translation_key = "export_format_unsupported"

    def __init__(self, fmt: str) -> None:
        super().__init__(
            f"Cannot export sessions as {fmt!r}; use csv, xlsx or pdf",
            format=fmt,
        )


class ExportError(LedgerError):
    """An export file could not be written."""

    translation_key = "export_failed"

    def __init__(self, path: str, error: str) -> None:
        super().__init__(f"Cannot write the export {path}: {error}", path=path, error=error)
        self.path = path
