"""Simulator: local authorization list, reservations and RFID cards, against a small central
system built on the ocpp package's server-side ChargePoint that decides with AccessControl."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from datetime import UTC, datetime, timedelta
import itertools
from typing import Any

import aiohttp
from aiohttp import web
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
import pytest

from custom_components.webasto_chargeconnect.chargeconnect import MemoryStore
from custom_components.webasto_chargeconnect.chargeconnect.access import AccessControl
from custom_components.webasto_chargeconnect.chargeconnect.timeutil import format_ocpp_time
from webasto_sim import REFUSED, SimulatedCharger, iso_utc

NEXT = "NEXT-WS123456"


class ServerConnection:
    """The send/recv pair ocpp's ChargePoint expects, on an aiohttp server websocket."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def recv(self) -> str:
        msg = await self.ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionError("websocket closed")
        return str(msg.data)


class CentralPoint(ChargePoint):  # type: ignore[misc]
    """One charger's connection on the central system side."""

    def __init__(self, identity: str, connection: ServerConnection, central: Central) -> None:
        super().__init__(identity, connection, response_timeout=5)
        self.central = central

    def _decide(self, id_tag: str) -> dict[str, Any]:
        info = self.central.access.authorize(self.id, id_tag).id_tag_info()
        parent = self.central.parents.get(id_tag)
        if parent is not None:
            info["parentIdTag"] = parent
        return info

    @on(Action.boot_notification)
    async def on_boot(self, **payload: Any) -> call_result.BootNotification:
        await self.central.record(self.id, "BootNotification", payload)
        return call_result.BootNotification(current_time=iso_utc(), interval=300, status="Accepted")

    @on(Action.heartbeat)
    async def on_heartbeat(self, **payload: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=iso_utc())

    @on(Action.status_notification)
    async def on_status(self, **payload: Any) -> call_result.StatusNotification:
        await self.central.record(self.id, "StatusNotification", payload)
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str) -> call_result.Authorize:
        await self.central.record(self.id, "Authorize", {"id_tag": id_tag})
        return call_result.Authorize(id_tag_info=self._decide(id_tag))

    @on(Action.start_transaction)
    async def on_start(self, **payload: Any) -> call_result.StartTransaction:
        await self.central.record(self.id, "StartTransaction", payload)
        info = self._decide(payload["id_tag"])
        if self.central.reject_starts:
            info = {"status": "Blocked"}
        return call_result.StartTransaction(
            transaction_id=next(self.central.transaction_ids), id_tag_info=info
        )

    @on(Action.stop_transaction)
    async def on_stop(self, **payload: Any) -> call_result.StopTransaction:
        await self.central.record(self.id, "StopTransaction", payload)
        return call_result.StopTransaction()

    @on(Action.meter_values)
    async def on_meter_values(self, **payload: Any) -> call_result.MeterValues:
        await self.central.record(self.id, "MeterValues", payload)
        return call_result.MeterValues()


class Central:
    """Chargers connect to /ocpp/<identity>; every Call they send is recorded (snake_case)."""

    def __init__(self) -> None:
        self.access = AccessControl(MemoryStore())
        self.points: dict[str, CentralPoint] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.parents: dict[str, str] = {}
        self.reject_starts = False
        self.transaction_ids = itertools.count(1)
        self.url = ""
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        await self.access.load()
        app = web.Application()
        app.router.add_get("/ocpp/{identity}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/ocpp"

    async def stop(self) -> None:
        for point in self.points.values():
            await point._connection.ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        identity = request.match_info["identity"]
        ws = web.WebSocketResponse(protocols=("ocpp1.6",))
        await ws.prepare(request)
        point = CentralPoint(identity, ServerConnection(ws), self)
        self.points[identity] = point
        async with self._changed:
            self._changed.notify_all()
        with contextlib.suppress(ConnectionError):
            await point.start()
        return ws

    async def record(self, identity: str, action: str, payload: dict[str, Any]) -> None:
        async with self._changed:
            self.calls.append((identity, action, payload))
            self._changed.notify_all()

    def sent(self, action: str, identity: str = NEXT) -> list[dict[str, Any]]:
        return [p for who, a, p in self.calls if a == action and who == identity]

    async def wait_for(
        self, action: str, count: int = 1, identity: str = NEXT
    ) -> list[dict[str, Any]]:
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: len(self.sent(action, identity)) >= count)
        return self.sent(action, identity)

    async def wait_connected(self, identity: str) -> CentralPoint:
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: identity in self.points)
        return self.points[identity]

    async def statuses(self, count: int, identity: str = NEXT) -> list[str]:
        return [p["status"] for p in await self.wait_for("StatusNotification", count, identity)]

    async def send(self, identity: str, payload: Any) -> Any:
        return await self.points[identity].call(payload, suppress=False)


