"""The websocket connection of a simulated charger, and the plumbing every message uses.

`ChargerLink` opens, serves, drops and closes the connection (`_Link`: one websocket and
the tasks serving it), sends Calls through ocpp (`_call`, or `_send_or_queue` while
offline), answers the central system's Calls one at a time through the session and then
runs their follow-ups, and lets tests send raw frames and wait for calls. What the
charger says over it is in `actions.py`; what it answers, in `charger.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
import json
import logging
import re
import ssl as ssl_module
from typing import Any
import uuid

import aiohttp
from ocpp.exceptions import OCPPError

from .profiles import Profile
from .session import ChargePointSession, Followup
from .state import ChargerState
from .wire import ReceivedCall, WebSocketAdapter, basic_auth, vestel_layout

_FRACTIONAL_TIME = re.compile(r"\.\d+(Z$|[+-])")
RECONNECT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, OCPPError)


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


class ChargerLink(ChargerState, ABC):
    """A charge point's websocket to a central system (`SimulatedCharger` completes it)."""

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
        super().__init__(
            identity, profile, connectors, logger or logging.getLogger(f"webasto_sim.{identity}")
        )
        base = url.rstrip("/")
        self.url = base if base.endswith(f"/{identity}") else f"{base}/{identity}"
        self.password = password
        self.ssl = ssl
        # True: boot on every connect; False: never boot by itself; None: the first boot is
        # manual (`boot()`), later reconnects follow the profile (`Profile.boot_on_reconnect`).
        self.boot_on_connect = boot_on_connect
        self.call_timeout = call_timeout
        self.ws_heartbeat = ws_heartbeat
        self.frame_log = logging.getLogger("webasto_sim.frames")
        self.online = False
        self.close_code: int | None = None
        self.connection_count = 0

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

    @abstractmethod
    def _session(self, adapter: WebSocketAdapter) -> ChargePointSession:
        """The ocpp session that answers the central system's calls on this connection."""

    @abstractmethod
    def _start_reconnecting(self) -> None:
        """Start reconnecting in the background (a connection was lost unasked)."""

    # ------------------------------------------------------------------ connection

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
        link = _Link(http, adapter, self._session(adapter), loop.create_future())
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

    def after_reply(self, followup: Followup) -> None:
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
