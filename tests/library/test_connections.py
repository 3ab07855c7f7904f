"""The central system against broken networks and hostile clients, over real sockets.

A real CentralSystem on 127.0.0.1, real simulated chargers, and bare sockets
(tests/library/raw_client.py) for what a well-behaved client never does: stop reading, never
finish a handshake, guess passwords from many addresses, send made-up identities by the thousand.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import gc
import json
import logging
import os
import socket
import struct
import tracemalloc
from unittest.mock import patch

import aiohttp
import pytest

from custom_components.webasto_chargeconnect.chargeconnect import (
    CentralSystem,
    Charger,
    MemoryStore,
    PersistentIdAllocator,
)
from custom_components.webasto_chargeconnect.chargeconnect.exceptions import (
    ChargerOfflineError,
)
from custom_components.webasto_chargeconnect.chargeconnect.ocpp import auth as auth_module
from custom_components.webasto_chargeconnect.chargeconnect.ocpp.server import identity_from_path
from custom_components.webasto_chargeconnect.chargeconnect.ratelog import RateLimitedLog, printable
from webasto_sim import SimulatedCharger, basic_auth

from .raw_client import RawClient

IDENTITY = "NEXT-WS123456"
PASSWORD = "s3cret-Passw0rd"
LOGGER = "tests.central"
# asyncio's selector transports pause writing above this many buffered bytes.
HIGH_WATER = 64 * 1024
# A close that does not complete is abandoned after close_timeout (2 s): well within this.
CLOSE_BOUND = 5.0


class Rig:
    """A central system with one password-protected charger."""

    def __init__(self, central: CentralSystem, charger: Charger) -> None:
        self.central = central
        self.charger = charger
        self.unknown: list[str] = []
        self.sims: list[SimulatedCharger] = []
        self.raws: list[RawClient] = []

    @property
    def port(self) -> int:
        return self.central.port

    def sim(self, identity: str = IDENTITY, password: str | None = PASSWORD) -> SimulatedCharger:
        sim = SimulatedCharger(
            f"ws://127.0.0.1:{self.port}/ocpp",
            identity,
            password=password,
            boot_on_connect=False,
            call_timeout=5,
        )
        self.sims.append(sim)
        return sim

    async def raw(self, **kwargs: object) -> RawClient:
        client = await RawClient.open(self.port, **kwargs)  # type: ignore[arg-type]
        self.raws.append(client)
        return client

    def add(self, identity: str, password: str | None = PASSWORD) -> Charger:
        charger = Charger(
            identity,
            password=password,
            store=MemoryStore(),
            allocator=PersistentIdAllocator(MemoryStore()),
        )
        self.central.add_charger(charger)
        return charger


@pytest.fixture
async def rig(socket_enabled: None) -> AsyncIterator[Rig]:
    unknown: list[str] = []
    central = CentralSystem(
        "127.0.0.1",
        0,
        boot_wait=0.5,
        ping_interval=60,
        logger=logging.getLogger(LOGGER),
        on_unknown_charger=lambda identity, remote: unknown.append(identity),
    )
    charger = Charger(
        IDENTITY,
        password=PASSWORD,
        store=MemoryStore(),
        allocator=PersistentIdAllocator(MemoryStore()),
    )
    central.add_charger(charger)
    test_rig = Rig(central, charger)
    test_rig.unknown = unknown
    await central.start()
    yield test_rig
    for sim in test_rig.sims:
        await sim.disconnect()
    for raw in test_rig.raws:
        raw.close()
    async with asyncio.timeout(10):
        await central.stop()


async def wait_charger(
    charger: Charger, predicate: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Wait, woken by the charger's change notifications, until ``predicate()`` holds."""
    changed = asyncio.Event()
    remove = charger.add_listener(changed.set)
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                changed.clear()
                await changed.wait()
    finally:
        remove()


async def wait_online(charger: Charger, timeout: float = 10.0) -> None:
    await wait_charger(charger, lambda: charger.online, timeout)


