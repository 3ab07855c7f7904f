"""Diagnostics: the charger as the central system sees it, passwords redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant

from .const import CONF_UPSTREAM_PASSWORD, CONF_UPSTREAM_USERNAME, CONF_WEBUI_PASSWORD
from .coordinator import ChargeConnectConfigEntry
from .webui_coordinator import WebUiCoordinator

TO_REDACT = {
    CONF_PASSWORD,
    CONF_WEBUI_PASSWORD,
    CONF_UPSTREAM_PASSWORD,
    CONF_UPSTREAM_USERNAME,
    "AuthorizationKey",
    "iccid",
    "imsi",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ChargeConnectConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a charger entry."""
    data = entry.runtime_data
    server = data.hub.server(data.port)
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "server": {
            "port": data.port,
            "tls": bool(server and server.ssl_context),
        },
        "charger": async_redact_data(data.charger.diagnostics(), TO_REDACT),
        # The link's own snapshot carries no credentials (its URL without userinfo).
        "upstream": data.forwarding.link.as_dict() if data.forwarding is not None else None,
        "webui": None if data.webui is None else _webui(data.webui),
    }


def _webui(webui: WebUiCoordinator) -> dict[str, Any]:
    settings = webui.settings
    return {
        "model": webui.model,
        "last_update_success": webui.last_update_success,
        # What the model's web UI has, by name ({} before the first read).
        "settings": async_redact_data({} if settings is None else settings.to_dict(), TO_REDACT),
    }
