"""Config flow: add (claim) a Webasto charger, discovery, reconfigure and options."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import os
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.network import NoURLAvailableError, get_url

from .chargeconnect import ServerStartError
from .chargeconnect.ocpp.charger import MIN_CHARGING_CURRENT_A
from .chargeconnect.webui import (
    ChargerWebInfo,
    WebUiAuthError,
    WebUiClient,
    WebUiConnectionError,
    WebUiError,
    WebUiNotSupportedError,
)
from .compat import vol
from .const import (
    CLAIM_TIMEOUT,
    CONF_ALLOW_APP_CONTROL,
    CONF_HA_HOST,
    CONF_IDENTITY,
    CONF_MAX_CURRENT,
    CONF_METER_INTERVAL,
    CONF_REMOTE_START_TAG,
    CONF_SSL_CERTFILE,
    CONF_SSL_KEYFILE,
    CONF_UPSTREAM_PASSWORD,
    CONF_UPSTREAM_URL,
    CONF_UPSTREAM_USERNAME,
    CONF_WEBUI_HOST,
    CONF_WEBUI_PASSWORD,
    CONF_WEBUI_PORT,
    DEFAULT_MAX_CURRENT,
    DEFAULT_PORT,
    DEFAULT_REMOTE_START_TAG,
    DEFAULT_WEBUI_PORT,
    DOMAIN,
)
from .coordinator import ChargeConnectConfigEntry
from .forwarding import upstream_settings
from .hub import async_get_hub
from .options import async_apply_options
from .webui_coordinator import CONF_WEBUI_MODEL, split_host

IDENTITY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,48}$")
_PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
_PORT = selector.NumberSelector(
    selector.NumberSelectorConfig(min=1, max=65535, mode=selector.NumberSelectorMode.BOX)
)


def _host(hass: HomeAssistant) -> str:
    try:
        url = get_url(hass, allow_external=False, allow_cloud=False)
    except NoURLAvailableError:
        return "<home-assistant-ip>"
    return urlsplit(url).hostname or "<home-assistant-ip>"


def charger_url(hass: HomeAssistant, port: int, tls: bool) -> str:
    """The backend URL to enter in the charger's web UI (the identity goes last)."""
    return f"{'wss' if tls else 'ws'}://{_host(hass)}:{port}/"


async def _validate_tls(hass: HomeAssistant, user_input: dict[str, Any]) -> str | None:
    cert = user_input.get(CONF_SSL_CERTFILE) or None
    key = user_input.get(CONF_SSL_KEYFILE) or None
    if bool(cert) != bool(key):
        return "tls_incomplete"
    if cert and key:
        exists = await hass.async_add_executor_job(
            lambda: os.path.isfile(cert) and os.path.isfile(key)
        )
        if not exists:
            return "tls_file_missing"
    return None


def _connection_schema(defaults: dict[str, Any], with_identity: bool) -> vol.Schema:
    fields: dict[Any, Any] = {}
    if with_identity:
        fields[vol.Required(CONF_IDENTITY, default=defaults.get(CONF_IDENTITY, vol.UNDEFINED))] = (
            str
        )
    fields[vol.Optional(CONF_PASSWORD, default=defaults.get(CONF_PASSWORD) or "")] = _PASSWORD
    fields[vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT))] = _PORT
    fields[vol.Optional(CONF_SSL_CERTFILE, default=defaults.get(CONF_SSL_CERTFILE) or "")] = str
    fields[vol.Optional(CONF_SSL_KEYFILE, default=defaults.get(CONF_SSL_KEYFILE) or "")] = str
    return vol.Schema(fields)


def valid_ocpp_url(url: str) -> bool:
    """A websocket URL with a host (what a charger and the forwarder can use)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("ws", "wss") and bool(parts.hostname)


def _same_backend(url: str, ours: str) -> bool:
    """The charger's backend URL already points at this Home Assistant (host and port)."""
    try:
        a, b = urlsplit(url.strip()), urlsplit(ours)
        return (a.hostname, a.port) == (b.hostname, b.port)
    except ValueError:
        return False


