"""Forwarding to the charger's original backend, at library level (no Home Assistant).

A real CentralSystem on 127.0.0.1, a SimulatedCharger connected to it, and an
UpstreamLink to a real OCPP backend (tests/upstream_backend.py) over real websockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
import json
import logging
from pathlib import Path
import ssl
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from ocpp.exceptions import OccurenceConstraintViolationError
import pytest

from custom_components.webasto_chargeconnect.chargeconnect import (
    CentralSystem,
    Charger,
    JsonFileStore,
    MemoryStore,
    PersistentIdAllocator,
)
from custom_components.webasto_chargeconnect.chargeconnect.upstream import (
    UpstreamConfig,
    UpstreamConfigError,
    UpstreamLink,
    upstream_url,
)
from webasto_sim import SimulatedCharger
from webasto_sim.webui import make_self_signed_certificate, server_ssl_context

from ..upstream_backend import BackendCallError, UpstreamBackend, tolerate_refused_tls_handshakes

IDENTITY = "NEXT-WS123456"
BILLING = ("StartTransaction", "MeterValues", "StopTransaction")


class Rig:
    """Our central system with one charger, and the simulated charger talking to it."""

    def __init__(self, central: CentralSystem, charger: Charger, store: MemoryStore) -> None:
        self.central = central
        self.charger = charger
        self.charger_store = store
        self.sims: list[SimulatedCharger] = []

    def sim(self, profile: str = "next") -> SimulatedCharger:
        sim = SimulatedCharger(
            f"ws://127.0.0.1:{self.central.port}/ocpp", IDENTITY, profile, boot_on_connect=False
        )
        self.sims.append(sim)
        return sim

    async def online_sim(self, profile: str = "next") -> SimulatedCharger:
        """A simulated charger, connected, booted, Available, and set up by us."""
        sim = self.sim(profile)
        await sim.connect()
        await sim.boot()
        await sim.status("Available")
        await wait_until(self.charger.add_listener, lambda: self.charger.configured)
        return sim


async def wait_until(
    add_listener: Callable[[Callable[[], None]], Callable[[], None]],
    predicate: Callable[[], bool],
    timeout: float = 10.0,
) -> None:
    """Wait, woken by the object's change listener, until ``predicate()`` holds."""
    changed = asyncio.Event()
    remove = add_listener(changed.set)
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                changed.clear()
                await changed.wait()
    finally:
        remove()


@pytest.fixture
async def tolerate_refused_handshakes() -> AsyncIterator[None]:
    """A refused TLS handshake is reported by the server side; expected here."""
    with tolerate_refused_tls_handshakes():
        yield


@pytest.fixture
async def rig(socket_enabled: None) -> AsyncIterator[Rig]:
    central = CentralSystem("127.0.0.1", 0, boot_wait=0.5, ping_interval=60)
    store = MemoryStore()
    charger = Charger(
        IDENTITY, password=None, store=store, allocator=PersistentIdAllocator(MemoryStore())
    )
    central.add_charger(charger)
    await central.start()
    test_rig = Rig(central, charger, store)
    yield test_rig
    for sim in test_rig.sims:
        await sim.disconnect()
    await central.stop()


@pytest.fixture
async def backend(socket_enabled: None) -> AsyncIterator[UpstreamBackend]:
    server = UpstreamBackend()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    session = aiohttp.ClientSession()
    yield session
    await session.close()


LinkFactory = Callable[..., Awaitable[UpstreamLink]]


