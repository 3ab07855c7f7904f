"""Binary sensors of a Webasto charger: online, plugged in, charging, the backend link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Home Assistant 2026.10 moved the device classes to the platforms' const modules and re-exports
# them without __all__ (mypy --strict calls that implicit); 2025.4 defines them in the package.
from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined, unused-ignore]
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ChargeConnectConfigEntry, ChargeConnectRuntimeData
from .entity import (
    ChargeConnectEntity,
    ChargeConnectEntityDescription,
    async_add_when_supported,
    forwarded,
    upstream_value,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ChargeConnectBinarySensorDescription(
    ChargeConnectEntityDescription, BinarySensorEntityDescription
):
    """A binary sensor and how to read it."""

    value_fn: Callable[[ChargeConnectRuntimeData], bool | None]


BINARY_SENSORS: tuple[ChargeConnectBinarySensorDescription, ...] = (
    ChargeConnectBinarySensorDescription(
        key="online",
        translation_key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda d: d.charger.online,
        requires_online=False,
    ),
    ChargeConnectBinarySensorDescription(
        key="plugged_in",
        translation_key="plugged_in",
        device_class=BinarySensorDeviceClass.PLUG,
        value_fn=lambda d: d.charger.plugged_in,
    ),
    ChargeConnectBinarySensorDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        value_fn=lambda d: d.charger.charging,
    ),
    # The forwarding to the charger's original backend: nothing to do with the charger's link.
    ChargeConnectBinarySensorDescription(
        key="upstream_connected",
        translation_key="upstream_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=upstream_value(lambda link: link.connected),
        exists_fn=forwarded,
        requires_online=False,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charger's binary sensors."""
    coordinator = entry.runtime_data.coordinator
    async_add_when_supported(
        entry,
        async_add_entities,
        BINARY_SENSORS,
        lambda description: ChargeConnectBinarySensor(coordinator, description),
    )


class ChargeConnectBinarySensor(ChargeConnectEntity, BinarySensorEntity):
    """A binary sensor of a Webasto charger."""

    entity_description: ChargeConnectBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """The sensor's value."""
        return self.entity_description.value_fn(self.runtime_data)
