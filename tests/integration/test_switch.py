"""The switch platform: every one of both chargers' switches, pinned by a snapshot."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from syrupy.assertion import SnapshotAssertion

from .platform_rig import loaded, snapshot_entries


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "socket_enabled")
async def test_switch_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Charging, availability, free charging (Unite: OCPP, Next: web UI) and app control."""
    async with loaded(hass, Platform.SWITCH) as rig:
        await snapshot_entries(hass, entity_registry, snapshot, rig.entries)
