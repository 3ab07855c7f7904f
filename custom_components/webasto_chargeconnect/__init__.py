"""Webasto ChargeConnect: Home Assistant as the OCPP 1.6J backend of Webasto chargers."""

from __future__ import annotations

from functools import partial

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
from .guest import async_setup_guest
from .hub import HUB, ChargeConnectHub, async_get_hub, charger_store
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


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions and the guest page."""
    async_setup_services(hass)
    async_setup_assist(hass)
    async_setup_guest(hass)
    return True


class _Held:
    """What one entry holds from the hub, let go of in one place.

    Registered with ``entry.async_on_unload`` before the first acquisition, so an unload and a
    setup that fails half way (a LedgerError from the archive, a charger store that cannot be
    read...) release exactly what was taken, last taken first. Safe to run twice.
    """

    def __init__(self, hub: ChargeConnectHub, entry_id: str) -> None:
        self.hub = hub
        self.entry_id = entry_id
        self.port: int | None = None
        self.identity: str | None = None
        self.owner_data = False
        self.owner: ChargerOwner | None = None
        self.forwarding: Forwarding | None = None

    async def async_release(self) -> None:
        forwarding, self.forwarding = self.forwarding, None
        if forwarding is not None:
            await forwarding.async_stop()
        owner, self.owner = self.owner, None
        if owner is not None:
            await owner.async_stop()
        if self.owner_data:
            self.owner_data = False
            await self.hub.async_release_owner_data(self.entry_id)
        identity, self.identity = self.identity, None
        if identity is not None:
            await self.hub.async_release_charger(identity, self.entry_id)
        port, self.port = self.port, None
        if port is not None:
            await self.hub.async_release_server(port, self.entry_id)


async def async_setup_entry(hass: HomeAssistant, entry: ChargeConnectConfigEntry) -> bool:
    """Serve one charger."""
    hub = async_get_hub(hass)
    held = _Held(hub, entry.entry_id)
    entry.async_on_unload(held.async_release)
    try:
        await _async_setup_entry(hass, entry, hub, held)
    except ServerStartError as err:
        # Home Assistant runs the entry's on_unload callbacks (the release) for this one.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={
                "port": str(entry.data.get(CONF_PORT, DEFAULT_PORT)),
                "error": str(err),
            },
        ) from err
    except LedgerError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={"error": str(err), **err.placeholders},
        ) from err
    except BaseException:
        # Not every Home Assistant version runs on_unload after an unexpected error.
        await held.async_release()
        raise
    return True


async def _async_setup_entry(
    hass: HomeAssistant, entry: ChargeConnectConfigEntry, hub: ChargeConnectHub, held: _Held
) -> None:
    identity: str = entry.data[CONF_IDENTITY]
    port = int(entry.data.get(CONF_PORT, DEFAULT_PORT))
    server = await hub.async_acquire_server(
        port,
        entry.entry_id,
        entry.data.get(CONF_SSL_CERTFILE),
        entry.data.get(CONF_SSL_KEYFILE),
    )
    held.port = server.port
    charger = await hub.async_acquire_charger(
        identity,
        entry.data.get(CONF_PASSWORD),
        server.port,
        entry.entry_id,
        options_from_entry(entry),
    )
    held.identity = identity
    coordinator = ChargeConnectCoordinator(hass, entry, charger)
    access, ledger = await hub.async_acquire_owner_data(entry.entry_id)
    held.owner_data = True
    refresh = partial(coordinator.async_set_updated_data, None)
    owner = ChargerOwner(hass, charger, access, ledger, refresh)
    entry.runtime_data = ChargeConnectRuntimeData(hub, charger, coordinator, server.port, owner)
    held.owner = owner
    await owner.async_start()
    entry.async_on_unload(coordinator.async_start())
    # Forwarding to the charger's original backend, once the charger is ours.
    forwarding = Forwarding.create(hass, entry, charger, refresh)
    if forwarding is not None:
        entry.runtime_data.forwarding = forwarding
        held.forwarding = forwarding
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


async def async_unload_entry(hass: HomeAssistant, entry: ChargeConnectConfigEntry) -> bool:
    """Stop serving the charger; what it holds is released by its on_unload (:class:`_Held`)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: ChargeConnectConfigEntry) -> None:
    """Forget the charger's saved state."""
    await charger_store(hass, entry.data[CONF_IDENTITY]).async_remove()
    await async_remove_upstream_store(hass, entry.data[CONF_IDENTITY])
    # Its shares, bookings, favourite tag and tariff go too (tags and groups are shared).
    hub = hass.data.get(HUB)
    if hub is not None and hub.access is not None:
        await hub.access.forget_charger(entry.data[CONF_IDENTITY])
