"""The binary_sensor platform: every one of both chargers' binary sensors, pinned by a snapshot."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from syrupy.assertion import SnapshotAssertion

from .platform_rig import loaded, snapshot_entries


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "socket_enabled")
async def test_binary_sensor_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Unique ids, names, classes and states of all binary sensors."""
    async with loaded(hass, Platform.BINARY_SENSOR) as rig:
        await snapshot_entries(hass, entity_registry, snapshot, rig.entries)
