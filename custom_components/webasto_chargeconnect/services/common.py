"""What every action shares: naming its charger, the hub lookup, common field validators.

An action names its charger by ``device_id`` (a device selector) or ``config_entry``;
``resolve_entry`` is the one place that turns either into a loaded config entry, and every
refusal is a translated ``ServiceValidationError``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util

from ..chargeconnect import Charger
from ..chargeconnect.access import AccessControl
from ..chargeconnect.ledger import Ledger
from ..compat import device_config_entry_ids, vol
from ..const import DOMAIN
from ..coordinator import ChargeConnectConfigEntry
from ..hub import HUB, ChargeConnectHub
from ..owner import ChargerOwner

ATTR_CONFIG_ENTRY = "config_entry"
ATTR_DEVICE_ID = "device_id"
ATTR_ID_TAG = "id_tag"
ATTR_NOTIFY = "notify_service"

# The charger an action may name (installation-wide actions take it optionally).
TARGET: dict[Any, Any] = {
    vol.Optional(ATTR_CONFIG_ENTRY): cv.string,
    vol.Optional(ATTR_DEVICE_ID): cv.string,
}
TAG = vol.All(cv.string, vol.Strip, vol.Length(min=1, max=20))
TEXT = vol.All(cv.string, vol.Strip, vol.Length(min=1, max=100))
OPTIONAL_TEXT = vol.All(cv.string, vol.Strip, vol.Length(max=200))
NOTIFY = vol.All(cv.string, vol.Match(r"^notify\.[a-z0-9_]+$"))
ODOMETER = vol.All(vol.Coerce(float), vol.Range(min=0, max=2_000_000))


def invalid(key: str, **placeholders: str) -> ServiceValidationError:
    """A translated refusal of the call."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def get_hub(hass: HomeAssistant) -> ChargeConnectHub:
    """The installation's hub, with its access store and session archive open."""
    hub: ChargeConnectHub | None = hass.data.get(HUB)
    if hub is None or hub.access is None or hub.ledger is None:
        raise invalid("no_charger_loaded")
    return hub


def get_access(hass: HomeAssistant) -> AccessControl:
    """The installation's access store (tags, shares, groups, tariffs, bookings)."""
    access = get_hub(hass).access
    assert access is not None
    return access


def get_ledger(hass: HomeAssistant) -> Ledger:
    """The installation's session archive."""
    ledger = get_hub(hass).ledger
    assert ledger is not None
    return ledger


def resolve_entry(call: ServiceCall, *, required: bool = True) -> ChargeConnectConfigEntry | None:
    """The loaded config entry the call names by ``device_id`` or ``config_entry``.

    None when the call names none and ``required`` is false.
    """
    hass = call.hass
    entry_id: str | None = call.data.get(ATTR_CONFIG_ENTRY)
    if device_id := call.data.get(ATTR_DEVICE_ID):
        device = dr.async_get(hass).async_get(device_id)
        entry_ids = [] if device is None else device_config_entry_ids(device)
        matching = [
            entry
            for entry in map(hass.config_entries.async_get_entry, entry_ids)
            if entry is not None and entry.domain == DOMAIN
        ]
        if not matching:
            raise invalid("device_not_found", device=device_id)
        entry_id = matching[0].entry_id
    if not entry_id:
        if required:
            raise invalid("charger_required")
        return None
    entry: ChargeConnectConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise invalid("entry_not_found", entry=str(entry_id))
    if entry.state is not ConfigEntryState.LOADED:
        raise invalid("entry_not_loaded", entry=entry.title)
    return entry


def optional_owner(call: ServiceCall) -> ChargerOwner | None:
    """The owner's side of the charger the call names, if it names one."""
    entry = resolve_entry(call, required=False)
    return None if entry is None else entry.runtime_data.owner


def resolve_owner(call: ServiceCall) -> ChargerOwner:
    """The owner's side of the charger the call must name."""
    entry = resolve_entry(call)
    assert entry is not None
    return entry.runtime_data.owner


def resolve_charger(call: ServiceCall) -> Charger:
    """The charger the call must name."""
    entry = resolve_entry(call)
    assert entry is not None
    return entry.runtime_data.charger


def aware(value: datetime | None) -> datetime | None:
    """A datetime from a field in UTC; a naive one is in Home Assistant's time zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(value)
