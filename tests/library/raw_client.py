"""A websocket client on a bare socket, for what well-behaved clients never do.

It can stop reading (a charger whose network went half-open: the server's send buffer
fills), hold a connection without finishing the handshake, send oversized headers, or
connect from another loopback address (127.0.0.2, ...).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

from webasto_sim import basic_auth


class RawClient:
    """One TCP connection to the central system."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.status: int | None = None
        self.head = b""

    @classmethod
    async def open(
        cls, port: int, *, source: str = "127.0.0.1", rcvbuf: int | None = None
    ) -> RawClient:
        """Connect (from ``source``); with ``rcvbuf`` a tiny receive window."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        sock.bind((source, 0))
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        return cls(sock)

    async def send(self, data: bytes) -> None:
        await self.loop.sock_sendall(self.sock, data)

    async def request(
        self,
        path: str,
        *,
        login: str | None = None,
        password: str | None = None,
        protocol: str | None = "ocpp1.6",
        extra: str = "",
    ) -> int:
        """Send a websocket upgrade request and read the status line and headers."""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            "Host: 127.0.0.1",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if protocol is not None:
            lines.append(f"Sec-WebSocket-Protocol: {protocol}")
        if login is not None and password is not None:
            lines.append(f"Authorization: {basic_auth(login, password)}")
        await self.send(("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode())
        return await self.read_head()

    async def read_head(self) -> int:
        """Read the answer's status line and headers (not its body)."""
        while b"\r\n\r\n" not in self.head:
            chunk = await self.loop.sock_recv(self.sock, 4096)
            if not chunk:
                raise ConnectionResetError("closed before the answer")
            self.head += chunk
        self.status = int(self.head.split(b" ", 2)[1])
        return self.status

    async def send_text(self, text: str) -> None:
        """One masked text frame, as a client must send it."""
        payload = text.encode()
        mask = os.urandom(4)
        if len(payload) < 126:
            header = struct.pack("!BB", 0x81, 0x80 | len(payload))
        elif len(payload) < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, len(payload))
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        await self.send(header + mask + masked)

    def try_send(self, data: bytes) -> int:
        """Send without waiting; how much the kernel took (0: our send buffer is full)."""
        try:
            return self.sock.send(data)
        except BlockingIOError:
            return 0

    async def closed_by_peer(self) -> bool:
        """Read (and drop) until the server closes the connection."""
        try:
            while await self.loop.sock_recv(self.sock, 65536):
                pass
        except ConnectionError:
            pass
        return True

    def close(self) -> None:
        self.sock.close()
