"""End to end: a simulated Webasto over a real websocket, through Home Assistant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
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
from webasto_sim import SimulatedCharger

from ..common import IDENTITY, connect_and_boot
from .conftest import charger_device, setup_entry, wait_configured, wait_for_state, wait_until

E = "webasto_next_ws123456"


async def test_full_session_with_energy(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Plug in, charge, stop, unplug: status, power and energy as the Energy panel needs."""
    assert hass.states.get(f"binary_sensor.{E}_online").state == STATE_ON
    assert hass.states.get(f"sensor.{E}_status").state == "available"
    start_register = online_sim.register_wh

    await online_sim.plug_in()
    await wait_for_state(hass, f"binary_sensor.{E}_vehicle_plugged_in", "on")
    tx_id = await online_sim.start_transaction("CARD-1")
    assert tx_id >= 1
    await online_sim.meter_values(power_w=11000)
    await online_sim.meter_values(power_w=11000)
    await wait_for_state(hass, f"sensor.{E}_status", "charging")
    await wait_for_state(hass, f"binary_sensor.{E}_charging", "on")
    power = await wait_for_state(hass, f"sensor.{E}_power", lambda s: s.state != "unknown")
    assert float(power.state) == pytest.approx(11.0, abs=0.5)  # shown in kW
    assert hass.states.get(f"sensor.{E}_session_tag").state == "CARD-1"
    assert float(hass.states.get(f"sensor.{E}_current_l1").state) > 10
    assert float(hass.states.get(f"sensor.{E}_voltage").state) == pytest.approx(230, abs=5)

    session_wh = online_sim.register_wh - start_register
    assert session_wh > 0
    state = await wait_for_state(
        hass,
        f"sensor.{E}_session_energy",
        lambda s: (
            s.state not in ("unknown", "unavailable")
            and float(s.state) == pytest.approx(session_wh / 1000, abs=0.002)
        ),
    )
    assert state.attributes["state_class"] == "total_increasing"
    energy = hass.states.get(f"sensor.{E}_energy")
    assert energy.attributes["device_class"] == "energy"
    assert energy.attributes["unit_of_measurement"] == "kWh"
    assert float(energy.state) == pytest.approx(online_sim.register_wh / 1000, abs=0.002)

    await online_sim.stop_transaction()
    await online_sim.unplug()
    await wait_for_state(hass, f"sensor.{E}_status", "available")
    await wait_for_state(hass, f"binary_sensor.{E}_charging", "off")
    charger = entry.runtime_data.charger
    assert charger.active_transaction is None
    assert charger.last_transaction.transaction_id == tx_id
    assert charger.last_transaction.energy_wh == pytest.approx(session_wh, abs=1)
    assert float(hass.states.get(f"sensor.{E}_session_energy").state) == pytest.approx(
        session_wh / 1000, abs=0.002
    )
    assert hass.states.get(f"sensor.{E}_session_tag").state == "unknown"


async def test_device_info_from_boot(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """The device shows manufacturer, model, serial and firmware from BootNotification."""
    device = charger_device(hass)
    assert device is not None
    await wait_until(hass, lambda: entry.runtime_data.charger.info.model is not None)
    device = charger_device(hass)
    assert device.manufacturer == online_sim.profile.vendor
    assert device.model == online_sim.profile.model
    assert device.sw_version == online_sim.profile.firmware
    assert device.serial_number
    assert entry.runtime_data.charger.model.value == "next"


async def test_next_without_boot_is_triggered(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """A Next that reconnects without BootNotification is asked for it, and stays online."""
    sim = make_sim(entry, boot_on_connect=False)
    await sim.connect()
    call = await sim.wait_for_call("TriggerMessage")
    assert call.payload["requestedMessage"] == "BootNotification"
    call = await sim.wait_for_call("TriggerMessage")
    assert call.payload["requestedMessage"] == "StatusNotification"
    await wait_configured(hass, entry)
    charger = entry.runtime_data.charger
    await wait_until(hass, lambda: charger.info.model is not None)
    assert not sim.rejected_time  # every currentTime had milliseconds
    assert charger.online
    assert charger.last_boot is not None


async def test_remote_start_and_stop(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """The charging switch sends RemoteStart with the configured tag, and RemoteStop."""
    await online_sim.plug_in()
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: f"switch.{E}_charging"}, blocking=True
    )
    call = await online_sim.wait_for_call("RemoteStartTransaction")
    assert call.payload == {"connectorId": 1, "idTag": "HomeAssistant"}
    await wait_for_state(hass, f"switch.{E}_charging", "on")
    # The charger reports Charging once it has our transaction id.
    await wait_for_state(hass, f"sensor.{E}_status", "charging")
    tx_id = entry.runtime_data.charger.active_transaction.transaction_id

    await hass.services.async_call(
        "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: f"switch.{E}_charging"}, blocking=True
    )
    call = await online_sim.wait_for_call("RemoteStopTransaction")
    assert call.payload == {"transactionId": tx_id}
    await wait_for_state(hass, f"switch.{E}_charging", "off")
    assert entry.runtime_data.charger.last_transaction.stop_reason == "Remote"

    # Nothing to stop now: a clear validation error.
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: f"switch.{E}_charging"}, blocking=True
        )
    assert err.value.translation_key == "invalid_argument"


