"""Base entity of the integration."""

from __future__ import annotations

from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .chargeconnect import Charger
from .chargeconnect.upstream import UpstreamLink
from .coordinator import ChargeConnectCoordinator, ChargeConnectRuntimeData
from .owner import ChargerOwner


class ChargeConnectEntity(CoordinatorEntity[ChargeConnectCoordinator]):
    """A charger entity; writes its state only when what it shows changed."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: ChargeConnectCoordinator, description: EntityDescription
    ) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        charger = coordinator.charger
        self._attr_unique_id = f"{charger.identity}_{description.key}"
        # Descriptions of entities that keep working offline carry requires_online=False.
        self._requires_online: bool = getattr(description, "requires_online", True)
        self._attr_device_info = coordinator.device_info
        self._last_signature: Any = None

    @property
    def charger(self) -> Charger:
        """The library's charger object."""
        return self.coordinator.charger

    @property
    def runtime_data(self) -> ChargeConnectRuntimeData:
        """What the charger's entry holds (the one place the entity finds its parts)."""
        return self.coordinator.config_entry.runtime_data

    @property
    def owner(self) -> ChargerOwner:
        """The owner's features of this charger (archive, access, bookings)."""
        return self.runtime_data.owner

    @property
    def upstream(self) -> UpstreamLink | None:
        """The link to the charger's original backend (None: not forwarded)."""
        forwarding = self.runtime_data.forwarding
        return None if forwarding is None else forwarding.link

    @property
    def available(self) -> bool:
        """Unavailable while the charger is offline (unless the entity says otherwise)."""
        return not self._requires_online or self.charger.online

    def state_signature(self) -> Any:
        """What the entity shows; a state is written only when this changes."""
        return None

    @callback
    def _handle_coordinator_update(self) -> None:
        signature = (self.available, self.state_signature())
        if signature == self._last_signature:
            return
        self._last_signature = signature
        self.async_write_ha_state()

    async def async_added_to_hass(self) -> None:
        """Remember what was written first."""
        await super().async_added_to_hass()
        self._last_signature = (self.available, self.state_signature())
