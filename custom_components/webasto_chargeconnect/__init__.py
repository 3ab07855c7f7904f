"""Webasto ChargeConnect: Home Assistant as the OCPP 1.6J backend of Webasto chargers."""

from __future__ import annotations

from homeassistant.const import CONF_PASSWORD, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .assist import async_setup_assist
from .chargeconnect import ServerStartError
from .chargeconnect.ledger import LedgerError
from .const import (
    CONF_IDENTITY,
    CONF_SSL_CERTFILE,
    CONF_SSL_KEYFILE,
    DEFAULT_PORT,
    DOMAIN,
)
from .coordinator import (
    ChargeConnectConfigEntry,
    ChargeConnectCoordinator,
    ChargeConnectRuntimeData,
)
from .forwarding import Forwarding, async_remove_store as async_remove_upstream_store
from .hub import ChargeConnectHub, charger_store
from .options import options_from_entry
from .owner import ChargerOwner
from .services import async_setup_services
from .webui_coordinator import WebUiCoordinator

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CALENDAR,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


def async_get_hub(hass: HomeAssistant) -> ChargeConnectHub:
    """The one hub of this Home Assistant."""
    hub: ChargeConnectHub | None = hass.data.get(DOMAIN)
    if hub is None:
        hub = hass.data[DOMAIN] = ChargeConnectHub(hass)
    return hub


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions."""
    async_setup_services(hass)
    async_setup_assist(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ChargeConnectConfigEntry) -> bool:
    """Serve one charger."""
    hub = async_get_hub(hass)
    identity: str = entry.data[CONF_IDENTITY]
    port = int(entry.data.get(CONF_PORT, DEFAULT_PORT))
    try:
        server = await hub.async_acquire_server(
            port,
            entry.entry_id,
            entry.data.get(CONF_SSL_CERTFILE),
            entry.data.get(CONF_SSL_KEYFILE),
        )
    except ServerStartError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={"port": str(port), "error": str(err)},
        ) from err
    charger = await hub.async_acquire_charger(
        identity,
        entry.data.get(CONF_PASSWORD),
        server.port,
        entry.entry_id,
        options_from_entry(entry),
    )
    coordinator = ChargeConnectCoordinator(hass, entry, charger)
    try:
        access, ledger = await hub.async_acquire_owner_data(entry.entry_id)
    except LedgerError as err:
        await hub.async_release_charger(identity, entry.entry_id)
        await hub.async_release_server(server.port, entry.entry_id)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={"error": str(err), **err.placeholders},
        ) from err
    owner = ChargerOwner(hass, charger, access, ledger, coordinator)
    coordinator.owner = owner
    entry.runtime_data = ChargeConnectRuntimeData(hub, charger, coordinator, server.port, owner)
    await owner.async_start()
    entry.async_on_unload(coordinator.async_start())
    # Forwarding to the charger's original backend, once the charger is ours.
    forwarding = Forwarding.create(hass, entry, charger, coordinator)
    if forwarding is not None:
        coordinator.upstream = entry.runtime_data.upstream = forwarding.link
        entry.runtime_data.forwarding = forwarding
        await forwarding.async_start()
    # The charger's web UI (LED brightness and free charging on the Next), polled.
    webui = WebUiCoordinator.create(hass, entry, coordinator.device_info)
    if webui is not None:
        entry.runtime_data.webui = webui
        # In the background: a web UI that does not answer must not hold up the charger.
        entry.async_create_background_task(
            hass, webui.async_refresh(), f"{DOMAIN} web UI {identity}"
        )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ChargeConnectConfigEntry) -> bool:
    """Stop serving the charger (the server stops with its last charger)."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        data = entry.runtime_data
        if data.forwarding is not None:
            await data.forwarding.async_stop()
        await data.owner.async_stop()
        await data.hub.async_release_owner_data(entry.entry_id)
        await data.hub.async_release_charger(data.charger.identity, entry.entry_id)
        await data.hub.async_release_server(data.port, entry.entry_id)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: ChargeConnectConfigEntry) -> None:
    """Forget the charger's saved state."""
    await charger_store(hass, entry.data[CONF_IDENTITY]).async_remove()
    await async_remove_upstream_store(hass, entry.data[CONF_IDENTITY])
    # Its shares, bookings, favourite tag and tariff go too (tags and groups are shared).
    hub: ChargeConnectHub | None = hass.data.get(DOMAIN)
    if hub is not None and hub.access is not None:
        await hub.access.forget_charger(entry.data[CONF_IDENTITY])
