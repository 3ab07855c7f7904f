"""Home Assistant API that differs between the versions this integration supports.

Each shim names the versions it bridges and when it can go: the day the floor (``hacs.json``)
reaches the version that introduced the newer API, the old branch is deleted. Both branches are
exercised by the test suites (the floor and the newest Home Assistant).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
import inspect
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import Unauthorized, UnknownUser
from homeassistant.helpers import device_registry as dr, service

from .const import DOMAIN

# Schemas: Home Assistant 2026.10 replaced voluptuous with probatio, which keeps voluptuous' API
# (and aliases ``voluptuous`` to itself for integrations that still import it); its type hints
# ask for probatio's classes. 2025.4 has only voluptuous. Goes with a floor that has probatio.
try:
    import probatio as vol
except ImportError:
    import voluptuous as vol  # type: ignore[no-redef, unused-ignore]

__all__ = ["charger_device", "device_config_entry_ids", "register_admin_service", "vol"]


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


def register_admin_service(
    hass: HomeAssistant,
    domain: str,
    name: str,
    handler: Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]],
    *,
    schema: vol.Schema,
    supports_response: SupportsResponse,
) -> None:
    """Register an action that only administrators (and automations, scripts: no user) may call.

    A call whose context names a user who is not an administrator raises ``Unauthorized``
    (``UnknownUser`` for a user that does not exist) before the handler runs.
    ``homeassistant.helpers.service.async_register_admin_service`` does that, but only from
    Home Assistant 2025.6 (home-assistant/core#144837) does it take ``supports_response`` and
    hand the handler's response back; 2025.4 (the floor) registers without responses and drops
    what the handler returns, so there the same check is done here. Goes with a floor of 2025.6.
    """
    register: Any = service.async_register_admin_service
    if "supports_response" in inspect.signature(register).parameters:
        register(hass, domain, name, handler, schema, supports_response)
        return

    async def admin_only(call: ServiceCall) -> ServiceResponse:
        if user_id := call.context.user_id:
            user = await hass.auth.async_get_user(user_id)
            if user is None:
                raise UnknownUser(context=call.context)
            if not user.is_admin:
                raise Unauthorized(context=call.context)
        return await handler(call)

    hass.services.async_register(
        domain, name, admin_only, schema=schema, supports_response=supports_response
    )
