"""Actions for the owner's features: tags, sharing, groups, tariffs, bookings, sessions.

Each action names its charger by ``device_id`` (a device selector) or ``config_entry``;
installation-wide ones (tags, groups) take it optionally. Input is validated here
and by the library; every refusal is a translated ``ServiceValidationError``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import os
import re
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util

from .chargeconnect import ChargeConnectError
from .chargeconnect.access import AccessControl
from .chargeconnect.ledger import Ledger, SessionFilter
from .chargeconnect.models import Tariff
from .compat import device_config_entry_ids, vol
from .const import DOMAIN, EXPORT_DIR
from .coordinator import device_name
from .helpers import Action, ActionHandler, async_register_action, to_ha_error
from .hub import HUB, ChargeConnectHub
from .owner import ChargerOwner

ATTR_CONFIG_ENTRY = "config_entry"
ATTR_DEVICE_ID = "device_id"
ATTR_ALIAS = "alias"
ATTR_ID_TAG = "id_tag"
ATTR_FAVOURITE = "favourite"
ATTR_DURATION = "duration"
ATTR_NAME = "name"
ATTR_EMAIL = "email"
ATTR_EXPIRY = "expiry"
ATTR_NOTIFY = "notify_service"
ATTR_SHARE_ID = "share_id"
ATTR_GROUP_ID = "group_id"
ATTR_ADDRESS = "address"
ATTR_MEMBER_ID = "member_id"
ATTR_TAGS = "tags"
ATTR_CURRENCY = "currency"
ATTR_FIXED_FEE = "fixed_fee"
ATTR_PRICE = "price_per_kwh"
ATTR_START = "start"
ATTR_END = "end"
ATTR_NOTE = "note"
ATTR_BOOKING_ID = "booking_id"
ATTR_ODOMETER = "odometer"
ATTR_VEHICLE = "vehicle_id"
ATTR_TRANSACTION = "transaction_id"
ATTR_OFFSET = "offset"
ATTR_LIMIT = "limit"
ATTR_FORMAT = "format"
ATTR_LOCALE = "locale"

_EXPORT_TITLES = {"en": "Charging sessions", "nl": "Laadsessies", "de": "Ladevorgänge"}
# Messages sent through a notify action, in Home Assistant's language (en, nl or de).
_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "share_title": "Charger shared with you",
        "share": "Hello {name}, you may charge at {charger} with tag {tag}{until}.",
        "until": " until {time}",
        "export": "{count} charging sessions: {file}",
    },
    "nl": {
        "share_title": "Laadpaal met je gedeeld",
        "share": "Hallo {name}, je mag laden bij {charger} met tag {tag}{until}.",
        "until": " tot {time}",
        "export": "{count} laadsessies: {file}",
    },
    "de": {
        "share_title": "Ladestation mit dir geteilt",
        "share": "Hallo {name}, du darfst an {charger} mit dem Tag {tag} laden{until}.",
        "until": " bis {time}",
        "export": "{count} Ladevorgänge: {file}",
    },
}


def _messages(hass: HomeAssistant) -> dict[str, str]:
    return _MESSAGES.get(str(hass.config.language).split("-")[0], _MESSAGES["en"])


_TARGET: dict[Any, Any] = {
    vol.Optional(ATTR_CONFIG_ENTRY): cv.string,
    vol.Optional(ATTR_DEVICE_ID): cv.string,
}
_TAG = vol.All(cv.string, vol.Strip, vol.Length(min=1, max=20))
_TEXT = vol.All(cv.string, vol.Strip, vol.Length(min=1, max=100))
_OPTIONAL_TEXT = vol.All(cv.string, vol.Strip, vol.Length(max=200))
_MONEY = vol.All(vol.Coerce(float), vol.Range(min=0, max=10000))
_NOTIFY = vol.All(cv.string, vol.Match(r"^notify\.[a-z0-9_]+$"))
_FILTERS: dict[Any, Any] = {
    vol.Optional(ATTR_ID_TAG): _TAG,
    vol.Optional(ATTR_GROUP_ID): cv.string,
    vol.Optional(ATTR_START): cv.datetime,
    vol.Optional(ATTR_END): cv.datetime,
    vol.Optional(ATTR_TRANSACTION): vol.All(vol.Coerce(int), vol.Range(min=1)),
}

SCHEMAS: dict[str, vol.Schema] = {
    "add_tag": vol.Schema(
        {
            **_TARGET,
            vol.Required(ATTR_ALIAS): _TEXT,
            vol.Optional(ATTR_ID_TAG): _TAG,
            vol.Optional(ATTR_FAVOURITE, default=False): cv.boolean,
        }
    ),
    "learn_tag": vol.Schema(
        {
            **_TARGET,
            vol.Required(ATTR_ALIAS): _TEXT,
            vol.Optional(ATTR_DURATION, default=60): vol.All(
                vol.Coerce(int), vol.Range(min=10, max=600)
            ),
        }
    ),
    "update_tag": vol.Schema(
        {**_TARGET, vol.Required(ATTR_ID_TAG): _TAG, vol.Required(ATTR_ALIAS): _TEXT}
    ),
    "remove_tag": vol.Schema({**_TARGET, vol.Required(ATTR_ID_TAG): _TAG}),
    "set_favourite_tag": vol.Schema({**_TARGET, vol.Required(ATTR_ID_TAG): _TAG}),
    "list_tags": vol.Schema(_TARGET),
    "share_charger": vol.Schema(
        {
            **_TARGET,
            vol.Required(ATTR_NAME): _TEXT,
            vol.Optional(ATTR_EMAIL, default=""): vol.Any("", vol.Email()),
            vol.Required(ATTR_ID_TAG): _TAG,
            vol.Optional(ATTR_EXPIRY): cv.datetime,
            vol.Optional(ATTR_NOTIFY): _NOTIFY,
        }
    ),
    "revoke_share": vol.Schema({**_TARGET, vol.Required(ATTR_SHARE_ID): cv.string}),
    "list_shares": vol.Schema(_TARGET),
    "create_group": vol.Schema(
        {
            **_TARGET,
            vol.Required(ATTR_NAME): _TEXT,
            vol.Optional(ATTR_ADDRESS, default=""): _OPTIONAL_TEXT,
        }
    ),
    "update_group": vol.Schema(
        {
            **_TARGET,
            vol.Required(ATTR_GROUP_ID): cv.string,
            vol.Optional(ATTR_NAME): _TEXT,
            vol.Optional(ATTR_ADDRESS): _OPTIONAL_TEXT,
        }
    ),
    "delete_group": vol.Schema({**_TARGET, vol.Required(ATTR_GROUP_ID): cv.string}),
    "list_groups": vol.Schema(_TARGET),
    "add_group_member": vol.Schema(
        {
            **_TARGET,
            vol.Required(ATTR_GROUP_ID): cv.string,
            vol.Required(ATTR_NAME): _TEXT,
            vol.Optional(ATTR_EMAIL, default=""): vol.Any("", vol.Email()),
            vol.Optional(ATTR_TAGS, default=[]): vol.All(cv.ensure_list, [_TAG]),
        }
    ),
    "remove_group_member": vol.Schema(
        {**_TARGET, vol.Required(ATTR_GROUP_ID): cv.string, vol.Required(ATTR_MEMBER_ID): cv.string}
    ),
    "set_tariff": vol.Schema(
        {
            **_TARGET,
            vol.Optional(ATTR_GROUP_ID): cv.string,
            vol.Optional(ATTR_CURRENCY): vol.All(cv.string, vol.Upper, vol.Match(r"^[A-Z]{3}$")),
            vol.Optional(ATTR_FIXED_FEE, default=0.0): _MONEY,
            vol.Required(ATTR_PRICE): _MONEY,
        }
    ),
    "set_charger_group": vol.Schema({**_TARGET, vol.Optional(ATTR_GROUP_ID): cv.string}),
    "add_booking": vol.Schema(
        {
            **_TARGET,
            vol.Required(ATTR_ID_TAG): _TAG,
            vol.Required(ATTR_START): cv.datetime,
            vol.Required(ATTR_END): cv.datetime,
            vol.Optional(ATTR_NOTE, default=""): _OPTIONAL_TEXT,
        }
    ),
    "cancel_booking": vol.Schema({**_TARGET, vol.Required(ATTR_BOOKING_ID): cv.string}),
    "start_charging": vol.Schema(
        {
            **_TARGET,
            vol.Optional(ATTR_ID_TAG): _TAG,
            vol.Optional(ATTR_ODOMETER): vol.All(
                vol.Coerce(float), vol.Range(min=0, max=2_000_000)
            ),
            vol.Optional(ATTR_VEHICLE): vol.All(cv.string, vol.Strip, vol.Length(min=1, max=50)),
        }
    ),
    "update_session": vol.Schema(
        {
            **_TARGET,
            vol.Required(ATTR_TRANSACTION): vol.All(vol.Coerce(int), vol.Range(min=1)),
            vol.Optional(ATTR_ODOMETER): vol.All(
                vol.Coerce(float), vol.Range(min=0, max=2_000_000)
            ),
            vol.Optional(ATTR_VEHICLE): vol.All(cv.string, vol.Strip, vol.Length(max=50)),
        }
    ),
    "get_sessions": vol.Schema(
        {
            **_TARGET,
            **_FILTERS,
            vol.Optional(ATTR_OFFSET, default=0): vol.All(vol.Coerce(int), vol.Range(min=0)),
            vol.Optional(ATTR_LIMIT, default=50): vol.All(
                vol.Coerce(int), vol.Range(min=1, max=500)
            ),
        }
    ),
    "export_sessions": vol.Schema(
        {
            **_TARGET,
            **_FILTERS,
            vol.Required(ATTR_FORMAT): vol.In(["csv", "xlsx", "pdf"]),
            vol.Optional(ATTR_LOCALE, default="en"): vol.In(["en", "nl", "de"]),
            vol.Optional(ATTR_NOTIFY): _NOTIFY,
        }
    ),
}


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _hub(hass: HomeAssistant) -> ChargeConnectHub:
    hub = hass.data.get(HUB)
    if hub is None or hub.access is None or hub.ledger is None:
        raise _invalid("no_charger_loaded")
    return hub


def _access(hass: HomeAssistant) -> AccessControl:
    access = _hub(hass).access
    assert access is not None
    return access


def _ledger(hass: HomeAssistant) -> Ledger:
    ledger = _hub(hass).ledger
    assert ledger is not None
    return ledger


def _owner(call: ServiceCall, *, required: bool = True) -> ChargerOwner | None:
    """The charger the call names, by device or config entry."""
    hass = call.hass
    entry_id: str | None = call.data.get(ATTR_CONFIG_ENTRY)
    device_id: str | None = call.data.get(ATTR_DEVICE_ID)
    if device_id:
        device = dr.async_get(hass).async_get(device_id)
        entry_ids = [] if device is None else device_config_entry_ids(device)
        entries = [
            e for e in (hass.config_entries.async_get_entry(i) for i in entry_ids) if e is not None
        ]
        matching = [e for e in entries if e.domain == DOMAIN]
        if not matching:
            raise _invalid("device_not_found", device=device_id)
        entry_id = matching[0].entry_id
    if not entry_id:
        if required:
            raise _invalid("charger_required")
        return None
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise _invalid("entry_not_found", entry=str(entry_id))
    if entry.state is not ConfigEntryState.LOADED:
        raise _invalid("entry_not_loaded", entry=entry.title)
    owner: ChargerOwner = entry.runtime_data.owner
    return owner


def _required_owner(call: ServiceCall) -> ChargerOwner:
    owner = _owner(call)
    assert owner is not None
    return owner


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(value)


def _filter(call: ServiceCall, owner: ChargerOwner | None) -> SessionFilter:
    start = _aware(call.data.get(ATTR_START))
    end = _aware(call.data.get(ATTR_END))
    if start is not None and end is not None and end <= start:
        raise _invalid("end_before_start")
    tag = call.data.get(ATTR_ID_TAG)
    tx = call.data.get(ATTR_TRANSACTION)
    return SessionFilter(
        chargers=[owner.charger.identity] if owner is not None else None,
        id_tags=[tag] if tag else None,
        group_id=call.data.get(ATTR_GROUP_ID) or None,
        start=start,
        end=end,
        transaction_ids=[tx] if tx else None,
    )


# ---------------------------------------------------------------------------- tags
async def _add_tag(call: ServiceCall) -> ServiceResponse:
    owner = _owner(call, required=False)
    access = _access(call.hass)
    id_tag = call.data.get(ATTR_ID_TAG)
    tag = await access.add_tag(
        call.data[ATTR_ALIAS], id_tag=id_tag, kind="rfid" if id_tag else "virtual"
    )
    if call.data[ATTR_FAVOURITE]:
        if owner is None:
            raise _invalid("charger_required")
        await access.set_favourite(owner.charger.identity, tag.id_tag)
    return {"tag": tag.to_dict()}


async def _learn_tag(call: ServiceCall) -> ServiceResponse:
    owner = _required_owner(call)
    duration = timedelta(seconds=call.data[ATTR_DURATION])
    await owner.access.arm_learning(owner.charger.identity, call.data[ATTR_ALIAS], duration)
    return {"until": (dt_util.utcnow() + duration).isoformat()}


async def _update_tag(call: ServiceCall) -> ServiceResponse:
    tag = await _access(call.hass).update_tag(call.data[ATTR_ID_TAG], call.data[ATTR_ALIAS])
    return {"tag": tag.to_dict()}


async def _remove_tag(call: ServiceCall) -> ServiceResponse:
    await _access(call.hass).remove_tag(call.data[ATTR_ID_TAG])
    return None


async def _set_favourite(call: ServiceCall) -> ServiceResponse:
    owner = _required_owner(call)
    await owner.access.set_favourite(owner.charger.identity, call.data[ATTR_ID_TAG])
    return None


async def _list_tags(call: ServiceCall) -> ServiceResponse:
    owner = _owner(call, required=False)
    access = _access(call.hass)
    favourite = access.favourite(owner.charger.identity) if owner is not None else None
    return {
        "tags": [
            {
                **tag.to_dict(),
                "favourite": favourite is not None and favourite.id_tag == tag.id_tag,
            }
            for tag in access.tags()
        ]
    }


# -------------------------------------------------------------------------- sharing
async def _share(call: ServiceCall) -> ServiceResponse:
    owner = _required_owner(call)
    expiry = _aware(call.data.get(ATTR_EXPIRY))
    share = await owner.access.share(
        owner.charger.identity,
        call.data[ATTR_NAME],
        call.data[ATTR_EMAIL],
        call.data[ATTR_ID_TAG],
        expiry,
    )
    if notify := call.data.get(ATTR_NOTIFY):
        text = _messages(call.hass)
        until = (
            text["until"].format(time=dt_util.as_local(expiry).strftime("%Y-%m-%d %H:%M"))
            if expiry
            else ""
        )
        await _notify(
            call.hass,
            notify,
            title=text["share_title"],
            message=text["share"].format(
                name=share.name,
                charger=device_name(owner.charger.identity),
                tag=share.id_tag,
                until=until,
            ),
        )
    return {"share": share.to_dict()}


async def _revoke_share(call: ServiceCall) -> ServiceResponse:
    await _access(call.hass).revoke_share(call.data[ATTR_SHARE_ID])
    return None


async def _list_shares(call: ServiceCall) -> ServiceResponse:
    owner = _owner(call, required=False)
    access = _access(call.hass)
    identity = owner.charger.identity if owner is not None else None
    return {"shares": [share.to_dict() for share in access.shares(identity)]}


# ------------------------------------------------------------------- groups, tariffs
async def _create_group(call: ServiceCall) -> ServiceResponse:
    owner = _owner(call, required=False)
    access = _access(call.hass)
    group = await access.create_group(call.data[ATTR_NAME], call.data[ATTR_ADDRESS])
    if owner is not None:
        await access.assign_charger(owner.charger.identity, group.group_id)
        group = access.group_of(owner.charger.identity) or group
    return {"group": group.to_dict()}


async def _update_group(call: ServiceCall) -> ServiceResponse:
    changes = {k: call.data[k] for k in (ATTR_NAME, ATTR_ADDRESS) if k in call.data}
    group = await _access(call.hass).update_group(call.data[ATTR_GROUP_ID], **changes)
    return {"group": group.to_dict()}


async def _delete_group(call: ServiceCall) -> ServiceResponse:
    await _access(call.hass).delete_group(call.data[ATTR_GROUP_ID])
    return None


async def _list_groups(call: ServiceCall) -> ServiceResponse:
    return {"groups": [group.to_dict() for group in _access(call.hass).groups()]}


async def _add_member(call: ServiceCall) -> ServiceResponse:
    member = await _access(call.hass).add_member(
        call.data[ATTR_GROUP_ID], call.data[ATTR_NAME], call.data[ATTR_EMAIL], call.data[ATTR_TAGS]
    )
    return {"member": member.to_dict()}


async def _remove_member(call: ServiceCall) -> ServiceResponse:
    await _access(call.hass).remove_member(call.data[ATTR_GROUP_ID], call.data[ATTR_MEMBER_ID])
    return None


async def _set_tariff(call: ServiceCall) -> ServiceResponse:
    owner = _owner(call, required=False)
    access = _access(call.hass)
    tariff = Tariff(
        currency=call.data.get(ATTR_CURRENCY) or str(call.hass.config.currency),
        fixed_fee=call.data[ATTR_FIXED_FEE],
        price_per_kwh=call.data[ATTR_PRICE],
    )
    if group_id := call.data.get(ATTR_GROUP_ID):
        await access.set_group_tariff(group_id, tariff)
    elif owner is not None:
        await access.set_charger_tariff(owner.charger.identity, tariff)
    else:
        raise _invalid("tariff_target_required")
    return {"tariff": tariff.to_dict()}


async def _set_charger_group(call: ServiceCall) -> ServiceResponse:
    owner = _required_owner(call)
    await owner.access.assign_charger(owner.charger.identity, call.data.get(ATTR_GROUP_ID) or None)
    return None


# ------------------------------------------------------------------------- bookings
async def _add_booking(call: ServiceCall) -> ServiceResponse:
    owner = _required_owner(call)
    start = _aware(call.data[ATTR_START])
    end = _aware(call.data[ATTR_END])
    assert start is not None
    assert end is not None
    booking = await owner.access.add_booking(
        owner.charger.identity, call.data[ATTR_ID_TAG], start, end, call.data[ATTR_NOTE]
    )
    return {"booking": booking.to_dict()}


async def _cancel_booking(call: ServiceCall) -> ServiceResponse:
    access = _access(call.hass)
    booking_id: str = call.data[ATTR_BOOKING_ID]
    booking = next((b for b in access.bookings() if b.booking_id == booking_id), None)
    await access.cancel_booking(booking_id)
    if booking is not None:
        for entry in call.hass.config_entries.async_loaded_entries(DOMAIN):
            owner: ChargerOwner = entry.runtime_data.owner
            if owner.charger.identity == booking.charger:
                await owner.async_cancel_reservation(booking_id)
    return None


# ----------------------------------------------------------------- driver's log
async def _start_charging(call: ServiceCall) -> ServiceResponse:
    owner = _required_owner(call)
    owner.recorder.set_drivers_log(call.data.get(ATTR_ODOMETER), call.data.get(ATTR_VEHICLE))
    try:
        await owner.charger.remote_start(call.data.get(ATTR_ID_TAG))
    except ChargeConnectError:
        owner.recorder.set_drivers_log(None, None)
        raise
    return None


async def _update_session(call: ServiceCall) -> ServiceResponse:
    ledger = _ledger(call.hass)
    tx: int = call.data[ATTR_TRANSACTION]
    if await ledger.get_session(tx) is None:
        raise _invalid("session_not_found", transaction_id=str(tx))
    changes: dict[str, Any] = {}
    if ATTR_ODOMETER in call.data:
        changes["odometer_km"] = call.data[ATTR_ODOMETER]
    if ATTR_VEHICLE in call.data:
        changes["vehicle_id"] = call.data[ATTR_VEHICLE] or None
    await ledger.update_session(tx, **changes)
    record = await ledger.get_session(tx)
    assert record is not None
    return {"session": record.to_dict()}


# -------------------------------------------------------------- archive, exports
async def _get_sessions(call: ServiceCall) -> ServiceResponse:
    owner = _owner(call, required=False)
    flt = _filter(call, owner)
    records, total = await _ledger(call.hass).query(
        flt, offset=call.data[ATTR_OFFSET], limit=call.data[ATTR_LIMIT]
    )
    return {
        "sessions": [record.to_dict() for record in records],
        "total": total,
        "offset": call.data[ATTR_OFFSET],
        "limit": call.data[ATTR_LIMIT],
    }


async def _export_sessions(call: ServiceCall) -> ServiceResponse:
    owner = _owner(call, required=False)
    flt = _filter(call, owner)
    fmt: str = call.data[ATTR_FORMAT]
    stamp = dt_util.now().strftime("%Y%m%d-%H%M%S")
    scope = re.sub(r"[^A-Za-z0-9_-]+", "_", owner.charger.identity) if owner else "all"
    path = call.hass.config.path(DOMAIN, EXPORT_DIR, f"sessions_{scope}_{stamp}.{fmt}")
    result = await _ledger(call.hass).export(
        fmt,  # type: ignore[arg-type]
        path,
        flt,
        locale=call.data[ATTR_LOCALE],
        title=_EXPORT_TITLES[call.data[ATTR_LOCALE]],
        tz=dt_util.get_default_time_zone(),
    )
    if notify := call.data.get(ATTR_NOTIFY):
        await _notify(
            call.hass,
            notify,
            title=_EXPORT_TITLES.get(
                str(call.hass.config.language).split("-")[0], "Charging sessions"
            ),
            message=_messages(call.hass)["export"].format(
                count=result.sessions, file=os.path.basename(path)
            ),
            data={"images": [str(result.path)], "attachments": [str(result.path)]},
        )
    return {"path": str(result.path), "sessions": result.sessions, "format": fmt}


async def _notify(
    hass: HomeAssistant,
    service: str,
    *,
    title: str,
    message: str,
    data: dict[str, Any] | None = None,
) -> None:
    domain, name = service.split(".", 1)
    if not hass.services.has_service(domain, name):
        raise _invalid("notify_not_found", service=service)
    payload: dict[str, Any] = {"title": title, "message": message}
    if data:
        payload["data"] = data
    try:
        await hass.services.async_call(domain, name, payload, blocking=True)
    except HomeAssistantError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="notify_failed",
            translation_placeholders={"service": service, "error": str(err)},
        ) from err


# Who may call which action: one ``admin`` flag per action. Administrators only (admin=True):
# everything that decides who may charge (tags, learn mode, shares, groups and their members,
# bookings), what they pay (tariffs, a charger's group) or what the archive says (a session's
# driver's log). Every user (admin=False): the reads (list_*, get_sessions, export_sessions,
# which writes a report of the archive into the exports folder) and starting a session, as the
# charging switch does. Automations and scripts run without a user and may call all of them.
HANDLERS: dict[str, Action] = {
    "add_tag": Action(_add_tag, SupportsResponse.OPTIONAL, admin=True),
    "learn_tag": Action(_learn_tag, SupportsResponse.OPTIONAL, admin=True),
    "update_tag": Action(_update_tag, SupportsResponse.OPTIONAL, admin=True),
    "remove_tag": Action(_remove_tag, SupportsResponse.NONE, admin=True),
    # the favourite is the tag remote starts and the charging switch use
    "set_favourite_tag": Action(_set_favourite, SupportsResponse.NONE, admin=True),
    "list_tags": Action(_list_tags, SupportsResponse.ONLY, admin=False),
    "share_charger": Action(_share, SupportsResponse.OPTIONAL, admin=True),
    "revoke_share": Action(_revoke_share, SupportsResponse.NONE, admin=True),
    "list_shares": Action(_list_shares, SupportsResponse.ONLY, admin=False),
    "create_group": Action(_create_group, SupportsResponse.OPTIONAL, admin=True),
    "update_group": Action(_update_group, SupportsResponse.OPTIONAL, admin=True),
    "delete_group": Action(_delete_group, SupportsResponse.NONE, admin=True),
    "list_groups": Action(_list_groups, SupportsResponse.ONLY, admin=False),
    "add_group_member": Action(_add_member, SupportsResponse.OPTIONAL, admin=True),
    "remove_group_member": Action(_remove_member, SupportsResponse.NONE, admin=True),
    "set_tariff": Action(_set_tariff, SupportsResponse.OPTIONAL, admin=True),
    # the group decides the tariff and who may charge here
    "set_charger_group": Action(_set_charger_group, SupportsResponse.NONE, admin=True),
    "add_booking": Action(_add_booking, SupportsResponse.OPTIONAL, admin=True),
    "cancel_booking": Action(_cancel_booking, SupportsResponse.NONE, admin=True),
    # starting (and stopping, with the charging switch) stays with the household
    "start_charging": Action(_start_charging, SupportsResponse.NONE, admin=False),
    # rewrites the archive that exports and reimbursements are made from
    "update_session": Action(_update_session, SupportsResponse.OPTIONAL, admin=True),
    "get_sessions": Action(_get_sessions, SupportsResponse.ONLY, admin=False),
    "export_sessions": Action(_export_sessions, SupportsResponse.OPTIONAL, admin=False),
}


def _translated(handler: ActionHandler) -> ActionHandler:
    async def run(call: ServiceCall) -> ServiceResponse:
        try:
            return await handler(call)
        except ChargeConnectError as err:
            raise to_ha_error(err) from err

    return run


@callback
def async_setup_owner_services(hass: HomeAssistant) -> None:
    """Register the owner's actions, each as its row in HANDLERS says."""
    for name, action in HANDLERS.items():
        translated = action._replace(handler=_translated(action.handler))
        async_register_action(hass, name, translated, SCHEMAS[name])
