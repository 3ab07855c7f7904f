"""Actions on the session archive: query it, correct a session's driver's log, export it."""

from __future__ import annotations

import os
import re
from typing import Any

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ..chargeconnect.ledger import SessionFilter
from ..compat import vol
from ..const import DOMAIN, EXPORT_DIR
from ..owner import ChargerOwner
from .common import (
    ATTR_ID_TAG,
    ATTR_NOTIFY,
    NOTIFY,
    ODOMETER,
    TAG,
    TARGET,
    aware,
    get_ledger,
    invalid,
    optional_owner,
)
from .notify import LANGUAGES, async_notify, async_texts, language

ATTR_GROUP_ID = "group_id"
ATTR_START = "start"
ATTR_END = "end"
ATTR_ODOMETER = "odometer"
ATTR_VEHICLE = "vehicle_id"
ATTR_TRANSACTION = "transaction_id"
ATTR_OFFSET = "offset"
ATTR_LIMIT = "limit"
ATTR_FORMAT = "format"
ATTR_LOCALE = "locale"

_TRANSACTION = vol.All(vol.Coerce(int), vol.Range(min=1))
_FILTERS: dict[Any, Any] = {
    vol.Optional(ATTR_ID_TAG): TAG,
    vol.Optional(ATTR_GROUP_ID): cv.string,
    vol.Optional(ATTR_START): cv.datetime,
    vol.Optional(ATTR_END): cv.datetime,
    vol.Optional(ATTR_TRANSACTION): _TRANSACTION,
}

UPDATE_SESSION_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Required(ATTR_TRANSACTION): _TRANSACTION,
        vol.Optional(ATTR_ODOMETER): ODOMETER,
        vol.Optional(ATTR_VEHICLE): vol.All(cv.string, vol.Strip, vol.Length(max=50)),
    }
)
GET_SESSIONS_SCHEMA = vol.Schema(
    {
        **TARGET,
        **_FILTERS,
        vol.Optional(ATTR_OFFSET, default=0): vol.All(vol.Coerce(int), vol.Range(min=0)),
        vol.Optional(ATTR_LIMIT, default=50): vol.All(vol.Coerce(int), vol.Range(min=1, max=500)),
    }
)
EXPORT_SESSIONS_SCHEMA = vol.Schema(
    {
        **TARGET,
        **_FILTERS,
        vol.Required(ATTR_FORMAT): vol.In(["csv", "xlsx", "pdf"]),
        vol.Optional(ATTR_LOCALE, default="en"): vol.In(list(LANGUAGES)),
        vol.Optional(ATTR_NOTIFY): NOTIFY,
    }
)


def _filter(call: ServiceCall, owner: ChargerOwner | None) -> SessionFilter:
    start = aware(call.data.get(ATTR_START))
    end = aware(call.data.get(ATTR_END))
    if start is not None and end is not None and end <= start:
        raise invalid("end_before_start")
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


async def update_session(call: ServiceCall) -> ServiceResponse:
    """Correct the driver's log (odometer, vehicle) of an archived session."""
    ledger = get_ledger(call.hass)
    tx: int = call.data[ATTR_TRANSACTION]
    if await ledger.get_session(tx) is None:
        raise invalid("session_not_found", transaction_id=str(tx))
    changes: dict[str, Any] = {}
    if ATTR_ODOMETER in call.data:
        changes["odometer_km"] = call.data[ATTR_ODOMETER]
    if ATTR_VEHICLE in call.data:
        changes["vehicle_id"] = call.data[ATTR_VEHICLE] or None
    await ledger.update_session(tx, **changes)
    record = await ledger.get_session(tx)
    assert record is not None
    return {"session": record.to_dict()}


async def get_sessions(call: ServiceCall) -> ServiceResponse:
    """A page of the archived sessions that match the filters."""
    flt = _filter(call, optional_owner(call))
    records, total = await get_ledger(call.hass).query(
        flt, offset=call.data[ATTR_OFFSET], limit=call.data[ATTR_LIMIT]
    )
    return {
        "sessions": [record.to_dict() for record in records],
        "total": total,
        "offset": call.data[ATTR_OFFSET],
        "limit": call.data[ATTR_LIMIT],
    }


async def export_sessions(call: ServiceCall) -> ServiceResponse:
    """Write the matching sessions to a file in the exports folder; send it if asked."""
    owner = optional_owner(call)
    flt = _filter(call, owner)
    fmt: str = call.data[ATTR_FORMAT]
    locale: str = call.data[ATTR_LOCALE]
    stamp = dt_util.now().strftime("%Y%m%d-%H%M%S")
    scope = re.sub(r"[^A-Za-z0-9_-]+", "_", owner.charger.identity) if owner else "all"
    path = call.hass.config.path(DOMAIN, EXPORT_DIR, f"sessions_{scope}_{stamp}.{fmt}")
    result = await get_ledger(call.hass).export(
        fmt,  # type: ignore[arg-type]
        path,
        flt,
        locale=locale,
        title=(await async_texts(call.hass, locale))["export_title"],
        tz=dt_util.get_default_time_zone(),
    )
    if notify := call.data.get(ATTR_NOTIFY):
        text = await async_texts(call.hass, language(call.hass))
        await async_notify(
            call.hass,
            notify,
            title=text["export_title"],
            message=text["export"].format(count=result.sessions, file=os.path.basename(path)),
            data={"images": [str(result.path)], "attachments": [str(result.path)]},
        )
    return {"path": str(result.path), "sessions": result.sessions, "format": fmt}