@pytest.fixture
async def central(socket_enabled: None) -> AsyncIterator[Central]:
    server = Central()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def online(
    central: Central,
) -> AsyncIterator[Callable[..., Any]]:
    """Connect and boot a simulated charger: ``await online(identity, profile)``."""
    sims: list[SimulatedCharger] = []

    async def connect(identity: str = NEXT, profile: str = "next", **kwargs: Any) -> Any:
        sim = SimulatedCharger(central.url, identity, profile, **kwargs)
        sims.append(sim)
        await sim.connect()
        await sim.boot()
        await central.wait_connected(identity)
        return sim

    yield connect
    for sim in sims:
        await sim.disconnect()


def entry(id_tag: str, status: str | None = "Accepted", **info: str) -> dict[str, Any]:
    data: dict[str, Any] = {"id_tag": id_tag}
    if status is not None:
        data["id_tag_info"] = {"status": status, **info}
    return data


def soon(**delta: float) -> str:
    return format_ocpp_time(datetime.now(UTC) + timedelta(**delta))


async def test_local_list_full_differential_and_limits(
    central: Central, online: Callable[..., Any]
) -> None:
    sim: SimulatedCharger = await online()
    version = await central.send(NEXT, call.GetLocalListVersion())
    assert version.list_version == 0

    # A full list made by AccessControl, as the integration will send it.
    access = central.access
    await access.add_tag("Owner card", "04A1B2C3", kind="rfid")
    await access.add_tag("Phone", "PHONEAPP")
    await access.share(NEXT, "Guest", "", "GUEST1", datetime.now(UTC) + timedelta(days=1))
    entries = access.local_list(NEXT)
    v1 = access.local_list_version(NEXT)
    full = call.SendLocalList(list_version=v1, update_type="Full", local_authorization_list=entries)
    assert (await central.send(NEXT, full)).status == "Accepted"
    assert sim.local_list == {e["idTag"]: e["idTagInfo"] for e in entries}
    assert sim.local_list["GUEST1"]["expiryDate"].endswith("Z")
    assert sim.local_list_version == v1
    assert (await central.send(NEXT, call.GetLocalListVersion())).list_version == v1

    # Differential: add one, remove one (no idTagInfo; ids compared case-insensitively).
    same_version = call.SendLocalList(
        list_version=v1, update_type="Differential", local_authorization_list=[entry("NEWTAG")]
    )
    assert (await central.send(NEXT, same_version)).status == "VersionMismatch"
    diff = call.SendLocalList(
        list_version=v1 + 1,
        update_type="Differential",
        local_authorization_list=[entry("NEWTAG", parent_id_tag="FAMILY"), entry("phoneapp", None)],
    )
    assert (await central.send(NEXT, diff)).status == "Accepted"
    assert set(sim.local_list) == {"04A1B2C3", "GUEST1", "NEWTAG"}
    assert sim.local_list["NEWTAG"] == {"status": "Accepted", "parentIdTag": "FAMILY"}
    assert sim.local_list_version == v1 + 1
    assert sim.local_authorization("newtag") == sim.local_list["NEWTAG"]

    # Refusals leave the list as it was.
    def full_list(count: int, version: int = 7) -> call.SendLocalList:
        return call.SendLocalList(
            list_version=version,
            update_type="Full",
            local_authorization_list=[entry(f"TAG{n}") for n in range(count)],
        )

    assert sim.configuration["SendLocalListMaxLength"] == "50"
    assert (await central.send(NEXT, full_list(51))).status == "Failed"
    sim.configuration["LocalAuthListMaxLength"] = "3"
    assert (await central.send(NEXT, full_list(4))).status == "Failed"
    diff_too_long = call.SendLocalList(
        list_version=v1 + 2,
        update_type="Differential",
        local_authorization_list=[entry("ONEMORE")],
    )
    assert (await central.send(NEXT, diff_too_long)).status == "Failed"
    duplicates = call.SendLocalList(
        list_version=9,
        update_type="Full",
        local_authorization_list=[entry("DUP"), entry("dup")],
    )
    assert (await central.send(NEXT, duplicates)).status == "Failed"
    assert (await central.send(NEXT, full_list(1, version=0))).status == "Failed"
    assert sim.local_list_version == v1 + 1
    assert set(sim.local_list) == {"04A1B2C3", "GUEST1", "NEWTAG"}

    assert (await central.send(NEXT, full_list(3))).status == "Accepted"
    assert set(sim.local_list) == {"TAG0", "TAG1", "TAG2"}
    assert sim.local_list_version == 7
    empty = call.SendLocalList(list_version=8, update_type="Full")
    assert (await central.send(NEXT, empty)).status == "Accepted"
    assert sim.local_list == {}

    sim.reply_to["SendLocalList"] = "Failed"
    assert (await central.send(NEXT, full_list(1, version=10))).status == "Failed"
    assert sim.local_list_version == 8
    del sim.reply_to["SendLocalList"]

    # Switched off: the charger has no local list any more.
    changed = await central.send(
        NEXT, call.ChangeConfiguration(key="LocalAuthListEnabled", value="false")
    )
    assert changed.status == "Accepted"
    assert (await central.send(NEXT, full_list(1, version=11))).status == "NotSupported"
    assert (await central.send(NEXT, call.GetLocalListVersion())).list_version == -1
    received = [c.action for c in sim.received]
    assert received.count("SendLocalList") == 12
    assert received.count("GetLocalListVersion") == 3


