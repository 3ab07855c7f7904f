"""Robustness of the OCPP server: hostile frames, reconnect storms, half-open sockets, kill -9.

Not a timed test: a script that runs the real server and tells whether its promises hold. The
server is a real Home Assistant core (the test harness's ``async_test_home_assistant``, as
``scripts/bench`` uses it) with the integration's config entries for ten chargers on one port,
in a child process (this script with ``--serve``) listening on 127.0.0.1 only, with its data
(the chargers' state in ``.storage``, the SQLite session archive) in one folder. The chargers
are websocket clients in this process. Four phases:

a. Hostile frames: at least 10,000 (``--frames``) over four charger connections, made by the
   generators of ``tests/integration/test_fuzz.py`` (valid payloads of every action a charger
   sends, one defect each of every kind, frames that are not OCPP, answers to calls never sent,
   frames around the 256 KiB limit, binary frames that are not UTF-8). Each frame is followed by
   a Heartbeat; frames go in batches of 50. Counted: the answers by CallError code, answers that
   are not the expected one, server crashes, dropped connections, Heartbeats answered,
   tracebacks and ERROR lines in the server's log. Meanwhile a fifth, well-behaved charger
   charges and sends MeterValues: every sample it was answered for must be in the archive.
b. Reconnect storm: one identity reconnects ``--reconnects`` times without closing the old
   connection; every 20th old connection is a half-open socket (a tiny receive buffer, stuffed
   until the server can no longer send to it, never read again). Measured: how long until the
   new connection's first frame is answered (max, p99); at the end exactly one connection must
   be live, and the old ones closed.
c. Idle sockets: more never-handshaking, half-sent and keep-alive-after-404 sockets than the
   server process may hold descriptors (its limit is ``--server-fd-limit``); a legitimate
   charger must still connect. Then 20 wrong-password attempts from the charger's address: the
   charger with the right password must still get in.
d. kill -9: ``--kills`` rounds of SIGKILL during session traffic of three chargers that behave
   like real ones (retrying unanswered transaction messages after reconnecting), a restart on
   the same data folder each time, a graceful stop at the end (with a half-open socket
   present). The archive is then checked against what was acknowledged: SQLite's
   integrity_check, every answered StartTransaction in the archive, no transaction id handed
   out twice, no session from a retried StartTransaction, every answered StopTransaction closed,
   answered MeterValues archived (a sample answered in the last ``--sample-window`` seconds
   before a kill may be lost: the answer does not wait for the disk), every charger set up
   after every restart, and every state file readable.

Prints a table; exits 1 when a promise is broken (0 when all hold). Bounded in count and time:
the full run takes a few minutes, ``--quick`` about one. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import itertools
import json
import os
from pathlib import Path
import random
import resource
import shutil
import signal
import socket
import sqlite3
import struct
import sys
import tempfile
import time
from typing import Any

import aiohttp

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
SCRIPTS = ROOT / "scripts"
for _path in (ROOT, SCRIPTS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

HOST = "127.0.0.1"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FUZZ = [f"ROBUST-FUZZ-{i}" for i in range(1, 5)]
BYSTANDER = "ROBUST-BYSTANDER"
STORM = "ROBUST-STORM"
LEGIT = "ROBUST-LEGIT"
KILL = [f"ROBUST-KILL-{i}" for i in range(1, 4)]
IDENTITIES = [*FUZZ, BYSTANDER, STORM, LEGIT, *KILL]
LEDGER_PATH = ("webasto_chargeconnect", "sessions.db")
STORAGE_PREFIX = "webasto_chargeconnect."


def password(identity: str) -> str:
    """The basic-auth password of a charger."""
    return f"{identity.lower()}-Passw0rd"


def basic_auth(identity: str, secret: str) -> str:
    """An ``Authorization`` header value."""
    return "Basic " + base64.b64encode(f"{identity}:{secret}".encode()).decode()


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raise_fd_limit(want: int = 65536) -> None:
    """Allow thousands of sockets in this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = want if hard == resource.RLIM_INFINITY else min(hard, want)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def now_text() -> str:
    """The current time as OCPP wants it (milliseconds, Z)."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def describe(err: BaseException) -> str:
    """An error in a few words (a refused handshake by its HTTP status)."""
    if isinstance(err, aiohttp.WSServerHandshakeError):
        return f"HTTP {err.status} {err.message}"
    if isinstance(err, TimeoutError):
        return "timed out"
    return f"{type(err).__name__}: {err}"


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# =============================================================================== server


def serve_main(args: argparse.Namespace) -> int:
    """The child: Home Assistant with the integration, controlled through stdin/stdout."""
    import logging

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = (
        min(args.server_fd_limit, hard) if hard != resource.RLIM_INFINITY else args.server_fd_limit
    )
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Import before Home Assistant exists (see tests/conftest.py).
    import custom_components.webasto_chargeconnect  # noqa: F401

    asyncio.run(_serve(args))
    return 0


def _established(port: int) -> int:
    """TCP connections of this process on the server port that are established."""
    import psutil

    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


async def _serve(args: argparse.Namespace) -> None:
    from homeassistant import loader
    from homeassistant.helpers import frame
    import psutil
    from pytest_homeassistant_custom_component.common import (
        MockConfigEntry,
        async_test_home_assistant,
    )

    from custom_components.webasto_chargeconnect.const import DOMAIN
    from custom_components.webasto_chargeconnect.hub import ChargeConnectHub

    ChargeConnectHub.host = HOST
    started = time.perf_counter()
    async with async_test_home_assistant(config_dir=args.config_dir) as hass:
        frame.async_setup(hass)
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # as enable_custom_integrations
        entries = [
            MockConfigEntry(
                domain=DOMAIN,
                entry_id=f"robustness{index:02d}",
                title=f"Webasto {identity}",
                unique_id=identity,
                data={
                    "identity": identity,
                    "password": password(identity),
                    "port": args.port,
                    "ssl_certfile": None,
                    "ssl_keyfile": None,
                },
            )
            for index, identity in enumerate(IDENTITIES)
        ]
        # The first entry starts the server; the others join it (as scripts/bench does).
        entries[0].add_to_hass(hass)
        await hass.config_entries.async_setup(entries[0].entry_id)
        for entry in entries[1:]:
            entry.add_to_hass(hass)
        await asyncio.gather(*(hass.config_entries.async_setup(e.entry_id) for e in entries[1:]))
        await hass.async_block_till_done()

        def charger_online(entry: Any) -> bool:
            data = getattr(entry, "runtime_data", None)
            return bool(data is not None and data.charger.online)

        ready = {
            "pid": os.getpid(),
            "setup_s": round(time.perf_counter() - started, 2),
            "entries": {e.unique_id: e.state.value for e in entries},
        }
        print("READY " + json.dumps(ready), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        process = psutil.Process()
        while line := await reader.readline():
            command = line.decode().strip()
            if command == "status":
                status: dict[str, Any] = {
                    "online": {e.unique_id: charger_online(e) for e in entries}
                }
                # At the descriptor limit /proc cannot be read either: say so, do not fail.
                for key, read in (
                    ("connections", lambda: _established(args.port)),
                    ("fds", process.num_fds),
                    ("rss_mb", lambda: round(process.memory_info().rss / 2**20, 1)),
                ):
                    try:
                        status[key] = read()
                    except OSError as err:
                        status[key] = f"? ({err.strerror})"
                print("STATUS " + json.dumps(status), flush=True)
            elif command == "stop":
                break
        for entry in entries:
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_stop(force=True)
    print("STOPPED", flush=True)


class ServerProcess:
    """The child process running Home Assistant, on a fixed port and data folder."""

    def __init__(self, args: argparse.Namespace, config_dir: Path, port: int, log_path: Path):
        self.args = args
        self.config_dir = config_dir
        self.port = port
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.expected_exit = False
        self.crashes = 0
        self.starts: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"ws://{HOST}:{self.port}/ocpp"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> dict[str, Any]:
        """Start the child and wait until every entry is set up."""
        command = [
            sys.executable,
            str(SCRIPT),
            "--serve",
            "--config-dir",
            str(self.config_dir),
            "--port",
            str(self.port),
            "--server-fd-limit",
            str(self.args.server_fd_limit),
        ]
        log_file = await asyncio.to_thread(self.log_path.open, "ab")
        with log_file:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log_file,
                cwd=ROOT,
            )
        self.expected_exit = False
        self._lines = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(self.process))
        ready = await self._expect("READY", 120)
        self.starts.append(ready)
        return ready

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            self._lines.put_nowait(line.decode().rstrip("\n"))
        await process.wait()
        if not self.expected_exit:
            self.crashes += 1
            log(f"the server exited unexpectedly (code {process.returncode})")
        self._lines.put_nowait("EXIT")

    async def _expect(self, tag: str, timeout: float) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                line = await self._lines.get()
                if line == "EXIT":
                    raise RuntimeError(f"the server exited before {tag} (see {self.log_path})")
                if line.startswith(tag + " "):
                    result: dict[str, Any] = json.loads(line[len(tag) + 1 :])
                    return result
                if line == tag:
                    return {}

    async def status(self) -> dict[str, Any]:
        """Connections, online chargers, descriptors and memory of the server."""
        assert self.process is not None
        assert self.process.stdin is not None
        self.process.stdin.write(b"status\n")
        await self.process.stdin.drain()
        return await self._expect("STATUS", 30)

    async def kill(self) -> None:
        """SIGKILL, and wait for the process to go."""
        assert self.process is not None
        self.expected_exit = True
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self, timeout: float) -> float | None:
        """Graceful stop; returns the seconds it took, or None when it had to be killed."""
        if not self.alive:
            return None
        assert self.process is not None
        assert self.process.stdin is not None
        self.expected_exit = True
        began = time.perf_counter()
        self.process.stdin.write(b"stop\n")
        with contextlib.suppress(ConnectionError):
            await self.process.stdin.drain()
        try:
            async with asyncio.timeout(timeout):
                await self.process.wait()
        except TimeoutError:
            await self.kill()
            return None
        if self._reader is not None:
            await self._reader
        return time.perf_counter() - began


class LogWindow:
    """What the server logged between two points in time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"bytes": 0, "tracebacks": 0, "errors": 0, "warnings": 0, "examples": []}
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            text = handle.read().decode("utf-8", "replace")
        lines = text.splitlines()
        errors = [line for line in lines if " ERROR " in line or " CRITICAL " in line]
        return {
            "bytes": len(text.encode()),
            "tracebacks": text.count("Traceback (most recent call last)"),
            "errors": len(errors),
            "warnings": sum(1 for line in lines if " WARNING " in line),
            "examples": errors[:5],
        }