@pytest.fixture
async def make_link(
    rig: Rig, http: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[LinkFactory]:
    """Start UpstreamLinks (fast back-off); all are stopped at the end."""
    links: list[UpstreamLink] = []

    async def factory(
        url: str, store_path: Path | None = None, start: bool = True, **options: Any
    ) -> UpstreamLink:
        options.setdefault("reconnect_min", timedelta(seconds=0.02))
        options.setdefault("reconnect_max", timedelta(seconds=0.1))
        store = JsonFileStore(store_path or tmp_path / "upstream.json")
        link = UpstreamLink(rig.charger, http, UpstreamConfig(url, **options), store)
        links.append(link)
        if start:
            await link.start()
        return link

    yield factory
    for link in links:
        await link.stop()


async def link_connected(link: UpstreamLink, connected: bool = True) -> None:
    await wait_until(link.add_listener, lambda: link.connected is connected)


async def link_idle(link: UpstreamLink) -> None:
    """Everything queued was answered by the backend."""
    await wait_until(link.add_listener, lambda: link.connected and link.queued == 0)


def billing(backend: UpstreamBackend) -> list[tuple[str, Any]]:
    """(action, transactionId) of the billing messages the backend received, in order."""
    return [
        (call.action, call.payload.get("transactionId"))
        for call in backend.calls
        if call.action in BILLING
    ]


def read_store(path: Path) -> dict[str, Any]:
    """The forwarder's state file, read independently of the library."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# ------------------------------------------------------------------------ the stream
async def test_forwards_a_coherent_stream(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory
) -> None:
    """Boot, status, a session with THEIR id in later MeterValues and StopTransaction."""
    link = await make_link(backend.url)
    await link_connected(link)
    sim = await rig.online_sim()
    await backend.wait_for(lambda: "StatusNotification" in backend.actions())
    assert backend.paths[-1] == f"/ocpp/{IDENTITY}"
    boot = backend.of("BootNotification")[-1]
    assert boot["chargePointVendor"] == "Webasto"
    assert boot["chargePointModel"] == "Webasto Next"

    ours = await sim.charge(samples=2, power_w=11000, id_tag="CARD-1")
    await sim.stop_transaction("Local")

    def statuses() -> list[str]:
        return [p["status"] for p in backend.of("StatusNotification")]

    # The charger sends Finishing after StopTransaction: wait for both to be forwarded.
    await backend.wait_for(
        lambda: "StopTransaction" in backend.actions() and statuses()[-1:] == ["Finishing"]
    )

    start = backend.of("StartTransaction")[0]
    assert start["idTag"] == "CARD-1"
    assert start["connectorId"] == 1
    theirs = 5000
    assert ours != theirs
    assert link.their_transaction_id(ours) == theirs
    assert billing(backend) == [
        ("StartTransaction", None),
        ("MeterValues", theirs),
        ("MeterValues", theirs),
        ("StopTransaction", theirs),
    ]
    # The charger's own payloads, only the transaction id rewritten.
    ha_stop = rig.charger.last_transaction
    assert ha_stop is not None and ha_stop.transaction_id == ours
    assert backend.of("StopTransaction")[0]["meterStop"] == round(ha_stop.meter_stop_wh or 0)
    actions = backend.actions()
    assert actions.index("BootNotification") < actions.index("StartTransaction")
    assert statuses() == ["Available", "Preparing", "Charging", "Finishing"]


async def test_other_messages_pass_unchanged(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Heartbeat, Authorize, DataTransfer, firmware/diagnostics status, idle MeterValues."""
    link = await make_link(backend.url)
    await link_connected(link)
    sim = await rig.online_sim()
    await sim.heartbeat()
    await sim.authorize("CARD-7")
    await sim.firmware_status("Downloading")
    await sim.diagnostics_status("Uploading")
    transfer = {"vendorId": "Webasto", "messageId": "m", "data": "x"}
    await sim.send_raw(json.dumps([2, "dt-1", "DataTransfer", transfer]))
    assert (await sim.next_raw_reply())[0] == 3
    await sim.meter_values(power_w=0, transaction_id=None)
    await backend.wait_for(lambda: "MeterValues" in backend.actions())
    assert backend.of("Authorize") == [{"idTag": "CARD-7"}]
    assert backend.of("FirmwareStatusNotification") == [{"status": "Downloading"}]
    assert backend.of("DiagnosticsStatusNotification") == [{"status": "Uploading"}]
    assert backend.of("DataTransfer") == [transfer]
    assert backend.of("Heartbeat") == [{}]
    meter = backend.of("MeterValues")[0]
    assert "transactionId" not in meter
    assert meter["connectorId"] == 1
    assert link.messages_sent >= 7

    # A transaction nobody knows (not even us): not forwarded, said so.
    with caplog.at_level(logging.WARNING):
        await sim.meter_values(power_w=0, transaction_id=999)
        await sim.heartbeat()
        await backend.wait_for(lambda: len(backend.of("Heartbeat")) == 2)
    assert len(backend.of("MeterValues")) == 1
    assert "MeterValues of transaction 999 not forwarded" in caplog.text


# ----------------------------------------------------------------- backend -> charger
async def test_remote_start_and_stop_from_the_backend(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory
) -> None:
    """The app starts a session; its RemoteStop with THEIR id stops OUR transaction."""
    link = await make_link(backend.url)
    sim = await rig.online_sim()
    await link_connected(link)
    answer = await backend.send("RemoteStartTransaction", {"connectorId": 1, "idTag": "APP-1"})
    assert answer == {"status": "Accepted"}
    received = await sim.wait_for_call("RemoteStartTransaction")
    assert received.payload == {"connectorId": 1, "idTag": "APP-1"}
    await wait_until(
        link.add_listener,
        lambda: (
            sim.transaction_id is not None
            and link.their_transaction_id(sim.transaction_id) is not None
        ),
    )
    ours = sim.transaction_id
    assert ours is not None and ours in rig.charger.transactions
    assert backend.of("StartTransaction")[0]["idTag"] == "APP-1"
    assert link.their_transaction_id(ours) == 5000

    # A TxProfile for THEIR transaction reaches the charger for OURS.
    profile = {
        "chargingProfileId": 7,
        "transactionId": 5000,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}],
        },
    }
    answer = await backend.send(
        "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}
    )
    assert answer == {"status": "Accepted"}
    received = await sim.wait_for_call("SetChargingProfile")
    assert received.payload["csChargingProfiles"]["transactionId"] == ours
    assert sim.current_limit_a == 10.0

    # Unknown to the link: refused without bothering the charger.
    assert await backend.send("RemoteStopTransaction", {"transactionId": 4242}) == {
        "status": "Rejected"
    }
    answer = await backend.send("RemoteStopTransaction", {"transactionId": 5000})
    assert answer == {"status": "Accepted"}
    stops = [c for c in sim.received if c.action == "RemoteStopTransaction"]
    assert [c.payload for c in stops] == [{"transactionId": ours}]
    await backend.wait_for(lambda: len(backend.of("StopTransaction")) == 1)
    assert backend.of("StopTransaction")[0]["transactionId"] == 5000
    assert backend.of("StopTransaction")[0]["reason"] == "Remote"
    assert ours not in rig.charger.transactions  # OUR transaction is closed


