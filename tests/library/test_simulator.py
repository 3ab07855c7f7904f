"""Unit tests of the charge-point simulator against a tiny in-test OCPP central system."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
import json
from pathlib import Path
import re
import signal
import subprocess
import sys
from typing import Any
import uuid

import aiohttp
from aiohttp import web
import pytest

from webasto_sim import PROFILES, SimulatedCharger, basic_auth, iso_utc

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class MiniCentralSystem:
    """Answers with plain JSON and records every frame the chargers send."""

    def __init__(self) -> None:
        self.password: str | None = None
        self.whole_seconds = False  # currentTime without fractional seconds
        self.ws_heartbeat: float | None = None  # server-side websocket pings
        self.frames: list[tuple[str, list[Any]]] = []
        self.close_codes: list[tuple[str, int | None]] = []
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.url = ""
        self._changed = asyncio.Condition()
        self._replies: dict[str, asyncio.Future[list[Any]]] = {}
        self._transactions = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ocpp/{identity}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/ocpp"

    async def stop(self) -> None:
        for ws in list(self.sockets.values()):
            await ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    def now(self) -> str:
        if self.whole_seconds:
            return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return iso_utc()

    def answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        if action == "BootNotification":
            return {"status": "Accepted", "currentTime": self.now(), "interval": 300}
        if action == "Heartbeat":
            return {"currentTime": self.now()}
        if action == "StartTransaction":
            self._transactions += 1
            return {"transactionId": self._transactions, "idTagInfo": {"status": "Accepted"}}
        if action in ("StopTransaction", "Authorize"):
            return {"idTagInfo": {"status": "Accepted"}}
        if action in ("StatusNotification", "MeterValues", "FirmwareStatusNotification"):
            return {}
        if action == "DiagnosticsStatusNotification":
            return {}
        if action == "DataTransfer":
            return {"status": "Accepted"}
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        identity = request.match_info["identity"]
        if self.password is not None:
            expected = basic_auth(identity, self.password)
            if request.headers.get("Authorization") != expected:
                raise web.HTTPUnauthorized
        ws = web.WebSocketResponse(protocols=("ocpp1.6",), heartbeat=self.ws_heartbeat)
        await ws.prepare(request)
        self.sockets[identity] = ws
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            try:
                frame = json.loads(msg.data)
                kind, unique_id = frame[0], frame[1]
            except (ValueError, IndexError, KeyError, TypeError):
                await ws.send_json([4, "-1", "ProtocolError", "not an OCPP frame", {}])
                continue
            async with self._changed:
                self.frames.append((identity, frame))
                self._changed.notify_all()
            if kind == 2:
                payload = self.answer(frame[2], frame[3])
                if payload is None:
                    await ws.send_json([4, unique_id, "NotImplemented", "", {}])
                else:
                    await ws.send_json([3, unique_id, payload])
            elif unique_id in self._replies:
                self._replies.pop(unique_id).set_result(frame)
        await ws.close()
        async with self._changed:
            self.close_codes.append((identity, ws.close_code))
            self._changed.notify_all()
        return ws

    async def call(self, identity: str, action: str, payload: dict[str, Any]) -> list[Any]:
        """Send a Call to a charger; returns its CallResult or CallError frame."""
        unique_id = str(uuid.uuid4())
        self._replies[unique_id] = asyncio.get_running_loop().create_future()
        await self.sockets[identity].send_json([2, unique_id, action, payload])
        async with asyncio.timeout(5):
            return await self._replies[unique_id]

    def calls(self, action: str, identity: str | None = None) -> list[dict[str, Any]]:
        return [
            frame[3]
            for who, frame in self.frames
            if frame[0] == 2 and frame[2] == action and identity in (None, who)
        ]

    async def wait_for(self, action: str, count: int = 1) -> list[dict[str, Any]]:
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: len(self.calls(action)) >= count)
        return self.calls(action)

    async def wait_closed(self, count: int = 1) -> list[int | None]:
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: len(self.close_codes) >= count)
        return [code for _, code in self.close_codes]

    def actions(self) -> list[str]:
        return [frame[2] for _, frame in self.frames if frame[0] == 2]


@pytest.fixture
async def central(socket_enabled: None) -> AsyncIterator[MiniCentralSystem]:
    server = MiniCentralSystem()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_sim(
    central: MiniCentralSystem,
) -> AsyncIterator[Callable[..., SimulatedCharger]]:
    sims: list[SimulatedCharger] = []

    def make(
        identity: str = "NEXT-WS123456", profile: str = "next", **kwargs: Any
    ) -> SimulatedCharger:
        sim = SimulatedCharger(central.url, identity, profile, **kwargs)
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        await sim.disconnect()


def samples(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Sampled values of a MeterValues payload keyed by measurand[/phase]."""
    values = payload["meterValue"][0]["sampledValue"]
    return {f"{v['measurand']}/{v.get('phase', '')}".rstrip("/"): v for v in values}


