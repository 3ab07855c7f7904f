"""Client for the JSON API behind the charger's own web UI (``https://<charger>/api``).

What is known comes from community reverse engineering (see docs/webasto.md, section
"Web-UI API as implemented"): a JWT login with the web UI's ``admin`` account and a
self-signed certificate on both models, then two different surfaces:

- Webasto Next: configuration grouped in sections (``GET /api/sections/{key}``), each
  field ``{fieldKey, value, configurationFieldType, permission, ...}``, written with
  ``POST /api/configuration-updates`` and a per-type ``configurationFieldUpdateType``.
- Webasto / Ampure Unite (Vestel EVC04 inside): one flat list of
  ``{fieldKey: "<table>.<column>", value}`` at ``GET /api/configuration-fields/``,
  written with the same update endpoint but without an update type.

A small adapter per model hides the difference. Nothing is written to a field the
charger did not list: an assumed field name that is wrong fails with
:class:`WebUiNotSupportedError` instead of a blind write.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import asdict, dataclass
import json
import logging
from typing import Any

import aiohttp

from ..exceptions import ChargeConnectError, InvalidArgumentError

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0  # the Next can take well over 10 s for /api/sections/system
# Used when a token carries no readable iat/exp (reported lifetime: about an hour).
DEFAULT_TOKEN_LIFETIME = 3600.0
MODEL_NEXT = "next"
MODEL_UNITE = "unite"

# Webasto Next field keys (sections API).
NEXT_FREE_CHARGING = "free-charging"
NEXT_FREE_CHARGING_TAG = ("free-charging-alais", "free-charging-alias")  # sic, firmware typo
NEXT_LED_BRIGHTNESS = "led-brightness"
NEXT_CONNECTION_TYPE = "connection-type"
NEXT_CONNECTION_URI = "connection-uri"
NEXT_SERIAL = "manufacturer-serial-number"
NEXT_IDENTITY = "ocpp-charge-box-identity-charge-point-id"
NEXT_FIRMWARE = "comboard-sw-version"
# Webasto / Ampure Unite field keys (flat configuration fields).
UNITE_FREE_MODE = "ocppConfigurations.freeModeActive"
UNITE_FREE_MODE_RFID = "ocppConfigurations.freeModeRfid"
UNITE_LED_DIMMING = "generalSettings.ledDimmingLevel"
UNITE_BACKEND_URL = "ocppSettings.centralSystemAddress"
UNITE_IDENTITY = "ocppSettings.chargePointId"
UNITE_AUTHORIZATION_KEY = "ocppConfigurations.authorizationKey"


class WebUiError(ChargeConnectError):
    """The charger's web UI gave an answer we cannot use."""

    translation_key = "webui_error"

    def __init__(self, message: str, **placeholders: str) -> None:
        super().__init__(message, **{"error": message, **placeholders})


class WebUiAuthError(WebUiError):
    """The web UI refused the user name or password."""

    translation_key = "webui_auth_failed"

    def __init__(self, host: str) -> None:
        super().__init__(f"The web UI of {host} refused the user name or password", host=host)


class WebUiConnectionError(WebUiError):
    """The web UI cannot be reached (or did not answer in time)."""

    translation_key = "webui_cannot_connect"

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"Cannot reach the web UI of {host}: {reason}", host=host, reason=reason)


class WebUiNotSupportedError(WebUiError):
    """This charger's web UI has no such setting or action."""

    translation_key = "webui_not_supported"

    def __init__(self, feature: str, model: str) -> None:
        super().__init__(
            f"The {model} web UI does not offer {feature}", feature=feature, model=model
        )


@dataclass
class ChargerWebInfo:
    """What the web UI tells about the charger."""

    model: str
    serial: str | None = None
    charge_box_identity: str | None = None
    firmware: str | None = None
    backend_url: str | None = None
    backend_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return asdict(self)


