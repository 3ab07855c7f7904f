"""The charging current limit: what solar-surplus automations drive."""

from __future__ import annotations

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ChargeConnectConfigEntry
from .entity import ChargeConnectEntity
from .helpers import handle_errors
from .webui_coordinator import MODEL_NEXT, WebUiEntity

PARALLEL_UPDATES = 1

CURRENT_LIMIT = NumberEntityDescription(
    key="current_limit",
    translation_key="current_limit",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_min_value=0,
    native_step=1,
    mode=NumberMode.SLIDER,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the current limit of a charger that does smart charging."""
    coordinator = entry.runtime_data.coordinator
    if coordinator.charger.features.smart_charging:
        async_add_entities([ChargeConnectCurrentLimit(coordinator, CURRENT_LIMIT)])
    webui = entry.runtime_data.webui
    # OCPP has no LED brightness on the Next; its web UI does (0-100 %).
    if webui is not None and webui.model == MODEL_NEXT:
        async_add_entities([WebUiLedBrightness(webui, LED_BRIGHTNESS)])


class ChargeConnectCurrentLimit(ChargeConnectEntity, NumberEntity):
    """Charging current limit in A (a ChargePointMaxProfile; 0 pauses charging)."""

    @property
    def native_max_value(self) -> float:
        """The installation's maximum current."""
        return self.charger.options.max_current_a

    @property
    def native_value(self) -> float | None:
        """The limit the charger accepted (its maximum while none was set)."""
        limit = self.charger.current_limit_a
        return self.charger.options.max_current_a if limit is None else limit

    def state_signature(self) -> object:
        """Value and range."""
        return (self.native_value, self.native_max_value)

    @handle_errors
    async def async_set_native_value(self, value: float) -> None:
        """Send the new limit; on a refusal the entity keeps showing the real one."""
        try:
            await self.charger.set_current_limit(value)
        finally:
            self.async_write_ha_state()


LED_BRIGHTNESS = NumberEntityDescription(
    key="webui_led_brightness",
    translation_key="led_brightness",
    entity_category=EntityCategory.CONFIG,
    native_unit_of_measurement=PERCENTAGE,
    native_min_value=0,
    native_max_value=100,
    native_step=1,
    mode=NumberMode.SLIDER,
)


class WebUiLedBrightness(WebUiEntity, NumberEntity):
    """The Webasto Next's LED brightness, through its web UI."""

    @property
    def native_value(self) -> float | None:
        """As the web UI reports it."""
        value = self.settings.get("led_brightness")
        return None if value is None else float(value)

    @handle_errors
    async def async_set_native_value(self, value: float) -> None:
        """Write the brightness, then read it back."""
        await self.coordinator.client.async_set_led_brightness(round(value))
        await self.coordinator.async_request_refresh()
