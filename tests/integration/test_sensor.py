"""The sensor platform: every one of both chargers' sensors, pinned by a snapshot."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus, FirmwareStatus
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.webasto_chargeconnect.chargeconnect import ConnectorStatus
from custom_components.webasto_chargeconnect.const import (
    CONNECTOR_STATUS_TO_HA,
    ERROR_CODE_OPTIONS,
    ERROR_CODE_TO_HA,
    FIRMWARE_STATUS_OPTIONS,
    FIRMWARE_STATUS_TO_HA,
    STATUS_OPTIONS,
)
from webasto_sim import SimulatedCharger

from .conftest import wait_for_state
from .platform_rig import loaded, snapshot_entries

E = "webasto_next_ws123456"


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "socket_enabled")
async def test_sensor_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Unique ids, names, classes, units and states of all sensors."""
    async with loaded(hass, Platform.SENSOR) as rig:
        await snapshot_entries(hass, entity_registry, snapshot, rig.entries)


def test_enum_states_cover_the_protocol() -> None:
    """Every OCPP 1.6 status, error code and firmware status has a state of its own."""
    statuses = {status.value for status in ChargePointStatus}
    assert {s.value for s in CONNECTOR_STATUS_TO_HA} == statuses | {ConnectorStatus.UNKNOWN}
    assert set(ERROR_CODE_TO_HA) == {code.value for code in ChargePointErrorCode}
    assert set(FIRMWARE_STATUS_TO_HA) <= {status.value for status in FirmwareStatus}
    for states in (STATUS_OPTIONS, ERROR_CODE_OPTIONS, FIRMWARE_STATUS_OPTIONS):
        assert len(set(states)) == len(states)


async def test_error_code_state(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """An EV communication error is shown as one (snake-casing "EV..." once made it other_error)."""
    await online_sim.status("Faulted", error_code="EVCommunicationError")
    await wait_for_state(hass, f"sensor.{E}_error", "ev_communication_error")
    await online_sim.status("Available", error_code="NoError")
    await wait_for_state(hass, f"sensor.{E}_error", "no_error")
    await online_sim.status("Faulted", error_code="OverCurrentFailure")
    await wait_for_state(hass, f"sensor.{E}_error", "over_current_failure")
