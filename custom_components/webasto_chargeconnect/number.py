"""Numbers: the charging current limit (what solar-surplus automations drive), LED brightness."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .chargeconnect.webui import MODEL_NEXT
from .coordinator import ChargeConnectConfigEntry, ChargeConnectRuntimeData
from .entity import (
    ChargeConnectEntity,
    ChargeConnectEntityDescription,
    WebUiEntity,
    async_add_when_supported,
    webui_of,
    webui_value,
)
from .helpers import handle_errors

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class ChargeConnectNumberDescription(ChargeConnectEntityDescription, NumberEntityDescription):
    """A number, how to read it and how to set it."""

    value_fn: Callable[[ChargeConnectRuntimeData], float | None]
    set_fn: Callable[[ChargeConnectRuntimeData, float], Awaitable[Any]]
    # The maximum when it is not fixed (the installation's maximum current).
    max_fn: Callable[[ChargeConnectRuntimeData], float] | None = None


def _current_limit(data: ChargeConnectRuntimeData) -> float:
    """The limit the charger accepted (its maximum while none was set)."""
    charger = data.charger
    limit = charger.current_limit_a
    return charger.options.max_current_a if limit is None else limit


# Charging current limit in A (a ChargePointMaxProfile; 0 pauses charging).
CURRENT_LIMIT = ChargeConnectNumberDescription(
    key="current_limit",
    translation_key="current_limit",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_min_value=0,
    native_step=1,
    mode=NumberMode.SLIDER,
    value_fn=_current_limit,
    max_fn=lambda d: d.charger.options.max_current_a,
    set_fn=lambda d, value: d.charger.set_current_limit(value),
    exists_fn=lambda d: d.charger.features.smart_charging,
)

# OCPP has no LED brightness on the Next; its web UI does (0-100 %).
LED_BRIGHTNESS = ChargeConnectNumberDescription(
    key="webui_led_brightness",
    translation_key="led_brightness",
    entity_category=EntityCategory.CONFIG,
    native_unit_of_measurement=PERCENTAGE,
    native_min_value=0,
    native_max_value=100,
    native_step=1,
    mode=NumberMode.SLIDER,
    value_fn=webui_value(lambda s: None if s.led_brightness is None else float(s.led_brightness)),
    set_fn=lambda d, value: webui_of(d).client.set_led_brightness(round(value)),
    exists_fn=lambda d: d.webui is not None and d.webui.model == MODEL_NEXT,
    requires_online=False,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the current limit of a charger that does smart charging, the Next's LED."""
    coordinator = entry.runtime_data.coordinator
    async_add_when_supported(
        entry,
        async_add_entities,
        (CURRENT_LIMIT,),
        lambda description: ChargeConnectNumber(coordinator, description),
    )
    webui = entry.runtime_data.webui
    if webui is not None:
        async_add_when_supported(
            entry,
            async_add_entities,
            (LED_BRIGHTNESS,),
            lambda description: WebUiNumber(webui, description),
        )


class _DescribedNumber(NumberEntity):
    """Value and range as the description reads them."""

    entity_description: ChargeConnectNumberDescription

    @property
    def runtime_data(self) -> ChargeConnectRuntimeData:
        """What the charger's entry holds (the entity bases provide it)."""
        raise NotImplementedError

    @property
    def native_max_value(self) -> float:
        """The description's maximum, or the one of the moment."""
        max_fn = self.entity_description.max_fn
        if max_fn is not None:
            return max_fn(self.runtime_data)
        return super().native_max_value

    @property
    def native_value(self) -> float | None:
        """The value as the charger (or its web UI) reports it."""
        return self.entity_description.value_fn(self.runtime_data)


class ChargeConnectNumber(ChargeConnectEntity, _DescribedNumber):
    """A number of a Webasto charger."""

    entity_description: ChargeConnectNumberDescription

    def state_signature(self) -> object:
        """Value and range."""
        return (self.native_value, self.native_max_value)

    @handle_errors
    async def async_set_native_value(self, value: float) -> None:
        """Send the new value; on a refusal the entity keeps showing the real one."""
        try:
            await self.entity_description.set_fn(self.runtime_data, value)
        finally:
            self.async_write_ha_state()


class WebUiNumber(WebUiEntity, _DescribedNumber):
    """A number in the charger's web UI (the Next's LED brightness)."""

    entity_description: ChargeConnectNumberDescription

    @handle_errors
    async def async_set_native_value(self, value: float) -> None:
        """Write the value, then read it back."""
        await self.entity_description.set_fn(self.runtime_data, value)
        await self.coordinator.async_request_refresh()
