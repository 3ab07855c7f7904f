"""Setting entries up and tearing them down: shared servers, and nothing left behind on failure.

These use a fixed port (the other tests give each entry port 0, its own server), because what
they check is what happens when several entries, or a failed and a retried setup, use ONE port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
from pathlib import Path
import socket
import sqlite3

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.const import DOMAIN, LEDGER_FILE
from custom_components.webasto_chargeconnect.hub import HUB, ChargeConnectHub
from webasto_sim import SimulatedCharger

from .conftest import PASSWORD, wait_until


def free_port() -> int:
    """A port nobody listens on right now (the server will bind it again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Nobody listens on the port (connections closed a moment ago may linger in TIME_WAIT)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


def entry_on(port: int, identity: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Webasto {identity}",
        unique_id=identity,
        data={
            "identity": identity,
            CONF_PASSWORD: PASSWORD,
            CONF_PORT: port,
            "ssl_certfile": None,
            "ssl_keyfile": None,
        },
    )


def sim_for(port: int, identity: str) -> SimulatedCharger:
    return SimulatedCharger(f"ws://127.0.0.1:{port}/ocpp", identity, "next", password=PASSWORD)


def hub_of(hass: HomeAssistant) -> ChargeConnectHub:
    hub: ChargeConnectHub = hass.data[HUB]
    return hub


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and (r.exc_info or "Traceback" in r.getMessage())
    ]


async def test_entries_on_one_port_set_up_at_once(
    hass: HomeAssistant, socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Home Assistant starts every entry at once: all share one server, all load first time."""
    port = free_port()
    identities = [f"NEXT-WS20000{i}" for i in range(4)]
    entries = [entry_on(port, identity) for identity in identities]
    for entry in entries:
        entry.add_to_hass(hass)
    # As at Home Assistant's start: setting the integration up sets up all its entries at once.
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert [entry.state for entry in entries] == [ConfigEntryState.LOADED] * len(entries)
    assert {entry.runtime_data.port for entry in entries} == {port}
    server = hub_of(hass).server(port)
    assert server is not None
    assert set(server.chargers) == set(identities)
    assert "address already in use" not in caplog.text.lower()
    # Every charger connecting right away is served; none is taken for a stranger.
    sims = [sim_for(port, identity) for identity in identities]
    try:
        await asyncio.gather(*(sim.connect() for sim in sims))
        answers = await asyncio.gather(*(sim.boot() for sim in sims))
        assert {answer["status"] for answer in answers} == {"Accepted"}
        await wait_until(hass, lambda: all(e.runtime_data.charger.online for e in entries))
        assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    finally:
        for sim in sims:
            await sim.disconnect()
    # Unloading all but one keeps the server; the last one stops it.
    for entry in entries[:-1]:
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert hub_of(hass).server(port) is server
    assert not port_is_free(port)
    assert await hass.config_entries.async_unload(entries[-1].entry_id)
    assert hub_of(hass).server(port) is None
    assert port_is_free(port)


def drop_sessions_table(path: Path) -> None:
    """The archive keeps its schema version but loses its sessions (a damaged file)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("DROP TABLE sessions")
        conn.commit()
    finally:
        conn.close()


def remove_archive(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def test_archive_failure_during_setup_releases_everything(
    hass: HomeAssistant,
    socket_enabled: None,
    make_sim: Callable[..., SimulatedCharger],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A LedgerError half way through setup: port free, nothing held in the hub; retry works."""
    port = free_port()
    identity = "NEXT-WS123456"
    entry = entry_on(port, identity)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # A session is open when Home Assistant stops: the next setup restores it from the archive.
    sim = make_sim(entry)
    await sim.connect()
    await sim.boot()
    await sim.status("Available")
    await wait_until(hass, lambda: entry.runtime_data.charger.configured)
    await sim.plug_in()
    await sim.start_transaction("CARD-1")
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is not None)
    await sim.disconnect()
    assert await hass.config_entries.async_unload(entry.entry_id)
    archive = Path(hass.config.path(DOMAIN, LEDGER_FILE))
    await hass.async_add_executor_job(drop_sessions_table, archive)

    caplog.clear()
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "sessions" in (entry.reason or "")
    hub = hub_of(hass)
    assert hub.server(port) is None
    assert not hub._servers
    assert not hub._chargers
    assert hub.ledger is None
    assert not hub._owner_users
    assert await hass.async_add_executor_job(port_is_free, port)
    assert not tracebacks(caplog)

    # A good archive: the retry loads, and the charger gets in.
    await hass.async_add_executor_job(remove_archive, archive)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await sim.connect()
    await sim.boot()
    await wait_until(hass, lambda: entry.runtime_data.charger.online)


async def test_configured_charger_refused_meanwhile_is_not_a_discovery(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A charger whose entry is not loaded yet gets 404, but is not offered as a new charger."""
    port = free_port()
    loaded = entry_on(port, "NEXT-WS300001")
    loaded.add_to_hass(hass)
    assert await hass.config_entries.async_setup(loaded.entry_id)
    waiting = entry_on(port, "NEXT-WS300002")
    waiting.add_to_hass(hass)  # configured, not set up (yet)
    stranger = sim_for(port, "NEXT-WS300003")
    for identity in ("NEXT-WS300002", "NEXT-WS300003"):
        sim = sim_for(port, identity)
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await sim.connect()
        assert err.value.status == 404
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["unique_id"] for flow in flows] == [stranger.identity]
    assert "NEXT-WS300002" not in hub_of(hass)._discovered
