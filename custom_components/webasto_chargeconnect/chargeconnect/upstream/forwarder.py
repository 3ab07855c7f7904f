"""Forwarding a charger's OCPP 1.6J traffic to its original backend (e.g. Webasto's cloud).

Home Assistant is the charger's central system; :class:`UpstreamLink` additionally plays
that charger towards a second backend, so that the backend's app keeps working:

- Every Call the charger sent and we answered is forwarded upstream with the charger's
  own payload. We stay the authority: the charger already has our answer, the backend's
  answer is only used to learn ITS transaction ids (and logged when it refuses).
- Transaction ids: the backend answers StartTransaction with its own id; a persisted map
  ours <-> theirs rewrites ``transactionId`` going up and coming down.
- Calls from the backend are passed to the charger and its answer (or CallError) returned.
- The backend is never waited for. Billing messages are queued in order and persisted in a
  :class:`~..storage.StateStore`; they are replayed after an outage or a restart and
  removed only once the backend answered them. Other messages are dropped while the
  backend is unreachable; on every (re)connect the backend gets the latest
  BootNotification and StatusNotification per connector, so it sees the current state.

This module is the link itself: its status, its lifecycle and the connection loop (connect,
announce, drain the queue, reconnect after a back-off). The parts decide on their own:
:mod:`.config` (settings, the URL), :mod:`.connect` (the handshake, the back-off),
:mod:`.backend` (the websocket on the shared OCPP-J endpoint), :mod:`.outbox` (what waits and
what may be lost), :mod:`.transactions` (the id map), :mod:`.persistence` (what is stored,
when), :mod:`.announce` (what we tell the backend ourselves), :mod:`.uplink` (charger ->
backend) and :mod:`.downlink` (backend -> charger).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import copy
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from ..callbacks import Callbacks
from ..storage import StateStore
from ..timeutil import format_ocpp_time, utcnow
from .announce import Announcements
from .backend import Backend, LinkLostError
from .config import UpstreamConfig, UpstreamConfigError, display_url, upstream_url
from .connect import SUBPROTOCOL, connect, describe_connect_error, retry_delay
from .downlink import answer_backend_call
from .outbox import Outbox
from .persistence import LinkState
from .transactions import TransactionMap
from .uplink import Uplink

if TYPE_CHECKING:
    from ..ocpp.charger import Charger

# What the glue imports from here (through the package).
__all__ = ["UpstreamConfig", "UpstreamConfigError", "UpstreamLink", "upstream_url"]

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[], None]


class UpstreamLink:
    """Forwards one charger to its original backend and the backend's commands back."""

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
        self._logger = logger or _LOGGER
        self.url = upstream_url(config.url, charger.identity)

        # Status for sensors.
        self.connected = False
        self.last_error: str | None = None
        self.last_error_time: datetime | None = None
        self.down_since: datetime | None = None
        self.messages_sent = 0

        identity = charger.identity
        self._listeners: Callbacks[[]] = Callbacks(
            self._logger, f"{identity}: an upstream listener"
        )
        self._remove_observer: Callable[[], None] | None = None
        self._outbox = Outbox(config.max_queue, self._logger, identity)
        self._transactions = TransactionMap()
        self._state = LinkState(
            store=store,
            outbox=self._outbox,
            transactions=self._transactions,
            logger=self._logger,
            name=identity,
        )
        self._announcements = Announcements(charger)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._wakeup = asyncio.Event()
        self._retry_now = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False

    # ---------------------------------------------------------------- status
    @property
    def queued(self) -> int:
        """Messages waiting for the backend (billing messages survive a restart)."""
        return len(self._outbox)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every change of the status; returns a remover."""
        return self._listeners.add(listener)

    def _notify(self) -> None:
        self._listeners()

    def _set_error(self, message: str) -> None:
        self.last_error = message
        self.last_error_time = utcnow()
        self._notify()

    def _count_sent(self) -> None:
        self.messages_sent += 1

    def their_transaction_id(self, ours: int) -> int | None:
        """The backend's id for our transaction, if it gave one."""
        return self._transactions.theirs(ours)

    @property
    def display_url(self) -> str:
        """The websocket URL without any credentials in it (for logs and diagnostics)."""
        return display_url(self.url)

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
            "transactions_mapped": len(self._transactions),
        }

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Restore the queue, watch the charger and start connecting."""
        if self._runner is not None:
            return
        self._stopping = False
        await self._state.load()
        self._remove_observer = self.charger.add_call_observer(self._observe)
        self.down_since = utcnow()
        self._runner = asyncio.get_running_loop().create_task(self._run())
        self._notify()

    async def stop(self) -> None:
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
        await self._state.close()
        self._notify()

    async def flush(self) -> None:
        """Wait until the queue and the transaction map are written."""
        await self._state.flush()

    def reconnect_now(self) -> None:
        """Skip the current back-off wait and try to connect at once."""
        self._retry_now.set()

    # ----------------------------------------------------- charger -> upstream
    def _observe(self, action: str, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        """A Call from the charger that we answered (synchronous, on the loop)."""
        payload = copy.deepcopy(payload)
        self._announcements.note(action, payload)
        message = self._outbox.add(action, payload, answer, connected=self.connected)
        if message is None:
            return  # dropped: the backend gets the latest Boot/Status on reconnect
        if message.billing:
            self._state.save_soon()
        self._wakeup.set()
        self._notify()

    # ------------------------------------------------------------ connection
    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                ws = await connect(self._session, self.url, self.config, self.charger.identity)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._set_error(describe_connect_error(err))
                self._logger.debug("%s: upstream connect failed: %s", self.charger.identity, err)
                await self._wait_retry(retry_delay(self.config, failures))
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
                await self._wait_retry(retry_delay(self.config, 0))

    async def _wait_retry(self, delay: timedelta) -> None:
        self._retry_now.clear()
        try:
            async with asyncio.timeout(delay.total_seconds()):
                await self._retry_now.wait()
        except TimeoutError:
            pass

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """One websocket session with the backend."""
        identity = self.charger.identity
        self._ws = ws
        self.connected = True
        self.down_since = None
        self._outbox.connected()
        if ws.protocol != SUBPROTOCOL:
            self._logger.info(
                "%s: the backend did not confirm subprotocol %s", identity, SUBPROTOCOL
            )
        self._logger.info("%s: connected to the backend %s", identity, self.display_url)
        self._notify()
        backend = Backend(
            ws,
            identity,
            logger=self._logger,
            call_timeout=self.config.call_timeout,
            answer=self._answer_backend,
            spawn=self._spawn,
        )
        uplink = Uplink(
            backend=backend,
            charger=self.charger,
            transactions=self._transactions,
            logger=self._logger,
            report=self._set_error,
            answered=self._count_sent,
            mapped=self._state.save_soon,
        )
        reader = asyncio.get_running_loop().create_task(backend.read(self._wakeup.set))
        try:
            await uplink.announce(self._announcements)
            await self._drain(backend, uplink, reader)
        except LinkLostError as err:
            if not self._stopping:
                self._logger.info("%s: backend connection lost: %s", identity, err)
                self._set_error(f"Connection to the backend lost: {err}")
        except aiohttp.ClientError as err:
            if not self._stopping:
                self._set_error(f"Connection to the backend lost: {err}")
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await backend.close()
            self._ws = None
            self._outbox.disconnected()
            self.connected = False
            self.down_since = utcnow()
            self._notify()

    async def _drain(self, backend: Backend, uplink: Uplink, reader: asyncio.Task[None]) -> None:
        """Send queued messages in order; keep the link alive with Heartbeats when idle."""
        loop = asyncio.get_running_loop()
        while True:
            # Cleared before looking: a wake-up from here on is not lost.
            self._wakeup.clear()
            if reader.done() or backend.ws.closed:
                raise LinkLostError(f"websocket closed (code {backend.ws.close_code})")
            message = self._outbox.sending()
            if message is not None:
                await uplink.send(message)
                self._outbox.sent(message)
                if message.billing:
                    self._state.save_soon(urgent=message.action != "MeterValues")
                self._notify()
                continue
            try:
                async with asyncio.timeout(uplink.idle_timeout(loop.time())):
                    await self._wakeup.wait()
            except TimeoutError:
                await uplink.heartbeat()

    # ----------------------------------------------------- upstream -> charger
    async def _answer_backend(self, action: str, payload: Any) -> dict[str, Any]:
        return await answer_backend_call(
            self.charger,
            self._transactions,
            action,
            payload,
            allow_control=self.allow_control,
            logger=self._logger,
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
