"""Charger passwords: HTTP Basic credentials, with password guessing bounded per identity."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import hmac
import logging
import time

from aiohttp import web

from ..basic_auth import decode_basic_auth
from ..ratelog import RateLimitedLog, printable
from .charger import Charger
from .connections import refuse

# Wrong passwords per identity answered at once; then one more every AUTH_REFILL_SECONDS.
AUTH_BURST = 5
AUTH_REFILL_SECONDS = 12.0
# Beyond the burst, attempts wait their turn (one at a time per lane); this many may wait.
AUTH_QUEUE = 3


@dataclass
class _Lane:
    """Password attempts that wait their turn, one checked at a time."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


@dataclass
class _Gate:
    """Password attempts for one identity, from every address.

    A wrong password costs a token (AUTH_BURST of them, refilled over time). With tokens left,
    attempts are checked at once. Without, they are checked one at a time per lane, a wrong one
    holding its lane for ``auth_slowdown`` seconds, so guesses stay bounded however many
    addresses send them; the right password still gets in, only later. The address the charger
    last authenticated from has a lane of its own: guesses from elsewhere never slow it down.
    """

    tokens: float
    stamp: float
    trusted: str | None = None
    trusted_lane: _Lane = field(default_factory=_Lane)
    other_lane: _Lane = field(default_factory=_Lane)

    def take(self, now: float) -> bool:
        """Take a token for an immediate check (False: none left)."""
        self.tokens = min(AUTH_BURST, self.tokens + (now - self.stamp) / AUTH_REFILL_SECONDS)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def refund(self) -> None:
        """The password was right: the check costs nothing."""
        self.tokens = min(AUTH_BURST, self.tokens + 1)

    def lane(self, remote: str) -> _Lane:
        return self.trusted_lane if self.trusted in (None, remote) else self.other_lane


class PasswordGuard:
    """Checks chargers' passwords; one :class:`_Gate` per identity bounds the guessing."""

    def __init__(self, log: RateLimitedLog) -> None:
        self._log = log
        self._gates: dict[str, _Gate] = {}

    def forget(self, identity: str) -> None:
        """The charger was removed: its attempts are forgotten."""
        self._gates.pop(identity, None)

    async def authenticate(
        self, charger: Charger, request: web.BaseRequest, remote: str, slowdown: float
    ) -> web.Response | None:
        """None if the charger proved its password, else the refusal to send.

        Beyond the burst, a wrong password holds its lane for ``slowdown`` seconds.
        """
        identity = charger.identity
        credentials = _credentials(request)
        if credentials is None:
            return self._refuse_password(identity, remote, "no password given")
        now = time.monotonic()
        gate = self._gates.get(identity)
        if gate is None:
            gate = self._gates[identity] = _Gate(AUTH_BURST, now)
        if gate.take(now):
            if _password_ok(charger, credentials):
                gate.refund()
                gate.trusted = remote
                return None
            return self._refuse_password(identity, remote, "wrong password")
        lane = gate.lane(remote)
        if lane.waiting >= AUTH_QUEUE:
            self._log.log(
                logging.WARNING,
                "guessing",
                identity,
                "Charger %s: too many failed logins; attempts from %s are refused for a while",
                printable(identity),
                remote,
            )
            return refuse(429, "Too many failed attempts; try again later")
        lane.waiting += 1
        try:
            async with lane.lock:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return refuse(401, "Gave up waiting")
                if _password_ok(charger, credentials):
                    gate.trusted = remote
                    return None
                await asyncio.sleep(slowdown)
        finally:
            lane.waiting -= 1
        return self._refuse_password(identity, remote, "wrong password")

    def _refuse_password(self, identity: str, remote: str, reason: str) -> web.Response:
        self._log.log(
            logging.WARNING,
            reason,
            identity,
            "Refused charger %s from %s: %s",
            printable(identity),
            remote,
            reason,
        )
        return refuse(
            401,
            "Wrong charge box identity or password",
            {"WWW-Authenticate": 'Basic realm="OCPP"'},
        )


def _credentials(request: web.BaseRequest) -> tuple[str, str] | None:
    return decode_basic_auth(request.headers.get("Authorization", ""))


def _password_ok(charger: Charger, credentials: tuple[str, str]) -> bool:
    assert charger.password is not None
    user_ok = hmac.compare_digest(credentials[0].encode(), charger.identity.encode())
    password_ok = hmac.compare_digest(credentials[1].encode(), charger.password.encode())
    return user_ok and password_ok