def _clean(user_input: dict[str, Any]) -> dict[str, Any]:
    data = dict(user_input)
    data[CONF_PORT] = int(data.get(CONF_PORT, DEFAULT_PORT))
    for key in (CONF_PASSWORD, CONF_SSL_CERTFILE, CONF_SSL_KEYFILE):
        data[key] = (data.get(key) or "").strip() or None
    return data


class ChargeConnectConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a Webasto charger."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start empty."""
        self._data: dict[str, Any] = {}
        self._claim_task: asyncio.Task[bool] | None = None
        self._claimed = False
        self._claim_key: str | None = None
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
            data = _clean(user_input)
            identity = str(data[CONF_IDENTITY]).strip()
            data[CONF_IDENTITY] = identity
            if not IDENTITY_RE.match(identity):
                errors[CONF_IDENTITY] = "invalid_identity"
            else:
                await self.async_set_unique_id(identity, raise_on_progress=False)
                self._abort_if_unique_id_configured()
                errors.update(await self._claim(data))
            if not errors:
                self._data = data
                return await self.async_step_connect()
        return self.async_show_form(
            step_id="manual",
            data_schema=self.add_suggested_values_to_schema(
                _connection_schema({}, with_identity=True), user_input or {}
            ),
            errors=errors,
        )

    # ------------------------------------------------------ set it up for me
    def _webui_schema(self) -> vol.Schema:
        return vol.Schema(
            {
                vol.Required(CONF_WEBUI_HOST): str,
                vol.Required(CONF_WEBUI_PASSWORD): _PASSWORD,
                vol.Required(CONF_PORT, default=DEFAULT_PORT): _PORT,
                vol.Optional(CONF_HA_HOST, default=_host(self.hass)): str,
            }
        )

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
                await client.async_login()
                info = await client.async_get_info()
            except WebUiError as err:
                errors["base"] = _webui_error(err)
                placeholders["error"] = str(err)
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
                self._webui_schema(),
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
        data: dict[str, Any] = {
            CONF_IDENTITY: identity,
            CONF_PASSWORD: secrets.token_urlsafe(18),
            CONF_PORT: int(user_input.get(CONF_PORT, DEFAULT_PORT)),
            CONF_SSL_CERTFILE: None,
            CONF_SSL_KEYFILE: None,
        }
        ha_host = str(user_input.get(CONF_HA_HOST) or "").strip() or _host(self.hass)
        if errors := await self._claim(data):
            return errors
        self._data = data
        url = f"ws://{ha_host}:{data[CONF_PORT]}/"
        try:
            try:
                await client.async_set_backend(url, data[CONF_PASSWORD])
            except WebUiNotSupportedError as err:
                if "password" not in str(err.placeholders.get("feature", "")).lower():
                    raise
                # The Next's web UI has no field for the OCPP password: accept the
                # charger without one (the owner can add one later with reconfigure).
                data[CONF_PASSWORD] = None
                assert self._claim_key is not None  # _claim above succeeded
                await async_get_hub(self.hass).async_acquire_charger(
                    identity, None, data[CONF_PORT], self._claim_key
                )
                await client.async_set_backend(url, None)
            await client.async_reconnect()
        except WebUiError as err:
            self._webui_failure = str(err)
            return {"base": _webui_error(err)}
        previous = (info.backend_url or "").strip()
        self._extra = {
            CONF_WEBUI_HOST: client.host,
            CONF_WEBUI_PORT: port,
            CONF_WEBUI_PASSWORD: str(user_input[CONF_WEBUI_PASSWORD]),
            CONF_WEBUI_MODEL: info.model,
        }
        if valid_ocpp_url(previous) and not _same_backend(previous, url):
            self._extra[CONF_UPSTREAM_URL] = previous
        self._progress_action = (
            "webui_wait_for_charger" if data[CONF_PASSWORD] else "webui_wait_no_password"
        )
        self._webui_notes = {"previous": previous or "-"}
        return {}

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
                await client.async_login()
            except WebUiError as err:
                errors["base"] = _webui_error(err)
                placeholders["error"] = str(err)
            else:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_WEBUI_PASSWORD: password}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_WEBUI_PASSWORD): _PASSWORD}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _claim(self, data: dict[str, Any]) -> dict[str, str]:
        """Start the server and register the charger so it can connect during the flow."""
        if error := await _validate_tls(self.hass, data):
            return {"base": error}
        hub = async_get_hub(self.hass)
        self._claim_key = f"flow:{self.flow_id}"
        try:
            server = await hub.async_acquire_server(
                data[CONF_PORT],
                self._claim_key,
                data[CONF_SSL_CERTFILE],
                data[CONF_SSL_KEYFILE],
            )
        except ServerStartError as err:
            self._claim_key = None
            return {
                "base": "tls_mismatch" if err.translation_key == "tls_mismatch" else "cannot_listen"
            }
        await hub.async_acquire_charger(
            data[CONF_IDENTITY], data[CONF_PASSWORD], server.port, self._claim_key
        )
        data[CONF_PORT] = server.port
        return {}

    async def _release_claim(self) -> None:
        if self._claim_key is None:
            return
        hub = async_get_hub(self.hass)
        key, self._claim_key = self._claim_key, None
        await hub.async_release_charger(self._data.get(CONF_IDENTITY, ""), key)
        await hub.async_release_server(self._data.get(CONF_PORT, 0), key)

    @callback
    def async_remove(self) -> None:
        """The flow ended: stop waiting and let go of the claim."""
        if self._claim_task is not None and not self._claim_task.done():
            self._claim_task.cancel()
        if self._claim_key is not None:
            self.hass.async_create_task(self._release_claim(), eager_start=True)

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

    async def _wait_for_charger(self) -> bool:
        hub = async_get_hub(self.hass)
        server = hub.server(self._data[CONF_PORT])
        charger = server.chargers.get(self._data[CONF_IDENTITY]) if server else None
        if charger is None:
            return False
        connected = asyncio.Event()

        def check() -> None:
            if charger.online:
                connected.set()

        remove = charger.add_listener(check)
        try:
            check()
            async with asyncio.timeout(CLAIM_TIMEOUT):
                await connected.wait()
            return True
        except TimeoutError:
            return False
        finally:
            remove()

    async def async_step_wait(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Wait (a progress step) until the charger connects."""
        if self._claim_task is None:
            self._claim_task = self.hass.async_create_task(self._wait_for_charger())
        if not self._claim_task.done():
            return self.async_show_progress(
                step_id="wait",
                progress_action=self._progress_action,
                progress_task=self._claim_task,
                description_placeholders=self._placeholders(),
            )
        self._claimed = self._claim_task.result()
        self._claim_task = None
        return self.async_show_progress_done(
            next_step_id="finish" if self._claimed else "not_connected"
        )

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
                CONF_IDENTITY: self._data[CONF_IDENTITY],
                CONF_PASSWORD: self._data.get(CONF_PASSWORD),
                CONF_PORT: self._data[CONF_PORT],
                CONF_SSL_CERTFILE: self._data.get(CONF_SSL_CERTFILE),
                CONF_SSL_KEYFILE: self._data.get(CONF_SSL_KEYFILE),
                **self._extra,
            },
        )

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
        self._data = {
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
        if user_input is not None:
            password = (user_input.get(CONF_PASSWORD) or "").strip() or None
            return self.async_create_entry(
                title=f"Webasto {self._data[CONF_IDENTITY]}",
                data={
                    CONF_IDENTITY: self._data[CONF_IDENTITY],
                    CONF_PASSWORD: password,
                    CONF_PORT: self._data[CONF_PORT],
                    CONF_SSL_CERTFILE: None,
                    CONF_SSL_KEYFILE: None,
                },
            )
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=vol.Schema({vol.Optional(CONF_PASSWORD, default=""): _PASSWORD}),
            description_placeholders={
                "identity": self._data[CONF_IDENTITY],
                "remote": self._data["remote"],
            },
        )

    # ----------------------------------------------------------- reconfigure
    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the password, port or TLS files."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _clean(user_input)
            if error := await _validate_tls(self.hass, data):
                errors["base"] = error
            else:
                return self.async_update_reload_and_abort(entry, data_updates=data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema(dict(entry.data), with_identity=False),
            errors=errors,
            description_placeholders={"identity": entry.data[CONF_IDENTITY]},
        )


def _webui_error(err: WebUiError) -> str:
    """The form error for a web-UI failure."""
    if isinstance(err, WebUiAuthError):
        return "invalid_auth"
    if isinstance(err, WebUiConnectionError):
        return "cannot_connect"
    if isinstance(err, WebUiNotSupportedError):
        return "not_supported"
    return "webui_error"


class ChargeConnectOptionsFlow(OptionsFlow):
    """Meter sample interval, installation maximum current, remote start tag."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options."""
        errors: dict[str, str] = {}
        current = upstream_settings(self.config_entry)
        if user_input is not None:
            tag = str(user_input.get(CONF_REMOTE_START_TAG, "")).strip()
            upstream = _upstream_options(user_input, current)
            url = upstream[CONF_UPSTREAM_URL]
            if not 1 <= len(tag) <= 20:
                errors[CONF_REMOTE_START_TAG] = "invalid_tag"
            elif url and not valid_ocpp_url(url):
                errors[CONF_UPSTREAM_URL] = "invalid_upstream_url"
            else:
                changed = {
                    **self.config_entry.options,
                    CONF_METER_INTERVAL: int(user_input.get(CONF_METER_INTERVAL, 0)),
                    CONF_MAX_CURRENT: int(user_input[CONF_MAX_CURRENT]),
                    CONF_REMOTE_START_TAG: tag,
                    **upstream,
                }
                # Saved and applied here (live, or by a reload for a new backend link); the
                # flow's own save that follows then finds nothing changed.
                if self.hass.config_entries.async_update_entry(self.config_entry, options=changed):
                    await async_apply_options(self.hass, self.config_entry)
                return self.async_create_entry(data=changed)
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_METER_INTERVAL, default=options.get(CONF_METER_INTERVAL, 0)
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=0,
                        max=3600,
                        step=1,
                        unit_of_measurement="s",
                        mode=selector.NumberSelectorMode.BOX,
                    )
                ),
                vol.Required(
                    CONF_MAX_CURRENT, default=options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT)
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=MIN_CHARGING_CURRENT_A,
                        max=80,
                        step=1,
                        unit_of_measurement="A",
                        mode=selector.NumberSelectorMode.BOX,
                    )
                ),
                vol.Required(
                    CONF_REMOTE_START_TAG,
                    default=options.get(CONF_REMOTE_START_TAG, DEFAULT_REMOTE_START_TAG),
                ): str,
                vol.Optional(
                    CONF_UPSTREAM_URL,
                    description={"suggested_value": current[CONF_UPSTREAM_URL] or ""},
                ): str,
                vol.Optional(
                    CONF_UPSTREAM_USERNAME,
                    description={"suggested_value": current[CONF_UPSTREAM_USERNAME] or ""},
                ): str,
                # Never shown back; left empty, the stored password is kept.
                vol.Optional(CONF_UPSTREAM_PASSWORD): _PASSWORD,
                vol.Optional(CONF_ALLOW_APP_CONTROL, default=current[CONF_ALLOW_APP_CONTROL]): bool,
            }
        )
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(
                schema, {k: v for k, v in user_input.items() if k != CONF_UPSTREAM_PASSWORD}
            )
        return self.async_show_form(step_id="init", data_schema=schema, errors=errors)


def _upstream_options(user_input: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The forwarding options from the form; a field left out keeps its value."""
    url = str(user_input.get(CONF_UPSTREAM_URL, current[CONF_UPSTREAM_URL] or "")).strip()
    username = str(
        user_input.get(CONF_UPSTREAM_USERNAME, current[CONF_UPSTREAM_USERNAME] or "")
    ).strip()
    password = str(user_input.get(CONF_UPSTREAM_PASSWORD) or "").strip() or (
        current[CONF_UPSTREAM_PASSWORD] or ""
    )
    if not url:
        username = password = ""  # no forwarding: forget its credentials
    return {
        CONF_UPSTREAM_URL: url,
        CONF_UPSTREAM_USERNAME: username,
        CONF_UPSTREAM_PASSWORD: password,
        CONF_ALLOW_APP_CONTROL: bool(
            user_input.get(CONF_ALLOW_APP_CONTROL, current[CONF_ALLOW_APP_CONTROL])
        ),
    }