def ours(caplog: pytest.LogCaptureFixture, level: int = logging.DEBUG) -> list[logging.LogRecord]:
    """Records of the central system's logger (and aiohttp's server log, which it replaces)."""
    return [
        r
        for r in caplog.records
        if r.name in (LOGGER, "aiohttp.server", "aiohttp.websocket") and r.levelno >= level
    ]


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def echoed_frames(count: int) -> bytes:
    """Masked websocket text frames the server answers at length (a CallError naming the
    unknown action), so that its answers fill the buffers quickly."""
    out = bytearray()
    for i in range(count):
        payload = json.dumps([2, f"x-{i}", "X" * 30_000, {}]).encode()
        mask = os.urandom(4)
        out += struct.pack("!BBH", 0x81, 0x80 | 126, len(payload)) + mask
        out += bytes(b ^ mask[j % 4] for j, b in enumerate(payload))
    return bytes(out)


async def stop_reading(rig: Rig) -> tuple[RawClient, asyncio.Transport]:
    """The charger connects on a socket that then reads nothing (its network went half-open).

    It keeps sending Calls until the server's answers fill every buffer on the way: the
    server's transport holds more than its high-water mark, so its next write blocks.
    Returns the client and the server's transport of that connection.
    """
    old = await rig.raw(rcvbuf=4096)
    assert await old.request(f"/ocpp/{IDENTITY}", login=IDENTITY, password=PASSWORD) == 101
    await wait_online(rig.charger)
    ws = rig.charger.connection.transport
    # aiohttp has no public accessor for the transport of a server websocket.
    transport: asyncio.Transport = ws._writer.transport
    frames = echoed_frames(20)
    unsent = bytearray()
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(30):
        while transport.get_write_buffer_size() <= HIGH_WATER:
            if not unsent:
                unsent += frames
            sent = old.try_send(bytes(unsent))
            del unsent[:sent]
            if not sent:
                await _writable_or_server_full(loop, old.sock, transport)
    return old, transport


async def _writable_or_server_full(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, transport: asyncio.Transport
) -> None:
    """Wait until our socket takes data again or the server's buffer passed the mark.

    Our send buffer is full: either the server reads some of it (our socket becomes
    writable) or it stopped reading because its answers fill its own buffer. The second
    has no event to wait on, so each turn of the event loop looks at it (the server runs
    in this loop: a turn is what lets it read or write).
    """
    writable = loop.create_future()
    loop.add_writer(sock.fileno(), lambda: writable.done() or writable.set_result(None))
    try:
        # No event exists for the second condition (see above).
        while not writable.done() and transport.get_write_buffer_size() <= HIGH_WATER:  # noqa: ASYNC110
            await asyncio.sleep(0)  # one turn of the loop, no time
    finally:
        loop.remove_writer(sock.fileno())


# ------------------------------------------------------------------ half-open connections
@pytest.fixture
def slow_send() -> Iterator[None]:
    """The stuck old socket must not be dropped for not reading before the test is done."""
    with patch.object(CentralSystem, "send_timeout", 60.0, create=True):
        yield


@pytest.mark.usefixtures("slow_send")
async def test_reconnect_while_old_socket_stopped_reading(rig: Rig) -> None:
    """A charger that reconnects is served at once, while its old socket cannot be written to."""
    old, old_transport = await stop_reading(rig)
    stuck = rig.charger.connection
    assert not old_transport.is_closing()
    loop = asyncio.get_running_loop()
    sim = rig.sim()
    started = loop.time()
    await sim.connect()
    answer = await sim.boot()  # raises TimeoutError after 5 s when nothing is answered
    first_answer = loop.time() - started
    assert answer["status"] == "Accepted"
    assert first_answer < 1.0
    assert (await sim.heartbeat())["currentTime"]
    # Meanwhile the old connection's close handshake times out and its transport is aborted
    # (its unsent data dropped), without the old socket reading anything.
    async with asyncio.timeout(CLOSE_BOUND):
        await asyncio.gather(*rig.central._closing)
    assert old_transport.is_closing()
    assert old_transport.get_write_buffer_size() == 0
    async with asyncio.timeout(5):
        assert await old.closed_by_peer()
    assert rig.charger.online
    assert stuck.closed
    assert rig.charger.connection is not stuck


