"""The OCPP 1.6J central system: an aiohttp websocket server shared by all chargers.

What a broken network or a hostile client can do is bounded here:

- A TCP connection must become an authenticated websocket within ``handshake_timeout`` of being
  accepted, else it is aborted; at most ``max_pending_connections`` wait for that at once (a new
  one pushes out the oldest). A refused request closes its connection (no keep-alive).
- Every close (a charger's replaced connection, a removed charger, :meth:`CentralSystem.stop`)
  waits at most ``close_timeout`` for the close handshake, then aborts the transport; a frame that
  cannot be written within ``send_timeout`` (the charger stopped reading) aborts it too. A
  replaced connection is closed in the background: the new one is served at once.
- Password guessing is bounded per identity across all addresses (see :mod:`.auth`) without
  ever refusing the right password from the address the charger last authenticated from.
- Log lines about what clients send go through one :class:`RateLimitedLog`: at most one line per
  cause and charger per minute, and no tracebacks for malformed HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
import ssl
from urllib.parse import unquote

from aiohttp import WSMsgType, web

from ..exceptions import ServerStartError
from ..ratelog import RateLimitedLog, printable
from . import validation
from .auth import PasswordGuard
from .charger import Charger
from .connections import (
    GuardedServer,
    HttpLog,
    Link,
    PendingConnections,
    RecentSet,
    cancel_heartbeat,
    refuse,
)
from .ids import PersistentIdAllocator
from .protocol import MAX_FRAME_SIZE, OcppConnection

__all__ = ["SUBPROTOCOL", "CentralSystem", "PersistentIdAllocator", "identity_from_path"]

_LOGGER = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
# aiohttp closes the socket (1009) above this; below it, MAX_FRAME_SIZE answers a CallError.
HARD_FRAME_LIMIT = 4 * 1024 * 1024
# Longer identities are refused (400); Webasto's look like NEXT-WS123456.
MAX_IDENTITY_LENGTH = 128
# Unknown identities remembered (so the owner is told once, not per attempt), and for how long.
UNKNOWN_REMEMBERED = 256
UNKNOWN_FORGET_AFTER = 3600.0

UnknownChargerCallback = Callable[[str, str], None]


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
        self._pending: PendingConnections | None = None
        self._links: dict[web.WebSocketResponse, Link] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._passwords = PasswordGuard(self._log)
        self._unknown = RecentSet(UNKNOWN_REMEMBERED, UNKNOWN_FORGET_AFTER)

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
        self._passwords.forget(identity)
        if charger is None:
            return
        connection = charger.connection
        await charger.shutdown()
        if connection is not None:
            await self._close_connection(connection, "charger removed")

    async def start(self) -> int:
        """Start listening; returns the port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, validation.warm_up)
        pending = PendingConnections(
            self.handshake_timeout, self.max_pending_connections, self._log
        )
        server = GuardedServer(
            self._handle,
            pending,
            logger=HttpLog(self._log),
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
            await charger.shutdown()
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
        for link in list(self._links.values()):
            cancel_heartbeat(link.ws)  # closed above; their handlers may not have run since
        if runner is not None:
            await runner.cleanup()

    # ------------------------------------------------------------- handshake
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        remote = request.remote or "?"
        if request.method != "GET":
            return refuse(405, "Only websocket connections (GET) are served here")
        try:
            identity = identity_from_path(request.rel_url.raw_path)
        except ValueError as err:
            self._log.log(
                logging.WARNING, "bad identity", "", "Refused a connection from %s: %s", remote, err
            )
            return refuse(400, f"Invalid charge box identity: {err}")
        if not identity:
            return refuse(404, "The URL must end with the charge box identity")
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
            return refuse(404, "Unknown charge box identity")
        if charger.password:
            refusal = await self._passwords.authenticate(
                charger, request, remote, self.auth_slowdown
            )
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
            return refuse(400, f"Only the {SUBPROTOCOL} subprotocol is supported")
        ws = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            heartbeat=self.ping_interval,
            max_msg_size=HARD_FRAME_LIMIT,
        )
        if not ws.can_prepare(request).ok:
            return refuse(400, "Expected a websocket upgrade request")
        transport = request.transport
        if (
            transport is None
            or self._pending is None
            or not self._pending.promote(request.protocol)
        ):
            # Closed meanwhile (the client gave up, or the handshake took too long).
            return refuse(408, "The handshake took too long")
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
        await self._serve(charger, Link(ws, transport), remote)
        return ws

    async def _serve(self, charger: Charger, link: Link, remote: str) -> None:
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
            # Nothing of the connection may outlive it (aiohttp may have re-armed its ping).
            cancel_heartbeat(ws)
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
            # Closed by us: its ping timer goes now, not when its handler gets to run again.
            cancel_heartbeat(link.ws)
