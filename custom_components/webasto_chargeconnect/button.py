"""Buttons: restart, hard reset, unlock, refresh."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# Home Assistant 2026.10 moved the device classes to the platforms' const modules and re-exports
# them without __all__ (mypy --strict calls that implicit); 2025.4 defines them in the package.
from homeassistant.components.button import (  # type: ignore[attr-defined, unused-ignore]
    ButtonDeviceClass,
    ButtonEntity,
    ButtonEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ChargeConnectConfigEntry, ChargeConnectRuntimeData
from .entity import ChargeConnectEntity, ChargeConnectEntityDescription, async_add_when_supported
from .helpers import handle_errors

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class ChargeConnectButtonDescription(ChargeConnectEntityDescription, ButtonEntityDescription):
    """A button and what it does."""

    press_fn: Callable[[ChargeConnectRuntimeData], Awaitable[Any]]


BUTTONS: tuple[ChargeConnectButtonDescription, ...] = (
    ChargeConnectButtonDescription(
        key="restart",
        translation_key="restart",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        press_fn=lambda d: d.charger.reset(hard=False),
    ),
    ChargeConnectButtonDescription(
        key="hard_reset",
        translation_key="hard_reset",
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=False,
        press_fn=lambda d: d.charger.reset(hard=True),
    ),
    ChargeConnectButtonDescription(
        key="unlock",
        translation_key="unlock",
        entity_category=EntityCategory.CONFIG,
        press_fn=lambda d: d.charger.unlock_connector(),
    ),
    ChargeConnectButtonDescription(
        key="refresh",
        translation_key="refresh",
        entity_category=EntityCategory.DIAGNOSTIC,
        press_fn=lambda d: d.charger.refresh(),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charger's buttons."""
    coordinator = entry.runtime_data.coordinator
    async_add_when_supported(
        entry,
        async_add_entities,
        BUTTONS,
        lambda description: ChargeConnectButton(coordinator, description),
    )


class ChargeConnectButton(ChargeConnectEntity, ButtonEntity):
    """A button of a Webasto charger."""

    entity_description: ChargeConnectButtonDescription

    @handle_errors
    async def async_press(self) -> None:
        """Send the command."""
        await self.entity_description.press_fn(self.runtime_data)
