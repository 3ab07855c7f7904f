"""Logbook entries of the guest page: who started or stopped charging, who accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN
from .guest.portal import EVENT_GUEST_ACTION

_KIND = {"share": "guest", "member": "group member", "tag": "access code"}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the guest page's events (the app's "last actions")."""

    @callback
    def describe(event: Event) -> dict[str, Any]:
        data = event.data
        who = data.get("name") or _KIND.get(str(data.get("kind")), "guest")
        kind = _KIND.get(str(data.get("kind")), "guest")
        action = data.get("action")
        if action == "accept":
            message = f"accepted the group invitation on the guest page ({kind})"
        else:
            verb = "started" if action == "start" else "stopped"
            message = f"{verb} charging at {data.get('charger')} on the guest page ({kind})"
        entry: dict[str, Any] = {"name": who, "message": message}
        if data.get("entity_id"):
            entry["entity_id"] = data["entity_id"]
        return entry

    async_describe_event(DOMAIN, EVENT_GUEST_ACTION, describe)
