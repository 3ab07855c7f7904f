"""Polling the charger's own web UI for what OCPP does not offer (the Next's LED, free charging).

The web UI is a second, independent connection to the charger: its entities are
available while the web UI answers, whether or not the charger is online over OCPP.
Errors make the entities unavailable (logged once by the coordinator, not per poll); a
refused password starts Home Assistant's reauthentication flow.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .chargeconnect.webui import WebUiAuthError, WebUiClient, WebUiError, WebUiSettings
from .const import (
    CONF_IDENTITY,
    CONF_WEBUI_HOST,
    CONF_WEBUI_MODEL,
    CONF_WEBUI_PASSWORD,
    CONF_WEBUI_PORT,
    DEFAULT_WEBUI_PORT,
    DOMAIN,
    LOGGER,
    WEBUI_SCAN_INTERVAL,
)


class WebUiCoordinator(DataUpdateCoordinator[WebUiSettings]):
    """Reads the charger's web-UI settings every ``WEBUI_SCAN_INTERVAL``."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: WebUiClient,
        device_info: DeviceInfo,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.data[CONF_IDENTITY]} web UI",
            update_interval=WEBUI_SCAN_INTERVAL,
        )
        self.client = client
        self.identity: str = entry.data[CONF_IDENTITY]
        self.device_info = device_info

    @classmethod
    def create(
        cls, hass: HomeAssistant, entry: ConfigEntry, device_info: DeviceInfo
    ) -> WebUiCoordinator | None:
        """The entry's web-UI coordinator, or None when no web UI is configured."""
        host = entry.data.get(CONF_WEBUI_HOST)
        password = entry.data.get(CONF_WEBUI_PASSWORD)
        if not host or not password:
            return None
        client = WebUiClient(
            str(host),
            str(password),
            # The charger's certificate is self-signed: the client does not verify it.
            async_get_clientsession(hass),
            port=int(entry.data.get(CONF_WEBUI_PORT) or DEFAULT_WEBUI_PORT),
            model=entry.data.get(CONF_WEBUI_MODEL) or None,
            logger=LOGGER,
        )
        return cls(hass, entry, client, device_info)

    @property
    def model(self) -> str | None:
        """``next`` or ``unite`` (from the config flow, or detected)."""
        return self.client.model

    @property
    def settings(self) -> WebUiSettings | None:
        """The settings last read (None before the first successful read)."""
        return self.data  # DataUpdateCoordinator starts with None, whatever its type says

    async def _async_update_data(self) -> WebUiSettings:
        try:
            return await self.client.get_settings()
        except WebUiAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key=err.translation_key,
                translation_placeholders=err.placeholders,
            ) from err
        except WebUiError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=err.translation_key,
                translation_placeholders=err.placeholders,
            ) from err
