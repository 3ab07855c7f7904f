"""What a link to the charger's original backend is configured with, and which URL it opens.

Decides which URLs are usable (ws:// or wss:// only: the error carries a translation key for
the flows) and the URL convention of OCPP-J backends, Webasto's included: the configured URL
with the charge box identity appended as the last path segment (``wss://host/ocpp`` ->
``wss://host/ocpp/NEXT-WS123456``), unless the URL already ends with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
import ssl
from urllib.parse import quote, unquote, urlsplit

from ..exceptions import ChargeConnectError

# Reconnect back-off: RECONNECT_MIN doubling up to RECONNECT_MAX (with jitter).
RECONNECT_MIN = timedelta(seconds=1)
RECONNECT_MAX = timedelta(minutes=5)
# How long the backend may take to answer the handshake or one of our Calls.
CALL_TIMEOUT = timedelta(seconds=30)
# Websocket ping interval.
PING_INTERVAL = timedelta(minutes=1)


class UpstreamConfigError(ChargeConnectError):
    """The backend URL cannot be used."""

    translation_key = "upstream_invalid_url"

    def __init__(self, url: str) -> None:
        super().__init__(f"The backend URL {url!r} must start with ws:// or wss://", url=url)


@dataclass
class UpstreamConfig:
    """Where and how to reach the charger's original backend."""

    url: str
    username: str | None = None  # default: the charge box identity
    password: str | None = None  # HTTP Basic password (OCPP security profile 1/2)
    allow_control: bool = True  # pass the backend's commands to the charger
    verify_tls: bool = True
    ssl_context: ssl.SSLContext | None = None
    # Reconnect back-off: reconnect_min doubling up to reconnect_max (with jitter); a
    # duration that is not positive means the default.
    reconnect_min: timedelta = RECONNECT_MIN
    reconnect_max: timedelta = RECONNECT_MAX
    # How long the backend may take to answer one of our Calls before we reconnect.
    call_timeout: timedelta = CALL_TIMEOUT
    # Websocket ping interval (None: no pings).
    ping_interval: timedelta | None = PING_INTERVAL
    # Most billing messages kept during an outage; beyond it the oldest MeterValues go.
    max_queue: int = 2000

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url.strip()).scheme.lower()
        if scheme not in ("ws", "wss"):
            raise UpstreamConfigError(self.url)
        self.url = self.url.strip()


def upstream_url(url: str, identity: str) -> str:
    """The websocket URL for ``identity``: the identity is the last path segment."""
    base = url.rstrip("/")
    last = unquote(urlsplit(base).path.rstrip("/").rsplit("/", 1)[-1])
    if last == identity:
        return base
    return f"{base}/{quote(identity, safe='')}"


def display_url(url: str) -> str:
    """``url`` without any credentials in it (for logs and diagnostics)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
