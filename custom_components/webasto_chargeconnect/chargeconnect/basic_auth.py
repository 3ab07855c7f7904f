"""HTTP Basic authentication (RFC 7617): the OCPP-J security profile 1 header, both ways.

Written out here rather than taken from aiohttp: ``aiohttp.BasicAuth`` and the ``auth=`` client
parameter are deprecated from aiohttp 3.14 (Home Assistant 2026.10), and the replacement
``aiohttp.encode_basic_auth`` does not exist in the aiohttp of older Home Assistant versions.
"""

from __future__ import annotations

import base64
import binascii


def encode_basic_auth(login: str, password: str) -> str:
    """The value of an ``Authorization`` header for these credentials (UTF-8, RFC 7617)."""
    if ":" in login:
        raise ValueError('a ":" is not allowed in a Basic auth user name (RFC 7617)')
    token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def decode_basic_auth(header: str) -> tuple[str, str] | None:
    """The (user, password) of a Basic ``Authorization`` header; None if it is not one."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