async def test_features_follow_the_profiles(central: Central, online: Callable[..., Any]) -> None:
    generic: SimulatedCharger = await online("ACME-1", "generic")
    unite: SimulatedCharger = await online("UNITE-1", "unite")
    assert not generic.supports("LocalAuthListManagement")
    assert not generic.supports("Reservation")
    one = call.SendLocalList(list_version=1, update_type="Full", local_authorization_list=[])
    assert (await central.send("ACME-1", one)).status == "NotSupported"
    assert (await central.send("ACME-1", call.GetLocalListVersion())).list_version == -1
    reserve = call.ReserveNow(
        connector_id=1, expiry_date=soon(hours=1), id_tag="X", reservation_id=1
    )
    assert (await central.send("ACME-1", reserve)).status == "Rejected"
    cancel = call.CancelReservation(reservation_id=1)
    assert (await central.send("ACME-1", cancel)).status == "Rejected"
    assert generic.reservations == {}

    # The Unite answers GetConfiguration one key at a time.
    expected = {
        "SupportedFeatureProfiles": (
            "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,"
            "RemoteTrigger",
            True,
        ),
        "LocalAuthListEnabled": ("TRUE", False),
        "LocalAuthListMaxLength": ("10000", True),
        "SendLocalListMaxLength": ("10000", True),
        "ReserveConnectorZeroSupported": ("TRUE", True),
        "StopTransactionOnInvalidId": ("TRUE", False),
    }
    for key, (value, readonly) in expected.items():
        answer = await central.send("UNITE-1", call.GetConfiguration(key=[key]))
        assert answer.configuration_key == [{"key": key, "readonly": readonly, "value": value}]
    assert (await central.send("UNITE-1", one)).status == "Accepted"
    assert unite.local_list_version == 1
    readonly = await central.send(
        "UNITE-1", call.ChangeConfiguration(key="LocalAuthListMaxLength", value="5")
    )
    assert readonly.status == "Rejected"


