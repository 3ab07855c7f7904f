"""One end of an OCPP-J websocket: the codec, frame parsing, the pending-call table, ``call()``.

Both sides of this library speak OCPP-J: :class:`~.protocol.OcppConnection` towards a
charger (we are its central system) and the upstream forwarder towards the charger's
original backend (we play the charger). This is what they share. A side says what it does
with a Call it receives (:meth:`OcppEndpoint.handle_call`), with a frame it cannot parse
(:meth:`OcppEndpoint.frame_rejected`) and which exceptions the callers of
:meth:`OcppEndpoint.call` see, by overriding the hooks.

Transport-agnostic: the owner feeds text frames to :meth:`OcppEndpoint.handle_frame` and
gives a coroutine that sends text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import itertools
import json
import logging
import re
from typing import Any

from ..exceptions import CallErrorResponse, CallTimeoutError, ChargerOfflineError

CALL = 2
CALL_RESULT = 3
CALL_ERROR = 4

# A frame larger than this gets a CallError and is not parsed; the connection stays up.
MAX_FRAME_SIZE = 256 * 1024
_MESSAGE_ID_RE = re.compile(r'^\s*\[\s*[234]\s*,\s*"([^"\\]{1,36})"')

Send = Callable[[str], Awaitable[None]]


try:  # orjson ships with Home Assistant; the library works without it.
    import orjson

    def dumps(payload: Any) -> str:
        """Encode one frame (compact JSON)."""
        return orjson.dumps(payload).decode()

    loads: Callable[[str], Any] = orjson.loads
except ImportError:  # pragma: no cover - exercised only outside Home Assistant

    def dumps(payload: Any) -> str:
        """Encode one frame (compact JSON)."""
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

    loads = json.loads


def call_error_frame(
    unique_id: str, code: str, description: str, details: dict[str, Any] | None = None
) -> str:
    """Build a CallError frame."""
    return dumps([CALL_ERROR, unique_id, code, description, details or {}])


class FrameError(Exception):
    """A frame that is not a well-formed OCPP-J message; the CallError it deserves."""

    def __init__(
        self, unique_id: str, code: str, description: str, *, not_json: bool = False
    ) -> None:
        super().__init__(f"{code}: {description}")
        self.unique_id = unique_id
        self.code = code
        self.description = description
        self.not_json = not_json


def guess_id(text: str) -> str:
    """The UniqueId of a frame that cannot be parsed, if it shows one ("-1" if not)."""
    match = _MESSAGE_ID_RE.match(text[:128])
    return match.group(1) if match else "-1"


def parse_frame(text: str, max_frame_size: int = MAX_FRAME_SIZE) -> list[Any]:
    """Decode one frame and check its envelope; raises :class:`FrameError`.

    The result is a Call ``[2, UniqueId, Action, Payload]`` (Action a string) or a
    CallResult / CallError with a non-empty string UniqueId and at least three elements.
    """
    if len(text) > max_frame_size:
        raise FrameError(
            guess_id(text),
            "FormationViolation",
            f"Frame of {len(text)} bytes exceeds the limit of {max_frame_size} bytes",
        )
    try:
        message = loads(text)
    except ValueError:
        raise FrameError(
            guess_id(text), "FormationViolation", "Frame is not valid JSON", not_json=True
        ) from None
    if not isinstance(message, list) or len(message) < 3:
        raise FrameError(
            guess_id(text),
            "FormationViolation",
            "Frame must be a JSON array [MessageTypeId, UniqueId, ...]",
        )
    kind = message[0]
    unique_id = message[1]
    if not isinstance(unique_id, str) or not unique_id:
        raise FrameError("-1", "FormationViolation", "UniqueId must be a non-empty string")
    if kind == CALL:
        if len(message) != 4 or not isinstance(message[2], str):
            raise FrameError(
                unique_id, "FormationViolation", "A Call is [2, UniqueId, Action, Payload]"
            )
    elif kind not in (CALL_RESULT, CALL_ERROR):
        raise FrameError(unique_id, "FormationViolation", f"Unknown MessageTypeId {kind!r}")
    return message


class OcppEndpoint:
    """One end of an OCPP-J websocket: routes frames, sends Calls and awaits their answers."""

    # Exceptions of ``send`` that mean the websocket is gone.
    SEND_ERRORS: tuple[type[Exception], ...] = (ConnectionError,)

    def __init__(
        self,
        name: str,
        send: Send,
        *,
        logger: logging.Logger,
        call_timeout: float = 30.0,
        max_frame_size: int = MAX_FRAME_SIZE,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.name = name  # who is on the other end, for logs and errors
        self._send = send
        self._logger = logger
        self.call_timeout = call_timeout
        self.max_frame_size = max_frame_size
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        counter = itertools.count(1)
        self._new_id = new_id or (lambda: f"ha-{next(counter)}")
        self._closed = False
        self.frames_in = 0
        # Loop time at which the last Call left (None: none yet).
        self.last_call_time: float | None = None

    @property
    def closed(self) -> bool:
        """True once the websocket is gone: :meth:`call` fails at once."""
        return self._closed

    # ------------------------------------------------------------------ inbound
    async def handle_frame(self, text: str) -> None:
        """Handle one text frame from the other end."""
        self.frames_in += 1
        try:
            message = parse_frame(text, self.max_frame_size)
        except FrameError as err:
            await self.frame_rejected(err)
            return
        if message[0] == CALL:
            await self.handle_call(message[1], message[2], message[3])
        else:
            self._settle(message)

    async def handle_call(self, unique_id: str, action: str, payload: Any) -> None:
        """Hook: answer a Call (with :meth:`send_result` or :meth:`send_error`)."""
        await self.send_error(unique_id, "NotImplemented", f"Unknown action {action!r}")

    async def frame_rejected(self, err: FrameError) -> None:
        """Hook: a frame that does not parse; by default it gets its CallError."""
        await self.send_error(err.unique_id, err.code, err.description)

    async def send_result(self, unique_id: str, payload: dict[str, Any]) -> None:
        """Answer a Call with a CallResult."""
        await self._send(dumps([CALL_RESULT, unique_id, payload]))

    async def send_error(self, unique_id: str, code: str, description: str) -> None:
        """Answer a Call (or a broken frame) with a CallError."""
        await self._send(call_error_frame(unique_id, code, description))

    def _settle(self, message: list[Any]) -> None:
        unique_id: str = message[1]
        pending = self._pending.get(unique_id)
        if pending is None:
            self._logger.debug("%s: answer to unknown call %s ignored", self.name, unique_id)
            return
        action, future = pending
        if future.done():
            return
        if message[0] == CALL_RESULT:
            try:
                result = self.check_result(action, message[2])
            except Exception as err:  # the caller of call() gets it
                future.set_exception(err)
                return
            future.set_result(result)
        else:
            description = str(message[3]) if len(message) > 3 else ""
            future.set_exception(self.call_error(action, message[2], description))

    # -------------------------------------------------------------- answer hooks
    def check_result(self, action: str, payload: Any) -> dict[str, Any]:
        """Hook: the payload of a CallResult as call() returns it; raise to refuse it."""
        return payload if isinstance(payload, dict) else {}

    def call_error(self, action: str, code: Any, description: str) -> Exception:
        """Hook: what call() raises when the other end answers with a CallError."""
        return CallErrorResponse(action, str(code), description)

    def closed_error(self, action: str) -> Exception:
        """Hook: what call() raises when the websocket is already gone."""
        return ChargerOfflineError(f"{self.name} is not connected")

    def send_failed(self, action: str, err: Exception) -> Exception:
        """Hook: what call() raises when the Call cannot be sent (one of SEND_ERRORS)."""
        return ChargerOfflineError(f"{self.name} disconnected while sending {action}: {err}")

    def timed_out(self, action: str, timeout: float) -> Exception:
        """Hook: what call() raises when no answer came in time."""
        return CallTimeoutError(action, timeout)

    # ----------------------------------------------------------------- outbound
    async def call(
        self, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a Call and return the answer payload (the hooks decide the exceptions)."""
        timeout = self.call_timeout if timeout is None else timeout
        if self.closed:
            raise self.closed_error(action)
        unique_id = self._new_id()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[unique_id] = (action, future)
        try:
            try:
                await self._send(dumps([CALL, unique_id, action, payload]))
            except self.SEND_ERRORS as err:
                raise self.send_failed(action, err) from err
            self.last_call_time = asyncio.get_running_loop().time()
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise self.timed_out(action, timeout) from None
        finally:
            self._pending.pop(unique_id, None)

    def fail_pending(self, error: Callable[[str], Exception]) -> None:
        """The websocket is gone: close, and fail every pending call with ``error(action)``."""
        self._closed = True
        for action, future in self._pending.values():
            if not future.done():
                future.set_exception(error(action))
        self._pending.clear()
