"""Reaching the backend: the handshake, the wait between attempts, a failed attempt in words.

- The handshake asks for subprotocol ``ocpp1.6``, sends HTTP Basic credentials only when a
  password is set (user name: the configured one, else the charge box identity), verifies
  TLS unless told not to (or against the configured context), and must complete within the
  call timeout.
- Attempts wait ``reconnect_min`` doubling up to ``reconnect_max``, each cut to a random
  half to whole of it, so that chargers do not all return to a recovered backend at once.
- A failed attempt becomes one sentence for the status sensor and the repair issue:
  credentials refused, charger unknown, certificate untrusted, host unreachable, no answer.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import random
import ssl

import aiohttp

from ..basic_auth import encode_basic_auth
from .config import RECONNECT_MAX, RECONNECT_MIN, UpstreamConfig

SUBPROTOCOL = "ocpp1.6"


async def connect(
    session: aiohttp.ClientSession, url: str, config: UpstreamConfig, identity: str
) -> aiohttp.ClientWebSocketResponse:
    """Open the websocket to the backend as ``identity``; raises what the attempt raised."""
    ping = config.ping_interval
    async with asyncio.timeout(config.call_timeout.total_seconds()):
        return await session.ws_connect(
            url,
            protocols=(SUBPROTOCOL,),
            headers=_headers(config, identity),
            ssl=_ssl(config),
            heartbeat=ping.total_seconds() if ping is not None else None,
        )


def _ssl(config: UpstreamConfig) -> ssl.SSLContext | bool:
    if config.ssl_context is not None:
        return config.ssl_context
    return config.verify_tls


def _headers(config: UpstreamConfig, identity: str) -> dict[str, str]:
    if not config.password:
        return {}
    username = config.username or identity
    return {"Authorization": encode_basic_auth(username, config.password)}


def retry_delay(config: UpstreamConfig, failures: int) -> timedelta:
    """How long to wait before the next attempt, after ``failures`` failed ones in a row."""
    low = config.reconnect_min if config.reconnect_min > timedelta(0) else RECONNECT_MIN
    high = config.reconnect_max if config.reconnect_max > timedelta(0) else RECONNECT_MAX
    # In seconds: a timedelta of a long minimum doubled 30 times would overflow.
    seconds = min(high.total_seconds(), low.total_seconds() * 2 ** min(failures, 30))
    return timedelta(seconds=seconds * random.uniform(0.5, 1.0))


def describe_connect_error(err: BaseException) -> str:
    """What a failed attempt means, for the owner."""
    if isinstance(err, aiohttp.WSServerHandshakeError):
        if err.status in (401, 403):
            return f"The backend refused the charger's credentials (HTTP {err.status})"
        if err.status == 404:
            return "The backend does not know this charger (HTTP 404)"
        return f"The backend refused the connection (HTTP {err.status})"
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        return f"The backend's TLS certificate is not trusted: {err.certificate_error}"
    if isinstance(err, aiohttp.ClientConnectorError):
        return f"Cannot reach the backend: {err.os_error.strerror or err.os_error}"
    if isinstance(err, TimeoutError):
        return "The backend did not answer the connection in time"
    return f"Cannot connect to the backend: {err}"
