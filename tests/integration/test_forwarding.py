"""Forwarding at Home Assistant level: a charger entry with an upstream backend.

Real Home Assistant, the real central system (the ``entry`` machinery of conftest), a
SimulatedCharger over real websockets, and tests/upstream_backend.py playing Webasto's
backend. The library tests (test_upstream.py) cover the protocol details; these check
the wiring: the link starts with the entry, its state reaches entities, the owner's
switch refuses the app's commands, outages are replayed, a repair issue appears.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
import logging
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.webasto_chargeconnect import forwarding
from custom_components.webasto_chargeconnect.chargeconnect.upstream import UpstreamLink
from custom_components.webasto_chargeconnect.const import DOMAIN
from custom_components.webasto_chargeconnect.diagnostics import (
    async_get_config_entry_diagnostics,
)
from webasto_sim import SimulatedCharger

from ..common import IDENTITY, connect_and_boot
from ..upstream_backend import BackendCallError, UpstreamBackend
from .conftest import setup_entry, wait_configured, wait_for_state

BILLING = ("StartTransaction", "MeterValues", "StopTransaction")
CONNECTED = "binary_sensor.webasto_next_ws123456_backend_connection"
QUEUED = "sensor.webasto_next_ws123456_backend_queued_messages"
LAST_ERROR = "sensor.webasto_next_ws123456_backend_last_error"
ALLOW = "switch.webasto_next_ws123456_allow_app_control"


@pytest.fixture(autouse=True)
def fast_backoff() -> Iterator[None]:
    """Reconnect to the backend within a fraction of a second."""
    with (
        patch.object(forwarding, "RECONNECT_MIN", timedelta(seconds=0.02)),
        patch.object(forwarding, "RECONNECT_MAX", timedelta(seconds=0.1)),
    ):
        yield


@pytest.fixture
async def backend(socket_enabled: None) -> AsyncIterator[UpstreamBackend]:
    """Webasto's backend, played on 127.0.0.1."""
    server = UpstreamBackend(password="cloud-pass")
    await server.start()
    yield server
    await server.stop()


def link_of(entry: MockConfigEntry) -> UpstreamLink:
    assert entry.runtime_data.forwarding is not None
    link = entry.runtime_data.forwarding.link
    assert link is not None
    return link


