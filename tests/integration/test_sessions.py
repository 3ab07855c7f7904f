"""Transaction ids and sessions across restarts, lost files, lost answers and lost writes.

Home Assistant's Store writes real files here (the ``hass_storage`` fixture below turns
the in-memory stand-in off): the id races are races with the disk, and a lost counter
file is a file that is really gone. The archive is the real SQLite file; a write the
archive lost in a crash is reproduced by leaving the file in the state the crash
leaves (a row still open, or no row), while Home Assistant is down.

The allocator and the ledger on their own: tests/library/test_sessions.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import json
import logging
from pathlib import Path
import sqlite3
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.chargeconnect.ledger import (
    Ledger,
    Sample,
    SessionFilter,
    SessionRecord,
)
from custom_components.webasto_chargeconnect.const import DOMAIN, LEDGER_FILE
from custom_components.webasto_chargeconnect.hub import ChargeConnectHub
from webasto_sim import SimulatedCharger, iso_utc

from ..common import IDENTITY, T0, allocations_racing_loads, connect_and_boot, session_start
from .conftest import setup_entry, wait_until

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


# ------------------------------------------------------------------ the id allocator


async def test_concurrent_allocations_with_home_assistants_store(hass: HomeAssistant) -> None:
    """The hub's allocator on Home Assistant's Store: chargers acquired while ids go out."""
    await Store(hass, 1, COUNTER_KEY).async_save({"next_transaction_id": 1000})
    hub = ChargeConnectHub(hass)  # a new run of Home Assistant

    async def acquire(index: int) -> list[int]:
        # Every charger acquired used to read the counter again.
        await hub.async_acquire_charger(f"CP-{index}", None, 0, f"user-{index}")
        return []

    results = await asyncio.gather(
        allocations_racing_loads(hub.allocator), *(acquire(i) for i in range(10))
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


# ------------------------------------------------------- through Home Assistant


async def _restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Stop the entry, forget everything in memory, start it again (on a new port)."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.data.pop(DOMAIN)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _reconnect(hass: HomeAssistant, entry: MockConfigEntry, sim: SimulatedCharger) -> None:
    sim.url = f"ws://127.0.0.1:{entry.runtime_data.port}/ocpp/{IDENTITY}"
    await sim.reconnect()
    await wait_until(hass, lambda: entry.runtime_data.charger.online)


async def _session(hass: HomeAssistant, entry: MockConfigEntry, sim: SimulatedCharger) -> int:
    """One whole session (plug in to unplug); waits until the archive has it."""
    tx_id = await sim.charge(samples=2, power_w=11000)
    await sim.unplug()
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is None)
    await entry.runtime_data.owner.recorder.flush()
    return tx_id


async def _raw(
    sim: SimulatedCharger, action: str, payload: dict[str, Any], uid: str = "x-1"
) -> list[Any]:
    await sim.send_raw(json.dumps([2, uid, action, payload]))
    return await sim.next_raw_reply()


def _sql(hass: HomeAssistant, statement: str, *params: Any) -> None:
    """Change the archive file while Home Assistant is down (what a crash leaves)."""
    with sqlite3.connect(_archive(hass)) as conn:
        conn.execute(statement, params)
    conn.close()


def _essentials(record: SessionRecord | None) -> tuple[Any, ...]:
    """What the charger's own record of a session gives the archive."""
    assert record is not None
    return (
        record.id_tag,
        record.start_time,
        record.meter_start_wh,
        record.stop_time,
        record.meter_stop_wh,
        record.energy_kwh,
        record.stop_reason,
        record.stop_id_tag,
    )


_REOPEN = (
    "UPDATE sessions SET stop_time = NULL, meter_stop_wh = NULL, energy_kwh = NULL, cost = NULL,"
    " stop_reason = NULL, stop_id_tag = NULL WHERE transaction_id = ?"
)


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


