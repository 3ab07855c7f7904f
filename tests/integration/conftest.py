"""Fixtures of the integration tests: a real OCPP server inside Home Assistant, real simulated
chargers.

Everything here needs Home Assistant (``hass``), so it lives under tests/integration/ only; the
library tests (tests/library/) run without it. Helpers both need are in tests/common.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_state_change_event
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.webasto_chargeconnect.const import CONF_IDENTITY, DOMAIN
from custom_components.webasto_chargeconnect.coordinator import ChargeConnectCoordinator
from custom_components.webasto_chargeconnect.hub import ChargeConnectHub
from webasto_sim import SimulatedCharger

from ..common import IDENTITY, PASSWORD


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom integrations in every test."""


class DeprecationReports(logging.Handler):
    """Collects Home Assistant's reports of deprecated or wrong API use by this integration.

    Home Assistant logs them instead of raising: helpers/frame.py ("Detected that custom
    integration 'webasto_chargeconnect' ... This will stop working in Home Assistant 20xx.y") and
    helpers/deprecation.py ("X was used from webasto_chargeconnect, this is a deprecated constant
    which will be removed in HA Core 20xx.y"). Same wording in 2025.4 and 2026.2.
    """

    MARKERS = ("will stop working", "deprecated", "will be removed", "detected that custom")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reports: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # Reports that could not name the integration carry the stack ("Detected code that ...").
        ours = DOMAIN in message or f"custom_components/{DOMAIN}/" in (record.stack_info or "")
        if ours and any(marker in message.lower() for marker in self.MARKERS):
            self.reports.append(f"{record.name}: {message}")


