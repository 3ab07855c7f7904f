"""The open websocket to the backend, on the shared OCPP-J endpoint (here we play the charger).

The framing, the pending-call table and ``call()`` are :mod:`..ocpp.endpoint`'s; this module
decides what the link sees of them:

- Everything that leaves a Call without an answer (the websocket closed, a send failed, no
  answer within the call timeout) is a :class:`LinkLostError`: the link drops the connection
  and connects again. A CallError from the backend is an :class:`UpstreamCallError`: the
  backend refused one message, the connection stays.
- Frames the backend gets wrong are logged, not answered: the backend is not the party whose
  frames we police.
- The backend's Calls are answered in tasks of their own (the reader never waits for the
  charger); an answer for a websocket that closed meanwhile is dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
import logging
from typing import Any
import uuid

import aiohttp

from ..ocpp.endpoint import FrameError, OcppEndpoint

# aiohttp's own limit for a websocket message: the backend's frames are not cut shorter.
BACKEND_MAX_FRAME = 4 * 1024 * 1024

# The answer to one Call from the backend (action, payload); raises UpstreamCallError.
Answer = Callable[[str, Any], Awaitable[dict[str, Any]]]
# Runs a coroutine in a task that the link owns (and cancels when it stops).
Spawn = Callable[[Coroutine[Any, Any, None]], None]


class LinkLostError(Exception):
    """The websocket to the backend closed or stopped answering."""


class UpstreamCallError(Exception):
    """A CallError between us and the backend: its answer to our Call, or ours to its Call."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class Backend(OcppEndpoint):
    """The websocket to the backend, seen from the charger we play."""

    SEND_ERRORS = (aiohttp.ClientError, ConnectionError, RuntimeError)

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        identity: str,
        *,
        logger: logging.Logger,
        call_timeout: timedelta,
        answer: Answer,
        spawn: Spawn,
    ) -> None:
        super().__init__(
            identity,
            ws.send_str,
            logger=logger,
            call_timeout=call_timeout.total_seconds(),
            max_frame_size=BACKEND_MAX_FRAME,
            new_id=lambda: str(uuid.uuid4()),
        )
        self.ws = ws
        self._answer = answer
        self._spawn = spawn

    @property
    def closed(self) -> bool:
        return self._closed or self.ws.closed

    async def read(self, on_closed: Callable[[], None]) -> None:
        """Feed the backend's frames to the endpoint until the websocket closes."""
        ws = self.ws
        try:
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    await self.handle_frame(str(message.data))
                elif message.type is aiohttp.WSMsgType.BINARY:
                    await self.handle_frame(bytes(message.data).decode("utf-8", "replace"))
                elif message.type is aiohttp.WSMsgType.ERROR:
                    break
        finally:
            reason = f"websocket closed (code {ws.close_code})"
            self.fail_pending(lambda _action: LinkLostError(reason))
            on_closed()

    async def close(self) -> None:
        """Fail what still waits for an answer and close the websocket."""
        self.fail_pending(lambda _action: LinkLostError("connection closed"))
        if not self.ws.closed:
            await self.ws.close()

    # ------------------------------------------------------------ endpoint hooks
    async def handle_call(self, unique_id: str, action: str, payload: Any) -> None:
        self._spawn(self._respond(unique_id, action, payload))

    async def _respond(self, unique_id: str, action: str, payload: Any) -> None:
        error: UpstreamCallError | None = None
        try:
            result = await self._answer(action, payload)
        except UpstreamCallError as err:
            error = err
        if self.ws.closed:
            return
        try:
            if error is not None:
                await self.send_error(unique_id, error.code, error.description)
            else:
                await self.send_result(unique_id, result)
        except self.SEND_ERRORS as err:
            self._logger.debug("%s: cannot answer the backend: %s", self.name, err)

    async def frame_rejected(self, err: FrameError) -> None:
        if err.not_json:
            self._logger.warning("%s: backend sent a frame that is not JSON", self.name)
        else:
            self._logger.warning("%s: backend sent a malformed frame", self.name)

    def call_error(self, action: str, code: Any, description: str) -> Exception:
        return UpstreamCallError(str(code), description)

    def closed_error(self, action: str) -> Exception:
        return LinkLostError("websocket closed")

    def send_failed(self, action: str, err: Exception) -> Exception:
        return LinkLostError(f"cannot send {action}: {err}")

    def timed_out(self, action: str, timeout: float) -> Exception:
        return LinkLostError(f"no answer to {action} within {timeout:g} s")
