"""Binary sensors of a Webasto charger."""

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

from .chargeconnect import Charger
from .chargeconnect.upstream import UpstreamLink
from .coordinator import ChargeConnectConfigEntry
from .entity import ChargeConnectEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ChargeConnectBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor and how to read it."""

    value_fn: Callable[[Charger], bool]
    requires_online: bool = True


BINARY_SENSORS: tuple[ChargeConnectBinarySensorDescription, ...] = (
    ChargeConnectBinarySensorDescription(
        key="online",
        translation_key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda c: c.online,
        requires_online=False,
    ),
    ChargeConnectBinarySensorDescription(
        key="plugged_in",
        translation_key="plugged_in",
        device_class=BinarySensorDeviceClass.PLUG,
        value_fn=lambda c: c.plugged_in,
    ),
    ChargeConnectBinarySensorDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        value_fn=lambda c: c.charging,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charger's binary sensors."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(ChargeConnectBinarySensor(coordinator, d) for d in BINARY_SENSORS)
    if entry.runtime_data.forwarding is not None:
        async_add_entities(UpstreamBinarySensor(coordinator, d) for d in UPSTREAM_BINARY_SENSORS)


class ChargeConnectBinarySensor(ChargeConnectEntity, BinarySensorEntity):
    """A binary sensor of a Webasto charger."""

    entity_description: ChargeConnectBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """The sensor's value."""
        return self.entity_description.value_fn(self.charger)

    def state_signature(self) -> object:
        """Only the value matters."""
        return self.is_on


@dataclass(frozen=True, kw_only=True)
class UpstreamBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of the forwarding to the charger's original backend."""

    upstream_fn: Callable[[UpstreamLink], bool]
    requires_online: bool = False  # the backend link has nothing to do with the charger


UPSTREAM_BINARY_SENSORS: tuple[UpstreamBinarySensorDescription, ...] = (
    UpstreamBinarySensorDescription(
        key="upstream_connected",
        translation_key="upstream_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        upstream_fn=lambda link: link.connected,
    ),
)


class UpstreamBinarySensor(ChargeConnectEntity, BinarySensorEntity):
    """Whether the charger's original backend is connected (forwarding configured)."""

    entity_description: UpstreamBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """The link's state."""
        link = self.upstream
        return None if link is None else self.entity_description.upstream_fn(link)

    def state_signature(self) -> object:
        """Only the value matters."""
        return self.is_on
