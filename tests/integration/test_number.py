"""The number platform: every one of both chargers' numbers, pinned by a snapshot."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from syrupy.assertion import SnapshotAssertion

from .platform_rig import loaded, snapshot_entries


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "socket_enabled")
async def test_number_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The current limit (OCPP) and the Next's LED brightness (web UI)."""
    async with loaded(hass, Platform.NUMBER) as rig:
        await snapshot_entries(hass, entity_registry, snapshot, rig.entries)
