"""Diagnostics of a charger entry: pinned by a snapshot, with every secret redacted."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_dumps
import pytest
from syrupy.assertion import SnapshotAssertion

from custom_components.webasto_chargeconnect.diagnostics import (
    async_get_config_entry_diagnostics,
)

from ..common import PASSWORD
from .platform_rig import BACKEND_PASSWORD, WEBUI_PASSWORD, Rig, loaded

REDACTED = "**REDACTED**"


def _named_ports(text: str, rig: Rig) -> Any:
    """The diagnostics with the ports of this run (OCPP, backend, web UI) named, not numbered."""
    ports = {
        "<next ocpp port>": rig.next_entry.runtime_data.port,
        "<unite ocpp port>": rig.unite_entry.runtime_data.port,
        "<backend port>": rig.backend.port,
        "<web ui port>": rig.webui.port,
    }
    for name, port in ports.items():
        text = text.replace(f":{port}/", f":{name}/").replace(f":{port},", f':"{name}",')
        text = text.replace(f":{port}}}", f':"{name}"}}')
    return json.loads(text)


@pytest.mark.usefixtures("socket_enabled")
async def test_diagnostics(hass: HomeAssistant, snapshot: SnapshotAssertion) -> None:
    """Entry, server, charger, backend link and web UI; passwords and the backend user gone.

    Read as the diagnostics download sends them (Home Assistant's JSON encoder; the HTTP view
    itself would need a login token, which the frozen clock would take for expired).
    """
    async with loaded(hass) as rig:
        found = {}
        for entry in rig.entries:
            text = json_dumps(await async_get_config_entry_diagnostics(hass, entry))
            for secret in (PASSWORD, WEBUI_PASSWORD, BACKEND_PASSWORD):
                assert secret not in text
            found[entry] = diagnostics = _named_ports(text, rig)
            assert diagnostics == snapshot(name=entry.data["identity"])
            assert diagnostics["entry"]["data"]["password"] == REDACTED
    next_data = found[rig.next_entry]["entry"]
    assert next_data["data"]["webui_password"] == REDACTED
    assert next_data["options"]["upstream_password"] == REDACTED
