"""Actions, diagnostics, translations and state-write economy."""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import voluptuous as vol
import yaml

from custom_components.webasto_chargeconnect.const import DOMAIN
from webasto_sim import SimulatedCharger

from ..common import PASSWORD
from .conftest import wait_configured, wait_for_state, wait_until

COMPONENT = Path(__file__).parents[2] / "custom_components" / DOMAIN
E = "webasto_next_ws123456"


async def test_get_configuration(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """get_configuration returns the charger's keys as a response."""
    response = await hass.services.async_call(
        DOMAIN,
        "get_configuration",
        {"config_entry": entry.entry_id, "keys": ["HeartbeatInterval", "NoSuchKey"]},
        blocking=True,
        return_response=True,
    )
    assert (
        response["configuration"]["HeartbeatInterval"]["value"]
        == (online_sim.configuration["HeartbeatInterval"])
    )
    assert response["unknown_keys"] == ["NoSuchKey"]
    everything = await hass.services.async_call(
        DOMAIN,
        "get_configuration",
        {"config_entry": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert set(everything["configuration"]) >= {"MeterValueSampleInterval", "HeartbeatInterval"}


async def test_get_configuration_one_key_at_a_time_on_unite(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """GetConfigurationMaxKeys = 1: three keys are asked in three calls."""
    sim = make_sim(entry, profile="unite")
    await sim.connect()
    await sim.boot()
    await wait_configured(hass, entry)
    sim.received.clear()
    response = await hass.services.async_call(
        DOMAIN,
        "get_configuration",
        {"config_entry": entry.entry_id, "keys": ["FreeModeActive", "LedDimmingLevel", "Bogus"]},
        blocking=True,
        return_response=True,
    )
    calls = [c.payload for c in sim.received if c.action == "GetConfiguration"]
    assert calls == [{"key": ["FreeModeActive"]}, {"key": ["LedDimmingLevel"]}, {"key": ["Bogus"]}]
    assert response["configuration"]["FreeModeActive"]["value"] == "FALSE"
    assert response["unknown_keys"] == ["Bogus"]


async def test_change_configuration(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """change_configuration reports the charger's answer; a refusal is an error."""
    response = await hass.services.async_call(
        DOMAIN,
        "change_configuration",
        {"config_entry": entry.entry_id, "key": "HeartbeatInterval", "value": "120"},
        blocking=True,
        return_response=True,
    )
    assert response == {"status": "Accepted", "reboot_required": False}
    assert online_sim.configuration["HeartbeatInterval"] == "120"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "change_configuration",
            {"config_entry": entry.entry_id, "key": "NoSuchKey", "value": "1"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "call_rejected"
    assert err.value.translation_placeholders["status"] == "NotSupported"
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "change_configuration",
            {"config_entry": entry.entry_id, "key": "", "value": "1"},
            blocking=True,
            return_response=True,
        )


async def test_update_firmware(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """update_firmware sends UpdateFirmware; the firmware status sensor follows."""
    await hass.services.async_call(
        DOMAIN,
        "update_firmware",
        {"config_entry": entry.entry_id, "location": "https://example.com/fw.bin", "retries": 2},
        blocking=True,
    )
    call = await online_sim.wait_for_call("UpdateFirmware")
    assert call.payload["location"] == "https://example.com/fw.bin"
    assert call.payload["retries"] == 2
    assert call.payload["retrieveDate"].endswith("Z")
    await wait_for_state(hass, f"sensor.{E}_firmware_status", "installed")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "update_firmware",
            {
                "config_entry": entry.entry_id,
                "location": "file:///etc/passwd",
                "retrieve_at": "2026-12-01 03:00:00",
            },
            blocking=True,
        )
    assert err.value.translation_key == "invalid_argument"


async def test_action_targets(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """A missing or unloaded entry is a translated validation error."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_configuration",
            {"config_entry": "nope"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "entry_not_found"
    await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_configuration",
            {"config_entry": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "entry_not_loaded"


async def test_offline_action_error(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """An action on a charger that never connected says so."""
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_configuration",
            {"config_entry": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "charger_offline"


async def test_diagnostics_redact_password(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
) -> None:
    """Diagnostics show the charger, never its password."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert PASSWORD not in text
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    assert diagnostics["charger"]["identity"] == "NEXT-WS123456"
    assert diagnostics["charger"]["online"] is True
    assert diagnostics["charger"]["model"] == "next"
    assert diagnostics["server"]["port"] == entry.runtime_data.port


async def test_state_written_only_when_changed(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A repeated, identical meter value writes no state; a changed one writes only its own."""
    await online_sim.charge(samples=1, power_w=7000)
    await wait_for_state(hass, f"sensor.{E}_power", lambda s: s.state not in ("unknown",))
    await online_sim.meter_values(power_w=7000, energy_wh=online_sim.register_wh)
    await hass.async_block_till_done()
    written: list[str] = []

    @callback
    def record(event: Event) -> None:
        if event.data["entity_id"].startswith(("sensor.", "binary_sensor.", "switch.")):
            written.append(event.data["entity_id"])

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    charger = entry.runtime_data.charger
    before = charger.measurements.timestamp
    await online_sim.meter_values(power_w=7000, energy_wh=online_sim.register_wh)
    await wait_until(hass, lambda: charger.measurements.timestamp != before)
    assert written == []
    await online_sim.meter_values(power_w=3500, energy_wh=online_sim.register_wh)
    await wait_for_state(hass, f"sensor.{E}_power", lambda s: float(s.state) == 3.5)
    unsub()
    assert f"sensor.{E}_power" in written
    assert f"sensor.{E}_energy" not in written
    assert f"sensor.{E}_status" not in written


def _keys(data: dict, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in data.items():
        out.add(prefix + key)
        if isinstance(value, dict):
            out |= _keys(value, f"{prefix}{key}.")
    return out


def test_translations_complete() -> None:
    """en, nl and de have the same keys; every entity, action and error is translated."""
    en = json.loads((COMPONENT / "translations" / "en.json").read_text())
    for lang in ("nl", "de"):
        other = json.loads((COMPONENT / "translations" / f"{lang}.json").read_text())
        assert _keys(en) ^ _keys(other) == set(), lang
    services = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    icons = json.loads((COMPONENT / "icons.json").read_text())
    for name, spec in services.items():
        assert name in en["services"]
        assert name in icons["services"]
        assert set(spec["fields"]) == set(en["services"][name]["fields"])
    from custom_components.webasto_chargeconnect.chargeconnect import exceptions

    keys = {
        cls.translation_key
        for cls in vars(exceptions).values()
        if isinstance(cls, type) and issubclass(cls, exceptions.ChargeConnectError)
    }
    assert keys <= set(en["exceptions"])
