"""The Unite as a real Vestel EVC04 behaves (firmware v3.118, GetConfiguration in evcc #15726).

Words for the phase count, booleans in two spellings, pretty-printed frames and an
unprompted DataTransfer after boot: over the real websocket.

The quirks parser and the simulator's Unite profile on their own: tests/library/test_vestel.py.
"""

from __future__ import annotations

from collections.abc import Callable
import logging

from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.chargeconnect.models import ChargerModel
from custom_components.webasto_chargeconnect.chargeconnect.ocpp import quirks
from webasto_sim import SimulatedCharger

from .conftest import wait_configured

E = "webasto_next_ws123456"


async def test_real_unite_boots_cleanly(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    make_sim: Callable[..., SimulatedCharger],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Pretty frames and the unprompted DataTransfer are answered; no warning is logged."""
    sim = make_sim(entry, profile="unite")
    caplog.set_level(logging.WARNING, logger="custom_components.webasto_chargeconnect")
    await sim.connect()
    await sim.boot()
    await sim.status("Available")
    await wait_configured(hass, entry)
    charger = entry.runtime_data.charger
    # The DataTransfer after boot was accepted and kept for diagnostics.
    assert sim.data_transfer_replies == [{"status": "Accepted"}]
    recorded = charger.data_transfers[-1]
    assert recorded["vendorId"] == "generalConfiguration"
    assert recorded["messageId"] == "setMeterConfiguration"
    # The charger did send multi-line frames (GetConfiguration answers among them).
    frames = list(sim.sent_frames)
    assert any("\n    " in frame and "configurationKey" in frame for frame in frames)
    assert any(frame.startswith('[2,"') and 'BootNotification",{\n' in frame for frame in frames)
    assert charger.setup_error is None
    assert charger.model is ChargerModel.UNITE
    assert charger.configuration["CurrentLimiterPhase"] == "threePhase"
    assert charger.features.phases == 3
    assert charger.connection is not None and charger.connection.call_errors_sent == 0
    ours = [r for r in caplog.records if r.name.startswith("custom_components")]
    assert [r.getMessage() for r in ours if r.levelno >= logging.WARNING] == []


async def test_single_phase_unite_limit_in_watts(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """A single-phase Unite that takes W profiles gets 16 A as 16 x 230 W, not x 3."""
    sim = make_sim(entry, profile="unite-1p")
    sim.configuration["ChargingScheduleAllowedChargingRateUnit"] = "Power"
    await sim.connect()
    await sim.boot()
    await wait_configured(hass, entry)
    charger = entry.runtime_data.charger
    assert charger.features.phases == 1
    assert charger.features.rate_unit == "W"
    await hass.services.async_call(
        "number",
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: f"number.{E}_charging_current_limit", ATTR_VALUE: 16},
        blocking=True,
    )
    call = await sim.wait_for_call("SetChargingProfile")
    schedule = call.payload["csChargingProfiles"]["chargingSchedule"]
    assert schedule["chargingRateUnit"] == "W"
    assert schedule["chargingSchedulePeriod"][0]["limit"] == 16 * 230
    # The charger itself reads it back as 16 A on its one phase.
    assert sim.current_limit_a == 16


async def test_vestel_booleans_keep_their_spelling(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """A key the Unite writes as False is changed as True (and read back as a boolean)."""
    sim = make_sim(entry, profile="unite")
    await sim.connect()
    await sim.boot()
    await wait_configured(hass, entry)
    charger = entry.runtime_data.charger
    assert await charger.change_configuration("LockableCable", "true") == "Accepted"
    assert sim.configuration["LockableCable"] == "True"
    await charger.refresh_configuration()
    assert quirks.parse_bool(charger.configuration["LockableCable"]) is True
