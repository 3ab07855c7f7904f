"""The select platform: every one of both chargers' selects, pinned by a snapshot."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from syrupy.assertion import SnapshotAssertion

from .platform_rig import loaded, snapshot_entries


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "socket_enabled")
async def test_select_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The Unite's LED dimming level; the Next has none."""
    async with loaded(hass, Platform.SELECT) as rig:
        assert not er.async_entries_for_config_entry(entity_registry, rig.next_entry.entry_id)
        await snapshot_entries(hass, entity_registry, snapshot, (rig.unite_entry,))
