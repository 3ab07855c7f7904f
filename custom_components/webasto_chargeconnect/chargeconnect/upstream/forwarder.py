"""Forwarding a charger's OCPP 1.6J traffic to its original backend (e.g. Webasto's cloud).

Home Assistant is the charger's central system; :class:`UpstreamLink` additionally plays
that charger towards a second backend, so that the backend's app keeps working:

- Every Call the charger sent and we answered is forwarded upstream with the charger's
  own payload. We stay the authority: the charger already has our answer, the backend's
  answer is only used to learn ITS transaction ids (and logged when it refuses).
- Transaction ids: the backend answers StartTransaction with its own id; a persisted map
  ours <-> theirs rewrites ``transactionId`` in MeterValues and StopTransaction going up,
  and in RemoteStopTransaction / SetChargingProfile coming down.
- Calls from the backend are passed to the charger and its answer (or CallError) returned.
- The backend is never waited for. Billing messages (StartTransaction, MeterValues with a
  transaction, StopTransaction) are queued in order and persisted in a
  :class:`~..storage.StateStore`; they are replayed after an outage or a restart and
  removed only once the backend answered them. Other messages are dropped while the
  backend is unreachable; on every (re)connect the backend gets the latest
  BootNotification and StatusNotification per connector, so it sees the current state.

The websocket URL is the configured URL with the charge box identity appended as the last
path segment (``wss://host/ocpp`` -> ``wss://host/ocpp/NEXT-WS123456``), unless the URL
already ends with it: that is how OCPP-J backends, Webasto's included, address a charger.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
import contextlib
import copy
from dataclasses import dataclass
from datetime import datetime
import logging
import random
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit
import uuid

import aiohttp

from ..basic_auth import encode_basic_auth
from ..callbacks import Callbacks
from ..exceptions import (
    CallErrorResponse,
    CallTimeoutError,
    ChargeConnectError,
    ChargerOfflineError,
)
from ..models import ConnectorStatus
from ..ocpp import validation
from ..ocpp.endpoint import FrameError, OcppEndpoint
from ..storage import StateStore
from ..timeutil import format_ocpp_time, utcnow

if TYPE_CHECKING:
    from ..ocpp.charger import Charger

_LOGGER = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
STORAGE_VERSION = 1
# aiohttp's own limit for a websocket message: the backend's frames are not cut shorter.
_BACKEND_MAX_FRAME = 4 * 1024 * 1024
# Messages whose loss would falsify the backend's billing: queued and persisted.
_BILLING = frozenset({"StartTransaction", "MeterValues", "StopTransaction"})
# Configuration keys that decide how the charger reaches US: never changed from upstream.
PROTECTED_KEYS = frozenset({"authorizationkey", "securityprofile"})
# How many finished transactions keep their id mapping (a late RemoteStop still maps).
_KEEP_FINISHED = 10

Listener = Callable[[], None]


class UpstreamConfigError(ChargeConnectError):
    """The backend URL cannot be used."""

    translation_key = "upstream_invalid_url"

    def __init__(self, url: str) -> None:
        super().__init__(f"The backend URL {url!r} must start with ws:// or wss://", url=url)


@dataclass
class UpstreamConfig:
    """Where and how to reach the charger's original backend."""

    url: str
    username: str | None = None  # default: the charge box identity
    password: str | None = None  # HTTP Basic password (OCPP security profile 1/2)
    allow_control: bool = True  # pass the backend's commands to the charger
    verify_tls: bool = True
    ssl_context: ssl.SSLContext | None = None
    # Reconnect back-off: reconnect_min doubling up to reconnect_max (with jitter), seconds.
    reconnect_min: float = 1.0
    reconnect_max: float = 300.0
    # How long the backend may take to answer one of our Calls before we reconnect.
    call_timeout: float = 30.0
    # Websocket ping interval (None: no pings).
    ping_interval: float | None = 60.0
    # Most billing messages kept during an outage; beyond it the oldest MeterValues go.
    max_queue: int = 2000

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url.strip()).scheme.lower()
        if scheme not in ("ws", "wss"):
            raise UpstreamConfigError(self.url)
        self.url = self.url.strip()


def upstream_url(url: str, identity: str) -> str:
    """The websocket URL for ``identity``: the identity is the last path segment."""
    base = url.rstrip("/")
    last = unquote(urlsplit(base).path.rstrip("/").rsplit("/", 1)[-1])
    if last == identity:
        return base
    return f"{base}/{quote(identity, safe='')}"


