"""One adapter per web-UI model: its endpoints and field names.

The Next groups its configuration in sections and wants an update type per field; the Unite
has one flat list of ``<table>.<column>`` fields. Nothing is written to a field the charger did
not list (:class:`WebUiNotSupportedError` instead of a blind write).
"""

from __future__ import annotations

from typing import Any, Protocol

from .models import (
    MODEL_NEXT,
    MODEL_UNITE,
    ChargerWebInfo,
    WebUiError,
    WebUiNotSupportedError,
    WebUiSettings,
    parse_bool,
)

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


class WebUiApi(Protocol):
    """The authenticated calls an adapter makes (the client's)."""

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """An authenticated call; the decoded JSON answer."""

    async def update(self, updates: list[dict[str, Any]]) -> None:
        """POST /api/configuration-updates."""

    async def action(self, path: str) -> None:
        """A one-shot action (a restart)."""


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


class Adapter:
    """One model's endpoints and field names."""

    model = "unknown"

    def __init__(self, client: WebUiApi) -> None:
        self.client = client

    def unsupported(self, feature: str) -> WebUiNotSupportedError:
        return WebUiNotSupportedError(feature, self.model)

    async def get_info(self) -> ChargerWebInfo:
        raise NotImplementedError

    async def set_backend(self, url: str, password: str | None) -> None:
        raise NotImplementedError

    async def reconnect(self) -> None:
        raise NotImplementedError

    async def get_settings(self) -> WebUiSettings:
        raise NotImplementedError

    async def set_free_charging(self, enabled: bool) -> None:
        raise NotImplementedError

    async def set_led_brightness(self, percent: int) -> None:
        raise self.unsupported("LED brightness")


class NextAdapter(Adapter):
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
            if "password" in field_type and NextAdapter.writable(field):
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

    async def get_settings(self) -> WebUiSettings:
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
        return WebUiSettings(
            model=self.model,
            free_charging=parse_bool(auth.get(NEXT_FREE_CHARGING, {}).get("value")),
            free_charging_tag=_text(tag),
            led_brightness=led,
        )

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


class UniteAdapter(Adapter):
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

    async def get_settings(self) -> WebUiSettings:
        fields = await self.fields()
        return WebUiSettings(
            model=self.model,
            free_charging=parse_bool(fields.get(UNITE_FREE_MODE, {}).get("value")),
            free_charging_tag=_text(fields.get(UNITE_FREE_MODE_RFID, {}).get("value")),
            led_dimming_level=_text(fields.get(UNITE_LED_DIMMING, {}).get("value")),
        )

    async def set_free_charging(self, enabled: bool) -> None:
        await self.write({UNITE_FREE_MODE: "TRUE" if enabled else "FALSE"})


def adapter_for(model: str, api: WebUiApi) -> Adapter:
    """The adapter of a model (``next`` or ``unite``)."""
    if model == MODEL_NEXT:
        return NextAdapter(api)
    if model == MODEL_UNITE:
        return UniteAdapter(api)
    raise WebUiNotSupportedError("this web UI", model)