def _token_lifetime(token: str) -> float:
    """Seconds a JWT is valid, from its own iat/exp (not the charger's clock)."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return DEFAULT_TOKEN_LIFETIME
    if not isinstance(claims, dict):
        return DEFAULT_TOKEN_LIFETIME
    issued, expires = claims.get("iat"), claims.get("exp")
    if isinstance(issued, int | float) and isinstance(expires, int | float) and expires > issued:
        return float(expires - issued)
    return DEFAULT_TOKEN_LIFETIME


def parse_bool(value: Any) -> bool | None:
    """Web-UI booleans: JSON true/false, "true"/"TRUE", "on"/"off", 1/0."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("true", "1", "on", "yes", "enabled"):
        return True
    if text in ("false", "0", "off", "no", "disabled"):
        return False
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _fields_by_key(fields: Any, path: str) -> dict[str, dict[str, Any]]:
    if not isinstance(fields, list):
        raise WebUiError(f"{path} answered {type(fields).__name__}, not a list of fields")
    return {
        str(item["fieldKey"]): item
        for item in fields
        if isinstance(item, dict) and item.get("fieldKey") is not None
    }


class _Adapter:
    """One model's endpoints and field names."""

    model = "unknown"

    def __init__(self, client: WebUiClient) -> None:
        self.client = client

    def unsupported(self, feature: str) -> WebUiNotSupportedError:
        return WebUiNotSupportedError(feature, self.model)

    async def get_info(self) -> ChargerWebInfo:
        raise NotImplementedError

    async def set_backend(self, url: str, password: str | None) -> None:
        raise NotImplementedError

    async def reconnect(self) -> None:
        raise NotImplementedError

    async def get_settings(self) -> dict[str, Any]:
        raise NotImplementedError

    async def set_free_charging(self, enabled: bool) -> None:
        raise NotImplementedError

    async def set_led_brightness(self, percent: int) -> None:
        raise self.unsupported("LED brightness")


