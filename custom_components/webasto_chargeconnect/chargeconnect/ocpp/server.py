"""The OCPP 1.6J central system: an aiohttp websocket server shared by all chargers.

What a broken network or a hostile client can do is bounded here:

- A TCP connection must become an authenticated websocket within ``handshake_timeout`` of being
  accepted, else it is aborted; at most ``max_pending_connections`` wait for that at once (a new
  one pushes out the oldest). A refused request closes its connection (no keep-alive).
- Every close (a charger's replaced connection, a removed charger, :meth:`CentralSystem.stop`)
  waits at most ``close_timeout`` for the close handshake, then aborts the transport; a frame that
  cannot be written within ``send_timeout`` (the charger stopped reading) aborts it too. A
  replaced connection is closed in the background: the new one is served at once.
- Password guessing is bounded per identity across all addresses (see :class:`_Gate`) without
  ever refusing the right password from the address the charger last authenticated from.
- Log lines about what clients send go through one :class:`RateLimitedLog`: at most one line per
  cause and charger per minute, and no tracebacks for malformed HTTP.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import hmac
import logging
import ssl
import time
from typing import Any
from urllib.parse import unquote

from aiohttp import WSMsgType, web
from aiohttp.http_exceptions import HttpProcessingError

from ..basic_auth import decode_basic_auth
from ..exceptions import ServerStartError
from ..ratelog import RateLimitedLog, printable
from ..storage import StateStore
from . import validation
from .charger import Charger
from .protocol import MAX_FRAME_SIZE, OcppConnection

_LOGGER = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
# aiohttp closes the socket (1009) above this; below it, MAX_FRAME_SIZE answers a CallError.
HARD_FRAME_LIMIT = 4 * 1024 * 1024
# Longer identities are refused (400); Webasto's look like NEXT-WS123456.
MAX_IDENTITY_LENGTH = 128
# Wrong passwords per identity answered at once; then one more every AUTH_REFILL_SECONDS.
AUTH_BURST = 5
AUTH_REFILL_SECONDS = 12.0
# Beyond the burst, attempts wait their turn (one at a time per lane); this many may wait.
AUTH_QUEUE = 3
# Unknown identities remembered (so the owner is told once, not per attempt), and for how long.
UNKNOWN_REMEMBERED = 256
UNKNOWN_FORGET_AFTER = 3600.0

UnknownChargerCallback = Callable[[str, str], None]


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


def identity_from_path(raw_path: str) -> str | None:
    """The charge box identity: the last segment of the URL path (any prefix), decoded once.

    ``raw_path`` is the path as sent (percent-encoded). Raises ValueError for what cannot be an
    identity: invalid UTF-8, control characters (NUL...), more than MAX_IDENTITY_LENGTH characters.
    """
    segments = [s for s in raw_path.split("/") if s]
    if not segments:
        return None
    try:
        identity = unquote(segments[-1], errors="strict")
    except UnicodeDecodeError:
        raise ValueError("the identity is not valid UTF-8") from None
    if len(identity) > MAX_IDENTITY_LENGTH:
        raise ValueError(f"the identity is longer than {MAX_IDENTITY_LENGTH} characters")
    if not identity.isprintable():
        raise ValueError("the identity contains control characters")
    return identity


@dataclass
class _Lane:
    """Password attempts that wait their turn, one checked at a time."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


@dataclass
class _Gate:
    """Password attempts for one identity, from every address.

    A wrong password costs a token (AUTH_BURST of them, refilled over time). With tokens left,
    attempts are checked at once. Without, they are checked one at a time per lane, a wrong one
    holding its lane for ``auth_slowdown`` seconds, so guesses stay bounded however many
    addresses send them; the right password still gets in, only later. The address the charger
    last authenticated from has a lane of its own: guesses from elsewhere never slow it down.
    """

    tokens: float
    stamp: float
    trusted: str | None = None
    trusted_lane: _Lane = field(default_factory=_Lane)
    other_lane: _Lane = field(default_factory=_Lane)

    def take(self, now: float) -> bool:
        """Take a token for an immediate check (False: none left)."""
        self.tokens = min(AUTH_BURST, self.tokens + (now - self.stamp) / AUTH_REFILL_SECONDS)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def refund(self) -> None:
        """The password was right: the check costs nothing."""
        self.tokens = min(AUTH_BURST, self.tokens + 1)

    def lane(self, remote: str) -> _Lane:
        return self.trusted_lane if self.trusted in (None, remote) else self.other_lane