# =============================================================================== clients


class CallErrorAnswer(Exception):
    """A Call was answered with a CallError."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code


class Client:
    """A charger's websocket: answers the server's calls, sends Calls and raw frames."""

    def __init__(self, session: aiohttp.ClientSession, url: str, identity: str) -> None:
        from bench_load import CONFIGURATION

        self.session = session
        self.url = f"{url}/{identity}"
        self.identity = identity
        self.configuration = CONFIGURATION
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.replies: asyncio.Queue[list[Any]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._pending: dict[str, asyncio.Future[list[Any]]] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            self.ws = await self.session.ws_connect(
                self.url,
                protocols=("ocpp1.6",),
                headers={"Authorization": basic_auth(self.identity, password(self.identity))},
                autoping=True,
                heartbeat=None,
                max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
            )
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read(self.ws), name=f"read {self.identity}")

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(message.data)
                except ValueError:
                    continue
                if not isinstance(frame, list) or len(frame) < 3:
                    self.replies.put_nowait(frame if isinstance(frame, list) else [frame])
                    continue
                if frame[0] == 2:
                    await self._answer(str(frame[1]), str(frame[2]), frame[3])
                    continue
                future = self._pending.pop(str(frame[1]), None)
                if future is not None and not future.done():
                    future.set_result(frame)
                else:
                    self.replies.put_nowait(frame)
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            self.closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"{self.identity}: connection closed"))
            self._pending.clear()

    async def _answer(self, unique_id: str, action: str, payload: Any) -> None:
        result: dict[str, Any]
        if action == "GetConfiguration":
            keys = (payload or {}).get("key") or list(self.configuration)
            result = {
                "configurationKey": [
                    {
                        "key": k,
                        "readonly": self.configuration[k][1],
                        "value": self.configuration[k][0],
                    }
                    for k in keys
                    if k in self.configuration
                ]
            }
            unknown = [k for k in keys if k not in self.configuration]
            if unknown:
                result["unknownKey"] = unknown
        elif action == "GetLocalListVersion":
            result = {"listVersion": 0}
        elif action in (
            "TriggerMessage",
            "ChangeConfiguration",
            "SetChargingProfile",
            "ClearChargingProfile",
            "ChangeAvailability",
            "SendLocalList",
            "RemoteStartTransaction",
            "RemoteStopTransaction",
        ):
            result = {"status": "Accepted"}
        else:
            await self.send(json.dumps([4, unique_id, "NotImplemented", f"{action}", {}]))
            return
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await self.send(json.dumps([3, unique_id, result]))

    async def send(self, data: str | bytes) -> None:
        ws = self.ws
        if ws is None or ws.closed or self.closed.is_set():
            raise ConnectionError(f"{self.identity}: not connected")
        try:
            if isinstance(data, bytes):
                await ws.send_bytes(data)
            else:
                await ws.send_str(data)
        except aiohttp.ClientError as err:
            raise ConnectionError(str(err)) from err

    async def call(self, action: str, payload: dict[str, Any], timeout: float = 10.0) -> Any:
        """Send a Call; the CallResult's payload (CallErrorAnswer for a CallError)."""
        unique_id = f"c{next(self._ids)}"
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending[unique_id] = future
        try:
            await self.send(json.dumps([2, unique_id, action, payload]))
            async with asyncio.timeout(timeout):
                frame = await future
        finally:
            self._pending.pop(unique_id, None)
        if frame[0] == 4:
            raise CallErrorAnswer(str(frame[2]), str(frame[3]) if len(frame) > 3 else "")
        return frame[2]

    async def boot(self) -> None:
        await self.call(
            "BootNotification",
            {
                "chargePointVendor": "Webasto",
                "chargePointModel": "Webasto Next",
                "chargePointSerialNumber": self.identity[-12:],
                "firmwareVersion": "3.1.37",
            },
        )
        await self.call(
            "StatusNotification",
            {
                "connectorId": 1,
                "errorCode": "NoError",
                "status": "Available",
                "timestamp": now_text(),
            },
        )

    async def start_transaction(self, meter_start: int = 1000) -> int:
        answer = await self.call(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "ROBUST",
                "meterStart": meter_start,
                "timestamp": now_text(),
            },
        )
        return int(answer["transactionId"])

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(3):
                    await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked websocket frame, as a client sends it."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    repeated = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        length, "big"
    )
    return head + mask + masked


