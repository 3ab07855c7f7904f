"""The ready dashboard in docs/ only names entities the integration really creates."""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from webasto_sim import SimulatedCharger

DASHBOARD = Path(__file__).parents[2] / "docs" / "dashboard.yaml"
_ENTITY_ID = re.compile(r"^(sensor|binary_sensor|switch|number|select|button|event|calendar)\.\w+$")


def _entity_ids(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "perform_action":  # an action name, not an entity
                found |= _entity_ids(value)
    elif isinstance(node, list):
        for value in node:
            found |= _entity_ids(value)
    elif isinstance(node, str) and _ENTITY_ID.match(node):
        found.add(node)
    return found


async def test_dashboard_entities_exist(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Every entity id in docs/dashboard.yaml is an entity of the simulated Next."""
    text = await hass.async_add_executor_job(DASHBOARD.read_text)
    wanted = _entity_ids(yaml.safe_load(text))
    assert len(wanted) > 30
    registry = er.async_get(hass)
    ours = {e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
    assert sorted(wanted - ours) == []