async def test_commands_and_errors_from_the_backend(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory
) -> None:
    """Answers and CallErrors of the charger go back as they are; our key is protected."""
    link = await make_link(backend.url)
    sim = await rig.online_sim()
    await link_connected(link)
    await backend.wait_connected()

    answer = await backend.send(
        "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "30"}
    )
    assert answer == {"status": "Accepted"}
    assert sim.configuration["MeterValueSampleInterval"] == "30"
    answer = await backend.send("GetConfiguration", {"key": ["HeartbeatInterval"]})
    assert answer["configurationKey"][0]["key"] == "HeartbeatInterval"

    # AuthorizationKey would lock Home Assistant out: refused here, never sent on.
    answer = await backend.send("ChangeConfiguration", {"key": "AuthorizationKey", "value": "x"})
    assert answer == {"status": "Rejected"}
    assert not [c for c in sim.received if c.payload.get("key") == "AuthorizationKey"]

    # The charger's CallError comes back with the same code.
    with pytest.raises(BackendCallError) as err:
        await backend.send("GetConfiguration", {"key": [f"K{i}" for i in range(51)]})
    assert err.value.code == OccurenceConstraintViolationError.code

    # Malformed or unknown commands never reach the charger.
    with pytest.raises(BackendCallError) as err:
        await backend.send("Reset", {"type": "Sideways"})
    assert err.value.code == "FormationViolation"
    with pytest.raises(BackendCallError) as err:
        await backend.send("FlyToTheMoon", {})
    assert err.value.code == "NotImplemented"
    with pytest.raises(BackendCallError) as err:
        await backend.send("BootNotification", {})
    assert err.value.code == "NotSupported"
    assert not [c for c in sim.received if c.action in ("Reset", "FlyToTheMoon")]

    # Charger offline: a clear GenericError.
    await sim.disconnect()
    await wait_until(rig.charger.add_listener, lambda: not rig.charger.online)
    with pytest.raises(BackendCallError) as err:
        await backend.send("Reset", {"type": "Soft"})
    assert err.value.code == "GenericError"
    assert "not connected" in err.value.description


