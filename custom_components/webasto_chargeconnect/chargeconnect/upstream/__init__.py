"""Forwarding to the charger's original backend."""

from .forwarder import UpstreamConfig, UpstreamConfigError, UpstreamLink, upstream_url

__all__ = [
    "UpstreamConfig",
    "UpstreamConfigError",
    "UpstreamLink",
    "upstream_url",
]