async def raw_socket(port: int, rcvbuf: int | None = None) -> socket.socket:
    """A connected TCP socket (non-blocking), optionally with a tiny receive buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (HOST, port))
    except BaseException:
        sock.close()
        raise
    return sock


def handshake_request(port: int, identity: str, secret: str | None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET /ocpp/{identity} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: ocpp1.6",
    ]
    if secret is not None:
        lines.append(f"Authorization: {basic_auth(identity, secret)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def half_open_charger(port: int, identity: str, stuffing: int) -> socket.socket:
    """A charger socket that stops reading: a tiny receive buffer, then answers it never reads.

    Each Call is an unknown action with a 200 KiB name, so each CallError the server sends
    back is as big: after a few MiB the server cannot send to it any more.
    """
    loop = asyncio.get_running_loop()
    sock = await raw_socket(port, rcvbuf=4096)
    await loop.sock_sendall(sock, handshake_request(port, identity, password(identity)))
    head = b""
    async with asyncio.timeout(10):
        while b"\r\n\r\n" not in head:
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        sock.close()
        raise ConnectionError(f"handshake refused: {head.split(b'\r\n', 1)[0]!r}")
    name = "X" * 200_000
    frames = b"".join(
        ws_frame(json.dumps([2, f"stuff-{i}", name, {}]).encode()) for i in range(stuffing)
    )
    # Sent in the background; it stalls once the server stops reading (never awaited).
    task = loop.create_task(_send_all(sock, frames))
    _background.add(task)
    task.add_done_callback(_background.discard)
    return sock


_background: set[asyncio.Task[Any]] = set()


async def _send_all(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        await asyncio.get_running_loop().sock_sendall(sock, data)


# ========================================================================= phase a


@dataclass
class HostileFrame:
    case: Any  # tests.integration.test_fuzz.Case
    binary: bool = False


def _examples(strategy: Any, wanted: int, seed: int) -> list[tuple[Any, bool]]:
    """``wanted`` cases drawn by hypothesis (run as a plain function: no test, no database)."""
    from hypothesis import (
        HealthCheck,
        Phase,
        given,
        seed as hypothesis_seed,
        settings,
        strategies as st,
    )

    got: list[tuple[Any, bool]] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=wanted,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, binary=st.integers(0, 4))
    def collect(case: Any, binary: int) -> None:
        got.append((case, binary == 0))

    collect()
    return got


def hostile_frames(count: int, seed: int) -> list[HostileFrame]:
    """``count`` frames from the generators of tests/integration/test_fuzz.py (hypothesis, no
    database)."""
    from tests.integration import test_fuzz as fz

    rng = random.Random(seed)
    out: list[HostileFrame] = []
    plan: list[tuple[Any, int]] = []
    sizes = max(20, count // 250)  # around the frame limit
    junk = max(20, count // 100)  # binary, not UTF-8
    rest = count - sizes - junk
    malformed = rest // 5
    per_action = (rest - malformed) // len(fz.ACTIONS)
    plan += [(fz.action_cases(action), per_action) for action in fz.ACTIONS]
    plan.append((fz.malformed_cases(), rest - per_action * len(fz.ACTIONS)))
    for index, (strategy, wanted) in enumerate(plan):
        got = _examples(strategy, wanted, seed * 100 + index)
        # A small space runs out of new examples: repeat what it gave.
        out += [HostileFrame(*got[i % len(got)]) for i in range(wanted)] if got else []
    limit = fz.MAX_FRAME_SIZE
    for index in range(sizes):
        target = limit + rng.choice([-1, 0, 1, rng.randint(-3000, 3000)])
        head = fz.encode([2, f"big-{index}", "DataTransfer", {"vendorId": "Fuzz", "data": ""}])
        text = fz.encode(
            [
                2,
                f"big-{index}",
                "DataTransfer",
                {"vendorId": "Fuzz", "data": "A" * (target - len(head))},
            ]
        )
        expect = frozenset({fz.RESULT}) if len(text) <= limit else frozenset({fz.FORMATION})
        case = fz.Case(
            f"frame of {len(text)} bytes",
            action="DataTransfer",
            uid=f"big-{index}",
            expect=expect,
            text=text,
            kind="size limit",
        )
        out.append(HostileFrame(case))
    for _ in range(junk):
        data = rng.randbytes(rng.randint(1, 60)) + b"\xff"
        case = fz.Case(
            "binary frame that is not UTF-8",
            text=data.decode("latin-1"),
            uid=None,
            expect=frozenset({fz.FORMATION}),
            kind="not UTF-8",
        )
        out.append(HostileFrame(case, binary=True))
    rng.shuffle(out)
    return out


@dataclass
class HostileTally:
    sent: int = 0
    answered_ok: int = 0
    wrong: Counter[str] = field(default_factory=Counter)
    wrong_examples: dict[str, str] = field(default_factory=dict)
    codes: Counter[str] = field(default_factory=Counter)
    heartbeats: int = 0
    heartbeats_answered: int = 0
    dropped: int = 0
    batches: int = 0


def _frame_bytes(frame: HostileFrame, tx: int | None) -> str | bytes:
    text = frame.case.frame(tx)
    if frame.binary:
        return text.encode("latin-1") if frame.case.kind == "not UTF-8" else text.encode()
    return text


async def _hostile_worker(
    client: Client,
    frames: list[HostileFrame],
    tally: HostileTally,
    batch: int,
    reconnect: Callable[[Client], Awaitable[int]],
) -> None:
    from tests.integration import test_fuzz as fz

    tx = await reconnect(client)
    probes = itertools.count(1)
    for start in range(0, len(frames), batch):
        chunk = frames[start : start + batch]
        sent: list[tuple[HostileFrame, str | bytes, str]] = []
        try:
            for frame in chunk:
                data = _frame_bytes(frame, tx)
                probe = f"probe-{client.identity}-{next(probes)}"
                await client.send(data)
                await client.send(json.dumps([2, probe, "Heartbeat", {}]))
                sent.append((frame, data, probe))
                tally.sent += 1
                tally.heartbeats += 1
            for frame, data, probe in sent:
                replies: list[list[Any]] = []
                async with asyncio.timeout(30):
                    while True:
                        reply = await client.replies.get()
                        if len(reply) > 1 and reply[1] == probe:
                            if reply[0] == 3:
                                tally.heartbeats_answered += 1
                            break
                        replies.append(reply)
                for reply in replies:
                    if reply[0] == 3:
                        tally.codes["CallResult"] += 1
                    elif reply[0] == 4 and len(reply) > 2:
                        tally.codes[str(reply[2])] += 1
                    else:
                        tally.codes["(not an OCPP answer)"] += 1
                if not replies:
                    tally.codes["(no answer)"] += 1
                try:
                    fz.check_answer(frame.case, data, replies)
                except AssertionError as err:
                    tally.wrong[frame.case.kind] += 1
                    tally.wrong_examples.setdefault(frame.case.kind, str(err)[:400])
                else:
                    tally.answered_ok += 1
        except (ConnectionError, TimeoutError) as err:
            tally.dropped += 1
            log(f"{client.identity}: connection lost during hostile frames ({err!r}); reconnecting")
            await client.close()
            tx = await reconnect(client)
        tally.batches += 1


async def _bystander(
    client: Client, stop: asyncio.Event, acked: list[tuple[int, float]], period: float
) -> int:
    """A well-behaved charger charging next to the hostile ones; returns its transaction id."""
    await client.connect()
    await client.boot()
    tx = await client.start_transaction(meter_start=5000)
    register = 5000.0
    last_ms = 0
    while not stop.is_set():
        moment = datetime.now(UTC)
        ms = max(last_ms + 1, int(moment.timestamp() * 1000))
        last_ms = ms
        stamp = datetime.fromtimestamp(ms / 1000, UTC)
        text = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
        register += 3.0
        payload = {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [
                {
                    "timestamp": text,
                    "sampledValue": [
                        {
                            "value": f"{register:.1f}",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                        },
                        {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
                    ],
                }
            ],
        }
        with contextlib.suppress(CallErrorAnswer):
            await client.call("MeterValues", payload)
            acked.append((ms, time.time()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period)
    await client.call(
        "StopTransaction",
        {"transactionId": tx, "meterStop": int(register), "timestamp": now_text()},
    )
    return tx


def _archive(config_dir: Path) -> sqlite3.Connection:
    path = config_dir.joinpath(*LEDGER_PATH)
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def archived_sample_times(config_dir: Path, transaction_id: int) -> set[int]:
    with contextlib.closing(_archive(config_dir)) as conn:
        row = conn.execute(
            "SELECT id FROM sessions WHERE transaction_id = ?", (transaction_id,)
        ).fetchone()
        if row is None:
            return set()
        return {ts for (ts,) in conn.execute("SELECT ts FROM samples WHERE session_id = ?", row)}


async def phase_hostile(
    server: ServerProcess, session: aiohttp.ClientSession, args: argparse.Namespace
) -> dict[str, Any]:
    log(f"a: generating {args.frames} hostile frames")
    began = time.perf_counter()
    frames = hostile_frames(args.frames, args.seed)
    generated_s = time.perf_counter() - began
    log(f"a: {len(frames)} frames generated in {generated_s:.1f} s; sending")
    window = LogWindow(server.log_path)
    tally = HostileTally()
    clients = [Client(session, server.url, identity) for identity in FUZZ]

    async def reconnect(client: Client) -> int:
        for _ in range(50):
            try:
                await client.connect()
                await client.boot()
                return await client.start_transaction()
            except (aiohttp.ClientError, ConnectionError, TimeoutError, CallErrorAnswer) as err:
                log(f"{client.identity}: cannot connect yet ({err!r})")
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{client.identity} cannot connect")

    stop = asyncio.Event()
    acked: list[tuple[int, float]] = []
    bystander = Client(session, server.url, BYSTANDER)
    bystander_task = asyncio.create_task(_bystander(bystander, stop, acked, 0.05))
    began = time.perf_counter()
    shares = [frames[i :: len(clients)] for i in range(len(clients))]
    await asyncio.gather(
        *(
            _hostile_worker(c, share, tally, args.batch, reconnect)
            for c, share in zip(clients, shares, strict=True)
        )
    )
    sending_s = time.perf_counter() - began
    stop.set()
    bystander_tx = await bystander_task
    # The recorder writes after answering: wait (bounded) for the bystander's samples.
    wanted = {ms for ms, _ in acked}
    missing = wanted
    deadline = time.monotonic() + 10
    while missing and time.monotonic() < deadline:
        missing = wanted - archived_sample_times(server.config_dir, bystander_tx)
        if missing:
            await asyncio.sleep(0.2)
    for client in [*clients, bystander]:
        await client.close()
    logged = window.read()
    return {
        "frames": tally.sent,
        "generated_s": round(generated_s, 1),
        "sending_s": round(sending_s, 1),
        "frames_per_s": round(tally.sent / sending_s) if sending_s else None,
        "answered_as_expected": tally.answered_ok,
        "wrong": dict(tally.wrong),
        "wrong_examples": tally.wrong_examples,
        "codes": dict(tally.codes.most_common()),
        "heartbeats": tally.heartbeats,
        "heartbeats_answered": tally.heartbeats_answered,
        "dropped": tally.dropped,
        "bystander_samples": len(wanted),
        "bystander_missing": len(missing),
        "log": logged,
    }


# ========================================================================= phase b


async def phase_storm(
    server: ServerProcess, session: aiohttp.ClientSession, args: argparse.Namespace
) -> dict[str, Any]:
    every = args.half_open_every
    log(f"b: {args.reconnects} reconnects of {STORM}, every {every}th old one half-open")
    window = LogWindow(server.log_path)
    clients: list[Client] = []
    raws: list[socket.socket] = []
    after_normal: list[float] = []
    after_half_open: list[float] = []
    handshakes: list[float] = []
    unanswered = 0
    refused = 0
    for index in range(args.reconnects):
        half_open = index % args.half_open_every == args.half_open_every - 1
        if half_open:
            try:
                raws.append(await half_open_charger(server.port, STORM, args.stuffing))
                await asyncio.sleep(0.5)  # the server fills its send buffer and blocks
            except (OSError, ConnectionError, TimeoutError) as err:
                log(f"b: half-open socket {index} failed: {err!r}")
        client = Client(session, server.url, STORM)
        began = time.perf_counter()
        try:
            await client.connect(timeout=args.answer_timeout)
        except (aiohttp.ClientError, TimeoutError) as err:
            refused += 1
            log(f"b: reconnect {index} refused: {err!r}")
            continue
        connected = time.perf_counter()
        handshakes.append(connected - began)
        clients.append(client)
        try:
            await client.call("Heartbeat", {}, timeout=args.answer_timeout)
        except (TimeoutError, ConnectionError, CallErrorAnswer) as err:
            unanswered += 1
            if unanswered <= 3:
                log(f"b: reconnect {index}: first frame not answered ({err!r})")
            continue
        (after_half_open if half_open else after_normal).append(time.perf_counter() - connected)
    # Bounded closes: wait (at most --settle seconds) for one live connection.
    live = None
    deadline = time.monotonic() + args.settle
    while True:
        status = await server.status()
        live = status["connections"]
        if live == 1 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    settled_s = args.settle - max(0.0, deadline - time.monotonic())
    last_ok = False
    if clients:
        try:
            await clients[-1].call("Heartbeat", {}, timeout=5)
            last_ok = not clients[-1].closed.is_set()
        except (TimeoutError, ConnectionError, CallErrorAnswer):
            last_ok = False
    old_closed = sum(1 for c in clients[:-1] if c.closed.is_set())
    online = (await server.status())["online"].get(STORM)
    for client in clients:
        await client.close()
    for sock in raws:
        sock.close()
    latencies = after_normal + after_half_open
    return {
        "reconnects": args.reconnects,
        "half_open": len(raws),
        "refused": refused,
        "unanswered": unanswered,
        "first_answer_max_s": max(latencies, default=None),
        "first_answer_p99_s": percentile(latencies, 0.99),
        "after_half_open_max_s": max(after_half_open, default=None),
        "after_normal_p99_s": percentile(after_normal, 0.99),
        "handshake_p99_s": percentile(handshakes, 0.99),
        "live_connections": live,
        "settled_s": round(settled_s, 1),
        "old_closed": old_closed,
        "old": max(0, len(clients) - 1),
        "last_answers": last_ok,
        "online": online,
        "log": window.read(),
    }


# ========================================================================= phase c


async def _open_idle(port: int, kind: str, index: int) -> socket.socket | None:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(3):
            sock = await raw_socket(port)
            if kind == "partial":
                await loop.sock_sendall(sock, f"GET /ocpp/{LEGIT} HTTP/1.1\r\nHost: x\r\n".encode())
            elif kind == "404":
                request = f"GET /ocpp/UNKNOWN-{index:05d} HTTP/1.1\r\nHost: x\r\n\r\n"
                await loop.sock_sendall(sock, request.encode())
            return sock
    except (OSError, TimeoutError):
        return None


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


async def phase_idle(
    server: ServerProcess, session: aiohttp.ClientSession, args: argparse.Namespace
) -> dict[str, Any]:
    count = args.idle_sockets
    log(f"c: {count} idle sockets against a server allowed {args.server_fd_limit} descriptors")
    window = LogWindow(server.log_path)
    before = await server.status()
    kinds = ["silent", "silent", "partial", "partial", "404"]
    sockets: list[socket.socket] = []
    failed = 0
    for start in range(0, count, 100):
        opened = await asyncio.gather(
            *(
                _open_idle(server.port, kinds[i % len(kinds)], i)
                for i in range(start, min(count, start + 100))
            )
        )
        sockets += [s for s in opened if s is not None]
        failed += sum(1 for s in opened if s is None)
    await asyncio.sleep(1.0)  # let the server take what it can
    during = await server.status()
    legit = Client(session, server.url, LEGIT)
    began = time.perf_counter()
    legit_s: float | None = None
    legit_error = ""
    deadline = began + args.legit_max_s
    while time.perf_counter() < deadline:
        try:
            await legit.connect(timeout=max(1.0, deadline - time.perf_counter()))
            await legit.boot()
            legit_s = time.perf_counter() - began
            break
        except (aiohttp.ClientError, ConnectionError, TimeoutError, CallErrorAnswer) as err:
            legit_error = describe(err)
            await legit.close()
            await asyncio.sleep(0.5)
    await asyncio.sleep(args.idle_grace)
    closed = sum(1 for s in sockets if _closed_by_peer(s))
    for sock in sockets:
        sock.close()
    await legit.close()

    # c2: guessing the password from the charger's address must not lock the charger out.
    # First let the server recover from c1 (a status it can answer: descriptors free again).
    for _ in range(20):
        if isinstance((await server.status())["fds"], int):
            break
        await asyncio.sleep(0.5)
    guesses = 0
    async with aiohttp.ClientSession() as guessing:
        for _ in range(20):
            try:
                ws = await guessing.ws_connect(
                    f"{server.url}/{LEGIT}",
                    protocols=("ocpp1.6",),
                    headers={"Authorization": basic_auth(LEGIT, "wrong-guess")},
                )
                await ws.close()
            except aiohttp.WSServerHandshakeError:
                guesses += 1
    right = Client(session, server.url, LEGIT)
    began = time.perf_counter()
    locked_out_error = ""
    after_guesses_s: float | None = None
    deadline = began + args.legit_max_s
    while time.perf_counter() < deadline:
        try:
            await right.connect(timeout=max(1.0, deadline - time.perf_counter()))
            await right.boot()
            after_guesses_s = time.perf_counter() - began
            break
        except (aiohttp.ClientError, ConnectionError, TimeoutError, CallErrorAnswer) as err:
            locked_out_error = describe(err)
            await right.close()
            await asyncio.sleep(0.5)
    await right.close()
    after = await server.status()
    return {
        "idle_sockets": len(sockets),
        "not_connected": failed,
        "server_fds_before": before["fds"],
        "server_fds_during": during["fds"],
        "legit_connect_s": legit_s,
        "legit_error": legit_error if legit_s is None else "",
        "closed_by_server": closed,
        "grace_s": args.idle_grace,
        "rss_mb_before": before["rss_mb"],
        "rss_mb_after": after["rss_mb"],
        "wrong_guesses": guesses,
        "after_guesses_s": after_guesses_s,
        "after_guesses_error": locked_out_error if after_guesses_s is None else "",
        "log": window.read(),
    }


# ========================================================================= phase d


@dataclass
class Acked:
    """A transaction message the server answered."""

    action: str
    payload: dict[str, Any]
    answer: Any
    at: float  # time.time()
    message: int  # which message (a retry has the same number)


@dataclass
class KillCharger:
    """A charger with sessions that survive its backend's crashes, as OCPP 1.6 asks.

    Transaction messages (StartTransaction, transaction MeterValues, StopTransaction) are kept
    until answered and sent again, unchanged, after reconnecting.
    """

    identity: str
    url: str
    session: aiohttp.ClientSession
    rng: random.Random
    acked: list[Acked] = field(default_factory=list)
    retries: int = 0
    connects: int = 0
    register: int = 100_000
    _messages: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _pending: tuple[int, str, dict[str, Any]] | None = None
    tx: int | None = None
    samples_left: int = 0

    def _next_message(self) -> tuple[int, str, dict[str, Any]]:
        if self.tx is None:
            self.samples_left = self.rng.randint(2, 8)
            payload = {
                "connectorId": 1,
                "idTag": "KILLTAG",
                "meterStart": self.register,
                "timestamp": now_text(),
            }
            return next(self._messages), "StartTransaction", payload
        self.register += self.rng.randint(5, 50)
        if self.samples_left > 0:
            self.samples_left -= 1
            sampled = [
                {
                    "value": str(self.register),
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                },
                {"value": "7400", "measurand": "Power.Active.Import", "unit": "W"},
            ]
            payload = {
                "connectorId": 1,
                "transactionId": self.tx,
                "meterValue": [{"timestamp": now_text(), "sampledValue": sampled}],
            }
            return next(self._messages), "MeterValues", payload
        payload = {
            "transactionId": self.tx,
            "meterStop": self.register,
            "timestamp": now_text(),
            "reason": "EVDisconnected",
        }
        return next(self._messages), "StopTransaction", payload

    async def run(self, finish: asyncio.Event, period: float) -> None:
        while True:
            client = Client(self.session, self.url, self.identity)
            try:
                await client.connect(timeout=3)
                self.connects += 1
                await client.boot()
                while True:
                    if self._pending is None:
                        if finish.is_set() and self.tx is None:
                            return
                        self._pending = self._next_message()
                    else:
                        self.retries += 1
                    number, action, payload = self._pending
                    answer = await client.call(action, payload, timeout=5)
                    self.acked.append(Acked(action, payload, answer, time.time(), number))
                    if action == "StartTransaction":
                        self.tx = int(answer["transactionId"])
                    elif action == "StopTransaction":
                        self.tx = None
                    self._pending = None
                    await asyncio.sleep(period * self.rng.uniform(0.5, 1.5))
            except CallErrorAnswer as err:
                log(f"{self.identity}: {self._pending and self._pending[1]} refused: {err}")
                self._pending = None  # a real charger gives up on a refused message
            except (aiohttp.ClientError, ConnectionError, TimeoutError, OSError):
                await asyncio.sleep(0.2)
            finally:
                await client.close()


async def _half_open_before_stop(server: ServerProcess) -> socket.socket | None:
    try:
        sock = await half_open_charger(server.port, STORM, 40)
    except (OSError, ConnectionError, TimeoutError):
        return None
    await asyncio.sleep(0.5)
    return sock


async def phase_kill(
    server: ServerProcess, session: aiohttp.ClientSession, args: argparse.Namespace
) -> dict[str, Any]:
    log(f"d: {args.kills} SIGKILLs during the sessions of {len(KILL)} chargers")
    window = LogWindow(server.log_path)
    rng = random.Random(args.seed)
    chargers = [
        KillCharger(identity, server.url, session, random.Random(rng.random())) for identity in KILL
    ]
    finish = asyncio.Event()
    tasks = [asyncio.create_task(c.run(finish, 0.05)) for c in chargers]
    kills: list[float] = []
    restart_s: list[float] = []
    not_set_up: list[str] = []
    for round_ in range(args.kills):
        await asyncio.sleep(rng.uniform(0.8, 2.0))
        await server.kill()
        kills.append(time.time())  # every answer the chargers got came before this
        log(f"d: SIGKILL {round_ + 1}/{args.kills}; restarting")
        began = time.perf_counter()
        ready = await server.start()
        restart_s.append(time.perf_counter() - began)
        not_set_up += [f"{k} ({v})" for k, v in ready["entries"].items() if v != "loaded"]
    await asyncio.sleep(rng.uniform(0.8, 2.0))
    finish.set()
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*tasks)
    except TimeoutError:
        for task in tasks:
            task.cancel()
        log("d: the chargers did not finish their sessions within 60 s")
    # Graceful stop with a half-open charger socket present: shutdown must be bounded.
    stuck = await _half_open_before_stop(server)
    stop_s = await server.stop(args.stop_timeout)
    if stuck is not None:
        stuck.close()
    logged = window.read()
    result = check_archive(server.config_dir, chargers, kills, args.sample_window)
    result.update(
        {
            "kills": len(kills),
            "restart_max_s": max(restart_s, default=None),
            "not_set_up": not_set_up,
            "stop_s": stop_s,
            "acked": sum(len(c.acked) for c in chargers),
            "retries": sum(c.retries for c in chargers),
            "log": logged,
        }
    )
    return result


def check_archive(
    config_dir: Path, chargers: list[KillCharger], kills: list[float], window: float
) -> dict[str, Any]:
    """Compare the archive with what the chargers were answered."""
    with contextlib.closing(_archive(config_dir)) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        marks = ",".join("?" * len(chargers))
        rows = conn.execute(
            "SELECT id, transaction_id, charger, start_time, stop_time, meter_start_wh "
            f"FROM sessions WHERE charger IN ({marks})",
            [c.identity for c in chargers],
        ).fetchall()
        samples: dict[int, set[int]] = {}
        for session_id, ts in conn.execute("SELECT session_id, ts FROM samples"):
            samples.setdefault(session_id, set()).add(ts)
    by_tx = {row[1]: row for row in rows}
    starts: dict[tuple[str, int], int] = {}  # (charger, message) -> transaction id
    tx_owner: dict[int, tuple[str, int]] = {}
    duplicate_ids: list[int] = []
    start_missing: list[int] = []
    stop_open: list[int] = []
    stop_missing: list[int] = []
    samples_lost: list[str] = []
    samples_lost_at_kill = 0
    samples_acked = 0
    for charger in chargers:
        for ack in charger.acked:
            if ack.action == "StartTransaction":
                tx = int(ack.answer["transactionId"])
                key = (charger.identity, ack.message)
                owner = tx_owner.get(tx)
                if owner is not None and owner != key:
                    duplicate_ids.append(tx)
                tx_owner[tx] = key
                starts[key] = tx
                if tx not in by_tx:
                    start_missing.append(tx)
            elif ack.action == "StopTransaction":
                tx = int(ack.payload["transactionId"])
                row = by_tx.get(tx)
                if row is None:
                    stop_missing.append(tx)
                elif row[4] is None:
                    stop_open.append(tx)
            else:
                samples_acked += 1
                tx = int(ack.payload["transactionId"])
                row = by_tx.get(tx)
                stamp = datetime.strptime(
                    ack.payload["meterValue"][0]["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ"
                ).replace(tzinfo=UTC)
                ms = (stamp - EPOCH) // timedelta(milliseconds=1)
                if row is not None and ms in samples.get(row[0], set()):
                    continue
                if any(0 <= kill - ack.at <= window for kill in kills):
                    samples_lost_at_kill += 1
                else:
                    samples_lost.append(
                        f"{charger.identity} tx {tx} at {ack.payload['meterValue'][0]['timestamp']}"
                    )
    acked_ids = set(tx_owner)
    orphans = [row[1] for row in rows if row[1] not in acked_ids]
    storage = config_dir / ".storage"
    unreadable = []
    for path in sorted(storage.glob(STORAGE_PREFIX + "*")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            unreadable.append(f"{path.name}: {err}")
    return {
        "integrity": integrity,
        "sessions": len(rows),
        "starts_acked": len(starts),
        "start_missing": start_missing,
        "duplicate_ids": sorted(set(duplicate_ids)),
        "orphan_sessions": orphans,
        "stops_acked": sum(1 for c in chargers for a in c.acked if a.action == "StopTransaction"),
        "stop_missing": stop_missing,
        "stop_open": stop_open,
        "samples_acked": samples_acked,
        "samples_lost": samples_lost,
        "samples_lost_at_kill": samples_lost_at_kill,
        "state_unreadable": unreadable,
    }


# ========================================================================= report


@dataclass
class Line:
    phase: str
    what: str
    measured: str
    ok: bool | None  # None: a figure, not a promise


def _fmt_s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def _log_text(logged: dict[str, Any]) -> str:
    return (
        f"{logged['tracebacks']} tracebacks, {logged['errors']} ERROR, "
        f"{logged['warnings']} WARNING lines ({logged['bytes'] / 1024:.0f} KiB)"
    )


def _clean_log(logged: dict[str, Any]) -> bool:
    return bool(logged["tracebacks"] == 0 and logged["errors"] == 0)


def _report_hostile(a: dict[str, Any], args: argparse.Namespace, add: Callable[..., None]) -> None:
    frames = a["frames"]
    add("hostile frames sent", f"{frames:,} ({a['frames_per_s']}/s)", frames >= args.min_frames)
    wrong = sum(a["wrong"].values())
    ok = a["answered_as_expected"]
    add("answered as the frame's defect requires", f"{ok:,} of {frames:,}", wrong == 0)
    for kind, count in sorted(a["wrong"].items(), key=lambda kv: -kv[1]):
        add(f"  wrong answers to: {kind}", str(count), False)
    codes = [f"{k} {v:,}" for k, v in a["codes"].items()]
    for start in range(0, len(codes), 2):
        add("answers by code" if start == 0 else "", ", ".join(codes[start : start + 2]), None)
    add("dropped connections", str(a["dropped"]), a["dropped"] == 0)
    beats, answered = a["heartbeats"], a["heartbeats_answered"]
    add("Heartbeat answered after each frame", f"{answered:,} of {beats:,}", answered == beats)
    total, missing = a["bystander_samples"], a["bystander_missing"]
    add("bystander's answered samples archived", f"{total - missing} of {total}", missing == 0)
    add("server log: no traceback, no ERROR", _log_text(a["log"]), _clean_log(a["log"]))


def _report_storm(b: dict[str, Any], args: argparse.Namespace, add: Callable[..., None]) -> None:
    count, refused, unanswered = b["reconnects"], b["refused"], b["unanswered"]
    add(f"reconnects ({b['half_open']} over a half-open socket)", str(count), None)
    answered = count - refused - unanswered
    within = f"first frame answered within {args.answer_timeout:g} s"
    add(within, f"{answered} of {count} ({refused} refused)", answered == count)
    worst = b["first_answer_max_s"]
    measured = f"{_fmt_s(worst)} / {_fmt_s(b['first_answer_p99_s'])}"
    if answered < count:
        measured = f"> {args.answer_timeout:g} s ({count - answered} not answered)"
    kept = worst is not None and worst <= args.reconnect_max_s and answered == count
    add(f"first answer: max (<= {args.reconnect_max_s:g} s) / p99", measured, kept)
    add("  after a half-open old socket: max", _fmt_s(b["after_half_open_max_s"]), None)
    live = f"{b['live_connections']} (after {b['settled_s']:.1f} s)"
    add(f"live connections at the end (<= {args.settle:g} s)", live, b["live_connections"] == 1)
    closed = f"{b['old_closed']} of {b['old']}"
    add("old connections closed by the server", closed, b["old_closed"] == b["old"])
    last = f"{b['last_answers']}, {b['online']}"
    add("last connection answers, charger online", last, bool(b["last_answers"] and b["online"]))
    add("server log: no traceback, no ERROR", _log_text(b["log"]), _clean_log(b["log"]))


def _report_idle(c: dict[str, Any], args: argparse.Namespace, add: Callable[..., None]) -> None:
    held = (
        f"{c['idle_sockets']} ({c['not_connected']} not connected); "
        f"server fds {c['server_fds_before']} -> {c['server_fds_during']}"
    )
    add(f"idle sockets (server limit {args.server_fd_limit} fds)", held, None)
    legit = c["legit_connect_s"]
    measured = _fmt_s(legit) if legit is not None else f"no: {c['legit_error'][:60]}"
    add(f"legitimate charger boots (<= {args.legit_max_s:g} s)", measured, legit is not None)
    closed = f"{c['closed_by_server']} of {c['idle_sockets']}"
    add(f"idle sockets closed by the server ({c['grace_s']:g} s later)", closed, None)
    after = c["after_guesses_s"]
    measured = _fmt_s(after) if after is not None else f"no: {c['after_guesses_error'][:60]}"
    add("right password after 20 wrong guesses", measured, after is not None)
    add("server memory", f"{c['rss_mb_before']} -> {c['rss_mb_after']} MiB", None)
    add("server log: no traceback, no ERROR", _log_text(c["log"]), _clean_log(c["log"]))


def _report_kill(d: dict[str, Any], args: argparse.Namespace, add: Callable[..., None]) -> None:
    traffic = (
        f"{d['kills']}; restart <= {_fmt_s(d['restart_max_s'])}; "
        f"{d['acked']:,} answered, {d['retries']} resent"
    )
    add("SIGKILLs during session traffic", traffic, None)
    missing = d["not_set_up"]
    add("every charger set up after each restart", ", ".join(missing[:3]) or "yes", not missing)
    add("SQLite integrity_check", str(d["integrity"]), d["integrity"] == "ok")
    starts, lost = d["starts_acked"], d["start_missing"]
    add("answered StartTransaction archived", f"{starts - len(lost)} of {starts}", not lost)
    twice = d["duplicate_ids"]
    add("transaction ids handed out twice", str(len(twice)), not twice)
    orphans = d["orphan_sessions"]
    add("sessions from a retried StartTransaction", str(len(orphans)), not orphans)
    stops, still_open = d["stops_acked"], d["stop_open"] + d["stop_missing"]
    measured = f"{stops - len(still_open)} of {stops}"
    add("answered StopTransaction closed in the archive", measured, not still_open)
    samples, lost_samples = d["samples_acked"], d["samples_lost"]
    at_kill = d["samples_lost_at_kill"]
    kept = samples - len(lost_samples) - at_kill
    measured = f"{kept} of {samples}; {at_kill} lost at a kill"
    add(f"answered samples archived (<= {args.sample_window:g} s lost)", measured, not lost_samples)
    unreadable = d["state_unreadable"]
    add("state files readable", "; ".join(unreadable[:2]) or "yes", not unreadable)
    stop = d["stop_s"]
    measured = _fmt_s(stop) if stop is not None else f"no: killed after {args.stop_timeout:g} s"
    add(f"graceful stop, half-open socket (<= {args.stop_timeout:g} s)", measured, stop is not None)
    add("server log: no traceback, no ERROR", _log_text(d["log"]), _clean_log(d["log"]))


def report(results: dict[str, Any], args: argparse.Namespace, crashes: int) -> list[Line]:
    """The table: one line per promise (ok or FAIL) or figure."""
    lines: list[Line] = []
    sections = {"a": _report_hostile, "b": _report_storm, "c": _report_idle, "d": _report_kill}
    for phase, section in sections.items():
        if phase in results:

            def add(what: str, measured: str, ok: bool | None, phase: str = phase) -> None:
                lines.append(Line(phase, what, measured, ok))

            section(results[phase], args, add)
        elif results.get(f"{phase}_timeout"):
            lines.append(
                Line(phase, "phase finished in time", f"no ({args.phase_timeout:g} s)", False)
            )
    lines.append(Line("-", "server crashes (exits nobody asked for)", str(crashes), crashes == 0))
    return lines


def print_table(lines: list[Line]) -> None:
    """Phase, promise or figure, what was measured, ok / FAIL (- for a figure)."""
    width = max(len(line.what) for line in lines) + 2
    measured = min(max(len(line.measured) for line in lines) + 2, 72)
    print()
    print(f"{'':2} {'promise / figure':<{width}}{'measured':<{measured}}ok")
    print("-" * (width + measured + 7))
    for line in lines:
        mark = "-" if line.ok is None else ("ok" if line.ok else "FAIL")
        text = (
            line.measured
            if len(line.measured) < measured
            else line.measured[: measured - 4] + "..."
        )
        print(f"{line.phase:2} {line.what:<{width}}{text:<{measured}}{mark}")
    print()


def print_details(results: dict[str, Any]) -> None:
    a = results.get("a") or {}
    for kind, example in (a.get("wrong_examples") or {}).items():
        print(f"a: first wrong answer to {kind}: {example}")
    for phase in "abcd":
        logged = (results.get(phase) or {}).get("log") or {}
        for example in logged.get("examples", [])[:3]:
            print(f"{phase}: logged: {example[:300]}")
    d = results.get("d") or {}
    for key in (
        "start_missing",
        "duplicate_ids",
        "orphan_sessions",
        "stop_missing",
        "stop_open",
        "samples_lost",
    ):
        if d.get(key):
            print(f"d: {key}: {d[key][:10]}")


# ========================================================================= main


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def run(args: argparse.Namespace) -> int:
    raise_fd_limit()
    config_dir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="wcc-robust-"))
    config_dir.mkdir(parents=True, exist_ok=True)
    log_path = config_dir / "server.log"
    port = free_port()
    server = ServerProcess(args, config_dir, port, log_path)
    results: dict[str, Any] = {}
    began = time.perf_counter()
    log(f"starting Home Assistant on {HOST}:{port} (data in {config_dir})")
    ready = await server.start()
    log(f"server ready in {ready['setup_s']} s: {ready['entries']}")
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    phases: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
        "a": phase_hostile,
        "b": phase_storm,
        "c": phase_idle,
        "d": phase_kill,
    }
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            for name, phase in phases.items():
                if name not in args.phases:
                    continue
                if not server.alive:
                    log(f"{name}: the server is down; starting it again")
                    await server.start()
                try:
                    async with asyncio.timeout(args.phase_timeout):
                        results[name] = await phase(server, session, args)
                except TimeoutError:
                    log(f"{name}: did not finish within {args.phase_timeout:g} s")
                    results[f"{name}_timeout"] = True
    finally:
        if server.alive:
            await server.stop(args.stop_timeout)
        for task in list(_background):
            task.cancel()
    lines = report(results, args, server.crashes)
    for key in results:
        if key.endswith("_timeout"):
            lines.append(
                Line(key[0], "phase finished in time", f"no ({args.phase_timeout:g} s)", False)
            )
    print_table(lines)
    print_details(results)
    print(f"total {time.perf_counter() - began:.0f} s; server log {log_path}")
    if args.json:
        text = json.dumps(results, indent=2, default=str)
        await asyncio.to_thread(Path(args.json).write_text, text, encoding="utf-8")
    if not args.keep and not args.dir:
        shutil.rmtree(config_dir, ignore_errors=True)
    return 0 if all(line.ok is not False for line in lines) else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Robustness check of the OCPP server (hostile frames, reconnect storms, "
        "half-open sockets, kill -9); prints a table, exits 1 when a promise is broken.",
    )
    parser.add_argument("--quick", action="store_true", help="a ~1 minute run (smaller counts)")
    parser.add_argument("--phases", default="abcd", help="which phases to run (default abcd)")
    parser.add_argument("--frames", type=int, help="hostile frames (default 12000; quick 2000)")
    parser.add_argument("--batch", type=int, default=50, help="frames sent before reading")
    parser.add_argument("--reconnects", type=int, help="reconnects of one identity (200; quick 40)")
    parser.add_argument(
        "--half-open-every", type=int, default=20, help="every Nth old one half-open"
    )
    parser.add_argument(
        "--stuffing", type=int, default=40, help="200 KiB answers sent to a half-open socket"
    )
    parser.add_argument(
        "--answer-timeout",
        type=float,
        default=5.0,
        help="seconds a new connection waits for its first answer",
    )
    parser.add_argument(
        "--reconnect-max-s",
        type=float,
        default=2.0,
        help="promise: first answer after a reconnect within this",
    )
    parser.add_argument(
        "--settle", type=float, help="seconds for the old connections to be closed (15; quick 5)"
    )
    parser.add_argument(
        "--idle-sockets", type=int, help="idle sockets in phase c (default server limit + 300)"
    )
    parser.add_argument(
        "--server-fd-limit", type=int, default=1024, help="descriptor limit of the server process"
    )
    parser.add_argument(
        "--legit-max-s",
        type=float,
        default=10.0,
        help="promise: a legitimate charger connects within this",
    )
    parser.add_argument(
        "--idle-grace",
        type=float,
        help="seconds before counting idle sockets the server closed (10; quick 3)",
    )
    parser.add_argument("--kills", type=int, help="SIGKILL rounds (default 12; quick 3)")
    parser.add_argument(
        "--sample-window",
        type=float,
        default=2.0,
        help="seconds before a kill in which an answered sample may be lost",
    )
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=10.0,
        help="promise: a graceful stop takes at most this",
    )
    parser.add_argument(
        "--phase-timeout", type=float, default=300.0, help="hard limit per phase (s)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the frame generators and timings"
    )
    parser.add_argument("--dir", help="data folder (default: a temporary one, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--json", help="also write the figures to this file")
    # The child process.
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config-dir", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.frames = args.frames or (2000 if quick else 12000)
    args.min_frames = 0 if args.frames < 10000 else 10000
    args.reconnects = args.reconnects or (40 if quick else 200)
    args.idle_sockets = args.idle_sockets or args.server_fd_limit + 300
    args.idle_grace = args.idle_grace if args.idle_grace is not None else (3.0 if quick else 10.0)
    args.settle = args.settle if args.settle is not None else (5.0 if quick else 15.0)
    args.kills = args.kills or (3 if quick else 12)
    return args


def main() -> int:
    args = parse_args()
    if args.serve:
        return serve_main(args)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