async def test_boot_charge_and_close(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    sim = make_sim()
    await sim.connect()
    reply = await sim.boot()
    assert reply["status"] == "Accepted"
    assert reply["interval"] == 300
    boot = (await central.wait_for("BootNotification"))[0]
    assert boot["chargePointVendor"] == "Webasto"
    assert boot["chargePointModel"] == "Webasto Next"
    assert boot["chargePointSerialNumber"] == "WS123456"
    assert boot["firmwareVersion"] == "3.1.37"

    start_register = sim.register_wh
    assert await sim.charge(samples=2, power_w=11000) == 1
    assert central.calls("StartTransaction")[0]["meterStart"] == round(start_register)
    first = samples(central.calls("MeterValues")[0])
    assert first["Energy.Active.Import.Register"]["unit"] == "Wh"
    assert float(first["Energy.Active.Import.Register"]["value"]) == pytest.approx(
        start_register + 11000 * 60 / 3600, abs=1
    )
    assert first["Power.Active.Import"]["value"] == "11000"
    assert first["Current.Import/L1"]["value"] == "15.94"
    assert first["Voltage/L3-N"]["value"] == "230.0"
    assert first["Current.Offered"]["value"] == "16.0"
    assert all(
        TIMESTAMP.match(p["meterValue"][0]["timestamp"]) for p in central.calls("MeterValues")
    )

    await sim.stop_transaction()
    await sim.unplug()
    assert central.calls("StopTransaction")[0]["meterStop"] == round(sim.register_wh)
    statuses = [p["status"] for p in central.calls("StatusNotification")]
    assert statuses == ["Preparing", "Charging", "Finishing", "Available"]
    assert all(TIMESTAMP.match(p["timestamp"]) for p in central.calls("StatusNotification"))

    await sim.disconnect()
    assert await sim.wait_closed() == 1000
    assert await central.wait_closed() == [1000]


@pytest.mark.parametrize("message", ["BootNotification", "Heartbeat"])
async def test_next_drops_on_current_time_without_fraction(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger], message: str
) -> None:
    sim = make_sim()
    await sim.connect()
    if message == "Heartbeat":
        await sim.boot()
        assert not sim.rejected_time
    central.whole_seconds = True
    await (sim.boot() if message == "BootNotification" else sim.heartbeat())
    assert sim.rejected_time
    assert await sim.wait_closed() == 1002
    assert await central.wait_closed() == [1002]
    assert not sim.online


