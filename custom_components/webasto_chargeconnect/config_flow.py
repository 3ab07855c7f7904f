"""Config flow: add a Webasto charger, by hand or through its web UI, and wait for it to connect.

While the flow waits for the charger it holds a :class:`~.hub.ChargerClaim` (the server listens,
the charger may connect and boot); the claim is let go of when the flow ends, however it ends.
The steps that need no claim (discovery, reauth, reconfigure) are in ``flow_steps.py``, forms,
their checks and the entry data in ``flow_forms.py``, the options flow in ``options.py``.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .chargeconnect import ServerStartError
from .chargeconnect.webui import (
    ChargerWebInfo,
    WebUiClient,
    WebUiError,
    WebUiNotSupportedError,
)
from .const import (
    CLAIM_TIMEOUT,
    CONF_HA_HOST,
    CONF_IDENTITY,
    CONF_SSL_CERTFILE,
    CONF_SSL_KEYFILE,
    CONF_WEBUI_HOST,
    CONF_WEBUI_PASSWORD,
    DEFAULT_PORT,
    DOMAIN,
    LOGGER,
)
from .coordinator import ChargeConnectConfigEntry
from .flow_forms import (
    IDENTITY_RE,
    async_validate_tls,
    charger_url,
    connection_schema,
    entry_data,
    ha_host,
    same_backend,
    split_host,
    valid_ocpp_url,
    webui_error,
    webui_schema,
)
from .flow_steps import ClaimlessSteps
from .hub import ChargerClaim, async_get_hub
from .options import ChargeConnectOptionsFlow


class ChargeConnectConfigFlow(ClaimlessSteps, domain=DOMAIN):
    """Add a Webasto charger (discovery, reauth and reconfigure: :class:`ClaimlessSteps`)."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start empty."""
        # The OCPP side of the entry to be: identity, password, port, TLS files.
        self._data: dict[str, Any] = {}
        self._claim: ChargerClaim | None = None
        self._wait_task: asyncio.Task[bool] | None = None
        # Set it up for me: what goes into the entry besides the connection.
        self._extra: dict[str, Any] = {}
        self._webui_notes: dict[str, str] = {}
        self._progress_action = "wait_for_charger"
        self._webui_failure = ""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ChargeConnectConfigEntry) -> OptionsFlow:
        """Options of a charger."""
        return ChargeConnectOptionsFlow()

    # ------------------------------------------------------------------ user
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Enter the charger's settings yourself, or let Home Assistant do it (web UI)."""
        return self.async_show_menu(step_id="user", menu_options=["manual", "webui"])

    async def async_step_manual(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the charge box identity, password and port."""
        errors: dict[str, str] = {}
        if user_input is not None:
            identity = str(user_input[CONF_IDENTITY]).strip()
            data = entry_data(identity=identity, connection=user_input)
            if not IDENTITY_RE.match(identity):
                errors[CONF_IDENTITY] = "invalid_identity"
            else:
                await self.async_set_unique_id(identity, raise_on_progress=False)
                self._abort_if_unique_id_configured()
                errors.update(await self._async_claim(data))
            if not errors:
                return await self.async_step_connect()
        return self.async_show_form(
            step_id="manual",
            data_schema=self.add_suggested_values_to_schema(
                connection_schema({}, with_identity=True), user_input or {}
            ),
            errors=errors,
        )

    # ------------------------------------------------------ set it up for me
    async def async_step_webui(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Log in to the charger's web UI and point it at Home Assistant."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            host, port = split_host(str(user_input[CONF_WEBUI_HOST]))
            client = WebUiClient(
                host,
                str(user_input[CONF_WEBUI_PASSWORD]),
                async_get_clientsession(self.hass),
                port=port,
            )
            info: ChargerWebInfo | None = None
            try:
                await client.login()
                info = await client.get_info()
            except WebUiError as err:
                errors["base"] = webui_error(err)
                placeholders["error"] = str(err)
            except Exception:
                LOGGER.exception("Unexpected error from the web UI at %s", host)
                errors["base"] = "unknown"
            if info is not None:
                identity = (info.charge_box_identity or "").strip()
                if not IDENTITY_RE.match(identity):
                    errors["base"] = "no_identity"
                else:
                    await self.async_set_unique_id(identity, raise_on_progress=False)
                    self._abort_if_unique_id_configured()
                    errors = await self._webui_configure(client, info, identity, port, user_input)
                    if not errors:
                        return await self.async_step_wait()
                    placeholders["error"] = self._webui_failure
        return self.async_show_form(
            step_id="webui",
            data_schema=self.add_suggested_values_to_schema(
                webui_schema(self.hass),
                {k: v for k, v in (user_input or {}).items() if k != CONF_WEBUI_PASSWORD},
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _webui_configure(
        self,
        client: WebUiClient,
        info: ChargerWebInfo,
        identity: str,
        port: int,
        user_input: dict[str, Any],
    ) -> dict[str, str]:
        """Claim the charger, write our backend settings, restart it and wait for it."""
        self._webui_failure = ""
        data = entry_data(
            identity=identity,
            connection={
                CONF_PASSWORD: secrets.token_urlsafe(18),
                CONF_PORT: user_input.get(CONF_PORT, DEFAULT_PORT),
            },
        )
        host = str(user_input.get(CONF_HA_HOST) or "").strip() or ha_host(self.hass)
        if errors := await self._async_claim(data):
            return errors
        assert self._claim is not None  # claimed just now
        url = f"ws://{host}:{self._claim.port}/"
        try:
            try:
                await client.set_backend(url, self._claim.password)
            except WebUiNotSupportedError as err:
                if "password" not in str(err.placeholders.get("feature", "")).lower():
                    raise
                # The Next's web UI has no field for the OCPP password: accept the
                # charger without one (the owner can add one later with reconfigure).
                self._data[CONF_PASSWORD] = None
                await self._claim.async_set_password(None)
                await client.set_backend(url, None)
            await client.reconnect()
        except WebUiError as err:
            self._webui_failure = str(err)
            return {"base": webui_error(err)}
        except Exception:
            LOGGER.exception("Unexpected error from the web UI at %s", client.host)
            return {"base": "unknown"}
        previous = (info.backend_url or "").strip()
        self._extra = entry_data(
            webui_host=client.host,
            webui_port=port,
            webui_password=str(user_input[CONF_WEBUI_PASSWORD]),
            webui_model=info.model,
            upstream_url=(
                previous if valid_ocpp_url(previous) and not same_backend(previous, url) else None
            ),
        )
        self._progress_action = (
            "webui_wait_for_charger" if self._claim.password else "webui_wait_no_password"
        )
        self._webui_notes = {"previous": previous or "-"}
        return {}

    # ----------------------------------------------------------------- claim
    async def _async_claim(self, data: dict[str, Any]) -> dict[str, str]:
        """Start the server and register the charger so it can connect during the flow."""
        if error := await async_validate_tls(self.hass, data):
            return {"base": error}
        try:
            claim = await async_get_hub(self.hass).async_claim(
                f"flow:{self.flow_id}",
                data[CONF_IDENTITY],
                data[CONF_PASSWORD],
                data[CONF_PORT],
                certfile=data[CONF_SSL_CERTFILE],
                keyfile=data[CONF_SSL_KEYFILE],
            )
        except ServerStartError as err:
            return {
                "base": "tls_mismatch" if err.translation_key == "tls_mismatch" else "cannot_listen"
            }
        # A second try of the web-UI step: the new claim first, then let go of the old one.
        previous, self._claim = self._claim, claim
        if previous is not None:
            await previous.async_release()
        self._data = {**data, CONF_PORT: claim.port}
        return {}

    @callback
    def async_remove(self) -> None:
        """The flow ended: stop waiting and let go of the claim."""
        if self._wait_task is not None and not self._wait_task.done():
            self._wait_task.cancel()
        claim, self._claim = self._claim, None
        if claim is not None:
            self.hass.async_create_task(claim.async_release(), eager_start=True)

    # --------------------------------------------------------------- connect
    def _placeholders(self) -> dict[str, str]:
        port = int(self._data[CONF_PORT])
        tls = bool(self._data.get(CONF_SSL_CERTFILE))
        return {
            "url": charger_url(self.hass, port, tls),
            "identity": self._data[CONF_IDENTITY],
            "full_url": charger_url(self.hass, port, tls) + self._data[CONF_IDENTITY],
            **self._webui_notes,
        }

    async def async_step_connect(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the URL to enter on the charger; wait for it or finish now."""
        return self.async_show_menu(
            step_id="connect",
            menu_options=["wait", "finish"],
            description_placeholders=self._placeholders(),
        )

    async def async_step_wait(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Wait (a progress step) until the charger connects."""
        if self._wait_task is None:
            assert self._claim is not None  # every way here claimed first
            self._wait_task = self.hass.async_create_task(
                self._claim.async_wait_online(CLAIM_TIMEOUT)
            )
        if not self._wait_task.done():
            return self.async_show_progress(
                step_id="wait",
                progress_action=self._progress_action,
                progress_task=self._wait_task,
                description_placeholders=self._placeholders(),
            )
        online = self._wait_task.result()
        self._wait_task = None
        return self.async_show_progress_done(next_step_id="finish" if online else "not_connected")

    async def async_step_not_connected(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The charger did not connect in time: wait again or finish anyway."""
        return self.async_show_menu(
            step_id="not_connected",
            menu_options=["wait", "finish"],
            description_placeholders=self._placeholders(),
        )

    async def async_step_finish(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create the entry (the charger shows offline until it connects)."""
        return self.async_create_entry(
            title=f"Webasto {self._data[CONF_IDENTITY]}",
            data={
                **entry_data(identity=self._data[CONF_IDENTITY], connection=self._data),
                **self._extra,
            },
        )
