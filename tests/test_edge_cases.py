"""Messages and commands off the happy path, over the real websocket."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import json
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.chargeconnect import (
    CallRejectedError,
    InvalidArgumentError,
    NotSupportedByChargerError,
)
from custom_components.webasto_chargeconnect.chargeconnect.ocpp.charger import (
    CHARGING_PROFILE_ID,
)
from custom_components.webasto_chargeconnect.const import DOMAIN
from custom_components.webasto_chargeconnect.coordinator import ChargeConnectCoordinator
from webasto_sim import SimulatedCharger, iso_utc

from .conftest import connect_and_boot, setup_entry, wait_for_state, wait_until

E = "webasto_next_ws123456"


async def _raw(sim: SimulatedCharger, action: str, payload: dict, uid: str = "x-1") -> list:
    await sim.send_raw(json.dumps([2, uid, action, payload]))
    return await sim.next_raw_reply()


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


async def test_unusual_messages(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Authorize, diagnostics status, odd timestamps, late statuses, odd measurands."""
    charger = entry.runtime_data.charger
    assert await _raw(online_sim, "Authorize", {"idTag": "CARD"}) == [
        3,
        "x-1",
        {"idTagInfo": {"status": "Accepted"}},
    ]
    await _raw(online_sim, "DiagnosticsStatusNotification", {"status": "Uploaded"}, "x-2")
    assert charger.diagnostics_status == "Uploaded"

    # A status older than the one we have does not overrule it.
    old = iso_utc(datetime.now(UTC) - timedelta(hours=1))
    await _raw(
        online_sim,
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Faulted", "timestamp": old},
        "x-3",
    )
    assert charger.connector.status.value == "Available"
    # An unreadable timestamp is taken as now.
    await _raw(
        online_sim,
        "StatusNotification",
        {"connectorId": 0, "errorCode": "GroundFailure", "status": "Faulted", "timestamp": "?"},
        "x-4",
    )
    assert charger.status.value == "Faulted"
    assert charger.error_code == "GroundFailure"
    await wait_for_state(hass, f"sensor.{E}_error", "ground_failure")
    await wait_for_state(hass, f"sensor.{E}_status", "faulted")

    now = datetime.now(UTC)
    sampled = [
        {"value": "1000", "measurand": "Power.Active.Import", "unit": "W", "phase": "L1"},
        {"value": "2000", "measurand": "Power.Active.Import", "unit": "W", "phase": "L2"},
        {"value": "11", "measurand": "Power.Offered", "unit": "kW"},
        {"value": "55", "measurand": "SoC", "unit": "Percent"},
        {"value": "104", "measurand": "Temperature", "unit": "Fahrenheit"},
        {"value": "50.01", "measurand": "Frequency"},
        {"value": "231", "measurand": "Voltage", "phase": "L1-L2"},
        {"value": "16", "measurand": "Current.Import"},
    ]
    # A value that is not a number refuses the frame (the charger is told), nothing of it
    # is taken.
    unreadable = [*sampled[:2], {"value": "not-a-number", "measurand": "Voltage"}, *sampled[2:]]
    refused = await _raw(
        online_sim,
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": iso_utc(now), "sampledValue": unreadable}]},
        "x-5a",
    )
    assert refused[:3] == [4, "x-5a", "PropertyConstraintViolation"]
    assert charger.measurements.soc is None
    await _raw(
        online_sim,
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": iso_utc(now), "sampledValue": sampled}]},
        "x-5",
    )
    m = charger.measurements
    assert m.power_w == 3000
    assert m.power_offered_w == 11000
    assert m.soc == 55
    assert m.temperature_c == pytest.approx(40)
    assert m.frequency_hz == pytest.approx(50.01)
    assert m.current_a["L1"] == 16
    # An older sample does not overwrite the live values.
    await _raw(
        online_sim,
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": iso_utc(now - timedelta(minutes=5)),
                    "sampledValue": [
                        {"value": "9", "measurand": "Current.Import", "phase": "L1"},
                        {"value": "500", "measurand": "Power.Active.Import"},
                    ],
                }
            ],
        },
        "x-6",
    )
    assert m.current_a["L1"] == 16
    assert m.power_w == 3000


async def test_charger_command_errors(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Commands check their arguments and the charger's features first."""
    charger = entry.runtime_data.charger
    with pytest.raises(InvalidArgumentError):
        await charger.change_configuration("", "1")
    with pytest.raises(InvalidArgumentError):
        await charger.remote_start("X" * 21)
    with pytest.raises(NotSupportedByChargerError):
        await charger.set_free_charging(True)
    with pytest.raises(NotSupportedByChargerError):
        await charger.set_led_dimming_level("low")
    online_sim.reply_to["UnlockConnector"] = "UnlockFailed"
    with pytest.raises(CallRejectedError) as err:
        await charger.unlock_connector()
    assert err.value.status == "UnlockFailed"

    await charger.set_current_limit(0)  # 0 A pauses charging
    assert online_sim.current_limit_a == 0
    await charger.clear_current_limit()
    call = await online_sim.wait_for_call("ClearChargingProfile")
    assert call.payload == {"id": CHARGING_PROFILE_ID}
    assert charger.current_limit_a is None
    await wait_for_state(hass, f"number.{E}_charging_current_limit", "32.0")

    charger.features.smart_charging = False
    with pytest.raises(NotSupportedByChargerError):
        await charger.set_current_limit(10)


async def test_unite_led_level_validated(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """Only the Unite's own LED levels are sent."""
    sim = make_sim(entry, profile="unite")
    await sim.connect()
    await sim.boot()
    charger = entry.runtime_data.charger
    await wait_until(hass, lambda: charger.configured)
    with pytest.raises(InvalidArgumentError):
        await charger.set_led_dimming_level("blinding")


async def test_updates_are_throttled(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Many messages in a burst give one immediate refresh and one trailing refresh."""
    coordinator: ChargeConnectCoordinator = entry.runtime_data.coordinator
    await online_sim.charge(samples=1, power_w=7000)
    with patch.object(ChargeConnectCoordinator, "throttle", 0.2):
        pushes = coordinator.pushes
        for power in (1000, 2000, 3000, 4000, 5000):
            await online_sim.meter_values(power_w=power)
        # Far fewer refreshes than messages, and the last value still arrives.
        state = await wait_for_state(hass, f"sensor.{E}_power", lambda s: s.state == "5.0")
        assert state is not None
        assert coordinator.pushes - pushes <= 3


async def test_restored_state_after_restart(
    hass: HomeAssistant, socket_enabled: None, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """The last session, heartbeat and firmware status come back after a restart."""
    config_entry = await setup_entry(hass)
    sim = await connect_and_boot(make_sim(config_entry))
    await sim.heartbeat()
    await sim.firmware_status("Installed")
    await sim.charge(samples=2)
    await sim.stop_transaction()
    await sim.disconnect()
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    hass.data.pop(DOMAIN)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    charger = config_entry.runtime_data.charger
    assert charger.last_transaction is not None
    assert charger.last_transaction.energy_wh > 0
    assert charger.last_heartbeat is not None
    assert charger.firmware_status == "Installed"
    assert hass.states.get(f"sensor.{E}_firmware_status").state == "installed"
    assert float(hass.states.get(f"sensor.{E}_session_energy").state) > 0
    assert hass.states.get(f"sensor.{E}_status").state == "offline"
