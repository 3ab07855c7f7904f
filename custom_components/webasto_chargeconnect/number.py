"""The charging current limit: what solar-surplus automations drive."""

from __future__ import annotations

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ChargeConnectConfigEntry
from .entity import ChargeConnectEntity
from .helpers import handle_errors

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
