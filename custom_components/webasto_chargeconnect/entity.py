"""The entities' description, their two bases, and adding them as the charger reveals them.

``ChargeConnectEntity`` shows the charger and what the entry holds around it (archive, backend
link), pushed by the entry's coordinator; ``WebUiEntity`` shows the charger's web UI, polled.
Every platform's descriptions inherit ``ChargeConnectEntityDescription``, and their functions
receive the entry's runtime data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .chargeconnect import Charger
from .chargeconnect.upstream import UpstreamLink
from .chargeconnect.webui import WebUiSettings
from .coordinator import (
    ChargeConnectConfigEntry,
    ChargeConnectCoordinator,
    ChargeConnectRuntimeData,
)
from .owner import ChargerOwner
from .webui_coordinator import WebUiCoordinator


@dataclass(frozen=True, kw_only=True)
class ChargeConnectEntityDescription(EntityDescription):
    """What every entity of the integration declares besides Home Assistant's fields."""

    # Unavailable while the charger is offline (False: it shows something that stays true).
    requires_online: bool = True
    # Whether the entry has the entity: a feature of the charger, forwarding, a web UI.
    exists_fn: Callable[[ChargeConnectRuntimeData], bool] = lambda _: True


@callback
def async_add_when_supported[D: ChargeConnectEntityDescription](
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Iterable[D],
    factory: Callable[[D], Entity],
) -> None:
    """Add the entity of each description whose ``exists_fn`` holds, now or at a later push.

    A charger's features are known only once it connected (and they may change with its
    firmware): the descriptions not added yet are checked again at every push of the
    coordinator, until all are there.
    """
    coordinator = entry.runtime_data.coordinator
    waiting = list(descriptions)
    remove: Callable[[], None] | None = None

    @callback
    def stop() -> None:
        nonlocal remove
        if remove is not None:
            remove()
            remove = None

    @callback
    def add_new() -> None:
        data = entry.runtime_data
        new = [d for d in waiting if d.exists_fn(data)]
        if new:
            for description in new:
                waiting.remove(description)
            async_add_entities(factory(d) for d in new)
        if not waiting:
            stop()

    add_new()
    if waiting:
        remove = coordinator.async_add_listener(add_new)
        entry.async_on_unload(stop)


def upstream_value[T](
    read: Callable[[UpstreamLink], T],
) -> Callable[[ChargeConnectRuntimeData], T | None]:
    """A value of the link to the charger's original backend (None: not forwarded)."""

    def value(data: ChargeConnectRuntimeData) -> T | None:
        forwarding = data.forwarding
        return None if forwarding is None else read(forwarding.link)

    return value


def forwarded(data: ChargeConnectRuntimeData) -> bool:
    """The entry forwards to the charger's original backend."""
    return data.forwarding is not None


def webui_of(data: ChargeConnectRuntimeData) -> WebUiCoordinator:
    """The entry's web UI: for the entities whose ``exists_fn`` asked for one."""
    assert data.webui is not None
    return data.webui


def webui_value[T](
    read: Callable[[WebUiSettings], T],
) -> Callable[[ChargeConnectRuntimeData], T | None]:
    """A setting read from the charger's web UI (None before the first read)."""

    def value(data: ChargeConnectRuntimeData) -> T | None:
        settings = None if data.webui is None else data.webui.settings
        return None if settings is None else read(settings)

    return value


class ChargeConnectEntity(CoordinatorEntity[ChargeConnectCoordinator]):
    """A charger entity; writes its state only when what it shows changed."""

    _attr_has_entity_name = True
    entity_description: ChargeConnectEntityDescription

    def __init__(
        self, coordinator: ChargeConnectCoordinator, description: ChargeConnectEntityDescription
    ) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.charger.identity}_{description.key}"
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
    def available(self) -> bool:
        """Unavailable while the charger is offline (unless the entity says otherwise)."""
        return not self.entity_description.requires_online or self.charger.online

    def state_signature(self) -> Any:
        """What the entity shows: its state is written only when this changes.

        The state itself; an entity whose attributes or unit change too says so.
        """
        return self.state

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


class WebUiEntity(CoordinatorEntity[WebUiCoordinator]):
    """An entity of the charger's device whose value comes from its web UI.

    Available while the web UI answers, whether or not the charger is online over OCPP.
    """

    _attr_has_entity_name = True
    entity_description: ChargeConnectEntityDescription

    def __init__(
        self, coordinator: WebUiCoordinator, description: ChargeConnectEntityDescription
    ) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.identity}_{description.key}"
        self._attr_device_info = coordinator.device_info

    @property
    def runtime_data(self) -> ChargeConnectRuntimeData:
        """What the charger's entry holds."""
        entry: ChargeConnectConfigEntry = self.coordinator.config_entry
        return entry.runtime_data
