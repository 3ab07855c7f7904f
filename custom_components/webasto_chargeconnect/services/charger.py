"""Actions on the charger itself: its OCPP configuration, firmware, starting a session."""

from __future__ import annotations

from datetime import datetime

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ..compat import vol
from .common import (
    ATTR_CONFIG_ENTRY,
    ATTR_ID_TAG,
    ODOMETER,
    TAG,
    TARGET,
    resolve_charger,
    resolve_owner,
)

ATTR_KEYS = "keys"
ATTR_KEY = "key"
ATTR_VALUE = "value"
ATTR_LOCATION = "location"
ATTR_RETRIEVE_AT = "retrieve_at"
ATTR_RETRIES = "retries"
ATTR_ODOMETER = "odometer"
ATTR_VEHICLE = "vehicle_id"

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
START_CHARGING_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Optional(ATTR_ID_TAG): TAG,
        vol.Optional(ATTR_ODOMETER): ODOMETER,
        vol.Optional(ATTR_VEHICLE): vol.All(cv.string, vol.Strip, vol.Length(min=1, max=50)),
    }
)


async def get_configuration(call: ServiceCall) -> ServiceResponse:
    """The charger's OCPP configuration keys (all, or those asked for)."""
    result = await resolve_charger(call).get_configuration(call.data[ATTR_KEYS])
    configuration = {
        key: {**item, "value": REDACTED} if key in _SECRET_KEYS and item["value"] else item
        for key, item in result["configuration"].items()
    }
    return {"configuration": configuration, "unknown_keys": result["unknown"]}


async def change_configuration(call: ServiceCall) -> ServiceResponse:
    """Set one OCPP configuration key."""
    charger = resolve_charger(call)
    status = await charger.change_configuration(call.data[ATTR_KEY], call.data[ATTR_VALUE])
    return {"status": status, "reboot_required": status == "RebootRequired"}


async def update_firmware(call: ServiceCall) -> ServiceResponse:
    """Have the charger fetch and install a firmware image."""
    charger = resolve_charger(call)
    when: datetime | None = call.data.get(ATTR_RETRIEVE_AT)
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt_util.get_default_time_zone())
    await charger.update_firmware(call.data[ATTR_LOCATION], when, call.data.get(ATTR_RETRIES))
    return None


async def start_charging(call: ServiceCall) -> ServiceResponse:
    """Start a session, with the driver's log (odometer, vehicle) for it."""
    owner = resolve_owner(call)
    await owner.async_start_session(
        call.data.get(ATTR_ID_TAG), call.data.get(ATTR_ODOMETER), call.data.get(ATTR_VEHICLE)
    )
    return None
