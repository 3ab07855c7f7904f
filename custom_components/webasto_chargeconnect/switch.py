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
from .const import CONF_ALLOW_APP_CONTROL
from .coordinator import ChargeConnectConfigEntry
from .entity import ChargeConnectEntity
from .helpers import handle_errors
from .webui_coordinator import MODEL_NEXT, WebUiCoordinator, WebUiEntity

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
    if entry.runtime_data.forwarding is not None:
        async_add_entities([AllowAppControlSwitch(coordinator, ALLOW_APP_CONTROL)])
    webui = entry.runtime_data.webui
    # The web UI's free charging only where OCPP has no such switch (the Next).
    if (
        webui is not None
        and webui.model == MODEL_NEXT
        and not coordinator.charger.features.free_charging
    ):
        async_add_entities([WebUiFreeChargingSwitch(webui, WEBUI_FREE_CHARGING)])


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


ALLOW_APP_CONTROL = SwitchEntityDescription(
    key="allow_app_control",
    translation_key="allow_app_control",
    entity_category=EntityCategory.CONFIG,
)


class AllowAppControlSwitch(ChargeConnectEntity, SwitchEntity):
    """Whether the original backend (the app) may control the charger; kept in the options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._requires_online = False  # a setting of Home Assistant, not of the charger

    @property
    def is_on(self) -> bool | None:
        """Commands from the backend are passed to the charger."""
        link = self.upstream
        return None if link is None else link.allow_control

    def state_signature(self) -> object:
        """Only the value matters."""
        return self.is_on

    async def _set(self, on: bool) -> None:
        entry = self.coordinator.config_entry
        link = self.upstream
        if link is not None:
            link.allow_control = on  # at once; the options keep it over restarts
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_ALLOW_APP_CONTROL: on}
        )
        self.async_write_ha_state()

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Pass the backend's commands to the charger."""
        await self._set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Refuse the backend's commands (CallError SecurityError, logged)."""
        await self._set(False)


WEBUI_FREE_CHARGING = SwitchEntityDescription(
    key="webui_free_charging",
    translation_key="free_charging",
    entity_category=EntityCategory.CONFIG,
)


class WebUiFreeChargingSwitch(WebUiEntity, SwitchEntity):
    """Free charging, through the charger's web UI (the Next has no OCPP key for it)."""

    @property
    def is_on(self) -> bool | None:
        """As the web UI reports it."""
        value = self.settings.get("free_charging")
        return None if value is None else bool(value)

    @handle_errors
    async def _set(self, on: bool) -> None:
        coordinator: WebUiCoordinator = self.coordinator
        await coordinator.client.async_set_free_charging(on)
        await coordinator.async_request_refresh()

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Free charging on."""
        await self._set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Free charging off."""
        await self._set(False)
