"""Forwarding to the charger's original backend, and the charger's own web-UI API."""

from .forwarder import UpstreamConfig, UpstreamConfigError, UpstreamLink, upstream_url
from .webui import (
    ChargerWebInfo,
    WebUiAuthError,
    WebUiClient,
    WebUiConnectionError,
    WebUiError,
    WebUiNotSupportedError,
)

__all__ = [
    "ChargerWebInfo",
    "UpstreamConfig",
    "UpstreamConfigError",
    "UpstreamLink",
    "WebUiAuthError",
    "WebUiClient",
    "WebUiConnectionError",
    "WebUiError",
    "WebUiNotSupportedError",
    "upstream_url",
]
