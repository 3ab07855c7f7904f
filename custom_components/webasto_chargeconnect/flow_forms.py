"""What the config and options flows ask and store: forms, their checks, the entry data.

The steps themselves live in ``config_flow.py`` (and the options step in ``options.py``); these
helpers hold no flow state and never touch the hub, so every step that creates or updates an
entry builds its data the same way (:func:`entry_data`).
"""

from __future__ import annotations

from collections.abc import Mapping
import os
import re
from typing import Any
from urllib.parse import urlsplit

from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.helpers.network import NoURLAvailableError, get_url

from .chargeconnect.webui import (
    WebUiAuthError,
    WebUiConnectionError,
    WebUiError,
    WebUiNotSupportedError,
)
from .compat import vol
from .const import (
    CONF_HA_HOST,
    CONF_IDENTITY,
    CONF_SSL_CERTFILE,
    CONF_SSL_KEYFILE,
    CONF_UPSTREAM_URL,
    CONF_WEBUI_HOST,
    CONF_WEBUI_MODEL,
    CONF_WEBUI_PASSWORD,
    CONF_WEBUI_PORT,
    DEFAULT_PORT,
    DEFAULT_WEBUI_PORT,
)

IDENTITY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,48}$")
PASSWORD_SELECTOR = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
PORT_SELECTOR = selector.NumberSelector(
    selector.NumberSelectorConfig(min=1, max=65535, mode=selector.NumberSelectorMode.BOX)
)
REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_WEBUI_PASSWORD): PASSWORD_SELECTOR})


def ha_host(hass: HomeAssistant) -> str:
    """Home Assistant's address on the LAN, as a charger would use it."""
    try:
        url = get_url(hass, allow_external=False, allow_cloud=False)
    except NoURLAvailableError:
        return "<home-assistant-ip>"
    return urlsplit(url).hostname or "<home-assistant-ip>"


def charger_url(hass: HomeAssistant, port: int, tls: bool) -> str:
    """The backend URL to enter in the charger's web UI (the identity goes last)."""
    return f"{'wss' if tls else 'ws'}://{ha_host(hass)}:{port}/"


async def async_validate_tls(hass: HomeAssistant, data: Mapping[str, Any]) -> str | None:
    """The form error for the TLS files: both or neither, and they must exist."""
    cert = data.get(CONF_SSL_CERTFILE) or None
    key = data.get(CONF_SSL_KEYFILE) or None
    if bool(cert) != bool(key):
        return "tls_incomplete"
    if cert and key:
        exists = await hass.async_add_executor_job(
            lambda: os.path.isfile(cert) and os.path.isfile(key)
        )
        if not exists:
            return "tls_file_missing"
    return None


def connection_schema(defaults: Mapping[str, Any], with_identity: bool) -> vol.Schema:
    """The OCPP side of a charger: identity (when new), password, port and TLS files."""
    fields: dict[Any, Any] = {}
    if with_identity:
        fields[vol.Required(CONF_IDENTITY, default=defaults.get(CONF_IDENTITY, vol.UNDEFINED))] = (
            str
        )
    fields[vol.Optional(CONF_PASSWORD, default=defaults.get(CONF_PASSWORD) or "")] = (
        PASSWORD_SELECTOR
    )
    fields[vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT))] = PORT_SELECTOR
    fields[vol.Optional(CONF_SSL_CERTFILE, default=defaults.get(CONF_SSL_CERTFILE) or "")] = str
    fields[vol.Optional(CONF_SSL_KEYFILE, default=defaults.get(CONF_SSL_KEYFILE) or "")] = str
    return vol.Schema(fields)


def webui_schema(hass: HomeAssistant) -> vol.Schema:
    """Set it up for me: the charger's web UI login and where Home Assistant is."""
    return vol.Schema(
        {
            vol.Required(CONF_WEBUI_HOST): str,
            vol.Required(CONF_WEBUI_PASSWORD): PASSWORD_SELECTOR,
            vol.Required(CONF_PORT, default=DEFAULT_PORT): PORT_SELECTOR,
            vol.Optional(CONF_HA_HOST, default=ha_host(hass)): str,
        }
    )


def valid_ocpp_url(url: str) -> bool:
    """A websocket URL with a host (what a charger and the forwarder can use)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("ws", "wss") and bool(parts.hostname)


def same_backend(url: str, ours: str) -> bool:
    """The charger's backend URL already points at this Home Assistant (host and port)."""
    try:
        a, b = urlsplit(url.strip()), urlsplit(ours)
        return (a.hostname, a.port) == (b.hostname, b.port)
    except ValueError:
        return False


def split_host(text: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port.isdigit() else DEFAULT_WEBUI_PORT
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if port.isdigit():
            return host, int(port)
    return text, DEFAULT_WEBUI_PORT


def webui_error(err: WebUiError) -> str:
    """The form error for a web-UI failure."""
    if isinstance(err, WebUiAuthError):
        return "invalid_auth"
    if isinstance(err, WebUiConnectionError):
        return "cannot_connect"
    if isinstance(err, WebUiNotSupportedError):
        return "not_supported"
    return "webui_error"


def _text_or_none(value: Any) -> str | None:
    return str(value or "").strip() or None


def entry_data(
    *,
    identity: str | None = None,
    connection: Mapping[str, Any] | None = None,
    webui_host: str | None = None,
    webui_port: int | None = None,
    webui_password: str | None = None,
    webui_model: str | None = None,
    upstream_url: str | None = None,
) -> dict[str, Any]:
    """A charger entry's data, or the part of it that a step changes.

    ``connection`` is the OCPP side as a form (or the flow) has it: password, port and TLS
    files, all four written, blanks as None and the port as a number. Every other key is
    written only when given (not None), so a step that changes one thing passes just that.
    """
    data: dict[str, Any] = {}
    if identity is not None:
        data[CONF_IDENTITY] = identity
    if connection is not None:
        data[CONF_PASSWORD] = _text_or_none(connection.get(CONF_PASSWORD))
        data[CONF_PORT] = int(connection.get(CONF_PORT, DEFAULT_PORT))
        data[CONF_SSL_CERTFILE] = _text_or_none(connection.get(CONF_SSL_CERTFILE))
        data[CONF_SSL_KEYFILE] = _text_or_none(connection.get(CONF_SSL_KEYFILE))
    optional = {
        CONF_WEBUI_HOST: webui_host,
        CONF_WEBUI_PORT: webui_port,
        CONF_WEBUI_PASSWORD: webui_password,
        CONF_WEBUI_MODEL: webui_model,
        CONF_UPSTREAM_URL: upstream_url,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    return data