async def test_cards_online(central: Central, online: Callable[..., Any]) -> None:
    sim: SimulatedCharger = await online()
    await central.access.add_tag("Owner card", "04A1B2C3", kind="rfid")
    assert await sim.present_card("04a1b2c3") == "Accepted"
    assert await sim.present_card("STRANGER") == "Invalid"
    assert [p["id_tag"] for p in central.sent("Authorize")] == ["04a1b2c3", "STRANGER"]
    assert sim.transaction_id is None

    # start=True starts only when a car is plugged in.
    assert await sim.present_card("04A1B2C3", start=True) == "Accepted"
    assert central.sent("StartTransaction") == []
    await sim.plug_in()
    assert await sim.present_card("STRANGER", start=True) == "Invalid"
    assert central.sent("StartTransaction") == []
    assert await sim.present_card("04A1B2C3", start=True) == "Accepted"
    start = (await central.wait_for("StartTransaction"))[0]
    assert start["id_tag"] == "04A1B2C3"
    assert "reservation_id" not in start
    assert sim.transaction_id == 1
    assert await central.statuses(2) == ["Preparing", "Charging"]

    # A card presented during a transaction does not start another one.
    assert await sim.present_card("04A1B2C3", start=True) == "Accepted"
    assert len(central.sent("StartTransaction")) == 1


async def test_refused_start_is_stopped_deauthorized(
    central: Central, online: Callable[..., Any]
) -> None:
    sim: SimulatedCharger = await online()
    await central.access.add_tag("Owner card", "OWNER")
    await sim.plug_in()

    # Authorize accepts, StartTransaction does not: the charger stops at once.
    central.reject_starts = True
    assert await sim.present_card("OWNER", start=True) == "Blocked"
    stop = (await central.wait_for("StopTransaction"))[0]
    assert stop["reason"] == "DeAuthorized"
    assert stop["transaction_id"] == 1
    assert sim.transaction_id is None
    central.reject_starts = False

    # A transaction started without asking (a test knob) for an unknown tag: same.
    assert await sim.start_transaction("STRANGER") == 2
    assert (await central.wait_for("StopTransaction", 2))[1]["reason"] == "DeAuthorized"

    # A remote start for an unknown tag is stopped again, and gets no charging profile.
    await sim.plug_in()
    accepted = await central.send(NEXT, call.RemoteStartTransaction(id_tag="STRANGER"))
    assert accepted.status == "Accepted"
    stops = await central.wait_for("StopTransaction", 3)
    assert [s["transaction_id"] for s in stops] == [1, 2, 3]

    # StopTransactionOnInvalidId = false: the charger carries on.
    changed = await central.send(
        NEXT, call.ChangeConfiguration(key="StopTransactionOnInvalidId", value="false")
    )
    assert changed.status == "Accepted"
    assert await sim.start_transaction("STRANGER") == 4
    assert sim.transaction_id == 4
    assert sim.id_tag_status == "Invalid"
    assert len(central.sent("StopTransaction")) == 3


async def test_cards_offline_use_the_local_list(
    central: Central, online: Callable[..., Any]
) -> None:
    sim: SimulatedCharger = await online()
    await central.access.add_tag("Owner card", "OWNER")  # not open: strangers are refused
    entries = [
        entry("OWNERCARD"),
        entry("GUEST", expiry_date=soon(hours=1)),
        entry("OLDGUEST", expiry_date=soon(hours=-1)),
        entry("BANNED", "Blocked"),
    ]
    full = call.SendLocalList(list_version=5, update_type="Full", local_authorization_list=entries)
    assert (await central.send(NEXT, full)).status == "Accepted"

    sim.go_offline()
    assert await sim.present_card("ownercard") == "Accepted"
    assert await sim.present_card("GUEST") == "Accepted"
    assert await sim.present_card("OLDGUEST") == "Expired"
    assert await sim.present_card("BANNED") == "Blocked"
    assert await sim.present_card("OWNER") == "Invalid"  # accepted online, not on the list
    assert central.sent("Authorize") == []

    sim.configuration["LocalAuthorizeOffline"] = "false"
    assert await sim.present_card("OWNERCARD") == "Invalid"
    sim.configuration["LocalAuthorizeOffline"] = "true"
    sim.configuration["LocalAuthListEnabled"] = "false"
    assert await sim.present_card("OWNERCARD") == "Invalid"
    assert sim.offline_queue == []