async def test_generic_accepts_current_time_without_fraction(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    central.whole_seconds = True
    sim = make_sim("ACME-1", "generic")
    await sim.connect()
    await sim.boot()
    await sim.heartbeat()
    assert sim.online
    assert not sim.rejected_time


async def test_unite_configuration_rules(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    sim = make_sim("UNITE-1", "unite")
    await sim.connect()
    await sim.boot()

    too_many = await central.call("UNITE-1", "GetConfiguration", {"key": ["A", "B"]})
    assert too_many[0] == 4
    assert too_many[2] == "OccurenceConstraintViolation"
    one = await central.call("UNITE-1", "GetConfiguration", {"key": ["LedDimmingLevel"]})
    assert one[2] == {
        "configurationKey": [{"key": "LedDimmingLevel", "readonly": False, "value": "mid"}]
    }
    unknown = await central.call("UNITE-1", "GetConfiguration", {"key": ["Nope"]})
    assert unknown[2] == {"configurationKey": [], "unknownKey": ["Nope"]}
    every = await central.call("UNITE-1", "GetConfiguration", {})
    keys = {entry["key"]: entry for entry in every[2]["configurationKey"]}
    assert keys["FreeModeActive"]["value"] == "FALSE"
    assert keys["GetConfigurationMaxKeys"] == {
        "key": "GetConfigurationMaxKeys",
        "readonly": True,
        "value": "1",
    }
    assert "value" not in keys["AuthorizationKey"]

    async def change(key: str, value: str) -> str:
        reply = await central.call("UNITE-1", "ChangeConfiguration", {"key": key, "value": value})
        return str(reply[2]["status"])

    assert await change("FreeModeActive", "true") == "Accepted"
    assert sim.configuration["FreeModeActive"] == "TRUE"
    assert await change("FreeModeActive", "yes") == "Rejected"
    assert await change("LedDimmingLevel", "bright") == "Rejected"
    assert await change("LedDimmingLevel", "low") == "Accepted"
    assert await change("LightIntensity", "lots") == "Rejected"
    assert await change("GetConfigurationMaxKeys", "5") == "Rejected"
    assert await change("Unknown", "1") == "NotSupported"
    assert await change("AuthorizationKey", "s3cret") == "Accepted"
    assert sim.configuration["AuthorizationKey"] == "s3cret"
    assert await change("MeterValueSampleInterval", "30") == "Accepted"
    assert sim.meter_interval == 30

    first = await sim.wait_for_call("ChangeConfiguration", timeout=1)
    assert first.payload == {"key": "FreeModeActive", "value": "true"}
    assert [c.action for c in sim.received].count("GetConfiguration") == 4


async def test_charging_profiles_follow_allowed_units(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    unite = make_sim("UNITE-1", "unite")
    nxt = make_sim("NEXT-WS1")
    for sim in (unite, nxt):
        await sim.connect()
        await sim.boot()

    def profile(unit: str, limit: float, stack: int = 1) -> dict[str, Any]:
        return {
            "connectorId": 0,
            "csChargingProfiles": {
                "chargingProfileId": 7,
                "stackLevel": stack,
                "chargingProfilePurpose": "ChargePointMaxProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": unit,
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
                },
            },
        }

    async def status(identity: str, payload: dict[str, Any]) -> str:
        return str((await central.call(identity, "SetChargingProfile", payload))[2]["status"])

    assert await status("UNITE-1", profile("W", 6900)) == "Rejected"
    assert await status("UNITE-1", profile("A", 10, stack=4)) == "Rejected"
    assert await status("UNITE-1", profile("A", 10)) == "Accepted"
    assert unite.current_limit_a == 10
    assert await status("NEXT-WS1", profile("W", 6900)) == "Accepted"
    assert nxt.current_limit_a == 10
    nxt.reject_charging_profiles = True
    assert await status("NEXT-WS1", profile("A", 6)) == "Rejected"

    reply = await central.call("UNITE-1", "ClearChargingProfile", {"id": 7})
    assert reply[2] == {"status": "Accepted"}
    assert unite.current_limit_a is None


async def test_unite_register_resets_next_register_does_not(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    unite = make_sim("UNITE-1", "unite")
    nxt = make_sim("NEXT-WS1")
    for sim in (unite, nxt):
        await sim.connect()
        await sim.boot()
        for _ in range(2):
            await sim.charge(samples=2, power_w=7200)
            await sim.stop_transaction()
            await sim.unplug()
    assert [p["meterStart"] for p in central.calls("StartTransaction", "UNITE-1")] == [0, 0]
    # 2 samples x 7200 W x 10 s interval = 40 Wh per session.
    assert [p["meterStop"] for p in central.calls("StopTransaction", "UNITE-1")] == [40, 40]
    next_starts = [p["meterStart"] for p in central.calls("StartTransaction", "NEXT-WS1")]
    next_stops = [p["meterStop"] for p in central.calls("StopTransaction", "NEXT-WS1")]
    assert next_starts[1] == next_stops[0] > next_starts[0] > 0


async def test_live_reports_kwh_and_kw(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    sim = make_sim("LIVE-1", "live")
    await sim.connect()
    await sim.boot()
    await sim.charge(samples=1, power_w=3680)
    values = samples(central.calls("MeterValues")[0])
    assert values["Energy.Active.Import.Register"]["unit"] == "kWh"
    assert values["Energy.Active.Import.Register"]["value"] == f"{sim.register_wh / 1000:.3f}"
    assert values["Power.Active.Import"] == {
        "value": "3.680",
        "context": "Sample.Periodic",
        "format": "Raw",
        "measurand": "Power.Active.Import",
        "location": "Outlet",
        "unit": "kW",
    }


async def test_offline_queue_replays_in_order(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    sim = make_sim("ACME-1", "generic")
    await sim.connect()
    await sim.boot()
    await sim.plug_in()
    transaction_id = await sim.start_transaction("TAG", meter_start=1000)

    sim.go_offline()
    assert not sim.online
    await central.wait_closed()
    stamps = ["2024-05-01T10:00:00.000Z", "2024-05-01T10:01:00.000Z", "2024-05-01T10:02:00.000Z"]
    for n, stamp in enumerate(stamps):
        await sim.meter_values(power_w=6000, energy_wh=1100 + 100 * n, timestamp=stamp)
    assert await sim.stop_transaction(timestamp="2024-05-01T10:03:00.000Z") is None
    with pytest.raises(ConnectionError):
        await sim.start_transaction("TAG")
    assert len(sim.offline_queue) == 4
    before = len(central.frames)

    await sim.reconnect()
    assert sim.offline_queue == []
    replayed = [frame for _, frame in central.frames[before:] if frame[0] == 2]
    assert [f[2] for f in replayed] == [
        "BootNotification",
        "StatusNotification",
        "MeterValues",
        "MeterValues",
        "MeterValues",
        "StopTransaction",
    ]
    assert [f[3]["meterValue"][0]["timestamp"] for f in replayed[2:5]] == stamps
    assert [f[3]["transactionId"] for f in replayed[2:]] == [transaction_id] * 4
    assert replayed[5][3]["meterStop"] == 1300
    assert replayed[5][3]["timestamp"] == "2024-05-01T10:03:00.000Z"


async def test_next_is_silent_after_reconnect_until_triggered(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    sim = make_sim()
    await sim.connect()
    await sim.boot()
    await sim.drop()
    assert sim.close_code == 1006
    await central.wait_closed()
    count = len(central.frames)
    await sim.reconnect()
    assert len(central.frames) == count  # no BootNotification from a Next

    reply = await central.call(
        "NEXT-WS123456", "TriggerMessage", {"requestedMessage": "BootNotification"}
    )
    assert reply[2] == {"status": "Accepted"}
    assert len(await central.wait_for("BootNotification", 2)) == 2
    reply = await central.call(
        "NEXT-WS123456", "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1}
    )
    values = samples((await central.wait_for("MeterValues"))[0])
    assert values["Energy.Active.Import.Register"]["context"] == "Trigger"
    reply = await central.call("NEXT-WS123456", "TriggerMessage", {"requestedMessage": "Bogus"})
    assert reply[0] == 4  # not in the OCPP enum: ocpp rejects the payload


async def test_remote_start_stop_reset_and_firmware(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    sim = make_sim("ACME-1", "generic")
    await sim.connect()
    await sim.boot()

    reply = await central.call("ACME-1", "RemoteStartTransaction", {"idTag": "REMOTE"})
    assert reply[2] == {"status": "Accepted"}
    assert (await central.wait_for("StartTransaction"))[0]["idTag"] == "REMOTE"
    await central.wait_for("StatusNotification", 2)
    assert sim.transaction_id == 1
    reply = await central.call("ACME-1", "RemoteStartTransaction", {"idTag": "AGAIN"})
    assert reply[2] == {"status": "Rejected"}
    reply = await central.call("ACME-1", "RemoteStopTransaction", {"transactionId": 99})
    assert reply[2] == {"status": "Rejected"}
    reply = await central.call("ACME-1", "RemoteStopTransaction", {"transactionId": 1})
    assert reply[2] == {"status": "Accepted"}
    assert (await central.wait_for("StopTransaction"))[0]["reason"] == "Remote"

    sim.reply_to = {"Reset": "Rejected"}
    assert (await central.call("ACME-1", "Reset", {"type": "Soft"}))[2] == {"status": "Rejected"}
    sim.reply_to = {}
    await sim.start_transaction("TAG")
    assert (await central.call("ACME-1", "Reset", {"type": "Hard"}))[2] == {"status": "Accepted"}
    await sim.wait_connected(2)
    assert (await central.wait_for("StopTransaction", 2))[1]["reason"] == "HardReset"
    assert len(await central.wait_for("BootNotification", 2)) == 2
    assert (await central.wait_closed())[0] == 1000
    assert [c.action for c in sim.received].count("Reset") == 2

    reply = await central.call(
        "ACME-1",
        "UpdateFirmware",
        {"location": "http://example.invalid/fw.bin", "retrieveDate": iso_utc()},
    )
    assert reply[2] == {}
    statuses = [p["status"] for p in await central.wait_for("FirmwareStatusNotification", 4)]
    assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]


async def test_change_availability_while_charging_is_scheduled(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    sim = make_sim("ACME-1", "generic")
    await sim.connect()
    await sim.boot()
    await sim.charge(samples=1)
    reply = await central.call(
        "ACME-1", "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}
    )
    assert reply[2] == {"status": "Scheduled"}
    await sim.stop_transaction()
    assert not sim.available
    assert [p["status"] for p in central.calls("StatusNotification")][-2:] == [
        "Finishing",
        "Unavailable",
    ]
    reply = await central.call(
        "ACME-1", "ChangeAvailability", {"connectorId": 1, "type": "Operative"}
    )
    assert reply[2] == {"status": "Accepted"}
    assert (await central.wait_for("StatusNotification", 5))[-1]["status"] == "Preparing"
    assert sim.available


async def test_handshake_errors(central: MiniCentralSystem) -> None:
    central.password = "right"
    wrong = SimulatedCharger(central.url, "NEXT-WS1", password="wrong")
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await wrong.connect()
    assert err.value.status == 401
    lost = SimulatedCharger(central.url.replace("/ocpp", "/other"), "NEXT-WS1", password="right")
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await lost.connect()
    assert err.value.status == 404
    async with SimulatedCharger(f"{central.url}/NEXT-WS1", "NEXT-WS1", password="right") as ok:
        assert ok.url == f"{central.url}/NEXT-WS1"
        assert (await ok.boot())["status"] == "Accepted"


async def test_raw_frames_and_response_delay(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    sim = make_sim(call_timeout=5)
    await sim.connect()
    await sim.send_raw('[2, "raw-1", "NoSuchAction", {}]')
    assert await sim.next_raw_reply() == [4, "raw-1", "NotImplemented", "", {}]
    await sim.send_raw("this is not json")
    assert (await sim.next_raw_reply())[2] == "ProtocolError"

    sim.response_delay = 60
    unique_id = str(uuid.uuid4())
    await central.sockets["NEXT-WS123456"].send_json([2, unique_id, "Heartbeat", {}])
    received = await sim.wait_for_call("Heartbeat")  # recorded before it is answered
    assert received.unique_id == unique_id
    with pytest.raises(TimeoutError):
        await sim.wait_for_call("Reset", timeout=0.05)


# aiohttp's server re-arms its heartbeat timer after a pong timeout: not ours to clean up.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_unanswered_pings_get_the_charger_dropped(
    central: MiniCentralSystem, make_sim: Callable[..., SimulatedCharger]
) -> None:
    central.ws_heartbeat = 0.1
    sim = make_sim()
    sim.answer_pings = False
    await sim.connect()
    assert await sim.wait_closed() == 1006
    assert await central.wait_closed() == [1006]


def test_profiles_are_consistent() -> None:
    assert set(PROFILES) == {"next", "unite", "unite-1p", "generic", "live"}
    for profile in PROFILES.values():
        assert profile.readonly_keys.isdisjoint(profile.write_only_keys)
        assert "MeterValueSampleInterval" in profile.configuration
    assert PROFILES["unite"].hardware == "EVC04"
    # The phase count and what the Vestel configuration says agree.
    for name, word in (("unite", "threePhase"), ("unite-1p", "singlePhase")):
        assert PROFILES[name].configuration["CurrentLimiterPhase"] == word
    assert (PROFILES["unite"].phases, PROFILES["unite-1p"].phases) == (3, 1)


def test_cli_help() -> None:
    python = PYTHON if PYTHON.exists() else Path(sys.executable)
    result = subprocess.run(
        [str(python), "-m", "webasto_sim", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--profile" in result.stdout
    assert "--count" in result.stdout


async def test_cli_charges_and_stops_on_sigint(central: MiniCentralSystem) -> None:
    python = PYTHON if PYTHON.exists() else Path(sys.executable)
    proc = await asyncio.create_subprocess_exec(
        str(python),
        "-m",
        "webasto_sim",
        central.url,
        "--identity",
        "CLI",
        "--profile",
        "unite",
        "--count",
        "2",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        begins = await central.wait_for("MeterValues", 2)
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            output, _ = await proc.communicate()
    assert proc.returncode == 0, output.decode()
    assert {who for who, frame in central.frames} == {"CLI-1", "CLI-2"}
    assert all(samples(b)["Power.Active.Import"]["context"] == "Transaction.Begin" for b in begins)
    stops = await central.wait_for("StopTransaction", 2)
    assert {stop["reason"] for stop in stops} == {"Local"}
    assert await central.wait_closed(2) == [1000, 1000]
    assert b"stopped" in output
