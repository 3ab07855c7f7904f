"""One frame must never poison a charger: numbers, timestamps and the state file.

Hostile numbers and clocks over the real websocket, and the charger's state through Home
Assistant's real Store afterwards. The checks on their own (validation, timestamps, the ledger's
batched sample writes on real SQLite): tests/library/test_hostile_data.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import logging
import math
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_bytes
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.chargeconnect import Charger
from custom_components.webasto_chargeconnect.hub import charger_store
from webasto_sim import SimulatedCharger, iso_utc

from ..common import FAR_FUTURE, IDENTITY, NOW, meter_values as _mv
from .conftest import wait_until


def _start(**changes: Any) -> dict[str, Any]:
    return {"connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": NOW, **changes}


def _status(connector: Any) -> dict[str, Any]:
    return {"connectorId": connector, "errorCode": "NoError", "status": "Charging"}


REGISTER = {"measurand": "Energy.Active.Import.Register", "unit": "Wh"}
BIG = 2**63  # one above SQLite's largest integer

# (frame text, the CallError code). Raw text: JSON numbers exactly as a charger sends them.
HOSTILE: list[Any] = [
    pytest.param(_mv({"value": "1e309", **REGISTER}), "PropertyConstraintViolation", id="1e309"),
    pytest.param(
        _mv({"value": "-1e309", "measurand": "Power.Active.Import"}),
        "PropertyConstraintViolation",
        id="-1e309",
    ),
    pytest.param(_mv({"value": "1e13", **REGISTER}), "PropertyConstraintViolation", id="1e13"),
    pytest.param(
        _mv({"value": "NaN", "measurand": "Power.Active.Import"}),
        "PropertyConstraintViolation",
        id="NaN-power",
    ),
    pytest.param(
        _mv({"value": "nan", "measurand": "Voltage", "phase": "L1-N"}),
        "PropertyConstraintViolation",
        id="nan-voltage",
    ),
    pytest.param(
        _mv({"value": "Infinity", **REGISTER}), "PropertyConstraintViolation", id="Infinity"
    ),
    pytest.param(_mv({"value": "", **REGISTER}), "PropertyConstraintViolation", id="empty"),
    pytest.param(_mv({"value": "0x10", **REGISTER}), "PropertyConstraintViolation", id="hex"),
    pytest.param(
        {
            "transactionId": 1,
            "meterStop": 10,
            "timestamp": NOW,
            "transactionData": [{"timestamp": NOW, "sampledValue": [{"value": "inf"}]}],
        },
        "PropertyConstraintViolation",
        id="stop-data-inf",
    ),
    # Integers: an integral float is not one, nor is anything beyond 64 bits.
    pytest.param(_start(meterStart=1.0), "TypeConstraintViolation", id="meterStart-1.0"),
    pytest.param(_start(meterStart=1e20), "TypeConstraintViolation", id="meterStart-1e20"),
    pytest.param(_start(meterStart=BIG), "TypeConstraintViolation", id="meterStart-2^63"),
    pytest.param(_start(reservationId=-BIG - 1), "TypeConstraintViolation", id="reservation"),
    pytest.param(_status(1.0), "TypeConstraintViolation", id="connector-1.0"),
    pytest.param(_status(BIG), "TypeConstraintViolation", id="connector-2^63"),
    pytest.param(_status(2**64), "TypeConstraintViolation", id="connector-2^64"),
    pytest.param(_status(10**30), "TypeConstraintViolation", id="connector-10^30"),
    pytest.param(_status(-1), "PropertyConstraintViolation", id="connector-negative"),
    pytest.param(_status(99), "PropertyConstraintViolation", id="connector-99"),
    pytest.param(
        {"transactionId": BIG, "meterStop": 10, "timestamp": NOW},
        "TypeConstraintViolation",
        id="stop-tx-2^63",
    ),
    pytest.param(
        {**_mv({"value": "5", **REGISTER}), "transactionId": BIG},
        "TypeConstraintViolation",
        id="mv-tx-2^63",
    ),
]
ACTIONS = {"meterValue": "MeterValues", "meterStop": "StopTransaction", "idTag": "StartTransaction"}


def _action(payload: dict[str, Any]) -> str:
    for key, action in ACTIONS.items():
        if key in payload:
            return action
    return "StatusNotification"


def _frame(uid: str, payload: dict[str, Any]) -> str:
    text = json.dumps([2, uid, _action(payload), payload])
    return text.replace(NOW, iso_utc())


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info is not None or r.levelno >= 40]


async def _round_trip(hass: HomeAssistant, charger: Charger) -> Charger:
    """Save the charger through Home Assistant's Store and load it into a new Charger."""
    await charger_store(hass, charger.identity).async_save(charger.to_storage())
    fresh = Charger(
        charger.identity,
        password=None,
        store=charger_store(hass, charger.identity),
        allocator=charger._allocator,
    )
    await fresh.load()
    return fresh


