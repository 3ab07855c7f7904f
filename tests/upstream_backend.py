"""A small OCPP 1.6J central system playing the charger's original backend (test helper).

Built on the ``ocpp`` package's server-side ``ChargePoint`` over an aiohttp websocket
server on 127.0.0.1. It records every Call it receives (camelCase, as on the wire) in
order, hands out its OWN transaction ids (from 5000), can require HTTP Basic auth, can
send commands to the connected charger, and can be stopped and started again on the
same port to simulate an outage.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass
import itertools
import json
import logging
import ssl
from typing import Any
import uuid

from aiohttp import WSMsgType, web
from ocpp.exceptions import GenericError
from ocpp.routing import on as _on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action

_LOGGER = logging.getLogger("tests.upstream_backend")


@contextlib.contextmanager
def tolerate_refused_tls_handshakes() -> Iterator[None]:
    """While inside: a server's report of a TLS handshake the client refused is expected.

    asyncio hands the server side's ConnectionResetError / SSLError to the loop's
    exception handler, which the test harness turns into a test error.
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def handler(event_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), ConnectionResetError | ssl.SSLError):
            return
        if previous is not None:
            previous(event_loop, context)
        else:
            event_loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        yield
    finally:
        loop.set_exception_handler(previous)


@dataclass(frozen=True)
class RecordedCall:
    """A Call the backend received."""

    action: str
    payload: dict[str, Any]


class BackendCallError(Exception):
    """The charger (through the forwarder) answered our Call with a CallError."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


def on(action: Action) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """ocpp's ``@on``, typed."""
    decorator: Callable[[Callable[..., Any]], Callable[..., Any]] = _on(action)
    return decorator


class _Connection:
    """``send``/``recv`` for ocpp's ChargePoint; answers to our raw Calls are taken out."""

    def __init__(self, backend: UpstreamBackend, ws: web.WebSocketResponse) -> None:
        self.backend = backend
        self.ws = ws
        self.pending: dict[str, asyncio.Future[list[Any]]] = {}

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def recv(self) -> str:
        while True:
            message = await self.ws.receive()
            if message.type is not WSMsgType.TEXT:
                raise ConnectionError(f"websocket closed ({message.type.name})")
            text = str(message.data)
            frame = json.loads(text)
            if frame[0] == 2:
                await self.backend._record(RecordedCall(frame[2], frame[3]))
            elif frame[0] in (3, 4) and frame[1] in self.pending:
                future = self.pending.pop(frame[1])
                if not future.done():
                    future.set_result(frame)
                continue
            return text


class _BackendChargePoint(ChargePoint):  # type: ignore[misc]
    """How the backend answers the charger's Calls."""

    def __init__(self, backend: UpstreamBackend, identity: str, connection: _Connection) -> None:
        super().__init__(identity, connection, logger=_LOGGER)
        self.backend = backend

    def _refuse(self, action: str) -> None:
        if action in self.backend.refuse:
            raise GenericError(description=f"{action} refused by the test backend")

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> Any:
        self._refuse("BootNotification")
        return call_result.BootNotification(
            current_time="2026-01-01T00:00:00.000Z",
            interval=self.backend.heartbeat_interval,
            status=self.backend.boot_status,
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time="2026-01-01T00:00:00.000Z")

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> Any:
        self._refuse("StatusNotification")
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, **_: Any) -> Any:
        return call_result.Authorize(id_tag_info={"status": "Accepted"})

    @on(Action.start_transaction)
    def on_start(self, **_: Any) -> Any:
        self._refuse("StartTransaction")
        return call_result.StartTransaction(
            transaction_id=next(self.backend.transaction_ids),
            id_tag_info={"status": self.backend.id_tag_status},
        )

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> Any:
        self._refuse("MeterValues")
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop(self, **_: Any) -> Any:
        self._refuse("StopTransaction")
        return call_result.StopTransaction()

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status="Accepted")

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> Any:
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, **_: Any) -> Any:
        return call_result.DiagnosticsStatusNotification()


