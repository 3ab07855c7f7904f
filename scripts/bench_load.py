"""Load generator of ``scripts/bench``: N simulated chargers sending MeterValues flat out.

Runs in its own process (the other core), started by ``scripts/bench.py``. Each charger
opens a websocket (basic auth, subprotocol ``ocpp1.6``), sends BootNotification,
StatusNotification (Preparing), StartTransaction and StatusNotification (Charging), answers
the central system's calls (GetConfiguration, TriggerMessage, ...) and then, on command,
sends a MeterValues frame, waits for its CallResult, records the latency and sends the
next one: a closed loop, one frame in flight per charger.

Control: commands on stdin, one per line (``go``: start the load, ``mark``: the
measurement window starts, ``stop``: it ends); JSON lines on stdout (``ready`` once every
charger is set up, ``result`` after ``stop``). Logs go to stderr. End of stdin or
``--max-seconds`` stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import random
import resource
import sys
import time
from typing import Any

import aiohttp

TEXT = aiohttp.WSMsgType.TEXT
IDENTITY_PREFIX = "BENCH-"
ID_TAG = "BENCHTAG01"

# What a Webasto Next answers to GetConfiguration (see webasto_sim/profiles.py).
CONFIGURATION = {
    "HeartbeatInterval": ("300", False),
    "MeterValueSampleInterval": ("60", False),
    "MeterValuesSampledData": (
        "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage",
        False,
    ),
    "ChargeProfileMaxStackLevel": ("8", True),
    "ChargingScheduleAllowedChargingRateUnit": ("Current,Power", True),
    "MaxChargingProfilesInstalled": ("10", True),
    "GetConfigurationMaxKeys": ("50", True),
    "NumberOfConnectors": ("1", True),
    "AuthorizeRemoteTxRequests": ("false", False),
    "LocalAuthListEnabled": ("true", False),
    "StopTransactionOnEVSideDisconnect": ("true", False),
    "ConnectionTimeOut": ("60", False),
    "SupportedFeatureProfiles": (
        "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger",
        True,
    ),
}


def identity(index: int) -> str:
    """The charge box identity of charger ``index`` (1-based)."""
    return f"{IDENTITY_PREFIX}{index:04d}"


def password(index: int) -> str:
    """The basic-auth password of charger ``index``."""
    return f"bench-{index:04d}-Passw0rd"


def _sample(measurand: str, value: str, unit: str, phase: str | None = None) -> str:
    phase_part = f',"phase":"{phase}"' if phase else ""
    return (
        f'{{"value":"{value}","context":"Sample.Periodic","format":"Raw",'
        f'"measurand":"{measurand}","location":"Outlet","unit":"{unit}"{phase_part}}}'
    )


# A Webasto Next style MeterValues frame; %-placeholders: unique id, transaction id,
# timestamp, register (Wh), power (W), currents L1-L3, voltages L1-N..L3-N, offered (A).
METER_TEMPLATE = (
    '[2,"%s","MeterValues",{"connectorId":1,"transactionId":%d,'
    '"meterValue":[{"timestamp":"%s","sampledValue":['
    + ",".join(
        [
            _sample("Energy.Active.Import.Register", "%d", "Wh"),
            _sample("Power.Active.Import", "%d", "W"),
            *(_sample("Current.Import", "%.2f", "A", p) for p in ("L1", "L2", "L3")),
            *(_sample("Voltage", "%.1f", "V", p) for p in ("L1-N", "L2-N", "L3-N")),
            _sample("Current.Offered", "%.1f", "A"),
        ]
    )
    + "]}]}]"
)


class Clock:
    """ISO 8601 UTC timestamps with milliseconds and Z, cheaply (one strftime a second)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        """The current time as OCPP wants it."""
        moment = time.time()
        second = int(moment)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((moment - second) * 1000):03d}Z"


CLOCK = Clock()


