"""Diagnostics: the charger as the central system sees it, passwords redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant

from .coordinator import ChargeConnectConfigEntry

TO_REDACT = {CONF_PASSWORD, "AuthorizationKey", "iccid", "imsi"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ChargeConnectConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a charger entry."""
    data = entry.runtime_data
    server = data.hub.server(data.port)
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "server": {
            "port": data.port,
            "tls": bool(server and server.ssl_context),
        },
        "charger": async_redact_data(data.charger.as_dict(), TO_REDACT),
    }