class UpstreamBackend:
    """The charger's original backend, on 127.0.0.1 (port 0 picks one)."""

    def __init__(
        self,
        *,
        password: str | None = None,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        first_transaction_id: int = 5000,
    ) -> None:
        self.password = password
        self.port = port
        self.ssl_context = ssl_context
        self.transaction_ids = itertools.count(first_transaction_id)
        self.boot_status = "Accepted"
        self.heartbeat_interval = 300
        self.id_tag_status = "Accepted"
        self.refuse: set[str] = set()  # actions answered with a CallError
        self.calls: list[RecordedCall] = []
        self.connections = 0
        self.auth_failures = 0
        self.paths: list[str] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._connection: _Connection | None = None
        # False while stopped or stopping: a reconnect racing stop() is refused, else the
        # runner's cleanup would wait for that connection to end.
        self._accepting = False

    @property
    def url(self) -> str:
        """Base URL; the forwarder appends the identity."""
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/ocpp"

    @property
    def connected(self) -> bool:
        """A charger is connected now."""
        return self._connection is not None and not self._connection.ws.closed

    async def start(self) -> int:
        """Listen (again, on the same port after a stop); returns the port."""
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(
            runner, "127.0.0.1", self.port, ssl_context=self.ssl_context, reuse_address=True
        )
        await site.start()
        self._runner = runner
        self._accepting = True
        self.port = int(runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        """Close every connection and stop listening (an outage)."""
        self._accepting = False
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"backend going down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        async with self._changed:
            self._changed.notify_all()

    async def _record(self, call: RecordedCall) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _authorized(self, request: web.Request, identity: str) -> bool:
        if self.password is None:
            return True
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user == identity and password == self.password

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        identity = request.path.rstrip("/").rsplit("/", 1)[-1]
        self.paths.append(request.path)
        if not self._authorized(request, identity):
            self.auth_failures += 1
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="OCPP"'})
        if not self._accepting:
            return web.Response(status=503)
        ws = web.WebSocketResponse(protocols=("ocpp1.6",))
        await ws.prepare(request)
        if not self._accepting:  # stop() began during the handshake
            await ws.close(code=1001, message=b"backend going down")
            return ws
        self._sockets.add(ws)
        connection = _Connection(self, ws)
        self._connection = connection
        charge_point = _BackendChargePoint(self, identity, connection)
        async with self._changed:
            self.connections += 1
            self._changed.notify_all()
        try:
            await charge_point.start()
        except ConnectionError:
            pass
        finally:
            self._sockets.discard(ws)
            for future in connection.pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("charger disconnected"))
            async with self._changed:
                self._changed.notify_all()
        return ws

    # ------------------------------------------------------------------ for tests
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait (on every received Call or connection change) until ``predicate()``."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` connections were made and one is open."""
        await self.wait_for(lambda: self.connections >= count and self.connected, timeout)

    def actions(self) -> list[str]:
        """The actions received, in order."""
        return [call.action for call in self.calls]

    def of(self, action: str) -> list[dict[str, Any]]:
        """The payloads of one action, in order."""
        return [call.payload for call in self.calls if call.action == action]

    async def send(self, action: str, payload: dict[str, Any], timeout: float = 10.0) -> Any:
        """Send a Call to the connected charger; returns its answer payload.

        Raises :class:`BackendCallError` for a CallError.
        """
        connection = self._connection
        if connection is None or connection.ws.closed:
            raise ConnectionError("no charger connected")
        unique_id = str(uuid.uuid4())
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        connection.pending[unique_id] = future
        await connection.send(json.dumps([2, unique_id, action, payload]))
        async with asyncio.timeout(timeout):
            frame = await future
        if frame[0] == 4:
            raise BackendCallError(str(frame[2]), str(frame[3]))
        return frame[2]