async def wait_link(
    hass: HomeAssistant, link: UpstreamLink, predicate: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Wait, woken by the link's own status listener."""
    import asyncio

    changed = asyncio.Event()
    remove = link.add_listener(changed.set)
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                changed.clear()
                await changed.wait()
    finally:
        remove()
    await hass.async_block_till_done()


@pytest.fixture
async def fwd_entry(
    hass: HomeAssistant, socket_enabled: None, backend: UpstreamBackend
) -> MockConfigEntry:
    """A charger entry forwarding to the backend (credentials in the options)."""
    return await setup_entry(
        hass,
        upstream_url=backend.url,
        upstream_password="cloud-pass",
    )


@pytest.fixture
async def fwd_sim(
    hass: HomeAssistant,
    fwd_entry: MockConfigEntry,
    backend: UpstreamBackend,
    make_sim: Callable[..., SimulatedCharger],
) -> SimulatedCharger:
    """The simulated Next, online, with the backend connected."""
    sim = await connect_and_boot(make_sim(fwd_entry))
    await sim.status("Available")
    await wait_configured(hass, fwd_entry)
    await backend.wait_connected()
    return sim


async def test_coherent_stream_and_sensors(
    hass: HomeAssistant,
    fwd_entry: MockConfigEntry,
    fwd_sim: SimulatedCharger,
    backend: UpstreamBackend,
    entity_registry: er.EntityRegistry,
) -> None:
    """Boot, status, a session with the backend's OWN transaction id; sensors show the link."""
    link = link_of(fwd_entry)
    await wait_for_state(hass, CONNECTED, "on")
    assert backend.paths[-1] == f"/ocpp/{IDENTITY}"
    assert backend.auth_failures == 0
    ours = await fwd_sim.charge(samples=2, id_tag="CARD-1")
    await fwd_sim.stop_transaction("Local")
    await backend.wait_for(lambda: "StopTransaction" in backend.actions())
    assert backend.of("BootNotification")[-1]["chargePointModel"] == "Webasto Next"
    assert backend.of("StartTransaction")[0]["idTag"] == "CARD-1"
    theirs = link.their_transaction_id(ours)
    assert theirs == 5000 and theirs != ours
    assert [
        (c.action, c.payload.get("transactionId")) for c in backend.calls if c.action in BILLING
    ] == [
        ("StartTransaction", None),
        ("MeterValues", theirs),
        ("MeterValues", theirs),
        ("StopTransaction", theirs),
    ]
    await wait_link(hass, link, lambda: link.queued == 0)
    assert hass.states.get(QUEUED).state == "0"
    # Diagnostic entities, the error sensor off by default, all on the charger's device.
    for entity_id in (CONNECTED, QUEUED, ALLOW):
        assert entity_registry.async_get(entity_id) is not None
    error_entry = entity_registry.async_get(LAST_ERROR)
    assert error_entry is not None
    assert error_entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert entity_registry.async_get(CONNECTED).entity_category == "diagnostic"


async def test_app_remote_start_reaches_the_charger(
    hass: HomeAssistant,
    fwd_entry: MockConfigEntry,
    fwd_sim: SimulatedCharger,
    backend: UpstreamBackend,
) -> None:
    """The app's RemoteStartTransaction (through the backend) starts the simulated charger."""
    answer = await backend.send("RemoteStartTransaction", {"connectorId": 1, "idTag": "APP-1"})
    assert answer == {"status": "Accepted"}
    received = await fwd_sim.wait_for_call("RemoteStartTransaction")
    assert received.payload == {"connectorId": 1, "idTag": "APP-1"}
    await backend.wait_for(lambda: bool(backend.of("StartTransaction")))
    assert backend.of("StartTransaction")[0]["idTag"] == "APP-1"
    await wait_for_state(hass, "switch.webasto_next_ws123456_charging", "on")


async def test_allow_app_control_switch(
    hass: HomeAssistant,
    fwd_entry: MockConfigEntry,
    fwd_sim: SimulatedCharger,
    backend: UpstreamBackend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Switched off: the app's commands get a CallError, are logged, never reach the charger."""
    assert hass.states.get(ALLOW).state == "on"
    await hass.services.async_call("switch", "turn_off", {ATTR_ENTITY_ID: ALLOW}, blocking=True)
    await hass.async_block_till_done()
    assert hass.states.get(ALLOW).state == "off"
    assert fwd_entry.options["allow_app_control"] is False
    # The option change did not reload the entry: the same link, still connected.
    assert fwd_entry.state is ConfigEntryState.LOADED
    link = link_of(fwd_entry)
    assert link.connected and link.allow_control is False
    with caplog.at_level(logging.WARNING):
        with pytest.raises(BackendCallError) as err:
            await backend.send("RemoteStartTransaction", {"connectorId": 1, "idTag": "APP"})
    assert err.value.code == "SecurityError"
    assert "refused RemoteStartTransaction from the backend" in caplog.text
    await fwd_sim.heartbeat()  # anything the backend had sent would have arrived before
    assert not [c for c in fwd_sim.received if c.action == "RemoteStartTransaction"]

    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: ALLOW}, blocking=True)
    answer = await backend.send("RemoteStartTransaction", {"connectorId": 1, "idTag": "APP"})
    assert answer == {"status": "Accepted"}
    await fwd_sim.wait_for_call("RemoteStartTransaction")


