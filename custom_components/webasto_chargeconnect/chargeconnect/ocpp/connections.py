"""The central system's TCP and websocket plumbing on aiohttp's low-level server.

Connections that are not an authenticated websocket yet are bounded in time and number
(:class:`PendingConnections`, told by :class:`GuardedServer`); a charger's websocket and its
transport are one :class:`Link` whose writes and close handshake are bounded in time;
aiohttp's server log goes through :class:`HttpLog`. Every use of a private aiohttp name is
one function here (:func:`cancel_heartbeat`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
import logging
import time
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..ratelog import RateLimitedLog, printable


def refuse(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    """An HTTP refusal; the connection closes after it (no keep-alive)."""
    response = web.Response(status=status, text=text, headers=headers)
    response.force_close()
    return response


def cancel_heartbeat(ws: web.WebSocketResponse) -> None:
    """Stop aiohttp's ping timer of a websocket that is done (private aiohttp API).

    aiohttp (3.11 to 3.14 at least) re-arms the ping timer when ``receive()`` hands over an
    ERROR message (e.g. no pong in time) although the socket is closed, so a timer would
    outlive the connection; ``WebSocketResponse`` has no public way to cancel it. This can go
    when aiohttp cancels the heartbeat itself whenever the response is closed. Looked up with
    getattr: if a release drops the private name, nothing breaks (the timer then just fires
    once into a closed socket).
    """
    cancel = getattr(ws, "_cancel_heartbeat", None)
    if callable(cancel):
        cancel()


class RecentSet:
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


class PendingConnections:
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


class GuardedServer(web.Server):
    """aiohttp's low-level server, telling the guard about every TCP connection.

    ``connection_made``/``connection_lost`` are the low-level server's (public, but little
    documented) hooks that its request handlers call.
    """

    def __init__(self, handler: Any, guard: PendingConnections, **kwargs: Any) -> None:
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


class HttpLog(logging.LoggerAdapter[logging.Logger]):
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


class Link:
    """One charger websocket and the TCP transport under it."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport) -> None:
        self.ws = ws
        self.transport = transport

    async def send(self, text: str, timeout: float) -> None:
        if not self.transport.get_write_buffer_size():
            # Nothing waits to be written: the frame goes to the socket without waiting, so no
            # timer is needed (the common case; a timer per frame costs the event loop).
            await self.ws.send_str(text)
            return
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