class _RecentSet:
    """Strings seen lately: bounded in number and age."""

    def __init__(self, size: int, ttl: float) -> None:
        self._size = size
        self._ttl = ttl
        self._seen: OrderedDict[str, float] = OrderedDict()

    def add(self, item: str) -> bool:
        """Remember ``item``; True unless it was seen within the ttl."""
        now = time.monotonic()
        seen = self._seen.pop(item, None)
        self._seen[item] = now if seen is None or now - seen >= self._ttl else seen
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return seen is None or now - seen >= self._ttl

    def discard(self, item: str) -> None:
        self._seen.pop(item, None)


class _PendingConnections:
    """TCP connections that are not an authenticated websocket yet: bounded in time and number."""

    def __init__(self, timeout: float, limit: int, log: RateLimitedLog) -> None:
        self.timeout = timeout
        self.limit = limit
        self._log = log
        self._pending: dict[web.RequestHandler, tuple[asyncio.Transport, asyncio.TimerHandle]] = {}

    def opened(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        if len(self._pending) >= self.limit:
            self._drop(
                next(iter(self._pending)),
                logging.WARNING,
                "too many",
                "More than %s connections without a websocket handshake; closing the oldest",
                self.limit,
            )
        timer = asyncio.get_running_loop().call_later(self.timeout, self._expire, handler)
        self._pending[handler] = (transport, timer)

    def promote(self, handler: web.RequestHandler) -> bool:
        """The connection authenticated: no deadline any more (False: it was dropped already)."""
        entry = self._pending.pop(handler, None)
        if entry is None:
            return False
        entry[1].cancel()
        return True

    def closed(self, handler: web.RequestHandler) -> None:
        entry = self._pending.pop(handler, None)
        if entry is not None:
            entry[1].cancel()

    def abort_all(self) -> None:
        for handler in list(self._pending):
            transport, timer = self._pending.pop(handler)
            timer.cancel()
            transport.abort()

    def _expire(self, handler: web.RequestHandler) -> None:
        self._drop(
            handler,
            logging.INFO,
            "handshake timeout",
            "Closed a connection that sent no websocket handshake within %s s",
            self.timeout,
        )

    def _drop(
        self, handler: web.RequestHandler, level: int, cause: str, msg: str, *args: Any
    ) -> None:
        transport, timer = self._pending.pop(handler)
        timer.cancel()
        peer = transport.get_extra_info("peername")
        self._log.log(level, cause, "", msg + " (%s)", *args, peer[0] if peer else "?")
        transport.abort()


class _GuardedServer(web.Server):
    """aiohttp's low-level server, telling the guard about every TCP connection."""

    def __init__(self, handler: Any, guard: _PendingConnections, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._guard = guard

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._guard.opened(handler, transport)

    def connection_lost(
        self, handler: web.RequestHandler, exc: BaseException | None = None
    ) -> None:
        self._guard.closed(handler)
        super().connection_lost(handler, exc)


class _HttpLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log: malformed requests without a traceback, everything rate limited."""

    def __init__(self, log: RateLimitedLog) -> None:
        super().__init__(log.logger, {})
        self._rate = log

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError):
            self._rate.log(
                logging.WARNING,
                "bad http",
                "",
                "Refused a malformed HTTP request from %s: %s",
                args[0] if args else "?",
                printable(str(exc), 200),
            )
        elif level >= logging.WARNING:
            self._rate.log(
                level, "http error", "", str(msg), *args, exc_info=exc if exc is not None else None
            )
        else:
            self.logger.log(level, msg, *args)


class _Link:
    """One charger websocket and the TCP transport under it."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport) -> None:
        self.ws = ws
        self.transport = transport

    async def send(self, text: str, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self.ws.send_str(text)
        except TimeoutError:
            self.transport.abort()
            raise ConnectionResetError(f"the charger read nothing for {timeout} s") from None

    async def close(self, code: int, message: bytes, timeout: float) -> None:
        """Close handshake, at most ``timeout`` seconds; then the transport is aborted."""
        if not self.ws.closed:
            try:
                async with asyncio.timeout(timeout):
                    await self.ws.close(code=code, message=message)
            except TimeoutError:
                self.transport.abort()
        self.release()

    def release(self) -> None:
        """Free a socket that still holds unsent data (the peer stopped reading)."""
        if self.transport.get_write_buffer_size():
            self.transport.abort()


class CentralSystem:
    """Listens on one port; every registered charger connects to it."""

    # A TCP connection must be an authenticated websocket this long after being accepted.
    handshake_timeout = 10.0
    # Connections waiting for that at once (the oldest is closed when a new one comes).
    max_pending_connections = 64
    # How long a close handshake may take, and a frame may wait to be written.
    close_timeout = 2.0
    send_timeout = 10.0
    # Beyond the burst, how long a wrong password holds its lane.
    auth_slowdown = 2.0
    # At most one log line per cause and charger in this many seconds.
    log_interval = 60.0

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
        self._log = RateLimitedLog(self._logger, self.log_interval)
        self.chargers: dict[str, Charger] = {}
        self._runner: web.BaseRunner | None = None
        self._pending: _PendingConnections | None = None
        self._links: dict[web.WebSocketResponse, _Link] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._gates: dict[str, _Gate] = {}
        self._unknown = _RecentSet(UNKNOWN_REMEMBERED, UNKNOWN_FORGET_AFTER)

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
        self._unknown.discard(charger.identity)
        self._log.forget(charger.identity)

    async def remove_charger(self, identity: str) -> None:
        """Stop accepting this charger and close its connection."""
        charger = self.chargers.pop(identity, None)
        self._gates.pop(identity, None)
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
        pending = _PendingConnections(
            self.handshake_timeout, self.max_pending_connections, self._log
        )
        server = _GuardedServer(
            self._handle,
            pending,
            logger=_HttpLog(self._log),
            access_log=None,
            keepalive_timeout=self.handshake_timeout,
        )
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=self.close_timeout)
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
        self._pending = pending
        self.port = int(runner.addresses[0][1])
        self._logger.info("OCPP central system listening on port %s", self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening and close every connection (each close bounded in time)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            for site in list(runner.sites):
                await site.stop()
        for charger in list(self.chargers.values()):
            await charger.async_shutdown()
        if self._pending is not None:
            self._pending.abort_all()
        await asyncio.gather(
            *(
                link.close(1001, b"server shutting down", self.close_timeout)
                for link in list(self._links.values())
            )
        )
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        if runner is not None:
            await runner.cleanup()

    # ----------------------------------------------------------------- auth
    @staticmethod
    def _credentials(request: web.BaseRequest) -> tuple[str, str] | None:
        return decode_basic_auth(request.headers.get("Authorization", ""))

    @staticmethod
    def _password_ok(charger: Charger, credentials: tuple[str, str]) -> bool:
        assert charger.password is not None
        user_ok = hmac.compare_digest(credentials[0].encode(), charger.identity.encode())
        password_ok = hmac.compare_digest(credentials[1].encode(), charger.password.encode())
        return user_ok and password_ok

    async def _authenticate(
        self, charger: Charger, request: web.BaseRequest, remote: str
    ) -> web.Response | None:
        """None if the charger proved its password, else the refusal to send."""
        identity = charger.identity
        credentials = self._credentials(request)
        if credentials is None:
            return self._refuse_password(identity, remote, "no password given")
        now = time.monotonic()
        gate = self._gates.get(identity)
        if gate is None:
            gate = self._gates[identity] = _Gate(AUTH_BURST, now)
        if gate.take(now):
            if self._password_ok(charger, credentials):
                gate.refund()
                gate.trusted = remote
                return None
            return self._refuse_password(identity, remote, "wrong password")
        lane = gate.lane(remote)
        if lane.waiting >= AUTH_QUEUE:
            self._log.log(
                logging.WARNING,
                "guessing",
                identity,
                "Charger %s: too many failed logins; attempts from %s are refused for a while",
                printable(identity),
                remote,
            )
            return self._refuse(429, "Too many failed attempts; try again later")
        lane.waiting += 1
        try:
            async with lane.lock:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return self._refuse(401, "Gave up waiting")
                if self._password_ok(charger, credentials):
                    gate.trusted = remote
                    return None
                await asyncio.sleep(self.auth_slowdown)
        finally:
            lane.waiting -= 1
        return self._refuse_password(identity, remote, "wrong password")

    def _refuse_password(self, identity: str, remote: str, reason: str) -> web.Response:
        self._log.log(
            logging.WARNING,
            reason,
            identity,
            "Refused charger %s from %s: %s",
            printable(identity),
            remote,
            reason,
        )
        return self._refuse(
            401,
            "Wrong charge box identity or password",
            {"WWW-Authenticate": 'Basic realm="OCPP"'},
        )

    @staticmethod
    def _refuse(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
        """An HTTP refusal; the connection closes after it (no keep-alive)."""
        response = web.Response(status=status, text=text, headers=headers)
        response.force_close()
        return response

    # ------------------------------------------------------------- handshake
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        remote = request.remote or "?"
        if request.method != "GET":
            return self._refuse(405, "Only websocket connections (GET) are served here")
        try:
            identity = identity_from_path(request.rel_url.raw_path)
        except ValueError as err:
            self._log.log(
                logging.WARNING, "bad identity", "", "Refused a connection from %s: %s", remote, err
            )
            return self._refuse(400, f"Invalid charge box identity: {err}")
        if not identity:
            return self._refuse(404, "The URL must end with the charge box identity")
        charger = self.chargers.get(identity)
        if charger is None:
            self._log.log(
                logging.WARNING,
                "unknown charger",
                identity,
                "Refused unknown charger %s from %s; add it in Home Assistant to accept it",
                printable(identity),
                remote,
            )
            if self._unknown.add(identity) and self.on_unknown_charger is not None:
                self.on_unknown_charger(identity, remote)
            return self._refuse(404, "Unknown charge box identity")
        if charger.password:
            refusal = await self._authenticate(charger, request, remote)
            if refusal is not None:
                return refusal
        offered = [
            p.strip()
            for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
            if p.strip()
        ]
        if offered and SUBPROTOCOL not in offered:
            self._log.log(
                logging.WARNING,
                "subprotocol",
                identity,
                "Refused charger %s from %s: it asked for subprotocol %s, only %s is supported",
                printable(identity),
                remote,
                printable(", ".join(offered)),
                SUBPROTOCOL,
            )
            return self._refuse(400, f"Only the {SUBPROTOCOL} subprotocol is supported")
        ws = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            heartbeat=self.ping_interval,
            max_msg_size=HARD_FRAME_LIMIT,
        )
        if not ws.can_prepare(request).ok:
            return self._refuse(400, "Expected a websocket upgrade request")
        transport = request.transport
        if (
            transport is None
            or self._pending is None
            or not self._pending.promote(request.protocol)
        ):
            # Closed meanwhile (the client gave up, or the handshake took too long).
            return self._refuse(408, "The handshake took too long")
        await ws.prepare(request)
        if not offered:
            self._log.log(
                logging.INFO,
                "no subprotocol",
                identity,
                "%s did not ask for a subprotocol; speaking %s",
                identity,
                SUBPROTOCOL,
            )
        await self._serve(charger, _Link(ws, transport), remote)
        return ws

    async def _serve(self, charger: Charger, link: _Link, remote: str) -> None:
        ws = link.ws

        async def send(text: str) -> None:
            await link.send(text, self.send_timeout)

        connection = OcppConnection(
            charger.identity,
            charger,
            send,
            logger=self._logger,
            call_timeout=self.call_timeout,
            max_frame_size=self.max_frame_size,
            log=self._log,
        )
        connection.transport = ws
        self._links[ws] = link
        old = charger.attach(connection, self.boot_wait)
        if old is not None:
            self._log.log(
                logging.INFO,
                "reconnected",
                charger.identity,
                "%s reconnected from %s; closing its old connection",
                charger.identity,
                remote,
            )
            # In the background: an old socket that stopped reading must not hold up the new one.
            task = asyncio.get_running_loop().create_task(
                self._close_connection(old, "replaced by a new connection")
            )
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        else:
            self._log.log(
                logging.INFO,
                "connected",
                charger.identity,
                "%s connected from %s",
                charger.identity,
                remote,
            )
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await connection.handle_frame(message.data)
                elif message.type is WSMsgType.BINARY:
                    await connection.handle_frame(message.data.decode("utf-8", "replace"))
                elif message.type is WSMsgType.ERROR:
                    # E.g. no pong in time: the charger is gone.
                    self._log.log(
                        logging.INFO,
                        "websocket error",
                        charger.identity,
                        "%s: websocket error: %s",
                        charger.identity,
                        ws.exception(),
                    )
                    break
        except ConnectionError as err:
            self._log.log(
                logging.INFO,
                "connection lost",
                charger.identity,
                "%s: connection lost: %s",
                charger.identity,
                err,
            )
        except Exception:
            self._log.log(
                logging.ERROR,
                "connection failed",
                charger.identity,
                "%s: connection failed",
                charger.identity,
                exc_info=True,
            )
        finally:
            # aiohttp re-arms its ping timer after handing over an ERROR message even
            # though the socket is closed; cancel it so nothing outlives the connection.
            cancel_heartbeat = getattr(ws, "_cancel_heartbeat", None)
            if callable(cancel_heartbeat):
                cancel_heartbeat()
            self._links.pop(ws, None)
            link.release()
            charger.detach(connection)
            if charger.connection is None:
                self._log.log(
                    logging.INFO,
                    "disconnected",
                    charger.identity,
                    "%s disconnected (close code %s)",
                    charger.identity,
                    ws.close_code,
                )

    async def _close_connection(self, connection: OcppConnection, reason: str) -> None:
        connection.connection_lost()
        link = self._links.get(connection.transport)
        if link is not None:
            await link.close(1000, reason.encode(), self.close_timeout)
