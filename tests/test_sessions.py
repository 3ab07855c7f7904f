"""Transaction ids and sessions across restarts, lost files, lost answers and lost writes.

Home Assistant's Store writes real files here (the ``hass_storage`` fixture below turns
the in-memory stand-in off): the id races are races with the disk, and a lost counter
file is a file that is really gone. The archive is the real SQLite file; a write the
archive lost in a crash is reproduced by leaving the file in the state the crash
leaves (a row still open, or no row), while Home Assistant is down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
import json
import logging
from pathlib import Path
import sqlite3
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.chargeconnect import (
    JsonFileStore,
    MemoryStore,
    PersistentIdAllocator,
)
from custom_components.webasto_chargeconnect.chargeconnect.ledger import (
    SCHEMA_V1,
    Ledger,
    LedgerDatabaseError,
    SessionStart,
    highest_transaction_id,
)
from custom_components.webasto_chargeconnect.const import DOMAIN, LEDGER_FILE
from custom_components.webasto_chargeconnect.hub import ChargeConnectHub
from webasto_sim import SimulatedCharger

from .conftest import IDENTITY, connect_and_boot, setup_entry, wait_until

COUNTER_KEY = f"{DOMAIN}.transactions"
CHARGER_KEY = f"{DOMAIN}.charger_next_ws123456"


@pytest.fixture
def hass_storage() -> dict[str, Any]:
    """Home Assistant's Store on the real disk (under the test's config folder)."""
    return {}


def _storage_file(hass: HomeAssistant, key: str) -> Path:
    return Path(hass.config.path(".storage", key))


def _archive(hass: HomeAssistant) -> Path:
    return Path(hass.config.path(DOMAIN, LEDGER_FILE))


async def _allocations_racing_loads(allocator: PersistentIdAllocator) -> list[int]:
    """Ten chargers start 30 sessions each while each one is (re)acquired, as the hub did.

    The first allocations race the first load; every charger acquired loaded again.
    """

    async def charger() -> list[int]:
        ids = []
        for _ in range(30):
            await allocator.async_load()
            ids.append(await allocator.allocate())
        return ids

    results = await asyncio.gather(*(charger() for _ in range(10)))
    return [tx_id for ids in results for tx_id in ids]


# ------------------------------------------------------------------ the id allocator


async def test_concurrent_allocations_with_the_json_store(tmp_path: Path) -> None:
    """300 ids handed out while loads race them: all unique, the counter persisted."""
    path = tmp_path / "transactions.json"
    await JsonFileStore(path).async_save({"next_transaction_id": 1000})  # an earlier run

    ids = await _allocations_racing_loads(PersistentIdAllocator(JsonFileStore(path)))

    assert len(set(ids)) == len(ids) == 300
    assert sorted(ids) == list(range(1000, 1300))
    assert json.loads(path.read_text()) == {"next_transaction_id": 1300}


async def test_concurrent_allocations_with_home_assistants_store(hass: HomeAssistant) -> None:
    """The hub's allocator on Home Assistant's Store: chargers acquired while ids go out."""
    await Store(hass, 1, COUNTER_KEY).async_save({"next_transaction_id": 1000})
    hub = ChargeConnectHub(hass)  # a new run of Home Assistant

    async def acquire(index: int) -> list[int]:
        # Every charger acquired used to read the counter again.
        await hub.async_acquire_charger(f"CP-{index}", None, 0, f"user-{index}")
        return []

    results = await asyncio.gather(
        _allocations_racing_loads(hub.allocator), *(acquire(i) for i in range(10))
    )
    ids = results[0]
    assert len(set(ids)) == len(ids) == 300
    assert sorted(ids) == list(range(1000, 1300))
    for index in range(10):
        await hub.async_release_charger(f"CP-{index}", f"user-{index}")
    saved = json.loads(
        await hass.async_add_executor_job(_storage_file(hass, COUNTER_KEY).read_text)
    )
    assert saved["data"] == {"next_transaction_id": 1300}


async def test_counter_starts_above_the_archive_and_the_chargers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A counter behind what is in use is moved past it, with one warning per source."""
    store = MemoryStore()
    await store.async_save({"next_transaction_id": 3})

    async def archive() -> int:
        return 40

    allocator = PersistentIdAllocator(store, highest_used=archive)
    await allocator.async_note_used(45, "the saved state of CP-1")
    await allocator.async_note_used(12, "the saved state of CP-2")  # below: nothing to say
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
    await crashed.async_open()
    try:
        await crashed.start_session(_start(88))
        assert highest_transaction_id(tmp_path / "live.db") == 88
    finally:
        await crashed.async_close()

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerDatabaseError):
        highest_transaction_id(garbage)


T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def _start(transaction_id: int, charger: str = IDENTITY, at: datetime = T0) -> SessionStart:
    return SessionStart(
        transaction_id=transaction_id,
        charger=charger,
        connector_id=1,
        id_tag="OLD",
        start_time=at,
        meter_start_wh=1000.0,
        tariff=None,
    )


# ------------------------------------------------------- through Home Assistant


async def _reconnect(hass: HomeAssistant, entry: MockConfigEntry, sim: SimulatedCharger) -> None:
    sim.url = f"ws://127.0.0.1:{entry.runtime_data.port}/ocpp/{IDENTITY}"
    await sim.reconnect()
    await wait_until(hass, lambda: entry.runtime_data.charger.online)


async def _session(hass: HomeAssistant, entry: MockConfigEntry, sim: SimulatedCharger) -> int:
    """One whole session (plug in to unplug); waits until the archive has it."""
    tx_id = await sim.charge(samples=2, power_w=11000)
    await sim.unplug()
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is None)
    await entry.runtime_data.owner.recorder.async_flush()
    return tx_id


@pytest.mark.parametrize("lost", [[COUNTER_KEY], [COUNTER_KEY, CHARGER_KEY]])
async def test_lost_counter_file_never_repeats_an_archived_id(
    hass: HomeAssistant,
    socket_enabled: None,
    make_sim: Callable[..., SimulatedCharger],
    caplog: pytest.LogCaptureFixture,
    lost: list[str],
) -> None:
    """The counter file (and even the charger's state) is gone after a restart.

    New sessions get new ids and are archived; the archive, the only memory left of
    the ids in use, moved the counter past them with a warning.
    """
    entry = await setup_entry(hass)
    sim = await connect_and_boot(make_sim(entry))
    before = [await _session(hass, entry, sim) for _ in range(3)]
    assert before == [1, 2, 3]
    await sim.disconnect()

    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.data.pop(DOMAIN)
    for key in lost:
        await hass.async_add_executor_job(_storage_file(hass, key).unlink)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await _reconnect(hass, entry, sim)

    after = [await _session(hass, entry, sim) for _ in range(10)]
    assert after == list(range(4, 14))
    ledger = entry.runtime_data.owner.ledger
    for tx_id in before + after:
        record = await ledger.get_session(tx_id)
        assert record is not None and not record.is_open, tx_id
        assert record.energy_kwh > 0
    assert (await ledger.totals(IDENTITY, T0)).sessions == 13
    assert "The transaction id counter was behind" in caplog.text
