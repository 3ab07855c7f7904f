"""OCPP-J framing for one websocket connection: routing, validation, calls, CallErrors.

Transport-agnostic: the server feeds text frames to :meth:`OcppConnection.handle_frame`
and gives a coroutine that sends text. Handlers are methods decorated with the
``ocpp`` package's ``@on(Action.…)``; they receive the payload as sent on the wire
(camelCase) and return the answer payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import inspect
import itertools
import json
import logging
import re
from typing import Any

from ocpp.routing import create_route_map

from ..exceptions import CallErrorResponse, CallTimeoutError, ChargerOfflineError
from ..ratelog import RateLimitedLog
from . import validation

CALL = 2
CALL_RESULT = 3
CALL_ERROR = 4

# A frame larger than this gets a CallError and is not parsed; the connection stays up.
MAX_FRAME_SIZE = 256 * 1024
_MESSAGE_ID_RE = re.compile(r'^\s*\[\s*[234]\s*,\s*"([^"\\]{1,36})"')

Send = Callable[[str], Awaitable[None]]


try:  # orjson ships with Home Assistant; the library works without it.
    import orjson

    def _dumps(payload: Any) -> str:
        return orjson.dumps(payload).decode()

    _loads: Callable[[str], Any] = orjson.loads
except ImportError:  # pragma: no cover - exercised only outside Home Assistant

    def _dumps(payload: Any) -> str:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

    _loads = json.loads


def call_error_frame(
    unique_id: str, code: str, description: str, details: dict[str, Any] | None = None
) -> str:
    """Build a CallError frame."""
    return _dumps([CALL_ERROR, unique_id, code, description, details or {}])


class OcppConnection:
    """One websocket session with a charger, seen from the central system."""

    def __init__(
        self,
        identity: str,
        handlers: object,
        send: Send,
        *,
        logger: logging.Logger,
        call_timeout: float = 30.0,
        max_frame_size: int = MAX_FRAME_SIZE,
        log: RateLimitedLog | None = None,
    ) -> None:
        self.identity = identity
        self._routes: dict[str, dict[str, Any]] = create_route_map(handlers)
        self._send = send
        self._logger = logger
        # Lines about frames the charger sends: at most one per cause a minute (the server
        # shares one across connections, so a reconnecting charger does not reset it).
        self._log = log or RateLimitedLog(logger)
        self.call_timeout = call_timeout
        self.max_frame_size = max_frame_size
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._call_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self.closed = False
        # The websocket this connection runs on (set by the server).
        self.transport: Any = None
        self.frames_in = 0
        self.call_errors_sent = 0
        # Called with (action, payload, answer) after every Call from the charger we answered.
        self.call_observer: Callable[[str, dict[str, Any], dict[str, Any]], None] | None = None

    # ------------------------------------------------------------------ inbound
    async def handle_frame(self, text: str) -> None:
        """Handle one text frame from the charger."""
        self.frames_in += 1
        if len(text) > self.max_frame_size:
            await self._reply_error(
                self._guess_id(text),
                "FormationViolation",
                f"Frame of {len(text)} bytes exceeds the limit of {self.max_frame_size} bytes",
            )
            return
        try:
            message = _loads(text)
        except ValueError:
            await self._reply_error(
                self._guess_id(text), "FormationViolation", "Frame is not valid JSON"
            )
            return
        if not isinstance(message, list) or len(message) < 3:
            await self._reply_error(
                self._guess_id(text),
                "FormationViolation",
                "Frame must be a JSON array [MessageTypeId, UniqueId, ...]",
            )
            return
        kind = message[0]
        unique_id = message[1]
        if not isinstance(unique_id, str) or not unique_id:
            await self._reply_error(
                "-1", "FormationViolation", "UniqueId must be a non-empty string"
            )
            return
        if kind == CALL:
            await self._handle_call(message)
        elif kind in (CALL_RESULT, CALL_ERROR):
            self._handle_response(message)
        else:
            await self._reply_error(
                unique_id, "FormationViolation", f"Unknown MessageTypeId {kind!r}"
            )

    async def _handle_call(self, message: list[Any]) -> None:
        unique_id: str = message[1]
        if len(message) != 4 or not isinstance(message[2], str):
            await self._reply_error(
                unique_id,
                "FormationViolation",
                "A Call is [2, UniqueId, Action, Payload]",
            )
            return
        action: str = message[2]
        payload = message[3]
        route = self._routes.get(action)
        if route is None or "_on_action" not in route:
            if validation.known_v16_action(action):
                await self._reply_error(
                    unique_id, "NotSupported", f"{action} is not supported by this central system"
                )
            else:
                await self._reply_error(unique_id, "NotImplemented", f"Unknown action {action!r}")
            return
        if not isinstance(payload, dict):
            await self._reply_error(
                unique_id, "FormationViolation", "The payload of a Call must be a JSON object"
            )
            return
        try:
            validation.validate_charger_call(action, payload)
        except validation.SchemaError as err:
            self._log.log(
                logging.WARNING,
                f"{action} rejected",
                self.identity,
                "%s: %s rejected: %s (%s)",
                self.identity,
                action,
                err.description,
                err.code,
            )
            await self._reply_error(unique_id, err.code, err.description)
            return
        try:
            result = route["_on_action"](payload)
            if inspect.isawaitable(result):
                result = await result
            validation.validate_our_result(action, result)
        except Exception:
            self._log.log(
                logging.ERROR,
                f"{action} failed",
                self.identity,
                "%s: error while handling %s",
                self.identity,
                action,
                exc_info=True,
            )
            await self._reply_error(
                unique_id, "InternalError", f"The central system failed to handle {action}"
            )
            return
        await self._send(_dumps([CALL_RESULT, unique_id, result]))
        if self.call_observer is not None:
            try:
                self.call_observer(action, payload, result)
            except Exception:
                self._log.log(
                    logging.ERROR,
                    "observer failed",
                    self.identity,
                    "%s: call observer failed on %s",
                    self.identity,
                    action,
                    exc_info=True,
                )

    def _handle_response(self, message: list[Any]) -> None:
        unique_id: str = message[1]
        pending = self._pending.get(unique_id)
        if pending is None:
            self._logger.debug("%s: answer to unknown call %s ignored", self.identity, unique_id)
            return
        action, future = pending
        if future.done():
            return
        if message[0] == CALL_RESULT:
            payload = message[2]
            try:
                validation.validate_charger_result(action, payload)
            except validation.SchemaError as err:
                future.set_exception(
                    CallErrorResponse(action, err.code, f"invalid answer: {err.description}")
                )
                return
            future.set_result(payload)
        else:
            code = validation.call_error_code(message[2])
            description = str(message[3]) if len(message) > 3 else ""
            future.set_exception(CallErrorResponse(action, code, description))

    async def _reply_error(self, unique_id: str, code: str, description: str) -> None:
        self.call_errors_sent += 1
        self._logger.debug("%s: CallError %s: %s", self.identity, code, description)
        await self._send(call_error_frame(unique_id, code, description))

    @staticmethod
    def _guess_id(text: str) -> str:
        match = _MESSAGE_ID_RE.match(text[:128])
        return match.group(1) if match else "-1"

    # ----------------------------------------------------------------- outbound
    async def call(
        self, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a Call and return the charger's answer payload.

        Raises :class:`CallTimeoutError`, :class:`CallErrorResponse` or
        :class:`ChargerOfflineError`.
        """
        validation.validate_our_call(action, payload)
        timeout = self.call_timeout if timeout is None else timeout
        async with self._call_lock:  # OCPP: one outstanding call at a time
            if self.closed:
                raise ChargerOfflineError(f"{self.identity} is not connected")
            unique_id = f"ha-{next(self._ids)}"
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._pending[unique_id] = (action, future)
            try:
                try:
                    await self._send(_dumps([CALL, unique_id, action, payload]))
                except ConnectionError as err:
                    # The websocket is closing (aiohttp raises ConnectionResetError or
                    # ClientConnectionResetError, a ConnectionResetError subclass).
                    raise ChargerOfflineError(
                        f"{self.identity} disconnected while sending {action}: {err}"
                    ) from err
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise CallTimeoutError(action, timeout) from None
            finally:
                self._pending.pop(unique_id, None)

    def connection_lost(self) -> None:
        """Fail every pending call: the websocket is gone."""
        self.closed = True
        for action, future in self._pending.values():
            if not future.done():
                future.set_exception(
                    ChargerOfflineError(f"{self.identity} disconnected during {action}")
                )
