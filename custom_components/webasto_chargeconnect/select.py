"""LED dimming level (the Unite's LedDimmingLevel)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ChargeConnectConfigEntry
from .entity import ChargeConnectEntity
from .helpers import handle_errors

PARALLEL_UPDATES = 1

# The charger's level name -> the select's (translated) option.
_OPTION = {
    "veryLow": "very_low",
    "low": "low",
    "mid": "mid",
    "high": "high",
    "timeBased": "time_based",
}
_LEVEL = {option: level for level, option in _OPTION.items()}

LED_DIMMING = SelectEntityDescription(
    key="led_dimming",
    translation_key="led_dimming",
    entity_category=EntityCategory.CONFIG,
    options=list(_OPTION.values()),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the LED select once the charger is known to have it."""
    coordinator = entry.runtime_data.coordinator
    added = False

    @callback
    def add_new() -> None:
        nonlocal added
        if not added and coordinator.charger.features.led_dimming:
            added = True
            async_add_entities([ChargeConnectLedDimming(coordinator, LED_DIMMING)])

    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))


class ChargeConnectLedDimming(ChargeConnectEntity, SelectEntity):
    """The LED dimming level."""

    @property
    def current_option(self) -> str | None:
        """The level the charger reports."""
        level = self.charger.led_dimming_level
        return None if level is None else _OPTION.get(level)

    def state_signature(self) -> object:
        """Only the value matters."""
        return self.current_option

    @handle_errors
    async def async_select_option(self, option: str) -> None:
        """Set the level."""
        await self.charger.set_led_dimming_level(_LEVEL[option])
