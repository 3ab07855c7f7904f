"""Personal link tokens and Scan & Charge codes: made at random, kept only as a hash.

A personal link (of a share or a group member) carries a token of 32 random bytes
(``secrets.token_urlsafe(32)``, 256 bits). Only its SHA-256 is stored, so the store, a backup
or diagnostics give nobody a working link; a token presented is hashed and compared in
constant time (:func:`hmac.compare_digest`). A charger code (the QR sticker's link) names a
charger without giving its OCPP identity away; it is no secret (anyone at the charger can
read it), so it is stored as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
CODE_BYTES = 12
# A presented token longer than this is not one of ours (and is not hashed).
MAX_TOKEN_LENGTH = 128


def new_token() -> str:
    """A fresh personal-link token (URL-safe, 43 characters, 256 random bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_code() -> str:
    """A fresh charger code for a QR sticker (URL-safe, 16 characters)."""
    return secrets.token_urlsafe(CODE_BYTES)


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def plausible(token: object) -> bool:
    """A string that could be one of our tokens or codes (URL-safe, not absurdly long)."""
    return (
        isinstance(token, str)
        and 0 < len(token) <= MAX_TOKEN_LENGTH
        and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in token)
    )


def find_hash(token: str, hashes: Iterable[str | None]) -> str | None:
    """The stored hash that matches ``token``, compared in constant time, or None.

    Every stored hash is compared (no early exit), so the time taken does not tell how
    close a guess came or where its match sits.
    """
    if not plausible(token):
        return None
    wanted = hash_token(token).encode("ascii")
    found: str | None = None
    for stored in hashes:
        if stored is not None and hmac.compare_digest(wanted, stored.encode("utf-8")):
            found = stored
    return found