async def test_control_switched_off(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """allow_control False: the backend's commands get a SecurityError (switchable live)."""
    link = await make_link(backend.url, allow_control=False)
    sim = await rig.online_sim()
    await link_connected(link)
    with caplog.at_level(logging.WARNING):
        with pytest.raises(BackendCallError) as err:
            await backend.send("RemoteStartTransaction", {"connectorId": 1, "idTag": "APP"})
    assert err.value.code == "SecurityError"
    assert "RemoteStartTransaction" in caplog.text
    assert "remote control is switched off" in caplog.text
    assert not [c for c in sim.received if c.action == "RemoteStartTransaction"]

    link.allow_control = True
    answer = await backend.send("RemoteStartTransaction", {"connectorId": 1, "idTag": "APP"})
    assert answer == {"status": "Accepted"}
    await sim.wait_for_call("RemoteStartTransaction")


# ---------------------------------------------------------------------- outages
async def test_outage_replayed_in_order(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory, tmp_path: Path
) -> None:
    """The backend goes down mid-session; nothing is lost or duplicated after it returns."""
    link = await make_link(backend.url)
    sim = await rig.online_sim()
    first = await sim.charge(samples=1)
    await backend.wait_for(lambda: len(backend.of("MeterValues")) == 1)
    await link_idle(link)

    await backend.stop()
    await link_connected(link, False)
    assert link.down_since is not None
    assert link.last_error is not None
    before = len(backend.calls)

    # The charger keeps charging and stopping while the backend is away.
    await sim.meter_values()
    await sim.meter_values()
    await sim.stop_transaction("EVDisconnected")
    await sim.heartbeat()  # not billing: dropped
    second = await sim.start_transaction("CARD-2")  # its id is unknown upstream for now
    await sim.meter_values()
    await sim.stop_transaction("Local")
    await sim.status("Available")
    assert first != second
    assert link.queued == 6
    await link.stop()  # writes the queue; started again below on the same store
    stored = read_store(tmp_path / "upstream.json")
    assert [(i["action"], i["tx"]) for i in stored["queue"]] == [
        ("MeterValues", first),
        ("MeterValues", first),
        ("StopTransaction", first),
        ("StartTransaction", second),
        ("MeterValues", second),
        ("StopTransaction", second),
    ]
    await link.start()

    await backend.start()
    await backend.wait_for(lambda: len(backend.of("StopTransaction")) == 2)
    await link_idle(link)
    replay = backend.calls[before:]
    actions = [c.action for c in replay]
    assert actions[0] == "BootNotification"
    assert actions[1] == "StatusNotification"
    assert replay[1].payload["status"] == "Available"  # the latest state, once
    assert "Heartbeat" not in actions
    assert [(c.action, c.payload.get("transactionId")) for c in replay if c.action in BILLING] == [
        ("MeterValues", 5000),
        ("MeterValues", 5000),
        ("StopTransaction", 5000),
        ("StartTransaction", None),
        ("MeterValues", 5001),
        ("StopTransaction", 5001),
    ]
    # Each meter value exactly once over the whole session.
    stamps = [p["meterValue"][0]["timestamp"] for p in backend.of("MeterValues")]
    assert len(stamps) == len(set(stamps)) == 4
    assert link.down_since is None
    await link.flush()
    assert read_store(tmp_path / "upstream.json")["queue"] == []


async def test_queue_survives_a_restart(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory, tmp_path: Path
) -> None:
    """A new UpstreamLink on the same JsonFileStore replays what the old one queued."""
    await backend.stop()  # down from the start
    store_path = tmp_path / "queue.json"
    old = await make_link(backend.url, store_path=store_path)
    sim = await rig.online_sim()
    ours = await sim.charge(samples=2)
    await sim.stop_transaction("Local")
    assert old.queued == 4
    assert old.last_error is not None and "Cannot reach the backend" in old.last_error
    await old.stop()
    stored = read_store(store_path)
    assert [i["action"] for i in stored["queue"]] == [
        "StartTransaction",
        "MeterValues",
        "MeterValues",
        "StopTransaction",
    ]

    await backend.start()
    new = await make_link(backend.url, store_path=store_path)
    assert new.queued == 4
    await backend.wait_for(lambda: len(backend.of("StopTransaction")) == 1)
    await link_idle(new)
    # The new link announced the charger from what we know about it (no Boot since).
    assert backend.calls[0].action == "BootNotification"
    assert backend.calls[0].payload["chargePointVendor"] == "Webasto"
    assert billing(backend) == [
        ("StartTransaction", None),
        ("MeterValues", 5000),
        ("MeterValues", 5000),
        ("StopTransaction", 5000),
    ]
    assert new.their_transaction_id(ours) == 5000
    await new.flush()
    assert read_store(store_path)["transactions"] == {str(ours): 5000}
    assert read_store(store_path)["queue"] == []


async def test_backend_refusing_a_start(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory
) -> None:
    """A CallError for StartTransaction: logged, its MeterValues/Stop are not sent up."""
    backend.refuse.add("StartTransaction")
    link = await make_link(backend.url)
    sim = await rig.online_sim()
    await link_connected(link)
    ours = await sim.charge(samples=1)
    await sim.stop_transaction("Local")
    await sim.heartbeat()
    await backend.wait_for(lambda: "Heartbeat" in backend.actions())
    assert billing(backend) == [("StartTransaction", None)]
    assert link.last_error == "The backend answered StartTransaction with CallError GenericError"
    assert link.their_transaction_id(ours) is None
    # We stay the authority: the session is ours, complete.
    assert rig.charger.last_transaction is not None
    assert rig.charger.last_transaction.transaction_id == ours
    assert rig.charger.last_transaction.meter_stop_wh is not None


async def test_forwarding_that_starts_mid_session(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory
) -> None:
    """The backend never saw the start: it is told from our record, then gets the rest."""
    sim = await rig.online_sim()
    ours = await sim.charge(samples=0, id_tag="EARLY")
    await sim.status("SuspendedEV", info="battery full")
    link = await make_link(backend.url)
    await link_connected(link)
    await sim.meter_values()
    await backend.wait_for(lambda: len(backend.of("MeterValues")) == 1)
    start = backend.of("StartTransaction")[0]
    record = rig.charger.transactions[ours]
    assert start["idTag"] == "EARLY"
    assert start["meterStart"] == round(record.meter_start_wh)
    assert billing(backend) == [("StartTransaction", None), ("MeterValues", 5000)]
    # The announced state on connect was the charger's own.
    announced = backend.of("StatusNotification")[0]
    assert (announced["status"], announced["info"]) == ("SuspendedEV", "battery full")


async def test_queue_is_bounded(
    rig: Rig,
    backend: UpstreamBackend,
    make_link: LinkFactory,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """A long outage keeps starts and stops; the oldest MeterValues make room."""
    await backend.stop()
    link = await make_link(backend.url, max_queue=3)
    sim = await rig.online_sim()
    with caplog.at_level(logging.WARNING):
        await sim.charge(samples=4)
        last = sim.register_wh
        await sim.stop_transaction("Local")
    assert link.queued == 3
    await link.flush()
    queue = read_store(tmp_path / "upstream.json")["queue"]
    assert [item["action"] for item in queue] == [
        "StartTransaction",
        "MeterValues",
        "StopTransaction",
    ]
    # The newest sample is the one kept.
    kept = queue[1]["payload"]["meterValue"][0]["sampledValue"][0]
    assert float(kept["value"]) == pytest.approx(last, abs=1)
    assert "dropping the oldest MeterValues" in caplog.text


async def test_idle_heartbeat(rig: Rig, backend: UpstreamBackend, make_link: LinkFactory) -> None:
    """When nothing was sent for the backend's heartbeat interval, the link sends one."""
    backend.heartbeat_interval = 1
    link = await make_link(backend.url)
    await rig.online_sim()
    await link_connected(link)
    await backend.wait_for(lambda: "Heartbeat" in backend.actions(), timeout=5)
    assert backend.of("Heartbeat") == [{}]


# -------------------------------------------------------------- credentials and TLS
async def test_wrong_password_sets_last_error(
    rig: Rig, make_link: LinkFactory, socket_enabled: None
) -> None:
    """Basic auth: a wrong password is reported; the right one connects as the identity."""
    server = UpstreamBackend(password="right-one")
    await server.start()
    try:
        link = await make_link(server.url, password="wrong-one")
        await wait_until(link.add_listener, lambda: link.last_error is not None)
        assert link.last_error == "The backend refused the charger's credentials (HTTP 401)"
        assert link.last_error_time is not None
        assert not link.connected
        assert link.down_since is not None
        assert server.auth_failures >= 1
        await link.stop()

        good = await make_link(server.url, password="right-one")
        await link_connected(good)
        assert good.as_dict()["connected"] is True
        assert good.as_dict()["url"] == f"ws://127.0.0.1:{server.port}/ocpp/{IDENTITY}"
        assert "right-one" not in json.dumps(good.as_dict())
    finally:
        await server.stop()


async def test_tls_is_verified(
    tolerate_refused_handshakes: None,
    rig: Rig,
    make_link: LinkFactory,
    tmp_path: Path,
    socket_enabled: None,
) -> None:
    """wss: an untrusted certificate is refused unless verification is off or it is trusted."""
    loop = asyncio.get_running_loop()
    cert, key = await loop.run_in_executor(None, make_self_signed_certificate, tmp_path)
    context = await loop.run_in_executor(None, server_ssl_context, cert, key)
    server = UpstreamBackend(ssl_context=context)
    await server.start()
    try:
        assert server.url.startswith("wss://")
        strict = await make_link(server.url)
        await wait_until(strict.add_listener, lambda: strict.last_error is not None)
        assert "certificate" in (strict.last_error or "")
        assert not strict.connected
        await strict.stop()

        lax = await make_link(server.url, verify_tls=False)
        await link_connected(lax)
        await lax.stop()

        trusted = await loop.run_in_executor(
            None, lambda: ssl.create_default_context(cafile=str(cert))
        )
        pinned = await make_link(server.url, ssl_context=trusted)
        await link_connected(pinned)
    finally:
        await server.stop()


def test_url_convention_and_config() -> None:
    """The identity is the URL's last segment; only ws/wss URLs are accepted."""
    assert upstream_url("wss://backend.example/ocpp", "NEXT-1") == (
        "wss://backend.example/ocpp/NEXT-1"
    )
    assert upstream_url("wss://backend.example/ocpp/", "NEXT-1") == (
        "wss://backend.example/ocpp/NEXT-1"
    )
    assert upstream_url("wss://backend.example/ocpp/NEXT-1", "NEXT-1") == (
        "wss://backend.example/ocpp/NEXT-1"
    )
    assert upstream_url("ws://h:1/a b", "ID 2") == "ws://h:1/a b/ID%202"
    with pytest.raises(UpstreamConfigError) as err:
        UpstreamConfig("https://backend.example/ocpp")
    assert err.value.translation_key == "upstream_invalid_url"
    assert err.value.placeholders == {"url": "https://backend.example/ocpp"}


# ------------------------------------------------------------- a misbehaving backend
class RawBackend:
    """A websocket backend driven frame by frame by the test."""

    def __init__(self) -> None:
        self.port = 0
        self.handshake_statuses: list[int] = []  # answered before a handshake is accepted
        self.connections = 0
        self.frames: asyncio.Queue[list[Any]] = asyncio.Queue()
        self.ws: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.handshake_statuses:
            return web.Response(status=self.handshake_statuses.pop(0))
        ws = web.WebSocketResponse()  # confirms no subprotocol
        await ws.prepare(request)
        self.ws = ws
        self.connections += 1
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                self.frames.put_nowait(json.loads(message.data))
        return ws

    async def next_frame(self, kind: int | None = None, timeout: float = 10.0) -> list[Any]:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frames.get()
                if kind is None or frame[0] == kind:
                    return frame

    async def send(self, frame: Any) -> None:
        assert self.ws is not None
        await self.ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))

    async def answer(self, call: list[Any], payload: dict[str, Any]) -> None:
        await self.send([3, call[1], payload])