class CallError(Exception):
    """The central system answered a Call with a CallError."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code


class Stats:
    """Shared by all chargers."""

    def __init__(self) -> None:
        self.running = False
        self.measuring = False
        self.latencies: list[float] = []
        self.sent = 0
        self.call_errors = 0
        self.server_calls: dict[str, int] = {}
        self.in_flight = 0
        self.drained = asyncio.Event()  # set when the last frame in flight is answered


class BenchCharger:
    """One simulated charger: a websocket and a closed MeterValues loop."""

    def __init__(self, index: int, base_url: str, stats: Stats) -> None:
        self.index = index
        self.identity = identity(index)
        self.url = f"{base_url.rstrip('/')}/{self.identity}"
        self.stats = stats
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self.transaction_id = 0
        self.register_wh = 1_234_567.0 + index * 1000
        self.power_w = 11_000.0
        self._last_sample = time.monotonic()
        self._load_id = ""
        self._sent_at = 0.0

    async def connect(self, session: aiohttp.ClientSession) -> None:
        """Open the websocket and start reading."""
        credentials = f"{self.identity}:{password(self.index)}".encode()
        self.ws = await session.ws_connect(
            self.url,
            protocols=("ocpp1.6",),
            headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
            autoping=True,
            heartbeat=None,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
        )
        self.reader = asyncio.create_task(self._read(), name=f"read {self.identity}")

    async def call(self, action: str, payload: dict[str, Any], timeout: float = 60.0) -> Any:
        """Send a Call during setup and return the CallResult payload."""
        assert self.ws is not None
        unique_id = f"s{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[unique_id] = future
        try:
            await self.ws.send_str(json.dumps([2, unique_id, action, payload]))
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(unique_id, None)

    async def set_up(self) -> None:
        """Boot, plug in and start a transaction, like a Webasto Next."""
        serial = f"WS{self.index:08d}"
        answer = await self.call(
            "BootNotification",
            {
                "chargePointVendor": "Webasto",
                "chargePointModel": "Webasto Next",
                "chargePointSerialNumber": serial,
                "chargeBoxSerialNumber": serial,
                "firmwareVersion": "3.1.37",
            },
        )
        if answer.get("status") != "Accepted":
            raise RuntimeError(f"{self.identity}: BootNotification {answer}")
        await self.call("StatusNotification", self._status("Preparing"))
        answer = await self.call(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": ID_TAG,
                "meterStart": int(self.register_wh),
                "timestamp": CLOCK.now(),
            },
        )
        self.transaction_id = int(answer["transactionId"])
        await self.call("StatusNotification", self._status("Charging"))

    @staticmethod
    def _status(status: str) -> dict[str, Any]:
        return {
            "connectorId": 1,
            "errorCode": "NoError",
            "status": status,
            "timestamp": CLOCK.now(),
        }

    def meter_frame(self) -> str:
        """The next MeterValues frame (the register advances with the power)."""
        now = time.monotonic()
        # The power wanders a little around 11 kW; the voltages around 230 V.
        self.power_w = min(11_100.0, max(10_900.0, self.power_w + random.uniform(-20.0, 20.0)))
        self.register_wh += self.power_w * (now - self._last_sample) / 3600.0
        self._last_sample = now
        amps = self.power_w / (3 * 230.0)
        rnd = random.random
        self._load_id = f"m{next(self._ids)}"
        return METER_TEMPLATE % (
            self._load_id,
            self.transaction_id,
            CLOCK.now(),
            self.register_wh,
            self.power_w,
            amps,
            amps + 0.05,
            amps - 0.05,
            229.0 + rnd() * 2,
            229.0 + rnd() * 2,
            229.0 + rnd() * 2,
            16.0,
        )

    async def send_meter_values(self) -> None:
        """Send one MeterValues frame (its answer triggers the next)."""
        assert self.ws is not None
        text = self.meter_frame()
        self.stats.in_flight += 1
        self._sent_at = time.perf_counter()
        await self.ws.send_str(text)

    async def _read(self) -> None:
        assert self.ws is not None
        ws = self.ws
        stats = self.stats
        try:
            async for message in ws:
                if message.type is not TEXT:
                    continue
                frame = json.loads(message.data)
                kind = frame[0]
                unique_id = frame[1]
                if kind == 2:
                    await self._answer(unique_id, frame[2], frame[3])
                    continue
                if unique_id == self._load_id:
                    latency = time.perf_counter() - self._sent_at
                    self._load_id = ""
                    stats.in_flight -= 1
                    if not stats.in_flight:
                        stats.drained.set()
                    if stats.measuring:
                        stats.latencies.append(latency)
                        if kind != 3:
                            stats.call_errors += 1
                    elif kind != 3:
                        stats.call_errors += 1
                    if kind != 3 and stats.call_errors <= 3:
                        print(f"{self.identity}: CallError {frame}", file=sys.stderr)
                    if stats.running:
                        await self.send_meter_values()
                    continue
                future = self._pending.get(unique_id)
                if future is not None and not future.done():
                    if kind == 3:
                        future.set_result(frame[2])
                    else:
                        future.set_exception(CallError(str(frame[2]), str(frame[3])))
        except (aiohttp.ClientError, ConnectionError) as err:
            print(f"{self.identity}: connection lost: {err}", file=sys.stderr)

    async def _answer(self, unique_id: str, action: str, payload: dict[str, Any]) -> None:
        assert self.ws is not None
        self.stats.server_calls[action] = self.stats.server_calls.get(action, 0) + 1
        result: dict[str, Any]
        if action == "GetConfiguration":
            keys = payload.get("key") or list(CONFIGURATION)
            result = {
                "configurationKey": [
                    {"key": k, "readonly": CONFIGURATION[k][1], "value": CONFIGURATION[k][0]}
                    for k in keys
                    if k in CONFIGURATION
                ],
                "unknownKey": [k for k in keys if k not in CONFIGURATION],
            }
            if not result["unknownKey"]:
                del result["unknownKey"]
        elif action in (
            "TriggerMessage",
            "ChangeConfiguration",
            "SetChargingProfile",
            "ClearChargingProfile",
            "ChangeAvailability",
        ):
            result = {"status": "Accepted"}
        else:
            await self.ws.send_str(
                json.dumps([4, unique_id, "NotImplemented", f"{action} not simulated", {}])
            )
            return
        await self.ws.send_str(json.dumps([3, unique_id, result]))

    async def close(self) -> None:
        """Close the websocket and stop reading."""
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)


def emit(event: str, **data: Any) -> None:
    """One JSON line on stdout for scripts/bench.py."""
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def percentile(ordered: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def stdin_reader() -> asyncio.StreamReader:
    """stdin as an asyncio stream."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def run(args: argparse.Namespace) -> int:
    stats = Stats()
    commands = await stdin_reader()
    chargers = [BenchCharger(i, args.url, stats) for i in range(1, args.count + 1)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            return await _drive(args, stats, commands, chargers, session)
        finally:
            await asyncio.wait_for(
                asyncio.gather(*(c.close() for c in chargers), return_exceptions=True), 30
            )


async def _drive(
    args: argparse.Namespace,
    stats: Stats,
    commands: asyncio.StreamReader,
    chargers: list[BenchCharger],
    session: aiohttp.ClientSession,
) -> int:
    limit = asyncio.Semaphore(args.concurrency)
    failures: list[str] = []

    async def set_up(charger: BenchCharger) -> None:
        async with limit:
            try:
                await charger.connect(session)
                await charger.set_up()
            except Exception as err:
                failures.append(f"{charger.identity}: {type(err).__name__}: {err}")

    started = time.monotonic()
    async with asyncio.timeout(args.setup_timeout):
        await asyncio.gather(*(set_up(c) for c in chargers))
    emit(
        "ready",
        connected=len(chargers) - len(failures),
        failed=len(failures),
        failures=failures[:5],
        setup_s=round(time.monotonic() - started, 2),
    )
    if failures:
        return 1

    deadline = time.monotonic() + args.max_seconds
    cpu_mark = wall_mark = 0.0
    cpu_end = wall_end = 0.0
    sent_mark = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            print("bench_load: --max-seconds reached; stopping", file=sys.stderr)
            break
        try:
            line = await asyncio.wait_for(commands.readline(), remaining)
        except TimeoutError:
            continue
        command = line.decode().strip()
        if not line or command == "stop":
            break
        if command == "go":
            stats.running = True
            await asyncio.gather(*(c.send_meter_values() for c in chargers))
        elif command == "mark":
            cpu_mark, wall_mark = time.process_time(), time.perf_counter()
            stats.latencies.clear()
            stats.call_errors = 0
            stats.measuring = True
    if stats.measuring:
        cpu_end, wall_end = time.process_time(), time.perf_counter()
        sent_mark = len(stats.latencies)
    stats.measuring = False
    stats.running = False
    # Let the frames in flight be answered (each charger has at most one).
    if stats.in_flight > 0:
        stats.drained.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stats.drained.wait(), 5.0)
    refused = await invalid_frame_refused(chargers[0])
    ordered = sorted(stats.latencies)
    wall = wall_end - wall_mark
    cpu = cpu_end - cpu_mark
    emit(
        "result",
        messages=sent_mark,
        wall_s=round(wall, 4),
        call_errors=stats.call_errors,
        in_flight_left=stats.in_flight,
        p50_ms=_ms(percentile(ordered, 0.50)),
        p90_ms=_ms(percentile(ordered, 0.90)),
        p99_ms=_ms(percentile(ordered, 0.99)),
        max_ms=_ms(ordered[-1] if ordered else None),
        mean_ms=_ms(sum(ordered) / len(ordered) if ordered else None),
        client_cpu_s=round(cpu, 3),
        client_cpu_share=round(cpu / wall, 3) if wall > 0 else None,
        server_calls=stats.server_calls,
        invalid_frame_answer=refused,
    )
    return 0


async def invalid_frame_refused(charger: BenchCharger) -> str:
    """Proof that frames are still validated: a MeterValues with an unknown measurand."""
    frame = json.loads(charger.meter_frame())
    frame[3]["meterValue"][0]["sampledValue"][0]["measurand"] = "Energy.Bogus.Register"
    try:
        await charger.call("MeterValues", frame[3], timeout=10.0)
    except CallError as err:
        return err.code
    except (TimeoutError, ConnectionError, aiohttp.ClientError) as err:
        return f"no answer ({type(err).__name__})"
    return "accepted"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def raise_fd_limit() -> None:
    """Allow thousands of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/ocpp")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=50, help="chargers set up at once")
    parser.add_argument("--setup-timeout", type=float, default=300.0)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="hard stop")
    args = parser.parse_args()
    raise_fd_limit()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