class _LinkLostError(Exception):
    """The websocket to the backend closed or stopped answering."""


class _UpstreamCallError(Exception):
    """The backend answered one of our Calls with a CallError."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class _Backend(OcppEndpoint):
    """The websocket to the backend, seen from the charger we play."""

    SEND_ERRORS = (aiohttp.ClientError, ConnectionError, RuntimeError)

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        identity: str,
        *,
        logger: logging.Logger,
        call_timeout: float,
        on_call: Callable[[_Backend, str, str, Any], None],
    ) -> None:
        super().__init__(
            identity,
            ws.send_str,
            logger=logger,
            call_timeout=call_timeout,
            max_frame_size=_BACKEND_MAX_FRAME,
            new_id=lambda: str(uuid.uuid4()),
        )
        self.ws = ws
        self._on_call = on_call

    @property
    def closed(self) -> bool:
        return self._closed or self.ws.closed

    async def handle_call(self, unique_id: str, action: str, payload: Any) -> None:
        self._on_call(self, unique_id, action, payload)

    async def frame_rejected(self, err: FrameError) -> None:
        # Logged, not answered: the backend is not the party whose frames we police.
        if err.not_json:
            self._logger.warning("%s: backend sent a frame that is not JSON", self.name)
        else:
            self._logger.warning("%s: backend sent a malformed frame", self.name)

    def call_error(self, action: str, code: Any, description: str) -> Exception:
        return _UpstreamCallError(str(code), description)

    def closed_error(self, action: str) -> Exception:
        return _LinkLostError("websocket closed")

    def send_failed(self, action: str, err: Exception) -> Exception:
        return _LinkLostError(f"cannot send {action}: {err}")

    def timed_out(self, action: str, timeout: float) -> Exception:
        return _LinkLostError(f"no answer to {action} within {timeout:g} s")


def _is_billing(action: str, payload: dict[str, Any]) -> bool:
    if action == "MeterValues":
        return payload.get("transactionId") is not None
    return action in _BILLING


class UpstreamLink:
    """Forwards one charger to its original backend and the backend's commands back."""

    # Defaults for the back-off when the config does not override them (tests may lower).
    RECONNECT_MIN = 1.0
    RECONNECT_MAX = 300.0
    # Longest delay before an answered MeterValues is removed from the stored queue (s).
    SAVE_INTERVAL = 1.0

    def __init__(
        self,
        charger: Charger,
        session: aiohttp.ClientSession,
        config: UpstreamConfig,
        store: StateStore,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.charger = charger
        self.config = config
        self.allow_control = config.allow_control
        self._session = session
        self._store = store
        self._logger = logger or _LOGGER
        self.url = upstream_url(config.url, charger.identity)

        # Status for sensors.
        self.connected = False
        self.last_error: str | None = None
        self.last_error_time: datetime | None = None
        self.down_since: datetime | None = None
        self.messages_sent = 0

        self._listeners: Callbacks[[]] = Callbacks(
            self._logger, f"{charger.identity}: an upstream listener"
        )
        self._remove_observer: Callable[[], None] | None = None
        # Outbox in arrival order; billing items are also persisted.
        self._queue: deque[dict[str, Any]] = deque()
        self._in_flight: dict[str, Any] | None = None
        self._next_seq = 1
        # Our transaction id -> theirs (None: the backend refused or never knew it).
        self._tx_map: dict[int, int | None] = {}
        self._finished: deque[int] = deque()
        self._latest_boot: dict[str, Any] | None = None
        self._latest_status: dict[int, dict[str, Any]] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._backend: _Backend | None = None
        self._wakeup = asyncio.Event()
        self._retry_now = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._save_task: asyncio.Task[None] | None = None
        self._save_urgent = asyncio.Event()
        self._dirty = False
        self._stopping = False
        self._trim_logged = False
        self._heartbeat_interval: float | None = None
        self._last_sent = 0.0

    # ---------------------------------------------------------------- status
    @property
    def queued(self) -> int:
        """Messages waiting for the backend (billing messages survive a restart)."""
        return len(self._queue)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every change of the status; returns a remover."""
        return self._listeners.add(listener)

    def _notify(self) -> None:
        self._listeners()

    def _set_error(self, message: str) -> None:
        self.last_error = message
        self.last_error_time = utcnow()
        self._notify()

    def their_transaction_id(self, ours: int) -> int | None:
        """The backend's id for our transaction, if it gave one."""
        return self._tx_map.get(ours)

    @property
    def display_url(self) -> str:
        """The websocket URL without any credentials in it (for logs and diagnostics)."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot for diagnostics (no credentials)."""
        return {
            "url": self.display_url,
            "connected": self.connected,
            "queued": self.queued,
            "allow_control": self.allow_control,
            "last_error": self.last_error,
            "last_error_time": format_ocpp_time(self.last_error_time)
            if self.last_error_time
            else None,
            "down_since": format_ocpp_time(self.down_since) if self.down_since else None,
            "messages_sent": self.messages_sent,
            "transactions_mapped": len(self._tx_map),
        }

    # -------------------------------------------------------------- lifecycle
    async def async_start(self) -> None:
        """Restore the queue, watch the charger and start connecting."""
        if self._runner is not None:
            return
        self._stopping = False
        await self._load()
        self._remove_observer = self.charger.add_call_observer(self._observe)
        self.down_since = utcnow()
        self._runner = asyncio.get_running_loop().create_task(self._run())
        self._notify()

    async def async_stop(self) -> None:
        """Disconnect, stop watching the charger and write the queue."""
        self._stopping = True
        if self._remove_observer is not None:
            self._remove_observer()
            self._remove_observer = None
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        waiting = [t for t in (runner, *tasks) if t is not None]
        await asyncio.gather(*waiting, return_exceptions=True)
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()
        self._ws = None
        if self.connected:
            self.connected = False
            self.down_since = utcnow()
        self._save_urgent.set()
        if self._save_task is not None:
            await asyncio.gather(self._save_task, return_exceptions=True)
        await self._save_now()
        self._notify()

    async def async_flush(self) -> None:
        """Wait until the queue and the transaction map are written."""
        self._save_urgent.set()
        if self._save_task is not None:
            await asyncio.gather(self._save_task, return_exceptions=True)

    def reconnect_now(self) -> None:
        """Skip the current back-off wait and try to connect at once."""
        self._retry_now.set()

    # ------------------------------------------------------------ persistence
    async def _load(self) -> None:
        self._queue.clear()
        self._tx_map.clear()
        self._finished.clear()
        data = await self._store.async_load()
        if not isinstance(data, dict):
            return
        for item in data.get("queue", []):
            if isinstance(item, dict) and isinstance(item.get("payload"), dict):
                self._queue.append(
                    {
                        "seq": int(item.get("seq", 0)),
                        "action": str(item["action"]),
                        "payload": item["payload"],
                        "tx": item.get("tx"),
                        "billing": True,
                    }
                )
        for ours, theirs in (data.get("transactions") or {}).items():
            self._tx_map[int(ours)] = theirs if isinstance(theirs, int) else None
        self._finished.extend(int(t) for t in data.get("finished", []) if int(t) in self._tx_map)
        seqs = [item["seq"] for item in self._queue]
        self._next_seq = max([int(data.get("next_seq", 1)), *(s + 1 for s in seqs)])

    def _snapshot(self) -> dict[str, Any]:
        return {
            "version": STORAGE_VERSION,
            "next_seq": self._next_seq,
            "queue": [
                {k: item[k] for k in ("seq", "action", "payload", "tx")}
                for item in self._queue
                if item["billing"]
            ],
            "transactions": {str(k): v for k, v in self._tx_map.items()},
            "finished": list(self._finished),
        }

    def _schedule_save(self, urgent: bool = True) -> None:
        """Write soon; writes never overlap and the last state always gets written.

        Urgent changes (a new message, a new id mapping) are written at once; removals of
        answered MeterValues wait up to SAVE_INTERVAL (a crash then replays a few of them
        again: at-least-once) so that draining a long queue does not rewrite it each time.
        """
        self._dirty = True
        if urgent:
            self._save_urgent.set()
        if self._save_task is None or self._save_task.done():
            self._save_task = asyncio.get_running_loop().create_task(self._save_loop())

    async def _save_loop(self) -> None:
        while self._dirty:
            self._dirty = False
            self._save_urgent.clear()
            await self._save_now()
            if self._dirty and not self._save_urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.SAVE_INTERVAL):
                        await self._save_urgent.wait()

    async def _save_now(self) -> None:
        try:
            await self._store.async_save(self._snapshot())
        except Exception:
            self._logger.exception("%s: cannot save the upstream queue", self.charger.identity)

    # ----------------------------------------------------- charger -> upstream
    def _observe(self, action: str, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        """A Call from the charger that we answered (synchronous, on the loop)."""
        payload = copy.deepcopy(payload)
        if action == "BootNotification":
            self._latest_boot = payload
        elif action == "StatusNotification":
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._latest_status[int(payload["connectorId"])] = payload
        billing = _is_billing(action, payload)
        if not billing and not self.connected:
            return  # dropped: the backend gets the latest Boot/Status on reconnect
        tx: int | None = None
        if action == "StartTransaction":
            value = answer.get("transactionId")
            tx = value if isinstance(value, int) else None
            if tx is None:
                return
        elif billing:
            value = payload.get("transactionId")
            tx = value if isinstance(value, int) else None
        self._queue.append(
            {
                "seq": self._next_seq,
                "action": action,
                "payload": payload,
                "tx": tx,
                "billing": billing,
            }
        )
        self._next_seq += 1
        if billing:
            self._trim()
            self._schedule_save()
        self._wakeup.set()
        self._notify()

    def _trim(self) -> None:
        """Keep at most ``max_queue`` billing messages: drop the oldest MeterValues."""
        billing = sum(1 for item in self._queue if item["billing"])
        while billing > self.config.max_queue:
            victim = next(
                (
                    item
                    for item in self._queue
                    if item["action"] == "MeterValues" and item is not self._in_flight
                ),
                None,
            )
            if victim is None:
                return
            self._queue.remove(victim)
            billing -= 1
            if not self._trim_logged:
                self._trim_logged = True
                self._logger.warning(
                    "%s: more than %s messages wait for the backend; dropping the oldest "
                    "MeterValues (transaction starts and stops are kept)",
                    self.charger.identity,
                    self.config.max_queue,
                )

    # ------------------------------------------------------------ connection
    def _ssl(self) -> ssl.SSLContext | bool:
        if self.config.ssl_context is not None:
            return self.config.ssl_context
        return self.config.verify_tls

    def _headers(self) -> dict[str, str]:
        if not self.config.password:
            return {}
        username = self.config.username or self.charger.identity
        return {"Authorization": encode_basic_auth(username, self.config.password)}

    def _backoff(self, failures: int) -> float:
        low = self.config.reconnect_min if self.config.reconnect_min > 0 else self.RECONNECT_MIN
        high = self.config.reconnect_max if self.config.reconnect_max > 0 else self.RECONNECT_MAX
        delay: float = min(high, low * 2 ** min(failures, 30))
        return delay * random.uniform(0.5, 1.0)

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                async with asyncio.timeout(self.config.call_timeout):
                    ws = await self._session.ws_connect(
                        self.url,
                        protocols=(SUBPROTOCOL,),
                        headers=self._headers(),
                        ssl=self._ssl(),
                        heartbeat=self.config.ping_interval,
                    )
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._set_error(self._describe_connect_error(err))
                self._logger.debug("%s: upstream connect failed: %s", self.charger.identity, err)
                await self._wait_retry(self._backoff(failures))
                failures += 1
                continue
            failures = 0
            try:
                await self._serve(ws)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a bug must not end forwarding for good
                self._logger.exception("%s: upstream connection failed", self.charger.identity)
                self._set_error(f"Forwarding failed: {err!r}")
            if not self._stopping:
                await self._wait_retry(self._backoff(0))

    async def _wait_retry(self, delay: float) -> None:
        self._retry_now.clear()
        try:
            async with asyncio.timeout(delay):
                await self._retry_now.wait()
        except TimeoutError:
            pass

    def _describe_connect_error(self, err: BaseException) -> str:
        if isinstance(err, aiohttp.WSServerHandshakeError):
            if err.status in (401, 403):
                return f"The backend refused the charger's credentials (HTTP {err.status})"
            if err.status == 404:
                return "The backend does not know this charger (HTTP 404)"
            return f"The backend refused the connection (HTTP {err.status})"
        if isinstance(err, aiohttp.ClientConnectorCertificateError):
            return f"The backend's TLS certificate is not trusted: {err.certificate_error}"
        if isinstance(err, aiohttp.ClientConnectorError):
            return f"Cannot reach the backend: {err.os_error.strerror or err.os_error}"
        if isinstance(err, TimeoutError):
            return "The backend did not answer the connection in time"
        return f"Cannot connect to the backend: {err}"

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """One websocket session with the backend."""
        identity = self.charger.identity
        self._ws = ws
        self.connected = True
        self.down_since = None
        self._trim_logged = False
        self._heartbeat_interval = None
        if ws.protocol != SUBPROTOCOL:
            self._logger.info(
                "%s: the backend did not confirm subprotocol %s", identity, SUBPROTOCOL
            )
        self._logger.info("%s: connected to the backend %s", identity, self.display_url)
        self._notify()
        self._backend = _Backend(
            ws,
            identity,
            logger=self._logger,
            call_timeout=self.config.call_timeout,
            on_call=self._on_backend_call,
        )
        reader = asyncio.get_running_loop().create_task(self._read(self._backend))
        try:
            await self._announce(ws)
            await self._drain(ws, reader)
        except _LinkLostError as err:
            if not self._stopping:
                self._logger.info("%s: backend connection lost: %s", identity, err)
                self._set_error(f"Connection to the backend lost: {err}")
        except aiohttp.ClientError as err:
            if not self._stopping:
                self._set_error(f"Connection to the backend lost: {err}")
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            self._backend.fail_pending(lambda _action: _LinkLostError("connection closed"))
            if not ws.closed:
                await ws.close()
            self._ws = None
            self._backend = None
            self._in_flight = None
            # Only billing messages wait for the next connection.
            kept = [item for item in self._queue if item["billing"]]
            self._queue = deque(kept)
            self.connected = False
            self.down_since = utcnow()
            self._notify()

    async def _read(self, backend: _Backend) -> None:
        ws = backend.ws
        try:
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    await backend.handle_frame(str(message.data))
                elif message.type is aiohttp.WSMsgType.BINARY:
                    await backend.handle_frame(bytes(message.data).decode("utf-8", "replace"))
                elif message.type is aiohttp.WSMsgType.ERROR:
                    break
        finally:
            reason = f"websocket closed (code {ws.close_code})"
            backend.fail_pending(lambda _action: _LinkLostError(reason))
            self._wakeup.set()

    def _on_backend_call(
        self, backend: _Backend, unique_id: str, action: str, payload: Any
    ) -> None:
        self._spawn(self._handle_upstream_call(backend, unique_id, action, payload))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(
        self, ws: aiohttp.ClientWebSocketResponse, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Send one Call to the backend and wait for its answer."""
        backend = self._backend
        if backend is None or backend.ws is not ws:
            raise _LinkLostError("websocket closed")
        answer = await backend.call(action, payload)
        self._last_sent = backend.last_call_time or 0.0
        self.messages_sent += 1
        return answer

    async def _announce(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """On connect: BootNotification, then the current status of every connector."""
        boot = self._latest_boot or self._synthesized_boot()
        if boot is None:
            return
        await self._send_boot(ws, boot)
        statuses = dict(self._synthesized_statuses())
        statuses.update(self._latest_status)
        for connector_id in sorted(statuses):
            await self._send_checked(ws, "StatusNotification", statuses[connector_id])

    def _synthesized_boot(self) -> dict[str, Any] | None:
        """A BootNotification from what the charger told us before (e.g. before a restart)."""
        info = self.charger.info
        if not info.vendor or not info.model:
            return None
        fields = {
            "chargePointVendor": info.vendor,
            "chargePointModel": info.model,
            "chargePointSerialNumber": info.serial,
            "chargeBoxSerialNumber": info.charge_box_serial,
            "firmwareVersion": info.firmware,
            "iccid": info.iccid,
            "imsi": info.imsi,
            "meterType": info.meter_type,
            "meterSerialNumber": info.meter_serial,
        }
        return {k: v for k, v in fields.items() if v}

    def _synthesized_statuses(self) -> dict[int, dict[str, Any]]:
        statuses: dict[int, dict[str, Any]] = {}
        for connector_id, state in self.charger.connectors.items():
            if state.status is ConnectorStatus.UNKNOWN:
                continue
            payload: dict[str, Any] = {
                "connectorId": connector_id,
                "errorCode": state.error_code or "NoError",
                "status": state.status.value,
            }
            if state.info:
                payload["info"] = state.info
            if state.vendor_error_code:
                payload["vendorErrorCode"] = state.vendor_error_code
            if state.timestamp is not None:
                payload["timestamp"] = format_ocpp_time(state.timestamp)
            statuses[connector_id] = payload
        return statuses

    async def _send_boot(
        self, ws: aiohttp.ClientWebSocketResponse, payload: dict[str, Any]
    ) -> None:
        answer = await self._send_checked(ws, "BootNotification", payload)
        if answer is None:
            return
        status = answer.get("status")
        interval = answer.get("interval")
        if isinstance(interval, int | float) and interval > 0:
            self._heartbeat_interval = float(interval)
        if status != "Accepted":
            self._logger.warning(
                "%s: the backend answered BootNotification with %s", self.charger.identity, status
            )
            self._set_error(f"The backend answered BootNotification with {status}")

    async def _send_checked(
        self, ws: aiohttp.ClientWebSocketResponse, action: str, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Send; a CallError is logged (we stay the authority) and None returned."""
        try:
            return await self._call(ws, action, payload)
        except _UpstreamCallError as err:
            self._logger.warning(
                "%s: the backend refused %s: %s %s",
                self.charger.identity,
                action,
                err.code,
                err.description,
            )
            self._set_error(f"The backend answered {action} with CallError {err.code}")
            return None

    async def _drain(self, ws: aiohttp.ClientWebSocketResponse, reader: asyncio.Task[None]) -> None:
        """Send queued messages in order; keep the link alive with Heartbeats when idle."""
        loop = asyncio.get_running_loop()
        while True:
            # Cleared before looking: a wake-up from here on is not lost.
            self._wakeup.clear()
            if reader.done() or ws.closed:
                raise _LinkLostError(f"websocket closed (code {ws.close_code})")
            if self._queue:
                item = self._queue[0]
                self._in_flight = item
                await self._send_item(ws, item)
                self._in_flight = None
                if self._queue and self._queue[0] is item:
                    self._queue.popleft()
                if item["billing"]:
                    self._schedule_save(urgent=item["action"] != "MeterValues")
                self._notify()
                continue
            timeout: float | None = None
            if self._heartbeat_interval:
                timeout = max(0.0, self._last_sent + self._heartbeat_interval - loop.time())
            try:
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
            except TimeoutError:
                await self._send_checked(ws, "Heartbeat", {})

    async def _send_item(self, ws: aiohttp.ClientWebSocketResponse, item: dict[str, Any]) -> None:
        action: str = item["action"]
        payload: dict[str, Any] = item["payload"]
        ours: int | None = item["tx"]
        identity = self.charger.identity
        if action == "StartTransaction" and ours is not None:
            answer = await self._send_checked(ws, action, payload)
            self._record_start(ours, answer)
            return
        if action in ("MeterValues", "StopTransaction") and ours is not None:
            if ours not in self._tx_map:
                await self._start_from_record(ws, ours)
            theirs = self._tx_map.get(ours)
            if theirs is None:
                self._logger.warning(
                    "%s: %s of transaction %s not forwarded: the backend has no id for it",
                    identity,
                    action,
                    ours,
                )
                return
            payload = {**payload, "transactionId": theirs}
            await self._send_checked(ws, action, payload)
            if action == "StopTransaction":
                self._finish(ours)
            return
        if action == "BootNotification":
            await self._send_boot(ws, payload)
            return
        await self._send_checked(ws, action, payload)

    def _record_start(self, ours: int, answer: dict[str, Any] | None) -> None:
        theirs = answer.get("transactionId") if answer is not None else None
        if isinstance(theirs, bool) or not isinstance(theirs, int):
            theirs = None
        self._tx_map[ours] = theirs
        if answer is not None:
            status = (answer.get("idTagInfo") or {}).get("status")
            if status != "Accepted":
                self._logger.info(
                    "%s: the backend answered StartTransaction %s with %s (we accepted it)",
                    self.charger.identity,
                    ours,
                    status,
                )
        self._schedule_save()

    async def _start_from_record(self, ws: aiohttp.ClientWebSocketResponse, ours: int) -> None:
        """The backend never saw this transaction start (e.g. forwarding began mid-session)."""
        tx = self.charger.transactions.get(ours)
        last = self.charger.last_transaction
        if tx is None and last is not None and last.transaction_id == ours:
            tx = last
        if tx is None:
            self._tx_map[ours] = None
            self._schedule_save()
            return
        payload: dict[str, Any] = {
            "connectorId": tx.connector_id,
            "idTag": tx.id_tag,
            "meterStart": round(tx.meter_start_wh),
            "timestamp": format_ocpp_time(tx.start_time),
        }
        if tx.reservation_id is not None:
            payload["reservationId"] = tx.reservation_id
        self._logger.info(
            "%s: telling the backend about transaction %s it never saw start",
            self.charger.identity,
            ours,
        )
        answer = await self._send_checked(ws, "StartTransaction", payload)
        self._record_start(ours, answer)

    def _finish(self, ours: int) -> None:
        self._finished.append(ours)
        while len(self._finished) > _KEEP_FINISHED:
            self._tx_map.pop(self._finished.popleft(), None)
        self._schedule_save()

    def _our_transaction_id(self, theirs: Any) -> int | None:
        if isinstance(theirs, bool) or not isinstance(theirs, int):
            return None
        for ours, mapped in self._tx_map.items():
            if mapped == theirs:
                return ours
        return None

    # ----------------------------------------------------- upstream -> charger
    async def _handle_upstream_call(
        self, backend: _Backend, unique_id: str, action: str, payload: Any
    ) -> None:
        error: _UpstreamCallError | None = None
        try:
            result = await self._upstream_call_result(action, payload)
        except _UpstreamCallError as err:
            error = err
        if backend.ws.closed:
            return
        try:
            if error is not None:
                await backend.send_error(unique_id, error.code, error.description)
            else:
                await backend.send_result(unique_id, result)
        except backend.SEND_ERRORS as err:
            self._logger.debug("%s: cannot answer the backend: %s", self.charger.identity, err)

    async def _upstream_call_result(self, action: str, payload: Any) -> dict[str, Any]:
        """The answer to a Call from the backend; raises _UpstreamCallError for a CallError."""
        identity = self.charger.identity
        if not isinstance(payload, dict):
            raise _UpstreamCallError("FormationViolation", "The payload must be a JSON object")
        if not self.allow_control:
            # SecurityError, not NotSupported: the charger does support the action, the
            # owner switched remote control off (and may switch it back on at any time).
            self._logger.warning(
                "%s: refused %s from the backend: remote control is switched off",
                identity,
                action,
            )
            raise _UpstreamCallError(
                "SecurityError", "Remote control through this backend is switched off"
            )
        if action not in validation.CENTRAL_ACTIONS:
            if validation.known_v16_action(action):
                raise _UpstreamCallError("NotSupported", f"{action} is not supported")
            raise _UpstreamCallError("NotImplemented", f"Unknown action {action!r}")
        payload = copy.deepcopy(payload)
        if action == "ChangeConfiguration" and str(payload.get("key", "")).lower() in (
            PROTECTED_KEYS
        ):
            self._logger.warning(
                "%s: refused ChangeConfiguration %s from the backend: it would lock Home "
                "Assistant out",
                identity,
                payload.get("key"),
            )
            return {"status": "Rejected"}
        if action == "RemoteStopTransaction":
            ours = self._our_transaction_id(payload.get("transactionId"))
            if ours is None:
                self._logger.info(
                    "%s: RemoteStopTransaction for unknown backend transaction %s",
                    identity,
                    payload.get("transactionId"),
                )
                return {"status": "Rejected"}
            payload["transactionId"] = ours
        if action == "SetChargingProfile":
            profile = payload.get("csChargingProfiles")
            if isinstance(profile, dict) and "transactionId" in profile:
                ours = self._our_transaction_id(profile["transactionId"])
                if ours is None:
                    return {"status": "Rejected"}
                profile["transactionId"] = ours
        try:
            return await self.charger.call(action, payload)
        except CallErrorResponse as err:
            description = str(err.placeholders.get("description", "")) or str(err)
            raise _UpstreamCallError(err.code, description) from None
        except ChargerOfflineError:
            raise _UpstreamCallError(
                "GenericError", "The charger is not connected to Home Assistant"
            ) from None
        except CallTimeoutError:
            raise _UpstreamCallError("GenericError", "The charger did not answer in time") from None
        except validation.SchemaError as err:
            raise _UpstreamCallError(err.code, err.description) from None
        except ChargeConnectError as err:
            raise _UpstreamCallError("GenericError", str(err)) from None
