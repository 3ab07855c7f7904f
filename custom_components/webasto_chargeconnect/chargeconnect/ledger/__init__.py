"""The session ledger: an SQLite archive of charging sessions, totals and exports."""

from .errors import (
    ExportError,
    ExportFormatError,
    LedgerClosedError,
    LedgerDatabaseError,
    LedgerError,
    LedgerOpenError,
    LedgerSchemaError,
)
from .models import (
    UNSET,
    ExportResult,
    Sample,
    SessionFilter,
    SessionRecord,
    SessionStart,
    Totals,
    to_ms,
)
from .schema import SCHEMA_V1, SCHEMA_VERSION
from .store import Ledger, highest_transaction_id

__all__ = [
    "SCHEMA_V1",
    "SCHEMA_VERSION",
    "UNSET",
    "ExportError",
    "ExportFormatError",
    "ExportResult",
    "Ledger",
    "LedgerClosedError",
    "LedgerDatabaseError",
    "LedgerError",
    "LedgerOpenError",
    "LedgerSchemaError",
    "Sample",
    "SessionFilter",
    "SessionRecord",
    "SessionStart",
    "Totals",
    "highest_transaction_id",
    "to_ms",
]