@pytest.mark.parametrize(("payload", "code"), HOSTILE)
async def test_hostile_numbers_get_call_errors(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    caplog: pytest.LogCaptureFixture,
    payload: dict[str, Any],
    code: str,
) -> None:
    """Non-finite, non-integral and out-of-range numbers are refused at the edge."""
    charger = entry.runtime_data.charger
    await online_sim.meter_values(power_w=7000)
    before = charger.to_storage()
    power = charger.measurements.power_w
    await online_sim.send_raw(_frame("h-1", payload))
    reply = await online_sim.next_raw_reply()
    assert reply[:3] == [4, "h-1", code]
    # Nothing of the frame was taken; the connection is up and answers.
    assert charger.to_storage() == before
    assert charger.measurements.power_w == power
    assert math.isfinite(charger.energy.lifetime_wh)
    assert charger.online
    assert (await online_sim.heartbeat())["currentTime"]
    assert _tracebacks(caplog) == []
    json_bytes(charger.to_storage())  # Home Assistant can write it


async def test_state_survives_hostile_frames_through_the_store(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After every hostile number and clock, the state saves and loads the same."""
    charger = entry.runtime_data.charger
    await online_sim.meter_values(power_w=7000)
    for n, param in enumerate(HOSTILE):
        await online_sim.send_raw(_frame(f"n-{n}", param.values[0]))
        assert (await online_sim.next_raw_reply())[0] == 4
    for n, stamp in enumerate((FAR_FUTURE, "0001-01-01T00:00:00Z", "2099-01-01T00:00:00Z")):
        status = {**_status(1), "status": "Available", "timestamp": stamp}
        await online_sim.send_raw(json.dumps([2, f"t-{n}", "StatusNotification", status]))
        assert await online_sim.next_raw_reply() == [3, f"t-{n}", {}]
    await online_sim.meter_values(power_w=7000, timestamp="0001-01-01T00:00:00Z")
    fresh = await _round_trip(hass, charger)
    assert fresh.to_storage() == charger.to_storage()
    assert fresh.energy.lifetime_wh == pytest.approx(online_sim.register_wh)
    assert fresh.connector.timestamp is not None
    assert fresh.connector.timestamp.year == datetime.now(UTC).year
    assert _tracebacks(caplog) == []


# ------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    "action", ["StatusNotification", "MeterValues", "StartTransaction", "StopTransaction"]
)
async def test_timestamp_beyond_utc_is_answered(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    caplog: pytest.LogCaptureFixture,
    action: str,
) -> None:
    """A time with no UTC equivalent is taken as the arrival, not an InternalError."""
    charger = entry.runtime_data.charger
    tx_id = None
    if action == "StopTransaction":
        await online_sim.plug_in()
        tx_id = await online_sim.start_transaction("TAG")
    payload: dict[str, Any] = {
        "StatusNotification": {**_status(1), "timestamp": FAR_FUTURE},
        "MeterValues": {
            "connectorId": 1,
            "meterValue": [{"timestamp": FAR_FUTURE, "sampledValue": [{"value": "5"}]}],
        },
        "StartTransaction": {**_start(), "timestamp": FAR_FUTURE},
        "StopTransaction": {"transactionId": tx_id, "meterStop": 10, "timestamp": FAR_FUTURE},
    }[action]
    before = datetime.now(UTC)
    await online_sim.send_raw(json.dumps([2, "f-1", action, payload]))
    reply = await online_sim.next_raw_reply()
    assert reply[:2] == [3, "f-1"]
    if action == "StopTransaction":
        # The session closed, dated when the Stop arrived.
        assert charger.active_transaction is None
        assert charger.last_transaction.transaction_id == tx_id
        assert charger.last_transaction.stop_time >= before
    assert _tracebacks(caplog) == []


async def test_status_dated_2099_does_not_stick(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A status from the future is taken as arriving now; the next live one wins."""
    charger = entry.runtime_data.charger
    await online_sim.status("Faulted", timestamp="2099-01-01T00:00:00.000Z")
    assert charger.status.value == "Faulted"
    await online_sim.status("Available")
    assert charger.status.value == "Available"


async def test_meter_values_dated_2099_do_not_freeze_energy(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """One MeterValues from the future does not stop later readings from counting."""
    charger = entry.runtime_data.charger
    start = online_sim.register_wh
    await online_sim.meter_values(
        power_w=7000, energy_wh=start + 100, timestamp="2099-01-01T00:00:00.000Z"
    )
    await online_sim.meter_values(power_w=7000, energy_wh=start + 200)
    assert charger.energy.lifetime_wh == pytest.approx(start + 200)
    assert charger.measurements.energy_register_wh == pytest.approx(start + 200)
    await online_sim.meter_values(power_w=3000, energy_wh=start + 300)
    assert charger.energy.lifetime_wh == pytest.approx(start + 300)
    assert charger.measurements.power_w == 3000


async def test_a_clock_at_1970_is_live(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A charger whose clock is not set yet (1970) is believed in arrival order."""
    charger = entry.runtime_data.charger
    await online_sim.status("Preparing", timestamp="1970-01-01T00:00:05.000Z")
    assert charger.connector.status.value == "Preparing"
    assert charger.connector.timestamp.year == datetime.now(UTC).year
    start = online_sim.register_wh
    await online_sim.meter_values(
        power_w=7000, energy_wh=start + 50, timestamp="1970-01-01T00:00:06.000Z"
    )
    assert charger.measurements.power_w == 7000
    assert charger.energy.lifetime_wh == pytest.approx(start + 50)


async def test_queued_messages_are_ordered_by_their_timestamps(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A queued, older status or reading does not overrule the live state."""
    charger = entry.runtime_data.charger
    now = datetime.now(UTC)
    start = online_sim.register_wh
    await online_sim.meter_values(power_w=7000, energy_wh=start + 500, timestamp=now)
    await online_sim.status("Charging", timestamp=now)
    # Sent late, from while the charger was offline: archived, not live.
    await online_sim.status("Available", timestamp=now - timedelta(minutes=10))
    await online_sim.meter_values(
        power_w=1000, energy_wh=start + 100, timestamp=now - timedelta(minutes=9)
    )
    assert charger.connector.status.value == "Charging"
    assert charger.measurements.power_w == 7000
    assert charger.energy.lifetime_wh == pytest.approx(start + 500)
    await online_sim.meter_values(power_w=7000, energy_wh=start + 510)
    assert charger.energy.lifetime_wh == pytest.approx(start + 510)
    assert charger.energy.glitches == 0


async def test_reboot_starts_the_clock_afresh(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """After a BootNotification, a clock that went back (still plausible) is believed."""
    charger = entry.runtime_data.charger
    await online_sim.status("Charging")
    await online_sim.boot()
    await online_sim.status("Available", timestamp=datetime.now(UTC) - timedelta(days=2))
    assert charger.connector.status.value == "Available"


async def test_poisoned_state_file_loads(hass: HomeAssistant, tmp_path: Path) -> None:
    """A state written before the fixes (inf as null, year 1, 2099) loads and recovers."""
    store = charger_store(hass, "POISONED")
    await store.async_save(
        {
            "version": 1,
            "energy": {"offset_wh": None, "last_register_wh": None, "lifetime_wh": None},
            "energy_timestamp": "2099-01-01T00:00:00.000Z",
            "connectors": {
                "1": {"status": "Available", "timestamp": "1-01-01T00:00:00.000Z"},
            },
            "plug_in_times": {"1": "1-01-01T00:00:00.000Z", "2": "garbage"},
            "last_heartbeat": "garbage",
        }
    )

    class Allocator:
        async def allocate(self) -> int:
            return 1

    charger = Charger("POISONED", password=None, store=store, allocator=Allocator())
    await charger.load()
    assert charger.energy.lifetime_wh == 0
    assert charger.connectors[1].timestamp == datetime(1, 1, 1, tzinfo=UTC)
    assert list(charger.plug_in_times) == [1]
    assert charger.last_heartbeat is None
    # The stored 2099 no longer holds readings back.
    assert charger._feed_energy(1000.0, datetime.now(UTC))
    assert charger.energy.lifetime_wh == 1000
    json_bytes(charger.to_storage())


async def test_state_with_hostile_frames_loads_again_after_restart(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
) -> None:
    """The charger's own save path (what a restart reads) works after hostile frames."""
    charger = entry.runtime_data.charger
    await online_sim.send_raw(_frame("s-1", _mv({"value": "1e309", **REGISTER})))
    assert (await online_sim.next_raw_reply())[2] == "PropertyConstraintViolation"
    await online_sim.status("Available", timestamp="0001-01-01T00:00:00.000Z")
    await charger.shutdown()
    fresh = Charger(
        IDENTITY, password=None, store=charger_store(hass, IDENTITY), allocator=charger._allocator
    )
    await fresh.load()
    assert fresh.connector.status.value == "Available"
    assert fresh.energy.lifetime_wh == pytest.approx(charger.energy.lifetime_wh)


async def test_charger_logs_no_traceback_for_a_wrong_clock(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Wrong clocks are debug information, not warnings."""
    caplog.set_level(logging.DEBUG)
    for stamp in (FAR_FUTURE, "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "garbage"):
        await online_sim.status("Available", timestamp=stamp)
    charger = entry.runtime_data.charger
    await wait_until(hass, lambda: charger.status.value == "Available")
    ours = [r for r in caplog.records if r.name.startswith("custom_components")]
    assert [r.getMessage() for r in ours if r.levelno >= logging.WARNING] == []
    assert any("implausible" in r.getMessage() for r in ours)