@pytest.fixture(autouse=True)
def deprecation_reports() -> Iterator[DeprecationReports]:
    """Fail a test during which Home Assistant reported a deprecation caused by this integration.

    Autouse fixtures are set up before ``hass``, so this also sees the reports of its teardown.
    """
    handler = DeprecationReports()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
    if handler.reports:
        pytest.fail(
            "Home Assistant reported deprecated API use by this integration:\n"
            + "\n".join(handler.reports),
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def isolated_config_dir(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Each test's Home Assistant gets its own config folder (the session archive lives there).

    The plugin's default config folder is shared by every test and every run.
    """
    if "hass" in request.fixturenames:
        hass: HomeAssistant = request.getfixturevalue("hass")
        hass.config.config_dir = str(tmp_path)


@pytest.fixture(autouse=True)
def local_server() -> Iterator[None]:
    """Listen on 127.0.0.1 only, and trigger BootNotification quickly."""
    with (
        patch.object(ChargeConnectHub, "host", "127.0.0.1"),
        patch.object(ChargeConnectHub, "boot_wait", 0.5),
        patch.object(ChargeConnectCoordinator, "throttle", 0.0),
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's format."""
    from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension

    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Enable entities that are disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=lambda: property(lambda self: True),
    ):
        yield


def make_entry(
    identity: str = IDENTITY, password: str | None = PASSWORD, **options: Any
) -> MockConfigEntry:
    """A config entry for a charger on a free port."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Webasto {identity}",
        unique_id=identity,
        data={
            "identity": identity,
            CONF_PASSWORD: password,
            CONF_PORT: 0,
            "ssl_certfile": None,
            "ssl_keyfile": None,
        },
        options=options,
    )


async def setup_entry(hass: HomeAssistant, **kwargs: Any) -> MockConfigEntry:
    """Add and load a charger entry (see make_entry for the arguments)."""
    config_entry = make_entry(**kwargs)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await confirm_http_settings(hass)
    return config_entry


async def confirm_http_settings(hass: HomeAssistant) -> None:
    """Confirm Home Assistant's HTTP settings, as its owner does after a change.

    From 2026.10 a new HTTP configuration is on trial: unconfirmed after five minutes, Home
    Assistant restarts to the previous one, and a test that travels in time has no restart
    action. The integration depends on ``http``; 2025.4 has no trial (nothing to confirm).
    """
    try:
        from homeassistant.components.http.config import DATA_STORE
    except ImportError:  # Home Assistant before 2026.10
        return
    store = hass.data.get(DATA_STORE)
    if store is not None and store.pending is not None:
        await store.async_promote_pending()


@pytest.fixture
async def entry(hass: HomeAssistant, socket_enabled: None) -> MockConfigEntry:
    """A loaded charger entry (the charger itself is not connected yet)."""
    return await setup_entry(hass)


def url_of(entry: MockConfigEntry, prefix: str = "/ocpp") -> str:
    """The base URL a simulated charger connects to (the identity is appended)."""
    return f"ws://127.0.0.1:{entry.runtime_data.port}{prefix}"


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[..., SimulatedCharger]]:
    """Create simulated chargers; all are disconnected at the end."""
    sims: list[SimulatedCharger] = []

    def factory(
        entry: MockConfigEntry,
        profile: str = "next",
        identity: str = IDENTITY,
        password: str | None = PASSWORD,
        **kwargs: Any,
    ) -> SimulatedCharger:
        sim = SimulatedCharger(url_of(entry), identity, profile, password=password, **kwargs)
        sims.append(sim)
        return sim

    yield factory
    for sim in sims:
        await sim.disconnect()


@pytest.fixture
async def online_sim(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> SimulatedCharger:
    """A booted Webasto Next, connected and set up."""
    sim = make_sim(entry)
    await sim.connect()
    await sim.boot()
    await sim.status("Available")
    await wait_configured(hass, entry)
    return sim


async def wait_configured(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Wait until the post-connect setup (GetConfiguration, settings) has run."""
    charger = entry.runtime_data.charger
    await wait_until(hass, lambda: charger.configured)


async def wait_until(
    hass: HomeAssistant, predicate: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Wait for a condition on the charger, woken by its change notifications."""
    from custom_components.webasto_chargeconnect.chargeconnect import Charger

    chargers: list[Charger] = [
        e.runtime_data.charger
        for e in hass.config_entries.async_entries(DOMAIN)
        if getattr(e, "runtime_data", None) is not None
    ]
    changed = asyncio.Event()
    removers = [c.add_listener(changed.set) for c in chargers]
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                changed.clear()
                await changed.wait()
    finally:
        for remove in removers:
            remove()
    await hass.async_block_till_done()


async def wait_for_state(
    hass: HomeAssistant,
    entity_id: str,
    predicate: Callable[[State], bool] | str,
    timeout: float = 10.0,
) -> State:
    """Wait (on state_changed events) until an entity's state satisfies ``predicate``."""
    check: Callable[[State], bool]
    if isinstance(predicate, str):
        expected = predicate

        def check(state: State) -> bool:
            return state.state == expected
    else:
        check = predicate
    current = hass.states.get(entity_id)
    if current is not None and check(current):
        return current
    future: asyncio.Future[State] = hass.loop.create_future()

    @callback
    def listener(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and check(new) and not future.done():
            future.set_result(new)

    unsub = async_track_state_change_event(hass, [entity_id], listener)
    try:
        async with asyncio.timeout(timeout):
            return await future
    except TimeoutError:
        raise AssertionError(
            f"{entity_id} never matched; last state {hass.states.get(entity_id)}"
        ) from None
    finally:
        unsub()


Waiter = Callable[..., Awaitable[State]]


def charger_device(hass: HomeAssistant, identity: str = IDENTITY) -> dr.DeviceEntry:
    """The device of the loaded entry for this identity (looked up per config entry)."""
    registry = dr.async_get(hass)
    for config_entry in hass.config_entries.async_entries(DOMAIN):
        if config_entry.data.get(CONF_IDENTITY) != identity:
            continue
        for device in dr.async_entries_for_config_entry(registry, config_entry.entry_id):
            if (DOMAIN, identity) in device.identifiers:
                return device
    raise AssertionError(f"no device for {identity}")
