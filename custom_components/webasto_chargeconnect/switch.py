"""Switches of a Webasto charger: charging, free charging, available."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .chargeconnect import Charger
from .coordinator import ChargeConnectConfigEntry
from .entity import ChargeConnectEntity
from .helpers import handle_errors

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class ChargeConnectSwitchDescription(SwitchEntityDescription):
    """A switch, how to read it and how to flip it."""

    value_fn: Callable[[Charger], bool | None]
    set_fn: Callable[[Charger, bool], Awaitable[Any]]
    exists_fn: Callable[[Charger], bool] = lambda _: True


async def _set_charging(charger: Charger, on: bool) -> None:
    if on:
        await charger.remote_start()
    else:
        await charger.remote_stop()


SWITCHES: tuple[ChargeConnectSwitchDescription, ...] = (
    ChargeConnectSwitchDescription(
        key="charging",
        translation_key="charging",
        value_fn=lambda c: c.active_transaction is not None,
        set_fn=_set_charging,
    ),
    ChargeConnectSwitchDescription(
        key="free_charging",
        translation_key="free_charging",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda c: c.free_charging,
        set_fn=lambda c, on: c.set_free_charging(on),
        exists_fn=lambda c: c.features.free_charging,
    ),
    ChargeConnectSwitchDescription(
        key="available",
        translation_key="available",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda c: c.available,
        set_fn=lambda c, on: c.set_available(on),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches the charger's model has (more appear once its features are known)."""
    coordinator = entry.runtime_data.coordinator
    added: set[str] = set()

    @callback
    def add_new() -> None:
        new = [d for d in SWITCHES if d.key not in added and d.exists_fn(coordinator.charger)]
        added.update(d.key for d in new)
        if new:
            async_add_entities(ChargeConnectSwitch(coordinator, d) for d in new)

    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))


class ChargeConnectSwitch(ChargeConnectEntity, SwitchEntity):
    """A switch of a Webasto charger."""

    entity_description: ChargeConnectSwitchDescription

    @property
    def is_on(self) -> bool | None:
        """The switch's state as the charger reports it."""
        return self.entity_description.value_fn(self.charger)

    def state_signature(self) -> object:
        """Only the value matters."""
        return self.is_on

    @handle_errors
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch on."""
        await self.entity_description.set_fn(self.charger, True)

    @handle_errors
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch off."""
        await self.entity_description.set_fn(self.charger, False)
