"""Actions: get_configuration, change_configuration, update_firmware."""

from __future__ import annotations

from datetime import datetime

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .chargeconnect import ChargeConnectError, Charger
from .compat import vol
from .const import DOMAIN
from .helpers import Action, async_register_action, to_ha_error
from .owner_services import async_setup_owner_services

ATTR_CONFIG_ENTRY = "config_entry"
ATTR_KEYS = "keys"
ATTR_KEY = "key"
ATTR_VALUE = "value"
ATTR_LOCATION = "location"
ATTR_RETRIEVE_AT = "retrieve_at"
ATTR_RETRIES = "retries"

SERVICE_GET_CONFIGURATION = "get_configuration"
SERVICE_CHANGE_CONFIGURATION = "change_configuration"
SERVICE_UPDATE_FIRMWARE = "update_firmware"

_ENTRY = vol.Required(ATTR_CONFIG_ENTRY)
# Never in a response: the charger's OCPP password. OCPP 1.6 makes it write-only, but a firmware
# that reports it anyway must not show it to every user (get_configuration is open to all).
_SECRET_KEYS = frozenset({"AuthorizationKey"})
REDACTED = "**REDACTED**"

GET_CONFIGURATION_SCHEMA = vol.Schema(
    {_ENTRY: cv.string, vol.Optional(ATTR_KEYS, default=[]): vol.All(cv.ensure_list, [cv.string])}
)
CHANGE_CONFIGURATION_SCHEMA = vol.Schema(
    {
        _ENTRY: cv.string,
        vol.Required(ATTR_KEY): vol.All(cv.string, vol.Length(min=1, max=50)),
        vol.Required(ATTR_VALUE): vol.All(cv.string, vol.Length(max=500)),
    }
)
UPDATE_FIRMWARE_SCHEMA = vol.Schema(
    {
        _ENTRY: cv.string,
        vol.Required(ATTR_LOCATION): cv.string,
        vol.Optional(ATTR_RETRIEVE_AT): cv.datetime,
        vol.Optional(ATTR_RETRIES): vol.All(vol.Coerce(int), vol.Range(min=0, max=10)),
    }
)


def _charger(hass: HomeAssistant, call: ServiceCall) -> Charger:
    entry_id = call.data[ATTR_CONFIG_ENTRY]
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry": str(entry_id)},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"entry": entry.title},
        )
    charger: Charger = entry.runtime_data.charger
    return charger


async def _get_configuration(call: ServiceCall) -> ServiceResponse:
    charger = _charger(call.hass, call)
    try:
        result = await charger.get_configuration(call.data[ATTR_KEYS])
    except ChargeConnectError as err:
        raise to_ha_error(err) from err
    configuration = {
        key: {**item, "value": REDACTED} if key in _SECRET_KEYS and item["value"] else item
        for key, item in result["configuration"].items()
    }
    return {"configuration": configuration, "unknown_keys": result["unknown"]}


async def _change_configuration(call: ServiceCall) -> ServiceResponse:
    charger = _charger(call.hass, call)
    try:
        status = await charger.change_configuration(call.data[ATTR_KEY], call.data[ATTR_VALUE])
    except ChargeConnectError as err:
        raise to_ha_error(err) from err
    return {"status": status, "reboot_required": status == "RebootRequired"}


async def _update_firmware(call: ServiceCall) -> None:
    charger = _charger(call.hass, call)
    when: datetime | None = call.data.get(ATTR_RETRIEVE_AT)
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt_util.get_default_time_zone())
    try:
        await charger.update_firmware(call.data[ATTR_LOCATION], when, call.data.get(ATTR_RETRIES))
    except ChargeConnectError as err:
        raise to_ha_error(err) from err


SCHEMAS: dict[str, vol.Schema] = {
    SERVICE_GET_CONFIGURATION: GET_CONFIGURATION_SCHEMA,
    SERVICE_CHANGE_CONFIGURATION: CHANGE_CONFIGURATION_SCHEMA,
    SERVICE_UPDATE_FIRMWARE: UPDATE_FIRMWARE_SCHEMA,
}
# Who may call which action (the same ``admin`` flag as owner_services.HANDLERS): reading the
# charger's OCPP configuration is open to every user (without the OCPP password, see
# _SECRET_KEYS); changing it and installing firmware change what the charger does:
# administrators only.
HANDLERS: dict[str, Action] = {
    SERVICE_GET_CONFIGURATION: Action(_get_configuration, SupportsResponse.ONLY, admin=False),
    SERVICE_CHANGE_CONFIGURATION: Action(
        _change_configuration, SupportsResponse.OPTIONAL, admin=True
    ),
    SERVICE_UPDATE_FIRMWARE: Action(_update_firmware, SupportsResponse.NONE, admin=True),
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, from async_setup), each as its row in HANDLERS says."""
    async_setup_owner_services(hass)
    for name, action in HANDLERS.items():
        async_register_action(hass, name, action, SCHEMAS[name])