@pytest.mark.usefixtures("slow_send")
async def test_stop_is_bounded_with_a_socket_that_stopped_reading(rig: Rig) -> None:
    """stop() returns within its bound (Home Assistant's shutdown must not hang)."""
    old, _ = await stop_reading(rig)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(CLOSE_BOUND):
        await rig.central.stop()
    assert loop.time() - started < CLOSE_BOUND
    assert not rig.central.running
    async with asyncio.timeout(5):
        assert await old.closed_by_peer()


async def test_charger_that_stops_reading_is_dropped(rig: Rig) -> None:
    """A write that cannot go out within send_timeout drops the connection; commands fail fast."""
    with patch.object(CentralSystem, "send_timeout", 0.5, create=True):
        old, transport = await stop_reading(rig)
        with pytest.raises(ChargerOfflineError):
            async with asyncio.timeout(5):
                await rig.charger.get_configuration(["HeartbeatInterval"])
        await wait_charger(rig.charger, lambda: not rig.charger.online, 5)
        assert transport.is_closing()
        async with asyncio.timeout(5):
            assert await old.closed_by_peer()


# ------------------------------------------------------------- handshakes and idle sockets
async def test_idle_and_unfinished_handshakes_are_closed(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Sockets that send nothing, or half a request, are closed after the handshake timeout."""
    with patch.object(CentralSystem, "handshake_timeout", 0.5, create=True):
        await rig.central.stop()
        await rig.central.start()
        silent = await rig.raw()
        partial = await rig.raw()
        await partial.send(b"GET /ocpp/" + IDENTITY.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        async with asyncio.timeout(5):
            assert await silent.closed_by_peer()
            assert await partial.closed_by_peer()
    assert not tracebacks(caplog)


async def test_refused_request_closes_its_connection(rig: Rig) -> None:
    """No keep-alive after a refusal: a 404 (or 401, 400) closes the socket."""
    for path, status in (
        ("/ocpp/UNKNOWN-1", 404),
        (f"/ocpp/{IDENTITY}", 401),
        ("/ocpp/a%00", 400),
    ):
        client = await rig.raw()
        assert await client.request(path) == status
        async with asyncio.timeout(5):
            assert await client.closed_by_peer()


async def test_pending_connections_are_capped(rig: Rig) -> None:
    """Past the cap, the oldest handshake-less sockets go; a charger still gets in."""
    with patch.object(CentralSystem, "max_pending_connections", 8, create=True):
        await rig.central.stop()
        await rig.central.start()
        idle = [await rig.raw() for _ in range(20)]
        async with asyncio.timeout(5):
            for client in idle[:12]:
                assert await client.closed_by_peer()
        sim = rig.sim()
        await sim.connect()
        assert (await sim.boot())["status"] == "Accepted"
        await wait_online(rig.charger)


# ---------------------------------------------------------------------- password guessing
async def guess(rig: Rig, source: str = "127.0.0.1", password: str = "wrong") -> int:
    """One password attempt: its HTTP status, 0 if the server dropped the connection."""
    client = await RawClient.open(rig.port, source=source)
    try:
        return await client.request(f"/ocpp/{IDENTITY}", login=IDENTITY, password=password)
    except ConnectionError:
        return 0
    finally:
        client.close()


async def test_real_charger_gets_in_while_guessed_from_its_address(rig: Rig) -> None:
    """An attacker behind the charger's own address (NAT, proxy) slows it, never locks it out."""
    with patch.object(CentralSystem, "auth_slowdown", 0.2, create=True):
        sim = rig.sim()
        await sim.connect()
        await wait_online(rig.charger)
        await sim.heartbeat()  # (the simulator's tasks are running before it disconnects)
        await sim.disconnect()
        statuses: list[int] = []
        stop = asyncio.Event()
        slowed = asyncio.Event()

        async def attacker() -> None:
            while not stop.is_set():
                statuses.append(await guess(rig))
                if len(statuses) >= 10:
                    slowed.set()  # past the burst answered at once: guesses wait their turn

        attackers = [asyncio.create_task(attacker()) for _ in range(2)]
        try:
            async with asyncio.timeout(10):
                await slowed.wait()
            loop = asyncio.get_running_loop()
            for _ in range(10):
                started = loop.time()
                await sim.connect()  # raises WSServerHandshakeError (401/429) if refused
                assert loop.time() - started < 2.0
                await wait_online(rig.charger)
                await sim.heartbeat()
                await sim.disconnect()
                await wait_charger(rig.charger, lambda: not rig.charger.online)
        finally:
            stop.set()
            await asyncio.gather(*attackers)
    assert set(statuses) <= {401, 429, 0}


async def test_guesses_from_many_addresses_are_bounded(rig: Rig) -> None:
    """100 guesses from 20 addresses: only a handful are checked; the charger still gets in."""
    with patch.object(CentralSystem, "auth_slowdown", 0.2, create=True):
        sim = rig.sim()
        await sim.connect()
        await wait_online(rig.charger)
        await sim.heartbeat()  # (the simulator's tasks are running before it disconnects)
        await sim.disconnect()
        loop = asyncio.get_running_loop()
        started = loop.time()
        statuses = await asyncio.gather(
            *(guess(rig, source=f"127.0.0.{2 + i % 20}") for i in range(100))
        )
        elapsed = loop.time() - started
        checked = statuses.count(401)
        # 0: more connections than max_pending_connections at once; the oldest were dropped.
        assert set(statuses) <= {401, 429, 0}
        assert checked < 30
        # The burst, then one guess per slowdown at a time per lane (two lanes), plus the few
        # allowed to wait their turn.
        lanes = 2 * (auth_module.AUTH_QUEUE + 1 + int(elapsed / 0.2))
        assert checked <= auth_module.AUTH_BURST + lanes
        # From the address it last authenticated from, the charger is not held up at all.
        started = loop.time()
        await sim.connect()
        assert loop.time() - started < 1.0
        await wait_online(rig.charger)


# ------------------------------------------------------------------------------ identities
@pytest.mark.parametrize(
    ("raw_path", "identity"),
    [
        ("/ocpp/NEXT-WS1", "NEXT-WS1"),
        ("/ocpp/a%2Fb", "a/b"),
        ("/ocpp/a%252Fb", "a%2Fb"),
        ("/ocpp/a%2541", "a%41"),
        ("/ocpp/50%25", "50%"),
        ("/", None),
    ],
)
def test_identity_decoded_once(raw_path: str, identity: str | None) -> None:
    assert identity_from_path(raw_path) == identity


@pytest.mark.parametrize(
    "raw_path", ["/ocpp/a%00b", "/ocpp/a%0Ab", "/ocpp/%ff%fe", "/ocpp/" + "x" * 200]
)
def test_impossible_identities_refused(raw_path: str) -> None:
    with pytest.raises(ValueError):
        identity_from_path(raw_path)


async def test_identity_with_percent_connects(rig: Rig) -> None:
    """An identity with % in it connects (its URL encodes it once, as %25)."""
    slash = rig.add("a/b")
    percent = rig.add("a%2Fb")
    hexlike = rig.add("a%41")
    client = await rig.raw()
    assert await client.request("/ocpp/a%252Fb", login="a%2Fb", password=PASSWORD) == 101
    await wait_online(percent)
    assert not slash.online
    client = await rig.raw()
    assert await client.request("/ocpp/a%2541", login="a%41", password=PASSWORD) == 101
    await wait_online(hexlike)


async def test_hostile_requests_get_clean_refusals(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """NUL in the identity, a 10 kB password, a 9 kB path: a clean 4xx, no traceback."""
    cases: list[tuple[str, dict[str, str], set[int]]] = [
        ("/ocpp/NEXT%00X", {}, {400}),
        ("/ocpp/NEXT%0AINJECTED", {}, {400}),
        ("/ocpp/%ff", {}, {400}),
        (f"/ocpp/{IDENTITY}", {"password": "p" * 10_000}, {400, 401}),
        (f"/ocpp/{IDENTITY}", {"password": "p" * 5_000}, {401}),
        ("/ocpp/" + "x" * 9_000, {}, {400}),
        ("/ocpp/" + "x" * 2_000, {}, {400}),
        ("/", {}, {404}),
    ]
    for path, credentials, expected in cases:
        client = await rig.raw()
        password = credentials.get("password")
        status = await client.request(path, login=IDENTITY if password else None, password=password)
        assert status in expected, path[:40]
        client.close()
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{rig.port}/ocpp/{IDENTITY}"
        async with session.post(url) as response:
            assert response.status == 405
        # The right password on a plain GET (no websocket upgrade).
        async with session.get(
            url, headers={"Authorization": basic_auth(IDENTITY, PASSWORD)}
        ) as response:
            assert response.status == 400
    assert not rig.unknown  # nothing offered as a discovery
    assert not tracebacks(caplog)
    assert not any("\x00" in r.getMessage() or "\n" in r.getMessage() for r in ours(caplog))
    # Still serving.
    sim = rig.sim()
    await sim.connect()
    await wait_online(rig.charger)


# -------------------------------------------------------------------------------- logging
@pytest.fixture
async def flood(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    """Thousands of requests: without asyncio's debug mode (it keeps a traceback per callback)
    and without capturing every library's DEBUG lines; the central system's own lines count."""
    caplog.set_level(logging.INFO)
    loop = asyncio.get_running_loop()
    debug = loop.get_debug()
    loop.set_debug(False)
    try:
        yield
    finally:
        loop.set_debug(debug)


async def requests(
    rig: Rig, paths: list[str], concurrency: int = 50, **kwargs: object
) -> list[int]:
    gate = asyncio.Semaphore(concurrency)

    async def one(path: str) -> int:
        async with gate:
            client = await RawClient.open(rig.port)
            try:
                return await client.request(path, **kwargs)  # type: ignore[arg-type]
            finally:
                client.close()

    return await asyncio.gather(*(one(path) for path in paths))


@pytest.mark.usefixtures("flood")
async def test_refused_subprotocol_flood_logs_little(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """300 unauthenticated requests for another subprotocol: a line or two, not 300."""
    statuses = await requests(rig, [f"/ocpp/{IDENTITY}"] * 300, protocol="ocpp2.0.1")
    assert set(statuses) == {401}
    assert len(ours(caplog, logging.WARNING)) == 1
    statuses = await requests(rig, [f"/ocpp/S-{i}" for i in range(300)], protocol="ocpp2.0.1")
    assert set(statuses) == {404}
    assert len(ours(caplog, logging.WARNING)) <= 1 + 16 + 1
    # The charger itself, authenticated, asking for the wrong protocol: one warning a minute.
    caplog.clear()
    statuses = await requests(
        rig, [f"/ocpp/{IDENTITY}"] * 20, protocol="ocpp2.0.1", login=IDENTITY, password=PASSWORD
    )
    assert set(statuses) == {400}
    warnings = ours(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert "only ocpp1.6 is supported" in warnings[0].getMessage()


async def test_rejected_frames_log_once(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """Every bad frame gets its CallError; the log gets one line per cause a minute."""
    sim = rig.sim()
    await sim.connect()
    await wait_online(rig.charger)
    await sim.heartbeat()
    for i in range(50):
        await sim.send_raw(
            json.dumps(
                [
                    2,
                    f"bad-{i}",
                    "StatusNotification",
                    {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"},
                ]
            )
        )
        reply = await sim.next_raw_reply()
        assert reply[:3] == [4, f"bad-{i}", "PropertyConstraintViolation"]
    # Reconnecting does not start the count again.
    await sim.disconnect()
    await sim.connect()
    await wait_online(rig.charger)
    await sim.send_raw(json.dumps([2, "bad-x", "StatusNotification", {"connectorId": 1}]))
    assert (await sim.next_raw_reply())[0] == 4
    rejected = [r for r in ours(caplog, logging.WARNING) if "rejected" in r.getMessage()]
    assert len(rejected) == 1
    assert (await sim.heartbeat())["currentTime"]


# 1,200 handshakes under tracemalloc (every allocation traced, 8 frames deep): bounded, but
# slow on a loaded machine.
@pytest.mark.timeout(180)
@pytest.mark.usefixtures("flood")
async def test_unknown_identity_flood_is_bounded(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Thousands of made-up identities: a few log lines, memory given back, one offer each."""
    offers = [0]

    def offered(identity: str, remote: str) -> None:
        offers[0] += 1

    rig.central.on_unknown_charger = offered
    paths = [f"/ocpp/X{i:05d}-" + "u" * 100 for i in range(1200)]
    await requests(rig, paths[:10])  # warm up (imports, caches)
    gc.collect()
    # What the central system keeps: allocations made with one of its frames on the stack.
    ours_only = [tracemalloc.Filter(True, "*/chargeconnect/*", all_frames=True)]
    tracemalloc.start(8)
    try:
        before = tracemalloc.take_snapshot().filter_traces(ours_only)
        statuses = await requests(rig, paths[10:])
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(ours_only)
    finally:
        tracemalloc.stop()
    retained = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert set(statuses) == {404}
    assert retained < 300_000, f"{retained} bytes retained"
    assert offers[0] == len(paths)
    # A second wave of the latest: none of them is offered again within the hour.
    await requests(rig, paths[-50:])
    assert offers[0] == len(paths)


@pytest.mark.usefixtures("flood")
async def test_unknown_identity_flood_log_lines(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """The log lines of that flood: per cause, at most max_subjects chargers plus one."""
    await requests(rig, [f"/ocpp/Y{i:05d}" for i in range(1000)])
    lines = ours(caplog, logging.WARNING)
    assert 1 <= len(lines) <= 16 + 1
    assert sum(len(r.getMessage()) for r in lines) < 5_000


# ----------------------------------------------------------------------- the log helper
def test_rate_limited_log_counts_repeats(caplog: pytest.LogCaptureFixture) -> None:
    """One line per cause and subject per interval; the repeats are counted in the next."""
    now = [0.0]
    log = RateLimitedLog(logging.getLogger("tests.ratelog"), 60.0, 2, clock=lambda: now[0])
    caplog.set_level(logging.INFO, "tests.ratelog")
    for _ in range(5):
        log.log(logging.WARNING, "bad", "A", "A is bad")
    log.log(logging.WARNING, "other", "A", "A is other")
    for subject in "BCDE":
        log.log(logging.WARNING, "bad", subject, "%s is bad", subject)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "A is bad",
        "A is other",
        "B is bad",
        "C is bad (and others: too many to report each)",
    ]
    now[0] = 61.0
    log.log(logging.WARNING, "bad", "A", "A is bad")
    assert caplog.records[-1].getMessage() == "A is bad (4 more like this since the last report)"
    # The others' interval is over too: room for a new subject of its own.
    log.log(logging.WARNING, "bad", "F", "F is bad")
    assert caplog.records[-1].getMessage() == "F is bad"
    log.forget("A")
    log.log(logging.WARNING, "other", "A", "A is other")
    assert caplog.records[-1].getMessage() == "A is other"


def test_printable() -> None:
    assert printable("NEXT-1") == "NEXT-1"
    assert printable("a\x00b\nc") == "a\\x00b\\nc"
    assert printable("x" * 100, 10) == "xxxxxxxxxx…(100 characters)"
