"""Setting entries up and tearing them down: shared servers, and nothing left behind on failure;
the claims a config flow holds on a port and a charger while it waits; state restored after a
restart.

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

from custom_components.webasto_chargeconnect.chargeconnect import ServerStartError
from custom_components.webasto_chargeconnect.const import DOMAIN, LEDGER_FILE
from custom_components.webasto_chargeconnect.hub import (
    HUB,
    ChargeConnectHub,
    TlsMismatchError,
    async_get_hub,
)
from webasto_sim import SimulatedCharger

from ..common import PASSWORD, connect_and_boot
from .conftest import setup_entry, wait_until

E = "webasto_next_ws123456"


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


# ------------------------------------------------------------------ claims (config flows)
async def test_claim_is_held_until_released_and_the_entry_keeps_the_charger(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A claim listens and accepts its charger; a timed-out wait keeps it; its entry takes over."""
    port = free_port()
    identity = "NEXT-WS400001"
    hub = async_get_hub(hass)
    claim = await hub.async_claim("test", identity, PASSWORD, port)
    assert claim.port == port
    assert not port_is_free(port)
    # Nothing connects in time: False, and still held (the flow may wait again).
    assert not await claim.async_wait_online(0.05)
    server = hub.server(port)
    assert server is not None
    assert identity in server.chargers
    sim = sim_for(port, identity)
    try:
        waiting = asyncio.ensure_future(claim.async_wait_online(10))
        await sim.connect()
        await sim.boot()
        assert await waiting
        # The entry the flow creates borrows the same server and charger...
        entry = entry_on(port, identity)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        assert entry.runtime_data.charger is server.chargers[identity]
        # ... so letting go of the claim (twice: harmless) keeps the connection.
        await claim.async_release()
        await claim.async_release()
        assert claim.released
        assert hub.server(port) is server
        assert hub._chargers[identity].users == {entry.entry_id}
        assert hub._servers[port].users == {entry.entry_id}
        assert (await sim.heartbeat())["currentTime"]
        assert entry.runtime_data.charger.online
        # A released claim waits for nothing.
        assert not await claim.async_wait_online(10)
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await sim.disconnect()
    assert hub.server(port) is None
    assert not hub._chargers
    assert await hass.async_add_executor_job(port_is_free, port)


async def test_claim_released_twice_leaves_other_entries_alone(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A claim on an entry's port lets go of its own share only, however often it is released."""
    port = free_port()
    entry = entry_on(port, "NEXT-WS400002")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    hub = hub_of(hass)
    server = hub.server(port)
    assert server is not None
    claim = await hub.async_claim("test", "NEXT-WS400003", None, port)
    assert set(server.chargers) == {"NEXT-WS400002", "NEXT-WS400003"}
    for _ in range(2):
        await claim.async_release()
        assert hub.server(port) is server
        assert set(server.chargers) == {"NEXT-WS400002"}
        assert hub._servers[port].users == {entry.entry_id}
    # The claimed charger is gone from the port; the entry's charger still gets in.
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await sim_for(port, "NEXT-WS400003").connect()
    assert err.value.status == 404
    sim = sim_for(port, "NEXT-WS400002")
    try:
        await sim.connect()
        assert (await sim.boot())["status"] == "Accepted"
    finally:
        await sim.disconnect()


async def test_claim_that_cannot_listen_holds_nothing(
    hass: HomeAssistant, socket_enabled: None, tmp_path: Path
) -> None:
    """A port in use, or served with other TLS settings: an error, and nothing is held."""
    hub = async_get_hub(hass)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        with pytest.raises(ServerStartError):
            await hub.async_claim("test", "NEXT-WS400004", None, blocker.getsockname()[1])
    assert not hub._servers
    assert not hub._chargers
    port = free_port()
    entry = entry_on(port, "NEXT-WS400005")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    with pytest.raises(TlsMismatchError):
        await hub.async_claim(
            "test",
            "NEXT-WS400006",
            None,
            port,
            certfile=str(tmp_path / "cert.pem"),
            keyfile=str(tmp_path / "key.pem"),
        )
    assert hub._servers[port].users == {entry.entry_id}
    assert set(hub._chargers) == {"NEXT-WS400005"}


async def test_restored_state_after_restart(
    hass: HomeAssistant, socket_enabled: None, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """The last session, heartbeat and firmware status come back after a restart."""
    config_entry = await setup_entry(hass)
    sim = await connect_and_boot(make_sim(config_entry))
    await sim.heartbeat()
    await sim.firmware_status("Installed")
    await sim.charge(samples=2)
    await sim.stop_transaction()
    await sim.disconnect()
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    hass.data.pop(DOMAIN)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    charger = config_entry.runtime_data.charger
    assert charger.last_transaction is not None
    assert charger.last_transaction.energy_wh > 0
    assert charger.last_heartbeat is not None
    assert charger.firmware_status == "Installed"
    assert hass.states.get(f"sensor.{E}_firmware_status").state == "installed"
    assert float(hass.states.get(f"sensor.{E}_session_energy").state) > 0
    assert hass.states.get(f"sensor.{E}_status").state == "offline"