async def test_collision_is_not_silent_and_harms_no_other_session(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An id the archive got behind the counter's back: an error with the session's data.

    The session that holds the id keeps its samples and its stop untouched.
    """
    ledger = entry.runtime_data.owner.ledger
    # Another charger's session written under the next id (an import, a restored copy).
    taken = await ledger.start_session(session_start(1, charger="ELSEWHERE"))
    tx_id = await online_sim.charge(samples=3, power_w=7000, id_tag="MINE")
    assert tx_id == 1
    await online_sim.stop_transaction()
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is None)
    await entry.runtime_data.owner.recorder.flush()

    assert await ledger.get_session(1) == taken
    assert await ledger.samples(1) == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "already archived for another session (ELSEWHERE" in errors[0]
    assert "tag MINE" in errors[1] and "is not archived" in errors[1]
    assert not any(r.exc_info for r in caplog.records)


async def test_repeated_stop_is_answered_the_same_and_counted_once(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A StopTransaction sent again (its answer was lost): same answer, one session, one energy."""
    charger = entry.runtime_data.charger
    # A session that ended a moment ago (timestamps ahead of the clock are dated by arrival,
    # and a retry then arrives later than the first try).
    now = datetime.now(UTC) - timedelta(minutes=15)
    await online_sim.plug_in()
    tx_id = await online_sim.start_transaction("CARD-1", meter_start=1000, timestamp=now)
    await online_sim.meter_values(power_w=7000, timestamp=now + timedelta(minutes=5))
    stop = {
        "transactionId": tx_id,
        "idTag": "CARD-1",
        "meterStop": 5000,
        "timestamp": iso_utc(now + timedelta(minutes=10)),
        "reason": "EVDisconnected",
        "transactionData": [
            {
                "timestamp": iso_utc(now + timedelta(minutes=9)),
                "sampledValue": [{"value": "4.9", "unit": "kWh"}],
            }
        ],
    }
    first = await _raw(online_sim, "StopTransaction", stop, "stop-1")
    await entry.runtime_data.owner.recorder.flush()
    closed = charger.last_transaction
    lifetime = charger.energy.lifetime_wh
    second = await _raw(online_sim, "StopTransaction", stop, "stop-2")
    await entry.runtime_data.owner.recorder.flush()

    assert first[2] == second[2] == {"idTagInfo": {"status": "Accepted"}}
    assert charger.last_transaction is closed and closed.energy_wh == 4000
    assert charger.energy.lifetime_wh == lifetime
    ledger = entry.runtime_data.owner.ledger
    record = await ledger.get_session(tx_id)
    assert record is not None and record.energy_kwh == 4.0
    assert record.stop_reason == "EVDisconnected"
    totals = await ledger.totals(IDENTITY, now - timedelta(hours=1))
    assert totals.sessions == 1 and totals.energy_kwh == 4.0
    assert len(await ledger.samples(tx_id)) == 2
    assert "unknown transaction" not in caplog.text
    assert "repeated" in caplog.text


async def test_repeated_start_gets_the_same_transaction(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """The same StartTransaction twice, also across a restart: one id, one session."""
    now = datetime.now(UTC)
    start = {"connectorId": 1, "idTag": "CARD-7", "meterStart": 2500, "timestamp": iso_utc(now)}
    first = await _raw(online_sim, "StartTransaction", start, "start-1")
    second = await _raw(online_sim, "StartTransaction", start, "start-2")
    assert first[2] == second[2]
    tx_id = first[2]["transactionId"]
    charger = entry.runtime_data.charger
    assert list(charger.transactions) == [tx_id]
    assert charger.last_transaction is None  # the first one was not closed as lost

    await _restart(hass, entry)
    await _reconnect(hass, entry, online_sim)
    third = await _raw(online_sim, "StartTransaction", start, "start-3")
    assert third[2] == first[2]
    # A different start on the connector is a new session (the lost one is closed).
    other = await _raw(online_sim, "StartTransaction", {**start, "meterStart": 2600}, "start-4")
    assert other[2]["transactionId"] == tx_id + 1

    await entry.runtime_data.owner.recorder.flush()
    ledger = entry.runtime_data.owner.ledger
    _page, total = await ledger.query(SessionFilter())
    assert total == 2
    assert [r.transaction_id for r in await ledger.open_sessions(IDENTITY)] == [tx_id + 1]


async def test_archive_reconciled_with_the_chargers_state_at_start(
    hass: HomeAssistant,
    socket_enabled: None,
    make_sim: Callable[..., SimulatedCharger],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Writes the archive lost in a crash are made good from the charger's saved state.

    While Home Assistant is down the archive is left as a crash leaves it: one answered
    stop never written (row still open), one session not written at all, the start of
    the running session not written, and a session open that the charger knows nothing
    of. At start-up the first three come from the charger's state (meter, time, reason),
    the last is closed as interrupted; the charger's retried stop changes nothing more.
    """
    entry = await setup_entry(hass)
    sim = await connect_and_boot(make_sim(entry))
    lost_stop = await _session(hass, entry, sim)
    lost_whole = await _session(hass, entry, sim)
    running = await sim.charge(samples=1)
    await entry.runtime_data.owner.recorder.flush()
    ledger = entry.runtime_data.owner.ledger
    expected = {tx: _essentials(await ledger.get_session(tx)) for tx in (lost_stop, lost_whole)}
    await sim.disconnect()
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.data.pop(DOMAIN)

    def crash_leftovers() -> None:
        _sql(hass, _REOPEN, lost_stop)
        for tx in (lost_whole, running):
            _sql(
                hass,
                "DELETE FROM samples WHERE session_id = "
                "(SELECT id FROM sessions WHERE transaction_id = ?)",
                tx,
            )
            _sql(hass, "DELETE FROM sessions WHERE transaction_id = ?", tx)

    await hass.async_add_executor_job(crash_leftovers)
    orphan_start = T0 + timedelta(days=1)
    orphan = Ledger(_archive(hass))
    await orphan.open()
    await orphan.start_session(session_start(500, at=orphan_start))
    await orphan.add_samples(500, [Sample(orphan_start + timedelta(minutes=3), register_wh=1500)])
    await orphan.close()

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    owner = entry.runtime_data.owner
    await owner.recorder.flush()
    ledger = owner.ledger
    for tx, essentials in expected.items():
        assert _essentials(await ledger.get_session(tx)) == essentials, tx
    open_now = await ledger.open_sessions(IDENTITY)
    assert [r.transaction_id for r in open_now] == [running]
    interrupted = await ledger.get_session(500)
    assert interrupted is not None and interrupted.stop_reason == "Other"
    assert interrupted.stop_time == orphan_start + timedelta(minutes=3)
    assert interrupted.energy_kwh == 0.5
    assert (await ledger.totals(IDENTITY, T0)).sessions == 3
    assert "missed the stop of transaction" in caplog.text
    assert "closed as interrupted" in caplog.text

    # The charger sends the stop whose answer it never got, then stops the running one.
    await _reconnect(hass, entry, sim)
    closed = entry.runtime_data.charger.closed_transactions[lost_stop]
    assert closed.stop_time is not None and closed.meter_stop_wh is not None
    last_stop = {
        "transactionId": lost_stop,
        "meterStop": round(closed.meter_stop_wh),
        "timestamp": iso_utc(closed.stop_time),
    }
    assert (await _raw(sim, "StopTransaction", last_stop, "retry"))[2] == {}
    await sim.stop_transaction()
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is None)
    await owner.recorder.flush()
    assert _essentials(await ledger.get_session(lost_stop)) == expected[lost_stop]
    assert await ledger.open_sessions(IDENTITY) == []
    assert (await ledger.totals(IDENTITY, T0)).sessions == 4
    assert "unknown transaction" not in caplog.text


async def test_start_without_stop_closes_the_lost_session(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A second StartTransaction on the same connector closes the one never stopped."""
    now = datetime.now(UTC)
    first = await _raw(
        online_sim,
        "StartTransaction",
        {"connectorId": 1, "idTag": "A", "meterStart": 100, "timestamp": iso_utc(now)},
    )
    second = await _raw(
        online_sim,
        "StartTransaction",
        {"connectorId": 1, "idTag": "B", "meterStart": 900, "timestamp": iso_utc(now)},
        "x-2",
    )
    charger = entry.runtime_data.charger
    assert second[2]["transactionId"] == first[2]["transactionId"] + 1
    assert charger.last_transaction.transaction_id == first[2]["transactionId"]
    assert charger.last_transaction.stop_reason == "Other"
    assert charger.active_transaction.id_tag == "B"

    # Stop with transactionData, then a Stop for a transaction nobody knows.
    data = [
        {
            "timestamp": iso_utc(now + timedelta(minutes=1)),
            "sampledValue": [{"value": "1.5", "unit": "kWh"}],
        }
    ]
    reply = await _raw(
        online_sim,
        "StopTransaction",
        {
            "transactionId": second[2]["transactionId"],
            "meterStop": 1500,
            "timestamp": iso_utc(now + timedelta(minutes=1)),
            "transactionData": data,
        },
        "x-3",
    )
    assert reply == [3, "x-3", {}]
    assert charger.last_transaction.energy_wh == 600
    reply = await _raw(
        online_sim,
        "StopTransaction",
        {"transactionId": 999, "meterStop": 1600, "timestamp": iso_utc(now), "idTag": "Z"},
        "x-4",
    )
    assert reply == [3, "x-4", {"idTagInfo": {"status": "Accepted"}}]
