"""The button platform: every one of both chargers' buttons, pinned by a snapshot."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from syrupy.assertion import SnapshotAssertion

from .platform_rig import loaded, snapshot_entries


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "socket_enabled")
async def test_button_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Unique ids, names, classes and categories of all buttons."""
    async with loaded(hass, Platform.BUTTON) as rig:
        await snapshot_entries(hass, entity_registry, snapshot, rig.entries)
