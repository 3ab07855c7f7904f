"""Two chargers in a fixed state, for the platform and diagnostics snapshots.

A Webasto Next (forwarded to a simulated original backend, with its web UI, a booking, one
finished session and one running) and a Unite (OCPP free charging and LED dimming) standing
idle. Time stands still, and the chargers date what they send themselves, so every timestamp a
state shows is the same on every run; ports are the only thing that differs, and the snapshots
never show them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import attrs
from freezegun import freeze_time
from homeassistant.const import CONF_PASSWORD, CONF_PORT, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

import custom_components.webasto_chargeconnect as integration
from custom_components.webasto_chargeconnect import forwarding
from custom_components.webasto_chargeconnect.const import DOMAIN
from webasto_sim import SimulatedCharger
from webasto_sim.webui import SimulatedWebUi

from ..common import IDENTITY, PASSWORD
from ..upstream_backend import UpstreamBackend
from .conftest import url_of, wait_configured

UNITE = "UNITE-0042"
WEBUI_PASSWORD = "webui-Passw0rd"
BACKEND_PASSWORD = "cloud-pass"
# 12:30 in the tests' time zone (US/Pacific): both sessions fall on the same local day.
NOW = datetime(2026, 3, 2, 20, 30, tzinfo=UTC)


@dataclass
class Rig:
    """The loaded entries and what plays the chargers' world."""

    next_entry: MockConfigEntry
    unite_entry: MockConfigEntry
    backend: UpstreamBackend
    webui: SimulatedWebUi

    @property
    def entries(self) -> tuple[MockConfigEntry, MockConfigEntry]:
        """The Next's entry, then the Unite's."""
        return self.next_entry, self.unite_entry


def _entry(entry_id: str, identity: str, **data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        title=f"Webasto {identity}",
        unique_id=identity,
        data={
            "identity": identity,
            CONF_PASSWORD: PASSWORD,
            CONF_PORT: 0,
            "ssl_certfile": None,
            "ssl_keyfile": None,
            **data.pop("data", {}),
        },
        options=data,
    )


async def _wait_for(
    hass: HomeAssistant, entry: MockConfigEntry, predicate: Callable[[], bool]
) -> None:
    """Wait for a condition on the entry's charger, owner or backend link (all announce changes)."""
    data = entry.runtime_data
    changed = asyncio.Event()
    removers = [
        data.coordinator.async_add_listener(changed.set),
        data.charger.add_listener(changed.set),
    ]
    if data.forwarding is not None:
        removers.append(data.forwarding.link.add_listener(changed.set))
    try:
        while not predicate():
            changed.clear()
            await changed.wait()
    finally:
        for remove in removers:
            remove()
    await hass.async_block_till_done(wait_background_tasks=True)


async def _next_story(hass: HomeAssistant, entry: MockConfigEntry, sim: SimulatedCharger) -> None:
    """Boot, a booking for tomorrow, one finished session, a second one running.

    The sessions carry the charger's own timestamps (the frozen clock stands at ``NOW``;
    moving it would fire every pending timeout of the connections at once).
    """
    await sim.connect()
    await sim.boot()
    await sim.status("Available")
    await wait_configured(hass, entry)
    await sim.heartbeat()
    owner = entry.runtime_data.owner
    for alias, id_tag in (("Mine", "OWNER-1"), ("Guest", "GUEST-1")):
        await hass.services.async_call(
            DOMAIN, "add_tag", {"alias": alias, "id_tag": id_tag}, blocking=True
        )
    # In francs, not in Home Assistant's euros: the costs' unit is the tariff's currency.
    await hass.services.async_call(
        DOMAIN,
        "set_tariff",
        {"config_entry": entry.entry_id, "currency": "CHF", "fixed_fee": 0.5, "price_per_kwh": 0.3},
        blocking=True,
    )
    await hass.services.async_call(
        DOMAIN,
        "add_booking",
        {
            "config_entry": entry.entry_id,
            "id_tag": "GUEST-1",
            "start": (NOW + timedelta(days=1)).isoformat(),
            "end": (NOW + timedelta(days=1, hours=3)).isoformat(),
            "note": "Visit",
        },
        blocking=True,
    )
    # The first session: an hour at 11 kW.
    start = NOW - timedelta(hours=2, minutes=30)
    await sim.plug_in()
    await sim.start_transaction("OWNER-1", timestamp=start)
    for quarter in range(1, 5):
        await sim.meter_values(11000, timestamp=start + quarter * timedelta(minutes=15))
    await sim.stop_transaction(timestamp=start + timedelta(hours=1))
    await sim.unplug()
    await _wait_for(hass, entry, lambda: owner.last_session is not None)
    # The second, half an hour in at 7.4 kW, after the card was shown at the reader.
    start = NOW - timedelta(minutes=30)
    await sim.plug_in()
    await sim.present_card("OWNER-1")
    await sim.start_transaction("OWNER-1", timestamp=start)
    for quarter in range(1, 3):
        await sim.meter_values(7400, timestamp=start + quarter * timedelta(minutes=15))
    charger = entry.runtime_data.charger
    await _wait_for(hass, entry, lambda: charger.measurements.power_w == 7400)


