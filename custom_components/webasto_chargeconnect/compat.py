"""Home Assistant API that differs between the versions this integration supports.

Each shim names the versions it bridges and when it can go: the day the floor (``hacs.json``)
reaches the version that introduced the newer API, the old branch is deleted. Both branches are
exercised by the test suites (the floor and the newest Home Assistant).
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN


def charger_device(hass: HomeAssistant, entry_id: str, identity: str) -> dr.DeviceEntry | None:
    """The device of a charger entry.

    Home Assistant 2026.8 made a device belong to one config entry and deprecated
    ``async_get_device(identifiers=…)`` (it stops working in 2027.8) for
    ``async_get_device_by_identifier(identifier, config_entry_id)``, which 2025.4 lacks.
    Goes with a floor of 2026.8.
    """
    registry = dr.async_get(hass)
    by_identifier: Any = getattr(registry, "async_get_device_by_identifier", None)
    if by_identifier is not None:
        device: dr.DeviceEntry | None = by_identifier((DOMAIN, identity), entry_id)
        return device
    return registry.async_get_device(identifiers={(DOMAIN, identity)})