@pytest.fixture
async def raw(socket_enabled: None) -> AsyncIterator[RawBackend]:
    server = RawBackend()
    await server.start()
    yield server
    await server.stop()


async def test_a_misbehaving_backend(
    rig: Rig, raw: RawBackend, make_link: LinkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused handshakes, refusals, garbage, odd Calls and silence: the link copes."""
    sim = await rig.online_sim()
    raw.handshake_statuses = [404, 500]
    errors: list[str | None] = []
    link = await make_link(raw.url, call_timeout=timedelta(seconds=0.5))
    link.add_listener(lambda: errors.append(link.last_error))
    with caplog.at_level(logging.INFO):
        boot = await raw.next_frame(2)
    assert errors[:2] == [
        "The backend does not know this charger (HTTP 404)",
        "The backend refused the connection (HTTP 500)",
    ]
    assert "did not confirm subprotocol ocpp1.6" in caplog.text
    # Announced from what we know (the charger booted before forwarding started).
    assert boot[2] == "BootNotification"
    assert boot[3]["chargePointModel"] == "Webasto Next"
    await raw.answer(boot, {"status": "Rejected", "currentTime": "2026-01-01T00:00:00Z"})
    status = await raw.next_frame(2)
    assert status[2] == "StatusNotification"
    await raw.send([4, status[1], "GenericError", "not now", {}])
    await wait_until(
        link.add_listener,
        lambda: (
            link.last_error == "The backend answered StatusNotification with CallError GenericError"
        ),
    )
    assert "The backend answered BootNotification with Rejected" in errors

    # Garbage is logged and ignored; odd Calls get CallErrors; binary frames work.
    with caplog.at_level(logging.WARNING):
        await raw.send("not json")
        await raw.send({"an": "object"})
        await raw.send([3, "nobody-asked", {}])
        await raw.send([2, "c1", "Reset", []])
        assert (await raw.next_frame(4))[1:3] == ["c1", "FormationViolation"]
    assert "not JSON" in caplog.text
    assert "malformed frame" in caplog.text
    assert raw.ws is not None
    await raw.ws.send_bytes(
        json.dumps([2, "c2", "GetConfiguration", {"key": ["HeartbeatInterval"]}]).encode()
    )
    answer = await raw.next_frame(3)
    assert answer[1] == "c2"
    assert answer[2]["configurationKey"][0]["value"] == "300"
    profile = {
        "chargingProfileId": 9,
        "transactionId": 777,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}],
        },
    }
    await raw.send(
        [2, "c3", "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}]
    )
    assert await raw.next_frame(3) == [3, "c3", {"status": "Rejected"}]
    assert not [
        c
        for c in sim.received
        if c.action == "SetChargingProfile"
        and c.payload.get("csChargingProfiles", {}).get("chargingProfileId") == 9
    ]

    # Silence: no answer within call_timeout drops the connection; we connect again.
    await sim.heartbeat()
    heartbeat = await raw.next_frame(2)
    assert heartbeat[2] == "Heartbeat"
    await wait_until(link.add_listener, lambda: raw.connections == 2 or not link.connected)
    await wait_until(link.add_listener, lambda: "no answer to Heartbeat" in (link.last_error or ""))
    again = await raw.next_frame(2)
    assert again[2] == "BootNotification"
    assert raw.connections == 2


async def test_connect_timeout_and_reconnect_now(
    rig: Rig, backend: UpstreamBackend, make_link: LinkFactory
) -> None:
    """A backend that accepts TCP but never answers; reconnect_now skips a long back-off."""

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    try:
        port = silent.sockets[0].getsockname()[1]
        link = await make_link(f"ws://127.0.0.1:{port}/ocpp", call_timeout=timedelta(seconds=0.2))
        await wait_until(link.add_listener, lambda: link.last_error is not None)
        assert link.last_error == "The backend did not answer the connection in time"
        await link.stop()
    finally:
        silent.close()
        await silent.wait_closed()

    await backend.stop()
    slow = await make_link(
        backend.url, reconnect_min=timedelta(minutes=1), reconnect_max=timedelta(minutes=2)
    )
    await wait_until(slow.add_listener, lambda: slow.last_error is not None)
    await backend.start()
    slow.reconnect_now()
    await link_connected(slow)


class BrokenStore:
    """A StateStore whose disk is full."""

    def __init__(self) -> None:
        self.saves = 0

    async def async_load(self) -> Any:
        return None

    async def async_save(self, data: Any) -> None:
        self.saves += 1
        raise OSError(28, "No space left on device")

    def async_delay_save(self, data_func: Callable[[], Any], delay: float = 0) -> None:
        raise AssertionError("not used")


async def test_failing_listener_and_store(
    rig: Rig,
    backend: UpstreamBackend,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A listener that raises and a store that cannot write are logged, not fatal."""
    store = BrokenStore()
    link = UpstreamLink(rig.charger, http, UpstreamConfig(backend.url), store)
    link.add_listener(lambda: 1 / 0)  # type: ignore[func-returns-value]
    remove = link.add_listener(lambda: None)
    remove()
    remove()  # twice is harmless
    with caplog.at_level(logging.ERROR):
        await link.start()
        try:
            await link_connected(link)
            sim = await rig.online_sim()
            await sim.charge(samples=1)
            await backend.wait_for(lambda: len(backend.of("MeterValues")) == 1)
        finally:
            await link.stop()
    assert "upstream listener failed" in caplog.text
    assert "cannot save the upstream queue" in caplog.text
    assert store.saves >= 1
    assert billing(backend) == [("StartTransaction", None), ("MeterValues", 5000)]