@asynccontextmanager
async def loaded(hass: HomeAssistant, *platforms: Platform) -> AsyncIterator[Rig]:
    """Both chargers, loaded with only ``platforms`` (all of them when none are named).

    The test needs the ``socket_enabled`` fixture. The clock stands still at ``NOW`` (the
    event loop's too, as in every Home Assistant test that freezes time).
    """
    hass.config.currency = "EUR"
    backend = UpstreamBackend(password=BACKEND_PASSWORD)
    await backend.start()
    webui = SimulatedWebUi("next", WEBUI_PASSWORD, identity=IDENTITY)
    await webui.start()
    sims: list[SimulatedCharger] = []
    with (
        freeze_time(NOW),
        patch.object(integration, "PLATFORMS", list(platforms or integration.PLATFORMS)),
        patch.object(forwarding, "RECONNECT_MIN", 0.02),
        patch.object(forwarding, "RECONNECT_MAX", 0.1),
    ):
        next_entry = _entry(
            "01NEXTSNAPSHOT000000000000",
            IDENTITY,
            data={
                "webui_host": "127.0.0.1",
                "webui_port": webui.port,
                "webui_password": WEBUI_PASSWORD,
                "webui_model": "next",
            },
            upstream_url=backend.url,
            upstream_password=BACKEND_PASSWORD,
        )
        unite_entry = _entry("01UNITESNAPSHOT00000000000", UNITE)
        try:
            for entry in (next_entry, unite_entry):
                entry.add_to_hass(hass)
                assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done(wait_background_tasks=True)
            next_sim = SimulatedCharger(url_of(next_entry), IDENTITY, "next", password=PASSWORD)
            unite_sim = SimulatedCharger(url_of(unite_entry), UNITE, "unite", password=PASSWORD)
            sims += [next_sim, unite_sim]
            await _next_story(hass, next_entry, next_sim)
            await unite_sim.connect()
            await unite_sim.boot()
            await unite_sim.status("Available")
            await wait_configured(hass, unite_entry)
            await unite_sim.firmware_status("Installed")
            link = next_entry.runtime_data.forwarding.link
            await _wait_for(hass, next_entry, lambda: link.connected and link.queued == 0)
            await next_entry.runtime_data.webui.async_refresh()
            await hass.async_block_till_done(wait_background_tasks=True)
            yield Rig(next_entry, unite_entry, backend, webui)
        finally:
            for sim in sims:
                await sim.disconnect()
            for entry in (next_entry, unite_entry):
                if entry.state.recoverable:
                    await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await webui.stop()
            await backend.stop()


# Entity registry fields that differ between the supported Home Assistant versions, left out so
# that one snapshot holds on all of them: 2026.10 added object_id_base and suggested_object_id,
# and lists the entity's own name among its aliases (None) where 2025.4 has an empty set (the
# aliases are the user's, not ours, either way).
VERSION_DEPENDENT_FIELDS = props("aliases", "object_id_base", "suggested_object_id")


def _comparable_entry(entry: er.RegistryEntry) -> er.RegistryEntry:
    """The registry entry with its capabilities keyed by plain strings.

    Home Assistant 2026.10 keys them by the platforms' ``...CapabilityAttribute`` members
    (StrEnums: equal to the strings, but the snapshot prints the members), 2025.4 by strings.
    """
    if not entry.capabilities:
        return entry
    return attrs.evolve(entry, capabilities={str(k): v for k, v in entry.capabilities.items()})


def _comparable_state(state: State) -> State:
    """The state with its attributes keyed by plain strings, an event's time to the second.

    Attributes: as the capabilities above (``EntityStateAttribute`` members in 2026.10). Events:
    2026.10 dates each event at least a millisecond after the one before, and the rig's clock
    stands still, so the events of a test share an instant that 2026.10 counts up.
    """
    value = state.state
    if state.domain == "event" and (moment := dt_util.parse_datetime(value)) is not None:
        value = moment.replace(microsecond=0).isoformat(timespec="milliseconds")
    return State(state.entity_id, value, {str(k): v for k, v in state.attributes.items()})


async def snapshot_entries(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    entries: tuple[MockConfigEntry, ...],
) -> None:
    """Every entity of the loaded platform, for each of ``entries``: registry entry and state.

    What ``snapshot_platform`` of pytest-homeassistant-custom-component does, minus what
    differs between Home Assistant versions (``VERSION_DEPENDENT_FIELDS``, ``_comparable_*``).
    """
    for entry in entries:
        entity_entries = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        assert entity_entries
        assert len({e.domain for e in entity_entries}) == 1, "load one platform only"
        for entity_entry in entity_entries:
            name = entity_entry.entity_id
            assert _comparable_entry(entity_entry) == snapshot(
                name=f"{name}-entry", exclude=VERSION_DEPENDENT_FIELDS
            )
            assert entity_entry.disabled_by is None, "enable every entity"
            state = hass.states.get(name)
            assert state, f"no state for {name}"
            assert _comparable_state(state) == snapshot(name=f"{name}-state")
