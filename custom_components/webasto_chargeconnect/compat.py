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

# Schemas: Home Assistant 2026.10 replaced voluptuous with probatio, which keeps voluptuous' API
# (and aliases ``voluptuous`` to itself for integrations that still import it); its type hints
# ask for probatio's classes. 2025.4 has only voluptuous. Goes with a floor that has probatio.
try:
    import probatio as vol
except ImportError:
    import voluptuous as vol  # type: ignore[no-redef, unused-ignore]

__all__ = ["charger_device", "device_config_entry_ids", "vol"]


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


def device_config_entry_ids(device: Any) -> list[str]:
    """The config entries a device belongs to.

    Since Home Assistant 2026.8 a device belongs to one config entry, ``config_entry_id``;
    ``config_entries`` (the set older versions have, 2025.4 included) is deprecated and stops
    working in 2027.10. Goes with a floor of 2026.8.
    """
    if hasattr(device, "config_entry_id"):
        entry_id: str | None = getattr(device, "config_entry_id")  # noqa: B009 (not in 2025.4)
        return [] if entry_id is None else [entry_id]
    return list(device.config_entries)