async def test_offline_start_is_queued_and_replayed(
    central: Central, online: Callable[..., Any]
) -> None:
    sim: SimulatedCharger = await online()
    await central.access.add_tag("Owner card", "OWNERCARD")
    full = call.SendLocalList(
        list_version=1, update_type="Full", local_authorization_list=[entry("OWNERCARD")]
    )
    assert (await central.send(NEXT, full)).status == "Accepted"
    await sim.plug_in()
    sim.go_offline()
    assert await sim.present_card("OWNERCARD", start=True) == "Accepted"
    local_id = sim.transaction_id
    assert local_id is not None and local_id < 0
    assert sim.connector_status[1] == "Charging"
    await sim.meter_values(7000)
    await sim.stop_transaction()
    assert [type(p).__name__ for p in sim.offline_queue] == [
        "StartTransaction",
        "MeterValues",
        "StopTransaction",
    ]
    assert central.sent("StartTransaction") == []

    await sim.reconnect()
    start = (await central.wait_for("StartTransaction"))[0]
    assert start["id_tag"] == "OWNERCARD"
    stop = (await central.wait_for("StopTransaction"))[0]
    meter = (await central.wait_for("MeterValues"))[0]
    assert meter["transaction_id"] == stop["transaction_id"] == 1
    assert stop["reason"] == "Local"
    assert sim.offline_queue == []
    assert sim.transaction_id is None


async def test_offline_start_refused_on_replay_is_stopped(
    central: Central, online: Callable[..., Any]
) -> None:
    sim: SimulatedCharger = await online()
    full = call.SendLocalList(
        list_version=1, update_type="Full", local_authorization_list=[entry("LOSTCARD")]
    )
    assert (await central.send(NEXT, full)).status == "Accepted"
    await central.access.add_tag("Owner card", "OWNER")  # LOSTCARD is unknown centrally
    await sim.plug_in()
    sim.go_offline()
    assert await sim.present_card("LOSTCARD", start=True) == "Accepted"
    await sim.meter_values(7000)
    await sim.reconnect()
    stop = (await central.wait_for("StopTransaction"))[0]
    assert stop["reason"] == "DeAuthorized"
    assert stop["transaction_id"] == 1
    assert [p["transaction_id"] for p in central.sent("MeterValues")] == [1]
    assert sim.id_tag_status == "Invalid"
    assert sim.transaction_id is None


async def test_reservation_holds_the_connector(
    central: Central, online: Callable[..., Any]
) -> None:
    sim: SimulatedCharger = await online()
    await central.access.add_tag("Owner card", "OWNER")
    await central.access.add_tag("Booker", "BOOKER")
    await sim.status("Available")
    expiry = soon(hours=1)
    reserve = call.ReserveNow(
        connector_id=1, expiry_date=expiry, id_tag="BOOKER", reservation_id=42
    )
    assert (await central.send(NEXT, reserve)).status == "Accepted"
    assert await central.statuses(2) == ["Available", "Reserved"]
    assert sim.reservation_on(1) is not None
    assert sim.reservations[42].id_tag == "BOOKER"

    other = call.ReserveNow(connector_id=1, expiry_date=expiry, id_tag="OWNER", reservation_id=43)
    assert (await central.send(NEXT, other)).status == "Occupied"

    # Another tag is accepted by the central system but refused by the charger.
    assert await sim.present_card("OWNER") == REFUSED
    remote = await central.send(NEXT, call.RemoteStartTransaction(id_tag="OWNER"))
    assert remote.status == "Rejected"

    await sim.plug_in()
    assert await central.statuses(3) == ["Available", "Reserved", "Preparing"]
    assert await sim.present_card("OWNER", start=True) == REFUSED
    assert central.sent("StartTransaction") == []
    assert await sim.present_card("booker", start=True) == "Accepted"
    start = (await central.wait_for("StartTransaction"))[0]
    assert start["reservation_id"] == 42
    assert start["id_tag"] == "booker"
    assert sim.reservations == {}
    assert (await central.send(NEXT, other)).status == "Occupied"  # charging now

    # After the session the connector is free for everyone.
    await sim.stop_transaction()
    await sim.unplug()
    assert (await central.statuses(6))[-1] == "Available"
    assert await sim.present_card("OWNER") == "Accepted"


async def test_reservation_with_remote_start(central: Central, online: Callable[..., Any]) -> None:
    await online()
    await central.access.add_tag("Booker", "BOOKER")
    reserve = call.ReserveNow(
        connector_id=1, expiry_date=soon(hours=1), id_tag="BOOKER", reservation_id=7
    )
    assert (await central.send(NEXT, reserve)).status == "Accepted"
    remote = await central.send(NEXT, call.RemoteStartTransaction(id_tag="BOOKER", connector_id=1))
    assert remote.status == "Accepted"
    start = (await central.wait_for("StartTransaction"))[0]
    assert start["reservation_id"] == 7