class _NextAdapter(_Adapter):
    """Webasto Next: sections API."""

    model = MODEL_NEXT

    async def section(self, key: str) -> dict[str, dict[str, Any]]:
        path = f"/sections/{key}"
        return _fields_by_key(await self.client.request("GET", path), path)

    @staticmethod
    def update(field: dict[str, Any], value: Any) -> dict[str, Any]:
        """An update for ``field``; the update type follows the field type.

        Reported pairs: number-configuration-field -> number-configuration-field-update,
        boolean -> boolean-...-update, a string -> simple-string-configuration-field-update.
        """
        field_type = str(field.get("configurationFieldType") or "")
        if field_type.endswith("-configuration-field"):
            update_type = f"{field_type}-update"
        elif isinstance(value, bool):
            update_type = "boolean-configuration-field-update"
        elif isinstance(value, int | float):
            update_type = "number-configuration-field-update"
        else:
            update_type = "simple-string-configuration-field-update"
        return {
            "fieldKey": field["fieldKey"],
            "value": value,
            "configurationFieldUpdateType": update_type,
        }

    @staticmethod
    def writable(field: dict[str, Any] | None) -> bool:
        if field is None:
            return False
        permission = field.get("permission")
        if isinstance(permission, dict) and "permissionLevel" in permission:
            return str(permission["permissionLevel"]).upper() == "WRITE"
        return True

    async def get_info(self) -> ChargerWebInfo:
        system = await self.section("system")
        backend = await self.section("backend")

        def value(fields: dict[str, dict[str, Any]], key: str) -> str | None:
            return _text(fields.get(key, {}).get("value"))

        return ChargerWebInfo(
            model=self.model,
            serial=value(system, NEXT_SERIAL),
            charge_box_identity=value(system, NEXT_IDENTITY),
            firmware=value(system, NEXT_FIRMWARE),
            backend_url=value(backend, NEXT_CONNECTION_URI),
            backend_type=value(backend, NEXT_CONNECTION_TYPE),
        )

    @staticmethod
    def password_field(backend: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """A writable password field in the backend section, if this firmware has one.

        The documented backend section has none; some firmware may (field type
        ``password``, like the Wi-Fi key in the network section).
        """
        for field in backend.values():
            field_type = str(field.get("configurationFieldType", "")).lower()
            if "password" in field_type and _NextAdapter.writable(field):
                return field
        return None

    async def set_backend(self, url: str, password: str | None) -> None:
        backend = await self.section("backend")
        uri = backend.get(NEXT_CONNECTION_URI)
        if not self.writable(uri):
            raise self.unsupported("an OCPP backend URL")
        assert uri is not None
        updates: list[dict[str, Any]] = []
        connection_type = backend.get(NEXT_CONNECTION_TYPE)
        if connection_type is not None and str(connection_type.get("value")) != "ocpp":
            if not self.writable(connection_type):
                raise self.unsupported("switching the backend connection to OCPP")
            updates.append(self.update(connection_type, "ocpp"))
        updates.append(self.update(uri, url))
        if password is not None:
            field = self.password_field(backend)
            if field is None:
                raise self.unsupported("an OCPP password (AuthorizationKey)")
            updates.append(self.update(field, password))
        await self.client.update(updates)

    async def reconnect(self) -> None:
        # No action to restart only the OCPP client is known: restart the charger.
        await self.client.action("/custom-actions/restart-system")

    async def get_settings(self) -> dict[str, Any]:
        auth = await self.section("auth")
        system = await self.section("system")
        brightness = system.get(NEXT_LED_BRIGHTNESS, {}).get("value")
        tag = next(
            (auth[k].get("value") for k in NEXT_FREE_CHARGING_TAG if k in auth),
            None,
        )
        try:
            led = int(brightness) if brightness is not None else None
        except (TypeError, ValueError):
            led = None
        return {
            "free_charging": parse_bool(auth.get(NEXT_FREE_CHARGING, {}).get("value")),
            "free_charging_tag": _text(tag),
            "led_brightness": led,
        }

    async def set_free_charging(self, enabled: bool) -> None:
        field = (await self.section("auth")).get(NEXT_FREE_CHARGING)
        if not self.writable(field):
            raise self.unsupported("free charging")
        assert field is not None
        await self.client.update([self.update(field, enabled)])

    async def set_led_brightness(self, percent: int) -> None:
        field = (await self.section("system")).get(NEXT_LED_BRIGHTNESS)
        if not self.writable(field):
            raise self.unsupported("LED brightness")
        assert field is not None
        await self.client.update([self.update(field, percent)])


class _UniteAdapter(_Adapter):
    """Webasto / Ampure Unite: one flat list of ``<table>.<column>`` fields."""

    model = MODEL_UNITE

    async def fields(self) -> dict[str, dict[str, Any]]:
        path = "/configuration-fields/"
        return _fields_by_key(await self.client.request("GET", path), path)

    async def write(self, values: dict[str, Any]) -> None:
        fields = await self.fields()
        missing = [key for key in values if key not in fields]
        if missing:
            raise self.unsupported(", ".join(missing))
        # Reported to need exactly {fieldKey, value}, values as strings (FW 3.187).
        await self.client.update([{"fieldKey": k, "value": v} for k, v in values.items()])

    async def get_info(self) -> ChargerWebInfo:
        fields = await self.fields()
        try:
            system = await self.client.request("GET", "/system-information")
        except WebUiNotSupportedError:
            system = {}
        if not isinstance(system, dict):
            system = {}

        def value(key: str) -> str | None:
            return _text(fields.get(key, {}).get("value"))

        return ChargerWebInfo(
            model=self.model,
            serial=_text(system.get("identifier")),
            charge_box_identity=value(UNITE_IDENTITY),
            firmware=_text(system.get("hmiVersion")),
            backend_url=value(UNITE_BACKEND_URL),
            backend_type="ocpp" if value(UNITE_BACKEND_URL) else None,
        )

    async def set_backend(self, url: str, password: str | None) -> None:
        values: dict[str, Any] = {UNITE_BACKEND_URL: url}
        if password is not None:
            values[UNITE_AUTHORIZATION_KEY] = password
        await self.write(values)

    async def reconnect(self) -> None:
        await self.client.action("/custom-actions/soft-reset")

    async def get_settings(self) -> dict[str, Any]:
        fields = await self.fields()
        return {
            "free_charging": parse_bool(fields.get(UNITE_FREE_MODE, {}).get("value")),
            "free_charging_tag": _text(fields.get(UNITE_FREE_MODE_RFID, {}).get("value")),
            "led_dimming_level": _text(fields.get(UNITE_LED_DIMMING, {}).get("value")),
        }

    async def set_free_charging(self, enabled: bool) -> None:
        await self.write({UNITE_FREE_MODE: "TRUE" if enabled else "FALSE"})


class WebUiClient:
    """The charger's web-UI API: login, info, backend settings, restart, Next settings."""

    def __init__(
        self,
        host: str,
        password: str,
        session: aiohttp.ClientSession,
        *,
        username: str = "admin",
        port: int = 443,
        verify_ssl: bool = False,
        model: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        logger: logging.Logger | None = None,
    ) -> None:
        self.host = host
        self.username = username
        self._password = password
        self._session = session
        self._verify_ssl = verify_ssl
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._logger = logger or _LOGGER
        url_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        authority = url_host if port == 443 else f"{url_host}:{port}"
        self.base_url = f"https://{authority}/api"
        self._token: str | None = None
        self._token_valid_until = 0.0
        self._login_lock = asyncio.Lock()
        self.logins = 0  # successful logins (diagnostics)
        self._adapter: _Adapter | None = None
        if model is not None:
            self._adapter = self._make_adapter(model)

    # ------------------------------------------------------------------ HTTP
    def _make_adapter(self, model: str) -> _Adapter:
        if model == MODEL_NEXT:
            return _NextAdapter(self)
        if model == MODEL_UNITE:
            return _UniteAdapter(self)
        raise WebUiNotSupportedError("this web UI", model)

    @property
    def model(self) -> str | None:
        """``next`` or ``unite`` once known."""
        return self._adapter.model if self._adapter is not None else None

    def _ssl(self) -> bool:
        return self._verify_ssl

    async def async_login(self) -> None:
        """Log in (again); raises WebUiAuthError, WebUiConnectionError or WebUiError."""
        async with self._login_lock:
            await self._login()

    async def _login(self) -> None:
        self._token = None
        url = f"{self.base_url}/login"
        body = {"username": self.username, "password": self._password}
        try:
            async with self._session.post(
                url, json=body, ssl=self._ssl(), timeout=self._timeout
            ) as response:
                if response.status in (401, 403):
                    raise WebUiAuthError(self.host)
                if response.status != 200:
                    raise WebUiError(f"The web UI answered the login with HTTP {response.status}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise WebUiConnectionError(self.host, _reason(err)) from err
        except ValueError as err:
            raise WebUiError(
                "The web UI answered the login with something that is not JSON"
            ) from err
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise WebUiError("The web UI's login answer has no access_token")
        lifetime = _token_lifetime(token)
        margin = min(60.0, lifetime / 10)
        loop = asyncio.get_running_loop()
        self._token = token
        self._token_valid_until = loop.time() + lifetime - margin
        self.logins += 1
        self._logger.debug("Logged in to the web UI of %s (token for %.0f s)", self.host, lifetime)

    async def _valid_token(self) -> str:
        async with self._login_lock:
            loop = asyncio.get_running_loop()
            if self._token is None or loop.time() >= self._token_valid_until:
                await self._login()
            assert self._token is not None
            return self._token

    async def _relogin(self, rejected: str) -> str:
        async with self._login_lock:
            if self._token in (rejected, None):
                await self._login()
            assert self._token is not None
            return self._token

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """An authenticated call; one re-login when the token is refused (401)."""
        token = await self._valid_token()
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            try:
                async with self._session.request(
                    method,
                    f"{self.base_url}{path}",
                    json=body,
                    headers=headers,
                    ssl=self._ssl(),
                    timeout=self._timeout,
                ) as response:
                    status = response.status
                    if status == 401:
                        if attempt == 2:
                            raise WebUiAuthError(self.host)
                        self._logger.debug("Web UI token refused; logging in again")
                    elif status == 404:
                        raise WebUiNotSupportedError(f"{method} {path}", self.model or "unknown")
                    elif status >= 400:
                        text = (await response.text())[:200]
                        raise WebUiError(f"{method} {path} answered HTTP {status}: {text}")
                    else:
                        raw = await response.read()
                        if not raw.strip():
                            return None
                        return json.loads(raw)
            except (aiohttp.ClientError, TimeoutError, OSError) as err:
                raise WebUiConnectionError(self.host, _reason(err)) from err
            except ValueError as err:
                raise WebUiError(f"{method} {path} answered something that is not JSON") from err
            token = await self._relogin(token)
        raise WebUiAuthError(self.host)  # pragma: no cover - the loop returns or raises

    async def update(self, updates: list[dict[str, Any]]) -> None:
        """POST /api/configuration-updates."""
        answer = await self.request("POST", "/configuration-updates", updates)
        if isinstance(answer, dict) and answer.get("success") is False:
            raise WebUiError(f"The web UI refused the update: {answer}")

    async def action(self, path: str) -> None:
        """A one-shot action; a connection dropped by a restarting charger is success."""
        try:
            await self.request("POST", path)
        except WebUiConnectionError as err:
            if isinstance(err.__cause__, aiohttp.ServerDisconnectedError | TimeoutError):
                self._logger.debug("The charger dropped the connection while restarting")
                return
            raise

    async def _get_adapter(self) -> _Adapter:
        if self._adapter is None:
            self._adapter = await self._detect()
        return self._adapter

    async def _detect(self) -> _Adapter:
        """Next: /api/configuration-structure; Unite: /api/configuration-fields/."""
        for model, path in (
            (MODEL_NEXT, "/configuration-structure"),
            (MODEL_UNITE, "/configuration-fields/"),
        ):
            try:
                await self.request("GET", path)
            except WebUiNotSupportedError:
                continue
            self._logger.debug("Web UI of %s is a %s", self.host, model)
            return self._make_adapter(model)
        raise WebUiError("The web UI offers neither the Next nor the Unite API")

    # ------------------------------------------------------------ public API
    async def async_get_info(self) -> ChargerWebInfo:
        """Model, serial, identity, firmware and the OCPP backend the charger uses."""
        return await (await self._get_adapter()).get_info()

    async def async_set_backend(self, url: str, password: str | None) -> None:
        """Point the charger at an OCPP backend (and set its password where possible).

        ``password`` None leaves the charger's password as it is. Call
        :meth:`async_reconnect` afterwards to make the charger use the new settings.
        """
        if not url.lower().startswith(("ws://", "wss://")):
            raise InvalidArgumentError(
                f"An OCPP backend URL starts with ws:// or wss://, not {url!r}", value=url
            )
        await (await self._get_adapter()).set_backend(url, password)

    async def async_reconnect(self) -> None:
        """Make the charger reconnect its OCPP client (both models: a restart)."""
        await (await self._get_adapter()).reconnect()

    async def async_get_settings(self) -> dict[str, Any]:
        """Next: ``free_charging``, ``led_brightness`` (0-100), ``free_charging_tag``.

        Unite: ``free_charging``, ``led_dimming_level``, ``free_charging_tag``.
        """
        return await (await self._get_adapter()).get_settings()

    async def async_set_free_charging(self, enabled: bool) -> None:
        """Free charging on or off."""
        await (await self._get_adapter()).set_free_charging(enabled)

    async def async_set_led_brightness(self, percent: int) -> None:
        """The Next's LED brightness, 0-100 %."""
        if not 0 <= percent <= 100:
            raise InvalidArgumentError(
                f"LED brightness is 0 to 100 %, not {percent}",
                value=str(percent),
                minimum="0",
                maximum="100",
            )
        await (await self._get_adapter()).set_led_brightness(percent)


def _reason(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "no answer in time"
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        return f"certificate not trusted ({err.certificate_error})"
    if isinstance(err, aiohttp.ClientConnectorError):
        return str(err.os_error.strerror or err.os_error)
    return str(err) or type(err).__name__
