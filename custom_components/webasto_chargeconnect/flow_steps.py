"""The config flow's steps that need no claim on the charger: discovery, reauth, reconfigure.

Each of them creates or updates an entry straight away: the charger already knocked (discovery)
or already has an entry (reauthentication of its web UI, reconfigure). ``config_flow.py`` builds
the flow from these and the steps that claim a charger and wait for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .chargeconnect.webui import WebUiClient, WebUiError
from .compat import vol
from .const import (
    CONF_IDENTITY,
    CONF_WEBUI_HOST,
    CONF_WEBUI_PASSWORD,
    CONF_WEBUI_PORT,
    DEFAULT_PORT,
    DEFAULT_WEBUI_PORT,
    LOGGER,
)
from .flow_forms import (
    IDENTITY_RE,
    PASSWORD_SELECTOR,
    REAUTH_SCHEMA,
    async_validate_tls,
    connection_schema,
    entry_data,
    webui_error,
)


class ClaimlessSteps(ConfigFlow):
    """Discovery, reauthentication and reconfigure (the base of the integration's flow)."""

    # The discovered charger: identity, port and where it connected from.
    _discovery: dict[str, Any]

    # ------------------------------------------------------------- discovery
    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """An unknown charger tried to connect."""
        identity = str(discovery_info[CONF_IDENTITY])
        if not IDENTITY_RE.match(identity):
            return self.async_abort(reason="invalid_identity")
        await self.async_set_unique_id(identity)
        self._abort_if_unique_id_configured()
        self._discovery = {
            CONF_IDENTITY: identity,
            CONF_PORT: int(discovery_info.get("port") or DEFAULT_PORT),
            "remote": str(discovery_info.get("remote", "")),
        }
        self.context["title_placeholders"] = {"identity": identity}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the owner accept the discovered charger, with a password."""
        identity = str(self._discovery[CONF_IDENTITY])
        if user_input is not None:
            return self.async_create_entry(
                title=f"Webasto {identity}",
                data=entry_data(
                    identity=identity,
                    connection={
                        CONF_PASSWORD: user_input.get(CONF_PASSWORD),
                        CONF_PORT: self._discovery[CONF_PORT],
                    },
                ),
            )
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=vol.Schema({vol.Optional(CONF_PASSWORD, default=""): PASSWORD_SELECTOR}),
            description_placeholders={"identity": identity, "remote": self._discovery["remote"]},
        )

    # ---------------------------------------------------------------- reauth
    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The charger's web UI refused its password."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the web UI's new password and check it by logging in."""
        entry = self._get_reauth_entry()
        host = str(entry.data.get(CONF_WEBUI_HOST) or "")
        port = int(entry.data.get(CONF_WEBUI_PORT) or DEFAULT_WEBUI_PORT)
        errors: dict[str, str] = {}
        placeholders = {"host": host, "identity": str(entry.data[CONF_IDENTITY]), "error": ""}
        if user_input is not None:
            password = str(user_input[CONF_WEBUI_PASSWORD])
            client = WebUiClient(host, password, async_get_clientsession(self.hass), port=port)
            try:
                await client.login()
            except WebUiError as err:
                errors["base"] = webui_error(err)
                placeholders["error"] = str(err)
            except Exception:
                LOGGER.exception("Unexpected error from the web UI at %s", host)
                errors["base"] = "unknown"
            else:
                return self.async_update_reload_and_abort(
                    entry, data_updates=entry_data(webui_password=password)
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            errors=errors,
            description_placeholders=placeholders,
        )

    # ----------------------------------------------------------- reconfigure
    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the password, port or TLS files."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = entry_data(connection=user_input)
            if error := await async_validate_tls(self.hass, data):
                errors["base"] = error
            else:
                return self.async_update_reload_and_abort(entry, data_updates=data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=connection_schema(dict(entry.data), with_identity=False),
            errors=errors,
            description_placeholders={"identity": entry.data[CONF_IDENTITY]},
        )
