"""A simulated OCPP 1.6J charge point on a real aiohttp websocket.

`SimulatedCharger` keeps the charger's state (configuration, energy register, transaction,
charging limit, connector status) and exposes every charger-initiated message as an
awaitable method. Calls from the central system are answered by `ChargePointSession`
(see `session.py`), which records them in `received` before answering.
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
import json
import logging
import re
import ssl as ssl_module
from types import EllipsisType
from typing import Any
import uuid

import aiohttp
from ocpp.exceptions import OccurenceConstraintViolationError, OCPPError
from ocpp.v16 import call

from .profiles import PROFILES, Profile
from .session import ChargePointSession

VOLTAGE = 230.0
_FRACTIONAL_TIME = re.compile(r"\.\d+(Z$|[+-])")
_RATE_UNITS = {"Current": "A", "Power": "W"}
_RECONNECT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, OCPPError)

Followup = Callable[[], Coroutine[Any, Any, None]]

# What `present_card` returns when the charger itself turns a card away (the connector is
# reserved for another tag), as opposed to an OCPP AuthorizationStatus.
REFUSED = "Refused"
# Connector states in which a vehicle (or a session) occupies the connector.
_OCCUPIED = frozenset({"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"})
# OCPP IdTagInfo fields, as ocpp hands them over (snake_case) and as on the wire.
_ID_TAG_INFO_FIELDS = {
    "status": "status",
    "expiry_date": "expiryDate",
    "parent_id_tag": "parentIdTag",
}


def basic_auth(login: str, password: str) -> str:
    """An ``Authorization`` header value (RFC 7617), as a charger sends it."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def _tag_key(id_tag: str) -> str:
    """OCPP IdTokens are case-insensitive."""
    return id_tag.strip().casefold()


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def iso_utc(moment: datetime | str | None = None) -> str:
    """Format a timestamp as UTC ISO 8601 with milliseconds and a Z (strings pass through)."""
    if isinstance(moment, str):
        return moment
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class ReceivedCall:
    """A Call the central system sent, with its payload exactly as on the wire (camelCase)."""

    action: str
    payload: dict[str, Any]
    unique_id: str


@dataclass(frozen=True)
class Reservation:
    """A connector (0: any connector) held for `id_tag` (or tags of `parent_id_tag`)."""

    reservation_id: int
    connector_id: int
    id_tag: str
    expiry: datetime
    parent_id_tag: str | None = None

    def matches(self, id_tag: str, parent_id_tag: str | None = None) -> bool:
        """True if a card with this tag (and parent) may use the reservation."""
        if _tag_key(self.id_tag) == _tag_key(id_tag):
            return True
        return bool(
            self.parent_id_tag
            and parent_id_tag
            and _tag_key(self.parent_id_tag) == _tag_key(parent_id_tag)
        )


class ConnectionClosedError(ConnectionError):
    """The websocket closed while reading."""


def vestel_layout(text: str) -> str:
    """Lay a frame out the way Vestel firmware (EVC04 v3.118) does.

    CallResults and BootNotification carry their payload pretty-printed over several
    lines (four-space indent, the closing brace indented too); other frames stay compact.
    """
    try:
        frame = json.loads(text)
    except ValueError:
        return text
    if not isinstance(frame, list) or not frame:
        return text
    if frame[0] == 3 and len(frame) == 3:
        head = json.dumps(frame[:2], separators=(",", ":"))[:-1]
    elif frame[0] == 2 and len(frame) == 4 and frame[2] == "BootNotification":
        head = json.dumps(frame[:3], separators=(",", ":"))[:-1]
    else:
        return text
    payload = json.dumps(frame[-1], indent=4)
    if payload.endswith("}") and "\n" in payload:
        payload = payload[:-1] + "    }"
    return f"{head},{payload}]"