async def test_switch_off_survives_a_reload(
    hass: HomeAssistant, socket_enabled: None, backend: UpstreamBackend
) -> None:
    """The owner's choice is kept in the options and applied when the link starts."""
    entry = await setup_entry(
        hass, upstream_url=backend.url, upstream_password="cloud-pass", allow_app_control=False
    )
    assert link_of(entry).allow_control is False
    assert hass.states.get(ALLOW).state == "off"


async def test_outage_replayed_in_order(
    hass: HomeAssistant,
    fwd_entry: MockConfigEntry,
    fwd_sim: SimulatedCharger,
    backend: UpstreamBackend,
) -> None:
    """The backend goes away mid-session: queued, shown, replayed once in order."""
    link = link_of(fwd_entry)
    first = await fwd_sim.charge(samples=1)
    await backend.wait_for(lambda: len(backend.of("MeterValues")) == 1)
    await wait_link(hass, link, lambda: link.queued == 0)

    await backend.stop()
    await wait_for_state(hass, CONNECTED, "off")
    before = len(backend.calls)
    await fwd_sim.meter_values()
    await fwd_sim.stop_transaction("EVDisconnected")
    second = await fwd_sim.start_transaction("CARD-2")
    await fwd_sim.meter_values()
    await fwd_sim.stop_transaction("Local")
    await wait_link(hass, link, lambda: link.queued == 5)
    await wait_for_state(hass, QUEUED, "5")
    # The charger itself stays fine; HA recorded both sessions with its own ids.
    assert first != second
    assert hass.states.get("binary_sensor.webasto_next_ws123456_online").state == "on"

    await backend.start()
    await backend.wait_for(lambda: len(backend.of("StopTransaction")) == 2)
    await wait_link(hass, link, lambda: link.connected and link.queued == 0)
    await wait_for_state(hass, QUEUED, "0")
    await wait_for_state(hass, CONNECTED, "on")
    replay = [
        (c.action, c.payload.get("transactionId"))
        for c in backend.calls[before:]
        if c.action in BILLING
    ]
    assert replay == [
        ("MeterValues", 5000),
        ("StopTransaction", 5000),
        ("StartTransaction", None),
        ("MeterValues", 5001),
        ("StopTransaction", 5001),
    ]
    stamps = [p["meterValue"][0]["timestamp"] for p in backend.of("MeterValues")]
    assert len(stamps) == len(set(stamps)) == 3


async def _freeze_once_connected(
    backend: UpstreamBackend, request: pytest.FixtureRequest
) -> FrozenDateTimeFactory:
    """Freeze the clock only once the link is up: connecting runs on the loop's timers."""
    await backend.wait_connected()
    freezer: FrozenDateTimeFactory = request.getfixturevalue("freezer")
    return freezer


