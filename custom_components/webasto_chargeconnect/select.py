"""LED dimming level (the Unite's LedDimmingLevel)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import LED_DIMMING_TO_HA
from .coordinator import ChargeConnectConfigEntry, ChargeConnectRuntimeData
from .entity import ChargeConnectEntity, ChargeConnectEntityDescription, async_add_when_supported
from .helpers import handle_errors

PARALLEL_UPDATES = 1

_LED_LEVEL = {option: level for level, option in LED_DIMMING_TO_HA.items()}


@dataclass(frozen=True, kw_only=True)
class ChargeConnectSelectDescription(ChargeConnectEntityDescription, SelectEntityDescription):
    """A select, how to read it and how to choose."""

    value_fn: Callable[[ChargeConnectRuntimeData], str | None]
    select_fn: Callable[[ChargeConnectRuntimeData, str], Awaitable[Any]]


def _led_dimming(data: ChargeConnectRuntimeData) -> str | None:
    level = data.charger.led_dimming_level
    return None if level is None else LED_DIMMING_TO_HA.get(level)


LED_DIMMING = ChargeConnectSelectDescription(
    key="led_dimming",
    translation_key="led_dimming",
    entity_category=EntityCategory.CONFIG,
    options=list(LED_DIMMING_TO_HA.values()),
    value_fn=_led_dimming,
    select_fn=lambda d, option: d.charger.set_led_dimming_level(_LED_LEVEL[option]),
    exists_fn=lambda d: d.charger.features.led_dimming,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the LED select once the charger is known to have it."""
    coordinator = entry.runtime_data.coordinator
    async_add_when_supported(
        entry,
        async_add_entities,
        (LED_DIMMING,),
        lambda description: ChargeConnectSelect(coordinator, description),
    )


class ChargeConnectSelect(ChargeConnectEntity, SelectEntity):
    """A select of a Webasto charger."""

    entity_description: ChargeConnectSelectDescription

    @property
    def current_option(self) -> str | None:
        """The option the charger reports."""
        return self.entity_description.value_fn(self.runtime_data)

    @handle_errors
    async def async_select_option(self, option: str) -> None:
        """Send the choice."""
        await self.entity_description.select_fn(self.runtime_data, option)
