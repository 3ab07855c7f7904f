"""The OCPP 1.6J central system: an aiohttp websocket server shared by all chargers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import hmac
import logging
import ssl
import time
from urllib.parse import unquote

from aiohttp import WSMsgType, web

from ..basic_auth import decode_basic_auth
from ..exceptions import ServerStartError
from ..storage import StateStore
from . import validation
from .charger import Charger
from .protocol import MAX_FRAME_SIZE, OcppConnection

_LOGGER = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
# aiohttp closes the socket (1009) above this; below it, MAX_FRAME_SIZE answers a CallError.
HARD_FRAME_LIMIT = 4 * 1024 * 1024
AUTH_FAILURES_ALLOWED = 5
AUTH_WINDOW_SECONDS = 60.0

UnknownChargerCallback = Callable[[str, str], None]


@dataclass
class _FailureWindow:
    times: list[float] = field(default_factory=list)
    logged: bool = False


class PersistentIdAllocator:
    """Transaction ids: a counter persisted before each id is handed out.

    The counter is read once, under the lock every allocation takes, so no allocation
    runs before it is read and no later read can set it back. An id the session archive
    or a charger's saved state already holds is never handed out again: the counter
    starts above ``highest_used()`` (the archive's highest id, consulted with the
    counter) and above what :meth:`async_note_used` reports, with a warning when it was
    behind (its file lost or restored from an old backup).
    """

    def __init__(
        self,
        store: StateStore,
        *,
        highest_used: Callable[[], Awaitable[int]] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self._store = store
        self._highest_used = highest_used
        self._logger = logger or _LOGGER
        self._next = 1
        self._lock = asyncio.Lock()
        self._loaded = False

    async def async_load(self) -> None:
        """Read the counter (once; later calls return at once)."""
        async with self._lock:
            await self._load()

    async def _load(self) -> None:
        """Read the counter and the highest id in use; the caller holds the lock."""
        if self._loaded:
            return
        data = await self._store.async_load()
        if isinstance(data, dict) and isinstance(data.get("next_transaction_id"), int):
            self._next = max(1, data["next_transaction_id"])
        used = 0
        if self._highest_used is not None:
            try:
                used = await self._highest_used()
            except Exception as err:  # the counter alone is still the best we have
                self._logger.warning(
                    "Could not read the highest transaction id in use: %s; "
                    "continuing with the saved counter",
                    err,
                )
        self._loaded = True
        await self._raise_above(used, "the session archive")

    async def _raise_above(self, used: int, source: str) -> None:
        if used < self._next:
            return
        self._logger.warning(
            "The transaction id counter was behind %s (next id %s, highest id there %s); "
            "continuing at %s so that no id is used twice",
            source,
            self._next,
            used,
            used + 1,
        )
        self._next = used + 1
        await self._store.async_save({"next_transaction_id": self._next})

    async def async_note_used(self, used: int, source: str) -> None:
        """``used`` (and every id below it) is taken: never hand it out."""
        async with self._lock:
            await self._load()
            await self._raise_above(used, source)

    async def allocate(self) -> int:
        """Return a new, never used transaction id."""
        async with self._lock:
            await self._load()
            value = self._next
            self._next += 1
            await self._store.async_save({"next_transaction_id": self._next})
            return value


def identity_from_path(path: str) -> str | None:
    """The charge box identity is the last path segment of the URL (any prefix)."""
    segments = [unquote(s) for s in path.split("/") if s]
    return segments[-1] if segments else None


class CentralSystem:
    """Listens on one port; every registered charger connects to it."""

    def __init__(
        self,
        host: str | None = None,
        port: int = 8887,
        *,
        ssl_context: ssl.SSLContext | None = None,
        on_unknown_charger: UnknownChargerCallback | None = None,
        ping_interval: float = 30.0,
        boot_wait: float = 5.0,
        call_timeout: float = 30.0,
        max_frame_size: int = MAX_FRAME_SIZE,
        logger: logging.Logger | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.on_unknown_charger = on_unknown_charger
        self.ping_interval = ping_interval
        self.boot_wait = boot_wait
        self.call_timeout = call_timeout
        self.max_frame_size = max_frame_size
        self._logger = logger or _LOGGER
        self.chargers: dict[str, Charger] = {}
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._failures: dict[str, _FailureWindow] = {}
        self._refused_unknown: set[str] = set()

    @property
    def running(self) -> bool:
        """True while listening."""
        return self._runner is not None

    @property
    def url_scheme(self) -> str:
        """``wss`` with TLS (security profile 2), else ``ws``."""
        return "wss" if self.ssl_context else "ws"

    def add_charger(self, charger: Charger) -> None:
        """Accept connections from this charger."""
        self.chargers[charger.identity] = charger
        self._refused_unknown.discard(charger.identity)

    async def remove_charger(self, identity: str) -> None:
        """Stop accepting this charger and close its connection."""
        charger = self.chargers.pop(identity, None)
        if charger is None:
            return
        connection = charger.connection
        await charger.async_shutdown()
        if connection is not None:
            await self._close_connection(connection, "charger removed")

    async def start(self) -> int:
        """Start listening; returns the port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, validation.warm_up)
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(
            runner, self.host, self.port, ssl_context=self.ssl_context, reuse_address=True
        )
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            raise ServerStartError(
                f"Cannot listen on port {self.port}: {err.strerror or err}",
                port=str(self.port),
                error=str(err.strerror or err),
            ) from err
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._logger.info("OCPP central system listening on port %s", self.port)
        return self.port

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for charger in list(self.chargers.values()):
            await charger.async_shutdown()
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ----------------------------------------------------------------- auth
    def _rate_limited(self, key: str) -> bool:
        window = self._failures.get(key)
        if window is None:
            return False
        now = time.monotonic()
        window.times = [t for t in window.times if now - t < AUTH_WINDOW_SECONDS]
        return len(window.times) >= AUTH_FAILURES_ALLOWED

    def _record_failure(self, key: str, identity: str, remote: str, reason: str) -> None:
        window = self._failures.setdefault(key, _FailureWindow())
        window.times.append(time.monotonic())
        if not window.logged:
            window.logged = True
            self._logger.warning(
                "Refused charger %s from %s: %s (further failures are not logged)",
                identity,
                remote,
                reason,
            )

    @staticmethod
    def _credentials(request: web.Request) -> tuple[str, str] | None:
        return decode_basic_auth(request.headers.get("Authorization", ""))

    # ------------------------------------------------------------- handshake
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        remote = request.remote or "?"
        identity = identity_from_path(request.path)
        if not identity:
            return web.Response(status=404, text="The URL must end with the charge box identity")
        offered = [
            p.strip()
            for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
            if p.strip()
        ]
        if offered and SUBPROTOCOL not in offered:
            self._logger.warning(
                "Refused charger %s from %s: it asked for subprotocol %s, only %s is supported",
                identity,
                remote,
                ", ".join(offered),
                SUBPROTOCOL,
            )
            return web.Response(status=400, text=f"Only the {SUBPROTOCOL} subprotocol is supported")
        key = f"{remote}|{identity}"
        if self._rate_limited(key):
            return web.Response(status=429, text="Too many failed attempts; try again later")
        charger = self.chargers.get(identity)
        if charger is None:
            if identity not in self._refused_unknown:
                self._refused_unknown.add(identity)
                self._logger.warning(
                    "Refused unknown charger %s from %s; add it in Home Assistant to accept it",
                    identity,
                    remote,
                )
            if self.on_unknown_charger is not None:
                self.on_unknown_charger(identity, remote)
            return web.Response(status=404, text="Unknown charge box identity")
        if charger.password:
            credentials = self._credentials(request)
            if credentials is None or not (
                hmac.compare_digest(credentials[0].encode(), identity.encode())
                and hmac.compare_digest(credentials[1].encode(), charger.password.encode())
            ):
                self._record_failure(
                    key,
                    identity,
                    remote,
                    "no password given" if credentials is None else "wrong password",
                )
                return web.Response(
                    status=401,
                    text="Wrong charge box identity or password",
                    headers={"WWW-Authenticate": 'Basic realm="OCPP"'},
                )
        self._failures.pop(key, None)
        ws = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            heartbeat=self.ping_interval,
            max_msg_size=HARD_FRAME_LIMIT,
        )
        await ws.prepare(request)
        if not offered:
            self._logger.info(
                "%s did not ask for a subprotocol; speaking %s", identity, SUBPROTOCOL
            )
        await self._serve(charger, ws, remote)
        return ws

    async def _serve(self, charger: Charger, ws: web.WebSocketResponse, remote: str) -> None:
        async def send(text: str) -> None:
            await ws.send_str(text)

        connection = OcppConnection(
            charger.identity,
            charger,
            send,
            logger=self._logger,
            call_timeout=self.call_timeout,
            max_frame_size=self.max_frame_size,
        )
        connection.transport = ws
        self._sockets.add(ws)
        old = charger.attach(connection, self.boot_wait)
        if old is not None:
            self._logger.info(
                "%s reconnected from %s; closing its old connection", charger.identity, remote
            )
            await self._close_connection(old, "replaced by a new connection")
        else:
            self._logger.info("%s connected from %s", charger.identity, remote)
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await connection.handle_frame(message.data)
                elif message.type is WSMsgType.BINARY:
                    await connection.handle_frame(message.data.decode("utf-8", "replace"))
                elif message.type is WSMsgType.ERROR:
                    # E.g. no pong in time: the charger is gone.
                    self._logger.info("%s: websocket error: %s", charger.identity, ws.exception())
                    break
        except Exception:
            self._logger.exception("%s: connection failed", charger.identity)
        finally:
            # aiohttp re-arms its ping timer after handing over an ERROR message even
            # though the socket is closed; cancel it so nothing outlives the connection.
            cancel_heartbeat = getattr(ws, "_cancel_heartbeat", None)
            if callable(cancel_heartbeat):
                cancel_heartbeat()
            self._sockets.discard(ws)
            charger.detach(connection)
            if charger.connection is None:
                self._logger.info(
                    "%s disconnected (close code %s)", charger.identity, ws.close_code
                )

    async def _close_connection(self, connection: OcppConnection, reason: str) -> None:
        connection.connection_lost()
        ws = connection.transport
        if ws is not None and not ws.closed:
            await ws.close(code=1000, message=reason.encode())