class WebSocketAdapter:
    """The `send`/`recv` pair ocpp's ChargePoint expects, on top of an aiohttp websocket."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        answer_pings: Callable[[], bool],
        layout: Callable[[str], str] | None = None,
        sent: Callable[[str], None] | None = None,
    ):
        self.ws = ws
        self._answer_pings = answer_pings
        self._layout = layout
        self._sent = sent

    async def send(self, text: str) -> None:
        if self._layout is not None:
            text = self._layout(text)
        if self._sent is not None:
            self._sent(text)
        await self.ws.send_str(text)

    async def recv(self) -> str:
        while True:
            msg = await self.ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                return str(msg.data)
            if msg.type is aiohttp.WSMsgType.BINARY:
                return bytes(msg.data).decode("utf-8", "replace")
            if msg.type is aiohttp.WSMsgType.PING:
                if self._answer_pings():
                    await self.ws.pong(msg.data)
                continue
            if msg.type is aiohttp.WSMsgType.PONG:
                continue
            raise ConnectionClosedError(f"websocket closed ({msg.type.name})")

    def abort(self) -> None:
        """Kill the TCP connection without a close frame (simulated network loss)."""
        connection = self.ws._response.connection
        if connection is not None and connection.transport is not None:
            connection.transport.abort()


@dataclass(eq=False)
class _Link:
    """One websocket connection and the tasks serving it."""

    http: aiohttp.ClientSession
    adapter: WebSocketAdapter
    session: ChargePointSession
    closed: asyncio.Future[int]
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    incoming: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    pending: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    worker: asyncio.Task[None] | None = None
    local_close_code: int | None = None
    graceful_close: bool = False
    reconnect_after: bool = True


class SimulatedCharger:
    """An OCPP 1.6J charge point talking to a central system over a real websocket."""

    def __init__(  # noqa: PLR0917
        self,
        url: str,
        identity: str,
        profile: Profile | str = "next",
        password: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        boot_on_connect: bool | None = None,
        connectors: int = 1,
        *,
        call_timeout: float = 30.0,
        ws_heartbeat: float | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.identity = identity
        base = url.rstrip("/")
        self.url = base if base.endswith(f"/{identity}") else f"{base}/{identity}"
        self.password = password
        self.ssl = ssl
        # True: boot on every connect; False: never boot by itself; None: the first boot is
        # manual (`boot()`), later reconnects follow the profile (`Profile.boot_on_reconnect`).
        self.boot_on_connect = boot_on_connect
        self.connectors = connectors
        self.call_timeout = call_timeout
        self.ws_heartbeat = ws_heartbeat
        self.log = logger or logging.getLogger(f"webasto_sim.{identity}")
        self.frame_log = logging.getLogger("webasto_sim.frames")

        self.configuration: dict[str, str] = dict(self.profile.configuration)
        if "NumberOfConnectors" in self.configuration:
            self.configuration["NumberOfConnectors"] = str(connectors)
        self.register_wh: float = self.profile.initial_register_wh
        self.transaction_id: int | None = None
        self.id_tag: str | None = None
        self.id_tag_status: str | None = None
        self.tx_connector = 1
        self.current_limit_a: float | None = None
        self.charging_profiles: list[dict[str, Any]] = []  # snake_case, as ocpp hands them over
        self.connector_status: dict[int, str] = dict.fromkeys(range(connectors + 1), "Available")
        self.available = True
        self.online = False
        self.close_code: int | None = None
        self.connection_count = 0
        self.boot_status: str | None = None
        self.heartbeat_interval = int(self.configuration.get("HeartbeatInterval", "300"))
        self.rejected_time = False
        self.offline_queue: list[Any] = []
        self.last_stop_reason: str | None = None
        # Local authorization list (SendLocalList): idTag -> idTagInfo as on the wire.
        self.local_list: dict[str, dict[str, Any]] = {}
        self.local_list_version = 0
        self.reservations: dict[int, Reservation] = {}

        # Knobs for tests.
        self.received: list[ReceivedCall] = []
        # The central system's answers to our DataTransfers, in order.
        self.data_transfer_replies: list[dict[str, Any]] = []
        # The latest frames sent, exactly as on the wire.
        self.sent_frames: deque[str] = deque(maxlen=500)
        self.response_delay: float = 0.0
        self.reply_to: dict[str, str] = {}
        self.reject_charging_profiles = False
        self.auto_reconnect = False
        self.answer_pings = True

        self._link: _Link | None = None
        self._offline = False
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._reconnect_task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._consumed: set[int] = set()
        self._raw_replies: asyncio.Queue[list[Any]] = asyncio.Queue()
        self._followups: list[Followup] = []
        self._plugged: set[int] = set()
        self._pending_unavailable: set[int] = set()
        # StartTransactions queued while offline -> the local transaction id they stand for.
        self._offline_starts: dict[int, int] = {}
        self._offline_tx_count = 0

    async def __aenter__(self) -> SimulatedCharger:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.disconnect()

    # ------------------------------------------------------------------ derived state

    @property
    def serial_number(self) -> str:
        """Serial number derived from the identity: "NEXT-WS123456" -> "WS123456"."""
        return self.identity.split("-", 1)[-1][:25]

    @property
    def meter_interval(self) -> int:
        return int(self.configuration.get("MeterValueSampleInterval", "60") or 0) or 60

    @property
    def offered_current_a(self) -> float:
        limit = self.current_limit_a
        return (
            self.profile.max_current_a if limit is None else min(limit, self.profile.max_current_a)
        )

    def nominal_power_w(self) -> float:
        """Power drawn right now: phases x 230 V x offered current while charging, else 0."""
        if (
            self.transaction_id is None
            or self.connector_status.get(self.tx_connector) != "Charging"
        ):
            return 0.0
        return self.profile.phases * VOLTAGE * self.offered_current_a

    # ------------------------------------------------------------------ connection

    async def connect(self) -> None:
        """Open the websocket (raises aiohttp.WSServerHandshakeError on 4xx) and serve it."""
        await self._open()
        if self.boot_on_connect:
            await self.boot()

    async def _open(self) -> None:
        if self._link is not None and not self._link.finished.is_set():
            raise RuntimeError(f"{self.identity} is already connected")
        self._stopping = False
        http = aiohttp.ClientSession()
        headers = {}
        if self.password:
            headers["Authorization"] = basic_auth(self.identity, self.password)
        try:
            ws = await http.ws_connect(
                self.url,
                protocols=("ocpp1.6",),
                headers=headers,
                heartbeat=self.ws_heartbeat,
                autoping=False,
                ssl=self.ssl if self.ssl is not None else True,
            )
        except BaseException:
            await http.close()
            raise
        adapter = WebSocketAdapter(
            ws,
            lambda: self.answer_pings,
            vestel_layout if self.profile.pretty_frames else None,
            self.sent_frames.append,
        )
        loop = asyncio.get_running_loop()
        link = _Link(http, adapter, ChargePointSession(self, adapter), loop.create_future())
        self._link = link
        self.online = True
        self.close_code = None
        self.connection_count += 1
        self.log.info("connected to %s (subprotocol %s)", self.url, ws.protocol)
        self._spawn(self._read(link))
        link.worker = self._spawn(self._serve(link))
        await self._notify()

    async def disconnect(self) -> None:
        """Close the websocket cleanly (code 1000) and stop every background task."""
        self._stopping = True
        await self._close_link(1000)
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_closed(self) -> int | None:
        if self._link is not None:
            await self._link.finished.wait()
        return self.close_code

    async def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until online and at least `count` connections were made since creation."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.online and self.connection_count >= count)

    async def drop(self) -> None:
        """Simulate network loss: the TCP connection dies without a close frame."""
        link = self._link
        if link is None or link.closed.done():
            return
        self.online = False
        link.local_close_code = 1006
        link.adapter.abort()
        await link.finished.wait()

    def go_offline(self) -> None:
        """Lose the network and stay offline (no reconnect) until `reconnect()`."""
        self._offline = True
        self.online = False
        link = self._link
        if link is not None and not link.closed.done():
            link.local_close_code = 1006
            link.reconnect_after = False
            link.adapter.abort()

    async def reconnect(self, boot: bool | None = None) -> None:
        """Connect again, boot if the profile does, then replay the offline queue in order."""
        self._offline = False
        old = self._link
        if old is not None:
            if not old.closed.done():
                await self._close_link(1000)
            await old.finished.wait()
        await self._open()
        if boot is None:
            boot = self.boot_on_connect
            if boot is None:
                boot = self.profile.boot_on_reconnect
        if boot:
            await self.boot()
            for connector in range(1, self.connectors + 1):
                await self.status(self.connector_status[connector], connector)
        await self._replay_offline_queue()

    async def _replay_offline_queue(self) -> None:
        """Send what was queued offline, in order; an offline-started transaction gets the
        central system's transaction id, and is stopped if its tag turns out invalid."""
        deauthorize = False
        while self.offline_queue and self.online:
            payload = self.offline_queue[0]
            reply = await self._call(payload)
            self.offline_queue.pop(0)
            local_id = self._offline_starts.pop(id(payload), None)
            if local_id is None or not isinstance(payload, call.StartTransaction):
                continue
            real_id = int(reply["transactionId"])
            self.offline_queue = [
                replace(queued, transaction_id=real_id)
                if getattr(queued, "transaction_id", None) == local_id
                else queued
                for queued in self.offline_queue
            ]
            if self.transaction_id == local_id:
                self.transaction_id = real_id
                self.id_tag_status = reply.get("idTagInfo", {}).get("status")
                self.log.info("offline transaction is %s (%s)", real_id, self.id_tag_status)
                deauthorize = self._must_deauthorize()
        if deauthorize and self.online and self.transaction_id is not None:
            await self.stop_transaction(reason="DeAuthorized")

    async def _close_link(self, code: int, reconnect_after: bool = False) -> None:
        link = self._link
        if link is None:
            return
        if not link.closed.done() and link.local_close_code is None:  # not already aborting
            self.online = False
            link.local_close_code = code
            link.reconnect_after = reconnect_after
            link.graceful_close = True
            await link.adapter.ws.close(code=code)
            await link.http.close()
        await link.finished.wait()

    async def _read(self, link: _Link) -> None:
        try:
            while True:
                await self._dispatch(link, await link.adapter.recv())
        except (ConnectionError, aiohttp.ClientError) as err:
            self.log.debug("receive loop ended: %s", err)
        finally:
            await self._link_lost(link)

    async def _dispatch(self, link: _Link, text: str) -> None:
        self.frame_log.info("%s: receive %s", self.identity, text)
        try:
            frame = json.loads(text)
        except ValueError:
            self.log.warning("ignoring a frame that is not JSON: %.200s", text)
            return
        if not isinstance(frame, list) or len(frame) < 3 or not isinstance(frame[1], str):
            self._raw_replies.put_nowait(frame if isinstance(frame, list) else [frame])
            return
        if frame[0] == 2 and len(frame) >= 4:
            payload = frame[3] if isinstance(frame[3], dict) else {}
            self.received.append(ReceivedCall(str(frame[2]), payload, frame[1]))
            await self._notify()
            link.incoming.put_nowait(text)
        elif frame[0] in (3, 4) and frame[1] in link.pending:
            if frame[0] == 3 and isinstance(frame[2], dict):
                link.pending[frame[1]] = frame[2]
            await link.session.route_message(text)
        else:
            self._raw_replies.put_nowait(frame)

    async def _serve(self, link: _Link) -> None:
        """Answer the central system's calls one at a time, then start their follow-ups."""
        while True:
            text = await link.incoming.get()
            if self.response_delay:
                await asyncio.sleep(self.response_delay)
            self._followups = []
            try:
                await link.session.route_message(text)
            except (ConnectionError, aiohttp.ClientError) as err:
                self.log.warning("could not answer %.80s: %s", text, err)
                continue
            except Exception:
                self.log.exception("could not answer %.80s", text)
                continue
            followups, self._followups = self._followups, []
            for followup in followups:
                self._spawn(followup())

    async def _link_lost(self, link: _Link) -> None:
        code = link.local_close_code
        if code is None:
            code = link.adapter.ws.close_code or 1006
        if self._link is link:
            self.online = False
            self.close_code = code
        if not link.closed.done():
            link.closed.set_result(code)
        if link.worker is not None:
            link.worker.cancel()
        if not link.graceful_close:
            await link.adapter.ws.close()
            await link.http.close()
        link.finished.set()
        self.log.info("connection closed (code %s)", code)
        await self._notify()
        if self.auto_reconnect and link.reconnect_after and self._link is link:
            self._start_reconnecting()

    def _start_reconnecting(self) -> None:
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = self._spawn(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = 1.0
        while not (self._offline or self._stopping or self.online):
            self.log.info("reconnecting in %.0f s", delay)
            await asyncio.sleep(delay)  # back-off
            try:
                await self.reconnect()
            except _RECONNECT_ERRORS as err:
                self.log.warning("reconnect failed: %s", err)
                delay = min(delay * 2, 60.0)
            else:
                delay = 1.0

    # ------------------------------------------------------------------ plumbing

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except (ConnectionError, TimeoutError, OCPPError, aiohttp.ClientError) as err:
            self.log.warning("background step failed: %r", err)
        except Exception:
            self.log.exception("background step crashed")

    def _after(self, followup: Followup) -> None:
        """Run `followup` once the response to the call being handled has been sent."""
        self._followups.append(followup)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _call(self, payload: Any) -> dict[str, Any]:
        """Send a Call through ocpp and return the response payload as on the wire."""
        link = self._link
        if link is None or not self.online or link.closed.done():
            raise ConnectionError(f"{self.identity} is offline")
        unique_id = str(uuid.uuid4())
        link.pending[unique_id] = None
        request = asyncio.ensure_future(
            link.session.call(payload, suppress=False, unique_id=unique_id)
        )
        try:
            await asyncio.wait((request, link.closed), return_when=asyncio.FIRST_COMPLETED)
            if not request.done():
                raise ConnectionError(f"connection lost waiting for {type(payload).__name__}")
            request.result()  # raises the OCPPError of a CallError
            return link.pending[unique_id] or {}
        finally:
            request.cancel()
            link.pending.pop(unique_id, None)

    async def _send_or_queue(self, payload: Any) -> dict[str, Any] | None:
        if not self.online:
            self.log.info("offline: queued %s", type(payload).__name__)
            self.offline_queue.append(payload)
            return None
        return await self._call(payload)

    async def _check_server_time(self, reply: dict[str, Any]) -> None:
        """Webasto Next firmware drops the link if currentTime lacks fractional seconds."""
        current_time = str(reply.get("currentTime", ""))
        if self.profile.requires_fractional_time and not _FRACTIONAL_TIME.search(current_time):
            self.rejected_time = True
            self.log.warning("currentTime %r has no fractional seconds: dropping", current_time)
            await self._close_link(1002, reconnect_after=True)

    # ------------------------------------------------------------------ charger -> server

    async def boot(self) -> dict[str, Any]:
        serial = self.serial_number
        reply = await self._call(
            call.BootNotification(
                charge_point_model=self.profile.model,
                charge_point_vendor=self.profile.vendor,
                charge_point_serial_number=serial,
                charge_box_serial_number=serial,
                firmware_version=self.profile.firmware,
            )
        )
        self.boot_status = reply.get("status")
        if self.boot_status == "Accepted" and reply.get("interval"):
            self.heartbeat_interval = int(reply["interval"])
        self.log.info("BootNotification: %s", self.boot_status)
        await self._check_server_time(reply)
        if self.boot_status == "Accepted" and self.online:
            for message in self.profile.boot_data_transfers:
                try:
                    await self.data_transfer(
                        str(message["vendorId"]), message.get("messageId"), message.get("data")
                    )
                except OCPPError as err:
                    self.log.warning("DataTransfer after boot refused: %r", err)
        return reply

    async def data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None
    ) -> dict[str, Any]:
        """Send a DataTransfer; returns the central system's answer."""
        reply = await self._call(
            call.DataTransfer(vendor_id=vendor_id, message_id=message_id, data=data)
        )
        self.data_transfer_replies.append(reply)
        return reply

    async def heartbeat(self) -> dict[str, Any]:
        reply = await self._call(call.Heartbeat())
        await self._check_server_time(reply)
        return reply

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        return await self._call(call.Authorize(id_tag=id_tag))

    async def status(
        self,
        status: str,
        connector_id: int = 1,
        error_code: str = "NoError",
        info: str | None = None,
        timestamp: datetime | str | None = None,
    ) -> None:
        self.connector_status[connector_id] = status
        if not self.online:
            self.log.info("offline: connector %s is now %s (not sent)", connector_id, status)
            return
        self.log.info("connector %s: %s", connector_id, status)
        await self._call(
            call.StatusNotification(
                connector_id=connector_id,
                error_code=error_code,
                status=status,
                info=info,
                timestamp=iso_utc(timestamp),
            )
        )

    async def plug_in(self, connector_id: int = 1) -> None:
        self._plugged.add(connector_id)
        await self.status("Preparing", connector_id)

    async def unplug(self, connector_id: int = 1) -> None:
        if self.transaction_id is not None and self.tx_connector == connector_id:
            await self.stop_transaction(reason="EVDisconnected")
        self._plugged.discard(connector_id)
        await self.status(self._idle_status(connector_id), connector_id)

    async def start_transaction(
        self,
        id_tag: str = "TAG",
        connector_id: int = 1,
        meter_start: int | None = None,
        timestamp: datetime | str | None = None,
        *,
        reservation_id: int | None = None,
    ) -> int:
        """Start a transaction (no authorization here: see `present_card`).

        A reservation of the connector for `id_tag` (or `reservation_id`) is used up and its
        id sent along. If the answer's idTagInfo is not Accepted, the transaction is stopped
        at once with reason DeAuthorized (StopTransactionOnInvalidId, default true).
        """
        if not self.online:
            raise ConnectionError(f"{self.identity} cannot start a transaction while offline")
        if self.transaction_id is not None:
            raise RuntimeError(f"transaction {self.transaction_id} is still running")
        reservation = self._take_reservation(id_tag, connector_id, reservation_id)
        if meter_start is not None:
            self.register_wh = float(meter_start)
        elif not self.profile.lifetime_register:
            self.register_wh = 0.0
        reply = await self._call(
            call.StartTransaction(
                connector_id=connector_id,
                id_tag=id_tag,
                meter_start=round(self.register_wh),
                timestamp=iso_utc(timestamp),
                reservation_id=None if reservation is None else reservation.reservation_id,
            )
        )
        self.transaction_id = int(reply["transactionId"])
        self.id_tag = id_tag
        self.id_tag_status = reply.get("idTagInfo", {}).get("status")
        self.tx_connector = connector_id
        self._plugged.add(connector_id)
        self._recompute_limit()
        self.log.info("transaction %s started (%s)", self.transaction_id, self.id_tag_status)
        await self.status(self._charging_state(), connector_id)
        if self._must_deauthorize():
            self.log.info("transaction %s: tag not accepted, stopping", self.transaction_id)
            await self.stop_transaction(reason="DeAuthorized")
        return int(reply["transactionId"])

    def _must_deauthorize(self) -> bool:
        return (
            self.id_tag_status not in (None, "Accepted")
            and self.configuration.get("StopTransactionOnInvalidId", "true").strip().lower()
            != "false"
        )

    async def _start_offline(self, id_tag: str, connector_id: int, parent: str | None) -> None:
        """Start a transaction while offline: StartTransaction waits in the offline queue."""
        if self.transaction_id is not None:
            raise RuntimeError(f"transaction {self.transaction_id} is still running")
        reservation = self._take_reservation(id_tag, connector_id, None, parent)
        if not self.profile.lifetime_register:
            self.register_wh = 0.0
        payload = call.StartTransaction(
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start=round(self.register_wh),
            timestamp=iso_utc(),
            reservation_id=None if reservation is None else reservation.reservation_id,
        )
        # A negative id until the central system assigns one on reconnect.
        self._offline_tx_count += 1
        local_id = -self._offline_tx_count
        self._offline_starts[id(payload)] = local_id
        self.offline_queue.append(payload)
        self.log.info("offline: transaction started for %s, StartTransaction queued", id_tag)
        self.transaction_id = local_id
        self.id_tag = id_tag
        self.id_tag_status = None
        self.tx_connector = connector_id
        self._plugged.add(connector_id)
        self._recompute_limit()
        await self.status(self._charging_state(), connector_id)

    async def present_card(self, id_tag: str, connector_id: int = 1, *, start: bool = False) -> str:
        """Hold an RFID card to the reader; returns the resulting status.

        Online the charger asks the central system (Authorize) and returns its
        idTagInfo.status. Offline it decides from the local authorization list (when
        LocalAuthListEnabled, and LocalAuthorizeOffline is not false): the entry's status
        ("Expired" past its expiryDate), "Invalid" for a tag not on it. An accepted card at
        a connector reserved for another tag returns `REFUSED`.

        With `start`, an accepted card at a plugged-in connector without a transaction
        starts one (queued while offline); the result is then the StartTransaction
        answer's status (a refused tag's transaction is stopped again: DeAuthorized).
        """
        if self.online:
            reply = await self.authorize(id_tag)
            info = reply.get("idTagInfo", {})
            status = str(info.get("status", "Invalid"))
            parent = info.get("parentIdTag")
        else:
            status, parent = self._offline_authorization(id_tag)
        self.log.info("card %s at connector %s: %s", id_tag, connector_id, status)
        if status != "Accepted":
            return status
        if not self._may_use(id_tag, parent, connector_id):
            self.log.info("connector %s is reserved for another tag", connector_id)
            return REFUSED
        if (
            not start
            or connector_id not in self._plugged
            or self.transaction_id is not None
            or not self.available
        ):
            return status
        if not self.online:
            await self._start_offline(id_tag, connector_id, parent)
            return status
        reservation = self._matching_reservation(id_tag, parent, connector_id)
        await self.start_transaction(
            id_tag,
            connector_id,
            reservation_id=None if reservation is None else reservation.reservation_id,
        )
        return self.id_tag_status or status

    def local_authorization(self, id_tag: str) -> dict[str, Any] | None:
        """The local list's idTagInfo for a tag (compared case-insensitively), or None."""
        key = _tag_key(id_tag)
        return next((info for tag, info in self.local_list.items() if _tag_key(tag) == key), None)

    def _offline_authorization(self, id_tag: str) -> tuple[str, str | None]:
        if not self._local_list_usable() or (
            self.configuration.get("LocalAuthorizeOffline", "true").strip().lower() == "false"
        ):
            return "Invalid", None
        info = self.local_authorization(id_tag)
        if info is None:
            return "Invalid", None
        status = str(info.get("status", "Invalid"))
        expiry = info.get("expiryDate")
        if status == "Accepted" and expiry and _parse_time(str(expiry)) <= datetime.now(UTC):
            status = "Expired"
        return status, info.get("parentIdTag")

    async def meter_values(  # noqa: PLR0917
        self,
        power_w: float | None = None,
        energy_wh: float | None = None,
        connector_id: int = 1,
        timestamp: datetime | str | None = None,
        extra: list[dict[str, Any]] | None = None,
        transaction_id: int | EllipsisType | None = ...,
        *,
        context: str = "Sample.Periodic",
    ) -> None:
        """Send one full sample; without `energy_wh` the register advances by one interval."""
        if power_w is None:
            power_w = self.nominal_power_w()
        if energy_wh is None:
            self.register_wh += power_w * self.meter_interval / 3600
        else:
            self.register_wh = float(energy_wh)
        payload = call.MeterValues(
            connector_id=connector_id,
            transaction_id=self.transaction_id if transaction_id is ... else transaction_id,
            meter_value=[
                {
                    "timestamp": iso_utc(timestamp),
                    "sampledValue": [*self._sampled_values(power_w, context), *(extra or [])],
                }
            ],
        )
        await self._send_or_queue(payload)

    def _sampled_values(self, power_w: float, context: str) -> list[dict[str, Any]]:
        def sample(
            measurand: str, value: str, unit: str, phase: str | None = None
        ) -> dict[str, Any]:
            entry = {
                "value": value,
                "context": context,
                "format": "Raw",
                "measurand": measurand,
                "location": "Outlet",
                "unit": unit,
            }
            if phase:
                entry["phase"] = phase
            return entry

        if self.profile.energy_unit == "kWh":
            energy = f"{self.register_wh / 1000:.3f}"
        else:
            energy = f"{self.register_wh:.0f}"
        power = f"{power_w / 1000:.3f}" if self.profile.power_unit == "kW" else f"{power_w:.0f}"
        phases = self.profile.phases
        amps = power_w / (VOLTAGE * phases)
        values = [
            sample("Energy.Active.Import.Register", energy, self.profile.energy_unit),
            sample("Power.Active.Import", power, self.profile.power_unit),
        ]
        for index, phase in enumerate(("L1", "L2", "L3")):
            values.append(
                sample("Current.Import", f"{amps if index < phases else 0:.2f}", "A", phase)
            )
        for phase in ("L1-N", "L2-N", "L3-N"):
            values.append(sample("Voltage", f"{VOLTAGE:.1f}", "V", phase))
        values.append(sample("Current.Offered", f"{self.offered_current_a:.1f}", "A"))
        return values

    async def stop_transaction(
        self,
        reason: str = "Local",
        meter_stop: int | None = None,
        timestamp: datetime | str | None = None,
        transaction_data: list[Any] | None = None,
    ) -> dict[str, Any] | None:
        """Stop the running transaction; while offline it is queued and None is returned."""
        if self.transaction_id is None:
            raise RuntimeError("no transaction is running")
        if meter_stop is not None:
            self.register_wh = float(meter_stop)
        payload = call.StopTransaction(
            meter_stop=round(self.register_wh),
            timestamp=iso_utc(timestamp),
            transaction_id=self.transaction_id,
            reason=reason,
            id_tag=self.id_tag,
            transaction_data=transaction_data,
        )
        self.log.info("transaction %s stopped (%s)", self.transaction_id, reason)
        self.last_stop_reason = reason
        connector = self.tx_connector
        self.transaction_id = None
        self.id_tag = None
        self.charging_profiles = [
            p for p in self.charging_profiles if p["charging_profile_purpose"] != "TxProfile"
        ]
        self._recompute_limit()
        reply = await self._send_or_queue(payload)
        await self.status("Finishing", connector)
        if connector in self._pending_unavailable:
            await self._apply_availability([connector], operative=False)
        return reply

    async def charge(self, samples: int = 3, power_w: float = 11000.0, id_tag: str = "TAG") -> int:
        """Plug in, start a transaction and send `samples` meter values; returns the tx id."""
        await self.plug_in()
        transaction_id = await self.start_transaction(id_tag)
        for _ in range(samples):
            await self.meter_values(power_w)
        return transaction_id

    async def firmware_status(self, status: str) -> None:
        await self._call(call.FirmwareStatusNotification(status=status))

    async def diagnostics_status(self, status: str) -> None:
        await self._call(call.DiagnosticsStatusNotification(status=status))

    # ------------------------------------------------------------------ raw frames & waiting

    async def send_raw(self, text: str) -> None:
        """Send a frame as is, bypassing ocpp; its reply goes to `next_raw_reply()`."""
        if self._link is None or not self.online:
            raise ConnectionError(f"{self.identity} is offline")
        self.frame_log.info("%s: send raw %s", self.identity, text)
        await self._link.adapter.send(text)

    async def next_raw_reply(self, timeout: float = 5) -> list[Any]:
        async with asyncio.timeout(timeout):
            return await self._raw_replies.get()

    async def wait_for_call(self, action: str, timeout: float = 10) -> ReceivedCall:
        """Return the oldest not yet consumed call of `action`, waiting for one if needed."""
        async with asyncio.timeout(timeout), self._changed:
            while True:
                for index, received in enumerate(self.received):
                    if index not in self._consumed and received.action == action:
                        self._consumed.add(index)
                        return received
                await self._changed.wait()

    # ------------------------------------------------------------------ server -> charger logic

    def _read_configuration(self, keys: list[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
        max_keys = int(self.configuration.get("GetConfigurationMaxKeys", "0") or 0)
        if keys and max_keys and len(keys) > max_keys:
            raise OccurenceConstraintViolationError(
                description=f"GetConfiguration accepts at most {max_keys} key(s)"
            )
        known: list[dict[str, Any]] = []
        unknown: list[str] = []
        for key in keys or list(self.configuration):
            if key not in self.configuration:
                unknown.append(key)
                continue
            entry: dict[str, Any] = {"key": key, "readonly": key in self.profile.readonly_keys}
            if key not in self.profile.write_only_keys:
                entry["value"] = self.configuration[key]
            known.append(entry)
        return known, unknown

    def _change_configuration(self, key: str, value: str) -> str:
        if key not in self.configuration:
            return "NotSupported"
        current = self.configuration[key]
        allowed = self.profile.allowed_values.get(key)
        if key in self.profile.readonly_keys:
            return "Rejected"
        if allowed is not None:
            if value not in allowed:
                return "Rejected"
        elif current.lower() in ("true", "false"):
            if value.lower() not in ("true", "false"):
                return "Rejected"
            # Written the way this key is (Vestel mixes TRUE with False).
            if current.isupper():
                value = value.upper()
            elif current[0].isupper():
                value = value.capitalize()
            else:
                value = value.lower()
        elif current.isdigit() and not value.isdigit():
            return "Rejected"
        self.configuration[key] = value
        if key == "HeartbeatInterval":
            self.heartbeat_interval = int(value)
        self.log.info("configuration %s = %s", key, value)
        return "Accepted"

    def _set_charging_profile(self, connector_id: int, profile: dict[str, Any]) -> str:
        schedule = profile["charging_schedule"]
        periods = schedule["charging_schedule_period"]
        allowed_units = {
            _RATE_UNITS.get(unit.strip(), unit.strip())
            for unit in self.configuration.get("ChargingScheduleAllowedChargingRateUnit", "").split(
                ","
            )
        }
        max_periods = int(self.configuration.get("ChargingScheduleMaxPeriods", "0") or 0)
        purpose = profile["charging_profile_purpose"]
        if (
            self.reject_charging_profiles
            or connector_id > self.connectors
            or profile["stack_level"]
            > int(self.configuration.get("ChargeProfileMaxStackLevel", "8"))
            or schedule["charging_rate_unit"] not in allowed_units
            or (max_periods and len(periods) > max_periods)
            or (purpose == "TxProfile" and self.transaction_id is None)
        ):
            return "Rejected"
        kept = [
            p
            for p in self.charging_profiles
            if p["charging_profile_id"] != profile["charging_profile_id"]
            and not (
                p["charging_profile_purpose"] == purpose
                and p["stack_level"] == profile["stack_level"]
                and p["connector_id"] == connector_id
            )
        ]
        if len(kept) >= int(self.configuration.get("MaxChargingProfilesInstalled", "10")):
            return "Rejected"
        self.charging_profiles = [*kept, {**profile, "connector_id": connector_id}]
        self._recompute_limit()
        self.log.info("charging limit now %s A", self.current_limit_a)
        return "Accepted"

    def _clear_charging_profiles(
        self,
        profile_id: int | None,
        connector_id: int | None,
        purpose: str | None,
        stack_level: int | None,
    ) -> str:
        def matches(p: dict[str, Any]) -> bool:
            return (
                (profile_id is None or p["charging_profile_id"] == profile_id)
                and (connector_id is None or p["connector_id"] == connector_id)
                and (purpose is None or p["charging_profile_purpose"] == purpose)
                and (stack_level is None or p["stack_level"] == stack_level)
            )

        self.charging_profiles = [p for p in self.charging_profiles if not matches(p)]
        self._recompute_limit()
        self.log.info("charging limit now %s A", self.current_limit_a)
        return "Accepted"

    def _recompute_limit(self) -> None:
        """TxProfile (else TxDefaultProfile), capped by ChargePointMaxProfile; first period."""

        def top(purpose: str) -> float | None:
            candidates = [
                p
                for p in self.charging_profiles
                if p["charging_profile_purpose"] == purpose
                and p.get("transaction_id") in (None, self.transaction_id)
            ]
            if not candidates:
                return None
            schedule = max(candidates, key=lambda p: p["stack_level"])["charging_schedule"]
            period = min(schedule["charging_schedule_period"], key=lambda p: p["start_period"])
            limit = float(period["limit"])
            if schedule["charging_rate_unit"] == "W":
                limit /= VOLTAGE * (period.get("number_phases") or self.profile.phases)
            return round(limit, 1)

        tx_limit = top("TxProfile") if self.transaction_id is not None else None
        if tx_limit is None:
            tx_limit = top("TxDefaultProfile")
        limits = [v for v in (top("ChargePointMaxProfile"), tx_limit) if v is not None]
        self.current_limit_a = min(limits) if limits else None

    def _charging_state(self) -> str:
        return "SuspendedEVSE" if self.current_limit_a == 0 else "Charging"

    async def _apply_limit(self) -> None:
        """Suspend at a 0 A limit, resume when the limit rises again."""
        if self.transaction_id is None:
            return
        state = self.connector_status.get(self.tx_connector)
        if state in ("Charging", "SuspendedEVSE") and state != self._charging_state():
            await self.status(self._charging_state(), self.tx_connector)

    async def _apply_availability(self, connectors: Iterable[int], operative: bool) -> None:
        self.available = operative
        for connector in connectors:
            self._pending_unavailable.discard(connector)
            await self.status(self._idle_status(connector), connector)

    def _change_availability(self, connector_id: int, kind: str) -> str:
        if connector_id > self.connectors:
            return "Rejected"
        targets = list(range(1, self.connectors + 1)) if connector_id == 0 else [connector_id]
        if (
            kind == "Inoperative"
            and self.transaction_id is not None
            and self.tx_connector in targets
        ):
            self._pending_unavailable.update(targets)
            return "Scheduled"
        self._after(lambda: self._apply_availability(targets, operative=kind == "Operative"))
        return "Accepted"

    async def _remote_start(
        self, id_tag: str, connector_id: int, profile: dict[str, Any] | None
    ) -> None:
        if self.configuration.get("AuthorizeRemoteTxRequests", "false").lower() == "true":
            reply = await self.authorize(id_tag)
            if reply.get("idTagInfo", {}).get("status") != "Accepted":
                self.log.warning("remote start for %s not authorized", id_tag)
                return
        if self.connector_status.get(connector_id) != "Preparing":
            await self.plug_in(connector_id)
        transaction_id = await self.start_transaction(id_tag, connector_id)
        if self.transaction_id is None:
            return  # stopped again: the tag was not accepted
        if profile is not None:
            self._set_charging_profile(connector_id, {**profile, "transaction_id": transaction_id})
            await self._apply_limit()

    async def _unlock(self, connector_id: int) -> None:
        if self.transaction_id is not None and self.tx_connector == connector_id:
            await self.stop_transaction(reason="UnlockCommand")

    async def _reboot(self, kind: str) -> None:
        self.log.info("%s reset", kind)
        if self.transaction_id is not None:
            await self.stop_transaction(reason=f"{kind}Reset")
        await self._close_link(1000)
        self._plugged.clear()
        for connector in range(1, self.connectors + 1):
            self.connector_status[connector] = self._idle_status(connector)
        try:
            await self.reconnect(boot=True)
        except _RECONNECT_ERRORS as err:
            self.log.warning("reconnect after reset failed: %s", err)
            if self.auto_reconnect:
                self._start_reconnecting()

    async def _update_firmware(self) -> None:
        for status in ("Downloading", "Downloaded", "Installing", "Installed"):
            await self.firmware_status(status)

    async def _upload_diagnostics(self) -> None:
        for status in ("Uploading", "Uploaded"):
            await self.diagnostics_status(status)

    # ------------------------------------------------------------------ feature profiles

    def supports(self, feature_profile: str) -> bool:
        """True if SupportedFeatureProfiles lists it (a charger without the key: Core only)."""
        listed = self.configuration.get("SupportedFeatureProfiles", "Core")
        return feature_profile.lower() in {p.strip().lower() for p in listed.split(",")}

    def _flag(self, key: str, default: bool) -> bool:
        value = self.configuration.get(key, "").strip().lower()
        return default if value not in ("true", "false") else value == "true"

    def _limit(self, key: str) -> int:
        value = self.configuration.get(key, "").strip()
        return int(value) if value.isdigit() else 0

    # ------------------------------------------------------------------ local list

    def _local_list_usable(self) -> bool:
        return self.supports("LocalAuthListManagement") and self._flag(
            "LocalAuthListEnabled", default=False
        )

    def _get_local_list_version(self) -> int:
        """-1: no local list on this charger (OCPP); else the version last accepted."""
        return self.local_list_version if self._local_list_usable() else -1

    def _send_local_list(
        self, version: int, update_type: str, entries: list[dict[str, Any]]
    ) -> str:
        """Apply a SendLocalList (entries as ocpp hands them over, snake_case)."""
        if not self._local_list_usable():
            return "NotSupported"
        keys = [_tag_key(str(entry["id_tag"])) for entry in entries]
        max_send = self._limit("SendLocalListMaxLength")
        if version < 1 or (max_send and len(entries) > max_send) or len(set(keys)) != len(keys):
            return "Failed"
        if update_type == "Differential":
            if version <= self.local_list_version:
                return "VersionMismatch"
            updated = dict(self.local_list)
        else:
            updated = {}
        for entry in entries:
            tag = str(entry["id_tag"])
            for existing in [t for t in updated if _tag_key(t) == _tag_key(tag)]:
                del updated[existing]
            info = entry.get("id_tag_info")
            if info:  # Differential: an entry without idTagInfo removes the tag
                updated[tag] = {
                    wire: info[name]
                    for name, wire in _ID_TAG_INFO_FIELDS.items()
                    if info.get(name) is not None
                }
        max_length = self._limit("LocalAuthListMaxLength")
        if max_length and len(updated) > max_length:
            return "Failed"
        self.local_list = updated
        self.local_list_version = version
        self.log.info("local list version %s: %s tag(s)", version, len(updated))
        return "Accepted"

    # ------------------------------------------------------------------ reservations

    def _live_reservations(self) -> list[Reservation]:
        now = datetime.now(UTC)
        return [r for r in self.reservations.values() if r.expiry > now]

    def reservation_on(self, connector_id: int) -> Reservation | None:
        """The unexpired reservation of a connector (not counting connector 0), if any."""
        return next((r for r in self._live_reservations() if r.connector_id == connector_id), None)

    def _idle_status(self, connector_id: int) -> str:
        """The status of a connector without a transaction."""
        if not self.available:
            return "Unavailable"
        if connector_id in self._plugged:
            return "Preparing"
        if self.reservation_on(connector_id) is not None:
            return "Reserved"
        return "Available"

    def _matching_reservation(
        self, id_tag: str, parent: str | None, connector_id: int
    ) -> Reservation | None:
        own = self.reservation_on(connector_id)
        if own is not None:
            return own if own.matches(id_tag, parent) else None
        return next(
            (
                r
                for r in self._live_reservations()
                if r.connector_id == 0 and r.matches(id_tag, parent)
            ),
            None,
        )

    def _may_use(self, id_tag: str, parent: str | None, connector_id: int) -> bool:
        """False if a reservation for another tag holds this connector (or, through
        connector 0 reservations, every connector that would be left)."""
        own = self.reservation_on(connector_id)
        if own is not None:
            return own.matches(id_tag, parent)
        others = [
            r
            for r in self._live_reservations()
            if r.connector_id == 0 and not r.matches(id_tag, parent)
        ]
        if not others:
            return True
        free = [
            c
            for c in range(1, self.connectors + 1)
            if c != connector_id
            and self.connector_status.get(c) == "Available"
            and self.reservation_on(c) is None
        ]
        return len(free) >= len(others)

    def _take_reservation(
        self,
        id_tag: str,
        connector_id: int,
        reservation_id: int | None,
        parent: str | None = None,
    ) -> Reservation | None:
        """Use up the reservation a transaction starts under, if any."""
        if reservation_id is not None:
            reservation = self.reservations.get(reservation_id)
        else:
            reservation = self._matching_reservation(id_tag, parent, connector_id)
        if reservation is not None:
            del self.reservations[reservation.reservation_id]
            self.log.info("reservation %s used", reservation.reservation_id)
        return reservation

    def _reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
    ) -> str:
        if not self.supports("Reservation") or connector_id > self.connectors:
            return "Rejected"
        try:
            expiry = _parse_time(expiry_date)
        except ValueError:
            return "Rejected"
        if expiry <= datetime.now(UTC):
            return "Rejected"
        if connector_id == 0:
            if not self._flag("ReserveConnectorZeroSupported", default=False):
                return "Rejected"
            targets = list(range(1, self.connectors + 1))
        else:
            targets = [connector_id]
        states = [self.connector_status.get(c, "Available") for c in targets]
        if all(state == "Faulted" for state in states):
            return "Faulted"
        if not self.available or all(state == "Unavailable" for state in states):
            return "Unavailable"
        free = [
            c
            for c in targets
            if self.connector_status.get(c) not in _OCCUPIED
            and not (self.transaction_id is not None and self.tx_connector == c)
            and self.connector_status.get(c) not in ("Faulted", "Unavailable")
            and ((held := self.reservation_on(c)) is None or held.reservation_id == reservation_id)
        ]
        if not free:
            return "Occupied"
        previous = self.reservations.get(reservation_id)
        reservation = Reservation(reservation_id, connector_id, id_tag, expiry, parent_id_tag)
        self.reservations[reservation_id] = reservation
        self.log.info("connector %s reserved for %s until %s", connector_id, id_tag, expiry)
        self._spawn(self._expire_reservation(reservation))

        async def announce() -> None:
            if previous is not None and previous.connector_id not in (0, connector_id):
                await self._release(previous.connector_id)
            if connector_id != 0:
                await self.status("Reserved", connector_id)

        self._after(announce)
        return "Accepted"

    def _cancel_reservation(self, reservation_id: int) -> str:
        reservation = self.reservations.pop(reservation_id, None)
        if reservation is None or not self.supports("Reservation"):
            return "Rejected"
        self.log.info("reservation %s cancelled", reservation_id)

        async def release() -> None:
            await self._release(reservation.connector_id)

        self._after(release)
        return "Accepted"

    async def _release(self, connector_id: int) -> None:
        """A reservation ended: a Reserved connector becomes available again."""
        if connector_id != 0 and self.connector_status.get(connector_id) == "Reserved":
            await self.status(self._idle_status(connector_id), connector_id)

    async def _expire_reservation(self, reservation: Reservation) -> None:
        await asyncio.sleep(max(0.0, (reservation.expiry - datetime.now(UTC)).total_seconds()))
        if self.reservations.get(reservation.reservation_id) is reservation:
            del self.reservations[reservation.reservation_id]
            self.log.info("reservation %s expired", reservation.reservation_id)
            await self._release(reservation.connector_id)

    def _trigger(self, message: str, connector_id: int | None) -> Followup | None:
        """The follow-up that sends a triggered message, None if it cannot be triggered."""
        connectors = (
            [connector_id] if connector_id is not None else list(range(self.connectors + 1))
        )

        async def statuses() -> None:
            for connector in connectors:
                await self.status(self.connector_status.get(connector, "Available"), connector)

        async def meter_values() -> None:
            power = self.nominal_power_w()
            await self.meter_values(power, self.register_wh, connector_id or 1, context="Trigger")

        async def boot() -> None:
            await self.boot()

        async def heartbeat() -> None:
            await self.heartbeat()

        triggers: dict[str, Followup] = {
            "BootNotification": boot,
            "Heartbeat": heartbeat,
            "StatusNotification": statuses,
            "MeterValues": meter_values,
            "FirmwareStatusNotification": lambda: self.firmware_status("Idle"),
            "DiagnosticsStatusNotification": lambda: self.diagnostics_status("Idle"),
        }
        return triggers.get(message)
