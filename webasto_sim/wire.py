"""What goes over the wire: frame helpers and the websocket under ocpp's ChargePoint.

Formatting (`iso_utc`, `basic_auth`, `vestel_layout`), the case-insensitive id tag
comparison, `ReceivedCall` (a Call as the central system sent it) and `WebSocketAdapter`,
the `send`/`recv` pair ocpp expects on top of an aiohttp websocket.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
import json
from typing import Any

import aiohttp


def basic_auth(login: str, password: str) -> str:
    """An ``Authorization`` header value (RFC 7617), as a charger sends it."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def tag_key(id_tag: str) -> str:
    """OCPP IdTokens are case-insensitive."""
    return id_tag.strip().casefold()


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def iso_utc(moment: datetime | str | None = None) -> str:
    """Format a timestamp as UTC ISO 8601 with milliseconds and a Z (strings pass through)."""
    if isinstance(moment, str):
        return moment
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class ReceivedCall:
    """A Call the central system sent, with its payload exactly as on the wire (camelCase)."""

    action: str
    payload: dict[str, Any]
    unique_id: str


class ConnectionClosedError(ConnectionError):
    """The websocket closed while reading."""


def vestel_layout(text: str) -> str:
    """Lay a frame out the way Vestel firmware (EVC04 v3.118) does.

    CallResults and BootNotification carry their payload pretty-printed over several
    lines (four-space indent, the closing brace indented too); other frames stay compact.
    """
    try:
        frame = json.loads(text)
    except ValueError:
        return text
    if not isinstance(frame, list) or not frame:
        return text
    if frame[0] == 3 and len(frame) == 3:
        head = json.dumps(frame[:2], separators=(",", ":"))[:-1]
    elif frame[0] == 2 and len(frame) == 4 and frame[2] == "BootNotification":
        head = json.dumps(frame[:3], separators=(",", ":"))[:-1]
    else:
        return text
    payload = json.dumps(frame[-1], indent=4)
    if payload.endswith("}") and "\n" in payload:
        payload = payload[:-1] + "    }"
    return f"{head},{payload}]"


class WebSocketAdapter:
    """The `send`/`recv` pair ocpp's ChargePoint expects, on top of an aiohttp websocket."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        answer_pings: Callable[[], bool],
        layout: Callable[[str], str] | None = None,
        sent: Callable[[str], None] | None = None,
    ):
        self.ws = ws
        self._answer_pings = answer_pings
        self._layout = layout
        self._sent = sent

    async def send(self, text: str) -> None:
        if self._layout is not None:
            text = self._layout(text)
        if self._sent is not None:
            self._sent(text)
        await self.ws.send_str(text)

    async def recv(self) -> str:
        while True:
            msg = await self.ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                return str(msg.data)
            if msg.type is aiohttp.WSMsgType.BINARY:
                return bytes(msg.data).decode("utf-8", "replace")
            if msg.type is aiohttp.WSMsgType.PING:
                if self._answer_pings():
                    await self.ws.pong(msg.data)
                continue
            if msg.type is aiohttp.WSMsgType.PONG:
                continue
            raise ConnectionClosedError(f"websocket closed ({msg.type.name})")

    def abort(self) -> None:
        """Kill the TCP connection without a close frame (simulated network loss)."""
        connection = self.ws._response.connection
        if connection is not None and connection.transport is not None:
            connection.transport.abort()
