"""The guest page's view of a charger and of a person's past sessions (JSON-ready dicts).

Only what the person may see: a running session's figures only when it runs on their own
tag (someone else's is just ``busy``), only their own finished sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from ..chargeconnect.access import AccessControl, Grant, Person
from ..chargeconnect.access.guest import may_stop
from ..chargeconnect.ledger import SessionFilter
from ..chargeconnect.models import ConnectorStatus
from ..compat import charger_device
from ..const import DOMAIN
from ..coordinator import device_name
from ..hub import HUB
from ..owner import ChargerOwner

MAX_SESSIONS = 50

_STATUS: dict[ConnectorStatus, str] = {
    ConnectorStatus.AVAILABLE: "available",
    ConnectorStatus.PREPARING: "preparing",
    ConnectorStatus.CHARGING: "charging",
    ConnectorStatus.SUSPENDED_EVSE: "suspended",
    ConnectorStatus.SUSPENDED_EV: "suspended",
    ConnectorStatus.FINISHING: "finishing",
    ConnectorStatus.RESERVED: "reserved",
    ConnectorStatus.UNAVAILABLE: "unavailable",
    ConnectorStatus.FAULTED: "faulted",
    ConnectorStatus.UNKNOWN: "unavailable",
}


@dataclass(frozen=True)
class ChargerRef:
    """A loaded charger: its owner side, the name its device shows, its card event entity."""

    owner: ChargerOwner
    name: str
    card_entity_id: str | None


def charger_refs(hass: HomeAssistant) -> dict[str, ChargerRef]:
    """The loaded chargers, by OCPP identity."""
    registry = er.async_get(hass)
    refs: dict[str, ChargerRef] = {}
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        owner: ChargerOwner = entry.runtime_data.owner
        identity = owner.charger.identity
        device = charger_device(hass, entry.entry_id, identity)
        name = (device.name_by_user or device.name) if device is not None else None
        card = registry.async_get_entity_id("event", DOMAIN, f"{identity}_card")
        refs[identity] = ChargerRef(owner, name or device_name(identity), card)
    return refs


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def charger_view(
    ref: ChargerRef, grant: Grant, person: Person, code: str, texts: dict[str, str]
) -> dict[str, Any]:
    """One charger as the person sees it: state, whether they may start, their session."""
    owner = ref.owner
    charger = owner.charger
    tx = charger.active_transaction
    mine = tx is not None and may_stop(person, tx.id_tag)
    why: str | None = grant.why_not
    if why is None and grant.id_tag is None:
        why = "no_tag"
    if why is None and not charger.online:
        why = "offline"
    if why is None and tx is not None:
        why = "running" if mine else "busy"
    session: dict[str, Any] | None = None
    if tx is not None and mine:
        cost = owner.live_cost()
        power = charger.measurements.power_w
        session = {
            "mine": True,
            "started": _iso(tx.start_time),
            "power_w": None if power is None else round(power, 1),
            "energy_kwh": round(tx.energy_wh / 1000, 3),
            "duration_s": max(0, int((dt_util.utcnow() - tx.start_time).total_seconds())),
            "cost": None if cost is None else round(cost, 2),
        }
    return {
        "code": code,
        "name": ref.name,
        "online": charger.online,
        "status": _STATUS.get(charger.status, "unavailable") if charger.online else "offline",
        "via": grant.via,
        "until": _iso(grant.until),
        "can_start": why is None,
        "why_not": None if why is None else texts.get(f"why_{why}", why),
        "why_not_code": why,
        "busy": tx is not None and not mine,
        "session": session,
    }


async def past_sessions(
    hass: HomeAssistant, access: AccessControl, person: Person, refs: dict[str, ChargerRef]
) -> list[dict[str, Any]]:
    """The person's own finished sessions at the chargers they see, newest first."""
    hub = hass.data.get(HUB)
    chargers = sorted({g.charger for g in access.guest_grants(person)})
    if hub is None or hub.ledger is None or not chargers or not person.tags:
        return []
    flt = SessionFilter(chargers=chargers, id_tags=list(person.tags), start=person.since)
    records, _total = await hub.ledger.query(flt, limit=MAX_SESSIONS + 1)
    return [
        {
            "charger": refs[r.charger].name if r.charger in refs else device_name(r.charger),
            "started": _iso(r.start_time),
            "ended": _iso(r.stop_time),
            "energy_kwh": round(r.energy_kwh, 3),
            "cost": None if r.cost is None else round(r.cost, 2),
            "currency": r.currency,
        }
        for r in records
        if r.stop_time is not None
    ][:MAX_SESSIONS]