async def test_reservation_expires_cancels_and_is_replaced(
    central: Central, online: Callable[..., Any]
) -> None:
    sim: SimulatedCharger = await online()
    await central.access.add_tag("Owner card", "OWNER")
    short = call.ReserveNow(
        connector_id=1, expiry_date=soon(seconds=1), id_tag="BOOKER", reservation_id=1
    )
    assert (await central.send(NEXT, short)).status == "Accepted"
    assert await central.statuses(2) == ["Reserved", "Available"]  # expired by itself
    assert sim.reservations == {}

    long = call.ReserveNow(
        connector_id=1, expiry_date=soon(hours=1), id_tag="BOOKER", reservation_id=2
    )
    assert (await central.send(NEXT, long)).status == "Accepted"
    # The same reservation id replaces the reservation (here: for another tag).
    replaced = call.ReserveNow(
        connector_id=1, expiry_date=soon(hours=2), id_tag="OWNER", reservation_id=2
    )
    assert (await central.send(NEXT, replaced)).status == "Accepted"
    assert sim.reservations[2].id_tag == "OWNER"
    assert await sim.present_card("OWNER") == "Accepted"

    cancelled = await central.send(NEXT, call.CancelReservation(reservation_id=2))
    assert cancelled.status == "Accepted"
    assert (await central.statuses(5))[-1] == "Available"
    assert (await central.send(NEXT, call.CancelReservation(reservation_id=2))).status == "Rejected"

    def reserve(connector: int, expiry: str, rid: int = 9) -> call.ReserveNow:
        return call.ReserveNow(
            connector_id=connector, expiry_date=expiry, id_tag="X", reservation_id=rid
        )

    assert (await central.send(NEXT, reserve(1, soon(hours=-1)))).status == "Rejected"
    assert (await central.send(NEXT, reserve(2, soon(hours=1)))).status == "Rejected"
    # The Next does not take reservations for connector 0 (ReserveConnectorZeroSupported).
    assert (await central.send(NEXT, reserve(0, soon(hours=1)))).status == "Rejected"

    await sim.status("Faulted", error_code="GroundFailure")
    assert (await central.send(NEXT, reserve(1, soon(hours=1)))).status == "Faulted"
    await sim.status("Available")
    inoperative = await central.send(
        NEXT, call.ChangeAvailability(connector_id=0, type="Inoperative")
    )
    assert inoperative.status == "Accepted"
    await central.wait_for("StatusNotification", 8)
    assert (await central.send(NEXT, reserve(1, soon(hours=1)))).status == "Unavailable"
    assert sim.reservations == {}

    sim.reply_to["ReserveNow"] = "Occupied"
    assert (await central.send(NEXT, reserve(1, soon(hours=1)))).status == "Occupied"


async def test_connector_zero_and_parent_tags_on_unite(
    central: Central, online: Callable[..., Any]
) -> None:
    sim: SimulatedCharger = await online("UNITE-1", "unite")
    await central.access.add_tag("Owner card", "OWNER")
    await central.access.add_tag("Kid", "KIDCARD")
    central.parents["KIDCARD"] = "FAMILY"
    reserve = call.ReserveNow(
        connector_id=0,
        expiry_date=soon(hours=1),
        id_tag="PARENTCARD",
        reservation_id=5,
        parent_id_tag="FAMILY",
    )
    assert (await central.send("UNITE-1", reserve)).status == "Accepted"
    assert central.sent("StatusNotification", "UNITE-1") == []  # connector 0 is never Reserved
    assert sim.connector_status[1] == "Available"

    # One connector, held for the family: others are refused, a family card may charge.
    assert await sim.present_card("OWNER") == REFUSED
    await sim.plug_in()
    assert await sim.present_card("KIDCARD", start=True) == "Accepted"
    start = (await central.wait_for("StartTransaction", identity="UNITE-1"))[0]
    assert start["reservation_id"] == 5
    assert sim.reservations == {}