async def test_repair_issue_when_down_long(
    hass: HomeAssistant,
    fwd_entry: MockConfigEntry,
    fwd_sim: SimulatedCharger,
    backend: UpstreamBackend,
    issue_registry: ir.IssueRegistry,
    request: pytest.FixtureRequest,
) -> None:
    """Unreachable for more than 30 minutes: a repair issue; it goes when the link is back."""
    link = link_of(fwd_entry)
    issue_id = f"upstream_unreachable_{fwd_entry.entry_id}"
    freezer = await _freeze_once_connected(backend, request)
    await backend.stop()
    await wait_link(hass, link, lambda: not link.connected)
    freezer.tick(timedelta(minutes=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    freezer.tick(timedelta(minutes=25))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "upstream_unreachable"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders["url"] == f"{backend.url}/{IDENTITY}"
    assert "cloud-pass" not in str(issue.translation_placeholders)

    await backend.start()
    link.reconnect_now()
    await wait_link(hass, link, lambda: link.connected)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_issue_removed_on_unload(
    hass: HomeAssistant,
    fwd_entry: MockConfigEntry,
    backend: UpstreamBackend,
    issue_registry: ir.IssueRegistry,
    request: pytest.FixtureRequest,
) -> None:
    """Unloading the entry takes its repair issue along."""
    link = link_of(fwd_entry)
    freezer = await _freeze_once_connected(backend, request)
    await backend.stop()
    await wait_link(hass, link, lambda: not link.connected)
    freezer.tick(timedelta(minutes=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    issue_id = f"upstream_unreachable_{fwd_entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert await hass.config_entries.async_unload(fwd_entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_wrong_backend_password_shows_error(
    hass: HomeAssistant,
    socket_enabled: None,
    backend: UpstreamBackend,
    entity_registry_enabled_by_default: None,
) -> None:
    """The backend refuses the credentials: disconnected, the last error says why."""
    entry = await setup_entry(hass, upstream_url=backend.url, upstream_password="wrong")
    link = link_of(entry)
    await wait_link(hass, link, lambda: link.last_error is not None)
    assert backend.auth_failures >= 1
    assert hass.states.get(CONNECTED).state == "off"
    state = await wait_for_state(hass, LAST_ERROR, lambda s: s.state not in ("unknown", ""))
    assert "401" in state.state or "auth" in state.state.lower()


async def test_no_forwarding_no_entities(
    hass: HomeAssistant, entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Without an upstream URL there is no link and none of its entities."""
    assert entry.runtime_data.forwarding is None
    for entity_id in (CONNECTED, QUEUED, LAST_ERROR, ALLOW):
        assert entity_registry.async_get(entity_id) is None


async def test_options_set_and_validate_forwarding(
    hass: HomeAssistant, entry: MockConfigEntry, backend: UpstreamBackend
) -> None:
    """Options: a bad URL is refused; a good one reloads the entry with a connected link."""
    base = {"meter_sample_interval": 0, "max_current": 32, "remote_start_tag": "HomeAssistant"}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, "upstream_url": "https://example.com/ocpp"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"upstream_url": "invalid_upstream_url"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**base, "upstream_url": backend.url, "upstream_password": "cloud-pass"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await backend.wait_connected()
    link = link_of(entry)
    assert link.config.password == "cloud-pass"
    assert entry.options["allow_app_control"] is True

    # Saved again with the password left empty: the stored one is kept, no reload.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, "upstream_url": backend.url, "upstream_password": ""}
    )
    await hass.async_block_till_done()
    assert entry.options["upstream_password"] == "cloud-pass"
    assert link_of(entry) is link

    # Cleared: forwarding off, its entities gone from the states.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, "upstream_url": ""}
    )
    await hass.async_block_till_done()
    assert entry.runtime_data.forwarding is None
    assert entry.options["upstream_password"] == ""
    await backend.wait_for(lambda: not backend.connected)


async def test_diagnostics_redact_credentials(
    hass: HomeAssistant, socket_enabled: None, backend: UpstreamBackend
) -> None:
    """Passwords and the backend user name never appear in diagnostics; the link does."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Webasto {IDENTITY}",
        unique_id=IDENTITY,
        data={
            "identity": IDENTITY,
            CONF_PASSWORD: "ocpp-secret",
            "port": 0,
            "ssl_certfile": None,
            "ssl_keyfile": None,
            "upstream_url": backend.url,
            "webui_host": "127.0.0.1",
            "webui_password": "webui-secret",
            "webui_model": "next",
        },
        options={"upstream_username": "cloud-user", "upstream_password": "cloud-secret"},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    diagnostics: dict[str, Any] = await async_get_config_entry_diagnostics(hass, entry)
    text = str(diagnostics)
    for secret in ("ocpp-secret", "webui-secret", "cloud-user", "cloud-secret"):
        assert secret not in text
    assert diagnostics["upstream"]["url"] == f"{backend.url}/{IDENTITY}"
    assert set(diagnostics["upstream"]) >= {"connected", "queued", "allow_control"}
    assert diagnostics["webui"]["model"] == "next"