async def test_remote_start_rejected(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A refused command reaches the user as a translated error."""
    online_sim.reply_to["RemoteStartTransaction"] = "Rejected"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: f"switch.{E}_charging"}, blocking=True
        )
    assert err.value.translation_key == "call_rejected"
    assert err.value.translation_placeholders["status"] == "Rejected"
    assert hass.states.get(f"switch.{E}_charging").state == "off"


async def test_current_limit(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """The number sets a ChargePointMaxProfile within the charger's stack level and unit."""
    number = f"number.{E}_charging_current_limit"
    assert float(hass.states.get(number).state) == 32  # no limit yet: the installation max
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: number, ATTR_VALUE: 10}, blocking=True
    )
    call = await online_sim.wait_for_call("SetChargingProfile")
    profile = call.payload["csChargingProfiles"]
    assert call.payload["connectorId"] == 0
    assert profile["chargingProfilePurpose"] == "ChargePointMaxProfile"
    assert profile["stackLevel"] == int(online_sim.configuration["ChargeProfileMaxStackLevel"])
    assert profile["chargingSchedule"]["chargingRateUnit"] == "A"
    assert profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 10
    assert online_sim.current_limit_a == 10
    await wait_for_state(hass, number, "10.0")

    # The charger refuses: a translated error, and the entity keeps the real value.
    online_sim.reject_charging_profiles = True
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: number, ATTR_VALUE: 12}, blocking=True
        )
    assert err.value.translation_key == "call_rejected"
    assert hass.states.get(number).state == "10.0"

    # Out of range: 0 pauses, 6..max charges, anything else is refused before sending.
    with pytest.raises(ServiceValidationError) as verr:
        await hass.services.async_call(
            "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: number, ATTR_VALUE: 3}, blocking=True
        )
    assert verr.value.translation_key == "invalid_argument"
    assert "0 A (pause) or between 6 and 32 A" in str(verr.value)

    refused = await online_sim.wait_for_call("SetChargingProfile")
    assert (
        refused.payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0][
            "limit"
        ]
        == 12
    )

    # After a reconnect the limit is applied again.
    online_sim.reject_charging_profiles = False
    await online_sim.drop()
    await wait_until(hass, lambda: not entry.runtime_data.charger.online)
    await online_sim.reconnect()
    call = await online_sim.wait_for_call("SetChargingProfile")
    assert (
        call.payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
        == 10
    )


