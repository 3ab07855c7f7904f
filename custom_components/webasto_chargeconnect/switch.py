"""Switches of a Webasto charger: charging, free charging, available, the app's control."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .chargeconnect.webui import MODEL_NEXT
from .const import CONF_ALLOW_APP_CONTROL
from .coordinator import ChargeConnectConfigEntry, ChargeConnectRuntimeData
from .entity import (
    ChargeConnectEntity,
    ChargeConnectEntityDescription,
    WebUiEntity,
    async_add_when_supported,
    forwarded,
    upstream_value,
    webui_of,
    webui_value,
)
from .helpers import handle_errors

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class ChargeConnectSwitchDescription(ChargeConnectEntityDescription, SwitchEntityDescription):
    """A switch, how to read it and how to flip it."""

    value_fn: Callable[[ChargeConnectRuntimeData], bool | None]
    set_fn: Callable[[ChargeConnectRuntimeData, bool], Awaitable[Any]]


async def _set_charging(data: ChargeConnectRuntimeData, on: bool) -> None:
    if on:
        await data.charger.remote_start()
    else:
        await data.charger.remote_stop()


async def _set_allow_app_control(data: ChargeConnectRuntimeData, on: bool) -> None:
    """At once on the link; the entry's options keep it over restarts."""
    if data.forwarding is not None:
        data.forwarding.link.allow_control = on
    coordinator = data.coordinator
    entry = coordinator.config_entry
    coordinator.hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_ALLOW_APP_CONTROL: on}
    )


def _webui_free_charging(data: ChargeConnectRuntimeData) -> bool:
    """The Next: free charging only through its web UI (OCPP has no such key there)."""
    webui = data.webui
    return (
        webui is not None and webui.model == MODEL_NEXT and not data.charger.features.free_charging
    )


SWITCHES: tuple[ChargeConnectSwitchDescription, ...] = (
    ChargeConnectSwitchDescription(
        key="charging",
        translation_key="charging",
        value_fn=lambda d: d.charger.active_transaction is not None,
        set_fn=_set_charging,
    ),
    ChargeConnectSwitchDescription(
        key="free_charging",
        translation_key="free_charging",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda d: d.charger.free_charging,
        set_fn=lambda d, on: d.charger.set_free_charging(on),
        exists_fn=lambda d: d.charger.features.free_charging,
    ),
    ChargeConnectSwitchDescription(
        key="available",
        translation_key="available",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda d: d.charger.available,
        set_fn=lambda d, on: d.charger.set_available(on),
    ),
    # Whether the original backend (the app) may control the charger: a setting of Home
    # Assistant, not of the charger. Refused commands are answered with a SecurityError.
    ChargeConnectSwitchDescription(
        key="allow_app_control",
        translation_key="allow_app_control",
        entity_category=EntityCategory.CONFIG,
        value_fn=upstream_value(lambda link: link.allow_control),
        set_fn=_set_allow_app_control,
        exists_fn=forwarded,
        requires_online=False,
    ),
)

WEBUI_SWITCHES: tuple[ChargeConnectSwitchDescription, ...] = (
    ChargeConnectSwitchDescription(
        key="webui_free_charging",
        translation_key="free_charging",
        entity_category=EntityCategory.CONFIG,
        value_fn=webui_value(lambda settings: settings.free_charging),
        set_fn=lambda d, on: webui_of(d).client.set_free_charging(on),
        exists_fn=_webui_free_charging,
        requires_online=False,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches the charger's model has (more appear once its features are known)."""
    coordinator = entry.runtime_data.coordinator
    async_add_when_supported(
        entry,
        async_add_entities,
        SWITCHES,
        lambda description: ChargeConnectSwitch(coordinator, description),
    )
    webui = entry.runtime_data.webui
    if webui is not None:
        async_add_when_supported(
            entry,
            async_add_entities,
            WEBUI_SWITCHES,
            lambda description: WebUiSwitch(webui, description),
        )


class _DescribedSwitch(SwitchEntity):
    """State and commands as the description reads and sends them."""

    entity_description: ChargeConnectSwitchDescription

    @property
    def runtime_data(self) -> ChargeConnectRuntimeData:
        """What the charger's entry holds (the entity bases provide it)."""
        raise NotImplementedError

    @property
    def is_on(self) -> bool | None:
        """As the charger (or its web UI) reports it."""
        return self.entity_description.value_fn(self.runtime_data)

    @handle_errors
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch on."""
        await self.entity_description.set_fn(self.runtime_data, True)
        await self._async_after_set()

    @handle_errors
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch off."""
        await self.entity_description.set_fn(self.runtime_data, False)
        await self._async_after_set()

    async def _async_after_set(self) -> None:
        raise NotImplementedError


class ChargeConnectSwitch(ChargeConnectEntity, _DescribedSwitch):
    """A switch of a Webasto charger."""

    entity_description: ChargeConnectSwitchDescription

    async def _async_after_set(self) -> None:
        # What changed at once (a setting of Home Assistant) shows at once; the charger's
        # answers arrive with the coordinator's next push.
        self._handle_coordinator_update()


class WebUiSwitch(WebUiEntity, _DescribedSwitch):
    """A switch in the charger's web UI (free charging: the Next has no OCPP key for it)."""

    entity_description: ChargeConnectSwitchDescription

    async def _async_after_set(self) -> None:
        await self.coordinator.async_request_refresh()  # read the web UI back
