"""OCPP-J towards one charger: routing its Calls to handlers, validation, CallErrors.

The framing, the pending-call table and :meth:`~.endpoint.OcppEndpoint.call` live in
:mod:`.endpoint` (the upstream forwarder uses them too). The server feeds text frames to
:meth:`OcppConnection.handle_frame` and gives a coroutine that sends text. Handlers are
methods decorated with the ``ocpp`` package's ``@on(Action.…)``; they receive the payload
as sent on the wire (camelCase) and return the answer payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import inspect
import logging
from typing import Any

from ocpp.routing import create_route_map

from ..exceptions import CallErrorResponse, ChargerOfflineError
from ..ratelog import RateLimitedLog
from . import validation
from .endpoint import (
    CALL,
    CALL_ERROR,
    CALL_RESULT,
    MAX_FRAME_SIZE,
    FrameError,
    OcppEndpoint,
    Send,
    call_error_frame,
)

__all__ = [
    "CALL",
    "CALL_ERROR",
    "CALL_RESULT",
    "MAX_FRAME_SIZE",
    "OcppConnection",
    "Send",
    "call_error_frame",
]


class OcppConnection(OcppEndpoint):
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
        super().__init__(
            identity,
            send,
            logger=logger,
            call_timeout=call_timeout,
            max_frame_size=max_frame_size,
        )
        self.identity = identity
        self._routes: dict[str, dict[str, Any]] = create_route_map(handlers)
        # Lines about frames the charger sends: at most one per cause a minute (the server
        # shares one across connections, so a reconnecting charger does not reset it).
        self._log = log or RateLimitedLog(logger)
        self._call_lock = asyncio.Lock()
        # The websocket this connection runs on (set by the server).
        self.transport: Any = None
        self.call_errors_sent = 0
        # Called with (action, payload, answer) after every Call from the charger we answered.
        self.call_observer: Callable[[str, dict[str, Any], dict[str, Any]], None] | None = None

    # ------------------------------------------------------------------ inbound
    async def frame_rejected(self, err: FrameError) -> None:
        """A frame that does not parse gets its CallError; the connection stays up."""
        await self._reply_error(err.unique_id, err.code, err.description)

    async def handle_call(self, unique_id: str, action: str, payload: Any) -> None:
        """Route a Call from the charger to its handler and answer it."""
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
        await self.send_result(unique_id, result)
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

    async def _reply_error(self, unique_id: str, code: str, description: str) -> None:
        self.call_errors_sent += 1
        self._logger.debug("%s: CallError %s: %s", self.identity, code, description)
        await self.send_error(unique_id, code, description)

    # ---------------------------------------------------------- answer checking
    def check_result(self, action: str, payload: Any) -> dict[str, Any]:
        """The charger's CallResult must match the 1.6 schema of ``action``."""
        try:
            validation.validate_charger_result(action, payload)
        except validation.SchemaError as err:
            raise CallErrorResponse(
                action, err.code, f"invalid answer: {err.description}"
            ) from None
        result: dict[str, Any] = payload
        return result

    def call_error(self, action: str, code: Any, description: str) -> Exception:
        """Both spellings of the occurrence code read as the 1.6 one (``Occurence``)."""
        return CallErrorResponse(action, validation.call_error_code(code), description)

    # ----------------------------------------------------------------- outbound
    async def call(
        self, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a Call and return the charger's answer payload.

        Raises :class:`CallTimeoutError`, :class:`CallErrorResponse` or
        :class:`ChargerOfflineError`.
        """
        validation.validate_our_call(action, payload)
        async with self._call_lock:  # OCPP: one outstanding call at a time
            return await super().call(action, payload, timeout)

    def connection_lost(self) -> None:
        """Fail every pending call: the websocket is gone."""
        self.fail_pending(
            lambda action: ChargerOfflineError(f"{self.identity} disconnected during {action}")
        )