async def test_current_limit_in_watts_for_power_only_charger(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """A charger that takes only W profiles gets the limit converted."""
    sim = make_sim(entry, profile="generic")
    sim.configuration["ChargingScheduleAllowedChargingRateUnit"] = "Power"
    await sim.connect()
    await sim.boot()
    await wait_configured(hass, entry)
    await hass.services.async_call(
        "number",
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: f"number.{E}_charging_current_limit", ATTR_VALUE: 16},
        blocking=True,
    )
    call = await sim.wait_for_call("SetChargingProfile")
    schedule = call.payload["csChargingProfiles"]["chargingSchedule"]
    assert schedule["chargingRateUnit"] == "W"
    assert schedule["chargingSchedulePeriod"][0]["limit"] == 16 * 230 * 3


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_buttons(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Restart, hard reset, unlock and refresh send the right commands."""
    await hass.services.async_call(
        "button", SERVICE_PRESS, {ATTR_ENTITY_ID: f"button.{E}_unlock_connector"}, blocking=True
    )
    assert (await online_sim.wait_for_call("UnlockConnector")).payload == {"connectorId": 1}

    await hass.services.async_call(
        "button", SERVICE_PRESS, {ATTR_ENTITY_ID: f"button.{E}_refresh"}, blocking=True
    )
    first = await online_sim.wait_for_call("TriggerMessage")
    second = await online_sim.wait_for_call("TriggerMessage")
    assert {first.payload["requestedMessage"], second.payload["requestedMessage"]} == {
        "StatusNotification",
        "MeterValues",
    }

    await hass.services.async_call(
        "button", SERVICE_PRESS, {ATTR_ENTITY_ID: f"button.{E}_hard_reset"}, blocking=True
    )
    assert (await online_sim.wait_for_call("Reset")).payload == {"type": "Hard"}

    await online_sim.wait_connected(count=2)
    await wait_until(hass, lambda: entry.runtime_data.charger.online)
    await hass.services.async_call(
        "button", SERVICE_PRESS, {ATTR_ENTITY_ID: f"button.{E}_restart"}, blocking=True
    )
    assert (await online_sim.wait_for_call("Reset")).payload == {"type": "Soft"}


async def test_hard_reset_disabled_by_default(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The hard reset is there but disabled until the owner enables it."""
    reg = er.async_get(hass).async_get(f"button.{E}_hard_reset")
    assert reg is not None
    assert reg.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_availability_switch(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """The available switch sends ChangeAvailability and follows the charger's status."""
    switch = f"switch.{E}_available"
    assert hass.states.get(switch).state == "on"
    await hass.services.async_call(
        "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: switch}, blocking=True
    )
    call = await online_sim.wait_for_call("ChangeAvailability")
    assert call.payload == {"connectorId": 0, "type": "Inoperative"}
    await wait_for_state(hass, switch, "off")
    await wait_for_state(hass, f"sensor.{E}_status", "unavailable")
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: switch}, blocking=True
    )
    call = await online_sim.wait_for_call("ChangeAvailability")
    assert call.payload["type"] == "Operative"
    await wait_for_state(hass, switch, "on")


async def test_unite_features_and_register_reset(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """Unite: Vestel keys one at a time, TRUE/FALSE, LED level, register reset per session."""
    sim = make_sim(entry, profile="unite")
    await sim.connect()
    await sim.boot()
    await sim.status("Available")
    await wait_configured(hass, entry)
    charger = entry.runtime_data.charger
    assert charger.model.value == "unite"
    assert charger.features.get_configuration_max_keys == 1

    # Free charging and LED brightness appear because the Unite has them.
    free = await wait_for_state(hass, f"switch.{E}_free_charging", "off")
    assert free is not None
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: f"switch.{E}_free_charging"}, blocking=True
    )
    call = await sim.wait_for_call("ChangeConfiguration")
    assert call.payload == {"key": "FreeModeActive", "value": "TRUE"}
    await wait_for_state(hass, f"switch.{E}_free_charging", "on")

    led = f"select.{E}_led_brightness"
    await wait_for_state(hass, led, "mid")
    await hass.services.async_call(
        "select",
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: led, ATTR_OPTION: "very_low"},
        blocking=True,
    )
    call = await sim.wait_for_call("ChangeConfiguration")
    assert call.payload == {"key": "LedDimmingLevel", "value": "veryLow"}
    await wait_for_state(hass, led, "very_low")

    # Two sessions; the Unite's register restarts at 0 each time.
    await sim.charge(samples=3, power_w=7000)
    first = sim.register_wh
    await sim.stop_transaction()
    await sim.unplug()
    await sim.charge(samples=2, power_w=7000)
    second = sim.register_wh
    await sim.stop_transaction()
    assert first > 0 and second > 0
    await wait_for_state(
        hass,
        f"sensor.{E}_energy",
        lambda s: (
            s.state not in ("unknown", "unavailable")
            and float(s.state) == pytest.approx((first + second) / 1000, abs=0.002)
        ),
    )
    assert charger.energy.resets >= 1
    assert charger.last_transaction.energy_wh == pytest.approx(second, abs=1)


