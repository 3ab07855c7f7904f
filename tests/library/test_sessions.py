"""Transaction ids and sessions on their own: the id allocator on a JSON file and in memory,
the archive's highest id, and a lost session closed on real SQLite.

The same through Home Assistant (its Store, restarts, lost files, lost answers and lost writes):
tests/integration/test_sessions.py.
"""

from __future__ import annotations

from datetime import timedelta
import json
import logging
from pathlib import Path
import sqlite3

import pytest

from custom_components.webasto_chargeconnect.chargeconnect import (
    JsonFileStore,
    MemoryStore,
    PersistentIdAllocator,
)
from custom_components.webasto_chargeconnect.chargeconnect.ledger import (
    SCHEMA_V1,
    Ledger,
    LedgerDatabaseError,
    Sample,
    highest_transaction_id,
)

from ..common import T0, allocations_racing_loads, session_start

# ------------------------------------------------------------------ the id allocator


async def test_concurrent_allocations_with_the_json_store(tmp_path: Path) -> None:
    """300 ids handed out while loads race them: all unique, the counter persisted."""
    path = tmp_path / "transactions.json"
    await JsonFileStore(path).async_save({"next_transaction_id": 1000})  # an earlier run

    ids = await allocations_racing_loads(PersistentIdAllocator(JsonFileStore(path)))

    assert len(set(ids)) == len(ids) == 300
    assert sorted(ids) == list(range(1000, 1300))
    assert json.loads(path.read_text()) == {"next_transaction_id": 1300}


async def test_counter_starts_above_the_archive_and_the_chargers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A counter behind what is in use is moved past it, with one warning per source."""
    store = MemoryStore()
    await store.async_save({"next_transaction_id": 3})

    async def archive() -> int:
        return 40

    allocator = PersistentIdAllocator(store, highest_used=archive)
    await allocator.note_used(45, "the saved state of CP-1")
    await allocator.note_used(12, "the saved state of CP-2")  # below: nothing to say
    assert await allocator.allocate() == 46
    assert store.data == {"next_transaction_id": 47}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "The transaction id counter was behind the session archive (next id 3, highest id "
        "there 40); continuing at 41 so that no id is used twice",
        "The transaction id counter was behind the saved state of CP-1 (next id 41, highest "
        "id there 45); continuing at 46 so that no id is used twice",
    ]

    # An archive that cannot be read: the counter alone, and a warning (no traceback).
    caplog.clear()

    async def broken() -> int:
        raise LedgerDatabaseError("sessions.db", "disk I/O error")

    fallback = PersistentIdAllocator(store, highest_used=broken)
    assert await fallback.allocate() == 47
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "disk I/O error" in caplog.text and not any(r.exc_info for r in caplog.records)


async def test_highest_transaction_id_of_an_archive_file(tmp_path: Path) -> None:
    """Read before the ledger opens: missing file, empty or old schema, open in another writer."""
    path = tmp_path / "sessions.db"
    assert highest_transaction_id(path) == 0
    sqlite3.connect(path).close()  # an empty database file
    assert highest_transaction_id(path) == 0
    path.unlink()
    with sqlite3.connect(path) as old:  # schema version 1
        old.executescript(SCHEMA_V1)
        old.execute(
            "INSERT INTO sessions (charger, connector_id, transaction_id, id_tag, start_time, "
            "meter_start_wh) VALUES ('A', 1, 17, 'T', '2025-01-01T00:00:00Z', 0)"
        )
    old.close()
    assert highest_transaction_id(path) == 17

    crashed = Ledger(tmp_path / "live.db")  # open (not closed: as after a crash)
    await crashed.open()
    try:
        await crashed.start_session(session_start(88))
        assert highest_transaction_id(tmp_path / "live.db") == 88
    finally:
        await crashed.close()

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerDatabaseError):
        highest_transaction_id(garbage)


async def test_close_interrupted(tmp_path: Path) -> None:
    """A lost session stops at its latest sample with its latest register, as an estimate."""
    ledger = Ledger(tmp_path / "sessions.db")
    await ledger.open()
    try:
        await ledger.start_session(session_start(5))
        await ledger.add_samples(
            5,
            [
                Sample(T0 + timedelta(minutes=10), 7000.0, register_wh=2000.0),
                Sample(T0 + timedelta(minutes=20), 7000.0),  # no register
            ],
        )
        closed = await ledger.close_interrupted(5, "Other")
        assert closed is not None
        assert closed.stop_time == T0 + timedelta(minutes=20)
        assert closed.meter_stop_wh == 2000.0 and closed.energy_kwh == 1.0
        assert closed.stop_reason == "Other"
        # The real stop arriving later replaces the estimate; nothing replaces it after.
        real = await ledger.stop_session(5, T0 + timedelta(minutes=30), 3000.0, "Local")
        assert real is not None and real.energy_kwh == 2.0
        assert await ledger.close_interrupted(5, "Other") == real

        await ledger.start_session(session_start(6, at=T0 + timedelta(hours=1)))
        empty = await ledger.close_interrupted(6, "Other")
        assert empty is not None and empty.stop_time == T0 + timedelta(hours=1)
        assert empty.energy_kwh == 0
        assert await ledger.close_interrupted(404, "Other") is None
    finally:
        await ledger.close()