async def test_next_has_no_unite_entities(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A feature the model does not have gets no entity."""
    assert hass.states.get(f"switch.{E}_free_charging") is None
    assert hass.states.get(f"select.{E}_led_brightness") is None


async def test_live_normalises_kw_and_kwh(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """The Live reports kW and kWh; sensors show the same numbers as W/Wh chargers."""
    sim = make_sim(entry, profile="live")
    await sim.connect()
    await sim.boot()
    await wait_configured(hass, entry)
    assert entry.runtime_data.charger.model.value == "live"
    await sim.charge(samples=2, power_w=3700)
    power = await wait_for_state(hass, f"sensor.{E}_power", lambda s: s.state not in ("unknown",))
    assert float(power.state) == pytest.approx(3.7, abs=0.2)
    energy = await wait_for_state(
        hass, f"sensor.{E}_energy", lambda s: s.state not in ("unknown", "unavailable")
    )
    assert float(energy.state) == pytest.approx(sim.register_wh / 1000, abs=0.01)


async def test_offline_queue_replayed_in_order(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """MeterValues and StopTransaction queued while offline are applied in order."""
    now = datetime.now(UTC)
    await online_sim.plug_in()
    await online_sim.start_transaction("TAG", timestamp=now - timedelta(minutes=30))
    await online_sim.meter_values(power_w=11000, timestamp=now - timedelta(minutes=25))
    charger = entry.runtime_data.charger
    tx_id = charger.active_transaction.transaction_id
    online_sim.go_offline()
    await wait_until(hass, lambda: not charger.online)
    await wait_for_state(hass, f"sensor.{E}_status", "offline")
    base = now - timedelta(minutes=10)
    await online_sim.meter_values(power_w=11000, timestamp=base)
    await online_sim.meter_values(power_w=11000, timestamp=base + timedelta(minutes=1))
    assert await online_sim.stop_transaction(timestamp=base + timedelta(minutes=2)) is None
    final = online_sim.register_wh

    await online_sim.reconnect()
    await wait_until(hass, lambda: charger.last_transaction is not None)
    tx = charger.last_transaction
    assert tx.transaction_id == tx_id
    assert tx.meter_stop_wh == pytest.approx(final)
    assert abs(tx.stop_time - (base + timedelta(minutes=2))) < timedelta(milliseconds=1)
    assert charger.energy.lifetime_wh == pytest.approx(final)
    await wait_for_state(
        hass,
        f"sensor.{E}_energy",
        lambda s: s.state != "unavailable" and float(s.state) == pytest.approx(final / 1000),
    )


async def test_restart_mid_session(
    hass: HomeAssistant, make_sim: Callable[..., SimulatedCharger], socket_enabled: None
) -> None:
    """An open transaction survives a Home Assistant restart; its Stop closes it after."""
    config_entry = await setup_entry(hass)
    sim = await connect_and_boot(make_sim(config_entry))
    tx_id = await sim.charge(samples=2, power_w=11000)

    # "Restart": unload, forget everything in memory, set up again on a new port.
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    hass.data.pop(DOMAIN)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    charger = config_entry.runtime_data.charger
    assert charger.active_transaction is not None
    assert charger.active_transaction.transaction_id == tx_id
    assert charger.active_transaction.id_tag == "TAG"

    sim.url = f"ws://127.0.0.1:{config_entry.runtime_data.port}/ocpp/{IDENTITY}"
    await sim.reconnect()
    await sim.meter_values(power_w=11000)
    await sim.stop_transaction()
    await wait_until(hass, lambda: charger.active_transaction is None)
    assert charger.last_transaction.transaction_id == tx_id
    assert charger.last_transaction.meter_stop_wh == pytest.approx(sim.register_wh)
    # A new session gets a new id, never one used before.
    await sim.unplug()
    assert await sim.charge(samples=1) == tx_id + 1


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
