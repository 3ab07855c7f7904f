"""What the guest page's API does: who is asking, what they see, start, stop, accept.

Glue only: whom a link or a code belongs to and what they may do is decided by the library
(``AccessControl.guest_*``, ``chargeconnect.access.guest``); this module adds the cookie and
the CSRF check, the guessing limits, the charger's live state and the archive, and turns
everything into the JSON of the page. It never logs a token, a cookie or an access code.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
import hashlib
import hmac
import json
import secrets
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..chargeconnect.access import AccessControl, AttemptLimiter, GuestRefusedError, Person
from ..chargeconnect.access.guest import may_stop
from ..const import DOMAIN
from ..hub import HUB
from .view_model import ChargerRef, charger_refs, charger_view, past_sessions

BASE_PATH = f"/{DOMAIN}/guest"
COOKIE = "wcc_guest"
COOKIE_MAX_AGE = 365 * 24 * 3600
EVENT_GUEST_ACTION = f"{DOMAIN}_guest_action"
_PERSONAL = "p."
_CODE = "c."

# HTTP status of every error code of the page's API.
STATUS: dict[str, int] = {
    "bad_request": 400,
    "invalid_link": 401,
    "invalid_code": 401,
    "expired": 401,
    "revoked": 401,
    "removed": 401,
    "ended": 401,
    "csrf": 403,
    "not_accepted": 403,
    "not_yours": 403,
    "not_allowed": 403,
    "not_found": 404,
    "offline": 409,
    "busy": 409,
    "booked": 409,
    "no_tag": 409,
    "not_running": 409,
    "rate_limited": 429,
    "failed": 502,
}


class GuestError(Exception):
    """An answer of the API other than 200: ``code`` is one of :data:`STATUS`."""

    def __init__(self, code: str, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status = STATUS[code]
        self.retry_after = retry_after


@dataclass(frozen=True)
class Visitor:
    """A request's person, and the cookie it came with."""

    person: Person
    cookie: str


class GuestPortal:
    """The guest API of one Home Assistant (all its charger entries)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        # Failed tokens and cookies per client; wrong access codes per client and charger.
        self.limiter = AttemptLimiter()
        self._store: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.guest", private=True)
        self._secret: bytes | None = None
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ plumbing

    def access(self) -> AccessControl:
        """The installation's access control while a charger entry is loaded, else 404."""
        hub = self.hass.data.get(HUB)
        if hub is None or hub.access is None or not self.owners():
            raise GuestError("not_found")
        return hub.access

    def owners(self) -> dict[str, ChargerRef]:
        """The loaded chargers by OCPP identity."""
        return charger_refs(self.hass)

    async def _key(self) -> bytes:
        """The per-install secret that signs code cookies and CSRF tokens (made once)."""
        async with self._lock:
            if self._secret is None:
                data = await self._store.async_load()
                secret = data.get("secret") if isinstance(data, dict) else None
                if not isinstance(secret, str) or len(secret) < 64:
                    secret = secrets.token_hex(32)
                    await self._store.async_save({"secret": secret})
                self._secret = bytes.fromhex(secret)
            return self._secret

    async def _sign(self, purpose: str, value: str) -> str:
        message = f"{purpose}:{value}".encode()
        return hmac.new(await self._key(), message, hashlib.sha256).hexdigest()

    async def csrf_token(self, cookie: str) -> str:
        """The CSRF token of a cookie: an HMAC of it with the per-install secret."""
        return await self._sign("csrf", cookie)

    async def check_csrf(self, visitor: Visitor, header: str | None) -> None:
        """Refuse a POST whose ``X-CSRF-Token`` is not the cookie's."""
        expected = await self.csrf_token(visitor.cookie)
        if not header or not hmac.compare_digest(header.encode(), expected.encode()):
            raise GuestError("csrf")

    def _limited(self, *keys: tuple[str, str]) -> None:
        wait = self.limiter.retry_after(*keys)
        if wait is not None:
            raise GuestError("rate_limited", retry_after=wait)

    # ------------------------------------------------------------------ sessions

    async def login(self, token: Any, client: str) -> str:
        """A personal link opened: the cookie for it (the token itself, HttpOnly)."""
        if not isinstance(token, str):
            raise GuestError("bad_request")
        self._limited(("client", client))
        access = self.access()
        try:
            access.guest_person(token)
        except GuestRefusedError as err:
            if err.code == "invalid_link":
                self.limiter.failed(("client", client))
            raise GuestError(err.code) from None
        return _PERSONAL + token

    async def code_login(self, code: Any, access_code: Any, client: str) -> str:
        """Scan & Charge: an access code at the charger of ``code``; the cookie for it."""
        if not isinstance(code, str) or not isinstance(access_code, str) or not access_code:
            raise GuestError("bad_request")
        if len(access_code) > 20 or len(code) > 64:
            raise GuestError("bad_request")
        self._limited(("client", client), ("charger", code))
        access = self.access()
        charger = access.charger_for_code(code)
        if charger is None:
            self.limiter.failed(("client", client))
            raise GuestError("invalid_link")
        try:
            person = access.guest_code_person(charger, access_code)
        except GuestRefusedError as err:
            if err.code == "invalid_code":
                self.limiter.failed(("client", client), ("charger", code))
            raise GuestError(err.code) from None
        payload = _b64(json.dumps([code, person.tags[0]]))
        return f"{_CODE}{payload}.{await self._sign('cookie', payload)}"

    async def visitor(self, cookie: str | None, client: str) -> Visitor:
        """The person of a request's cookie (401 with the reason when there is none now)."""
        if not cookie:
            raise GuestError("invalid_link")
        self._limited(("client", client))
        access = self.access()
        try:
            if cookie.startswith(_PERSONAL):
                return Visitor(access.guest_person(cookie[len(_PERSONAL) :]), cookie)
            if cookie.startswith(_CODE):
                return Visitor(await self._code_person(access, cookie), cookie)
        except GuestRefusedError as err:
            if err.code != "invalid_link":
                raise GuestError(err.code) from None
        self.limiter.failed(("client", client))
        raise GuestError("invalid_link")

    async def _code_person(self, access: AccessControl, cookie: str) -> Person:
        payload, _, signature = cookie[len(_CODE) :].partition(".")
        expected = await self._sign("cookie", payload)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise GuestRefusedError("invalid_link")
        try:
            code, id_tag = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except (ValueError, TypeError):
            raise GuestRefusedError("invalid_link") from None
        charger = access.charger_for_code(str(code))
        if charger is None:
            raise GuestRefusedError("revoked")
        try:
            return access.guest_code_person(charger, str(id_tag))
        except GuestRefusedError as err:
            stub = Person(kind="tag", name="", tags=(str(id_tag),), charger=charger)
            try:
                access.guest_check(stub)
            except GuestRefusedError as why:
                if why.code != "invalid_code":
                    raise GuestRefusedError(why.code) from None
            raise GuestRefusedError("revoked" if err.code == "invalid_code" else err.code) from None

    # ------------------------------------------------------------------ data

    async def me(self, visitor: Visitor, texts: dict[str, str], language: str) -> dict[str, Any]:
        """Everything the page shows this person, and nothing of anyone else."""
        access = self.access()
        person = visitor.person
        refs = self.owners()
        chargers: list[dict[str, Any]] = []
        for grant in access.guest_grants(person):
            ref = refs.get(grant.charger)
            if ref is not None:
                code = await access.charger_code(grant.charger)
                chargers.append(charger_view(ref, grant, person, code, texts))
        seen = [refs[g.charger] for g in access.guest_grants(person) if g.charger in refs]
        currency = seen[0].owner.currency if seen else str(self.hass.config.currency)
        return {
            "person": {"name": person.name, "kind": person.kind},
            "language": language,
            "csrf": await self.csrf_token(visitor.cookie),
            "currency": currency,
            "chargers": chargers,
            "invitations": [
                {
                    "group_id": inv.group_id,
                    "group": inv.group,
                    "chargers": [refs[c].name for c in inv.chargers if c in refs],
                }
                for inv in access.guest_invitations(person)
            ],
            "sessions": await past_sessions(self.hass, access, person, refs),
        }

    def charger_name(self, code: Any, client: str) -> str:
        """The name of the charger a Scan & Charge code names (guesses count as failures)."""
        self._limited(("client", client))
        charger = self.access().charger_for_code(code) if isinstance(code, str) else None
        ref = None if charger is None else self.owners().get(charger)
        if ref is None:
            self.limiter.failed(("client", client))
            raise GuestError("invalid_link")
        return ref.name

    # ------------------------------------------------------------------ actions

    def _target(self, visitor: Visitor, code: Any) -> tuple[ChargerRef, str | None]:
        """The charger a POST names, with the person's grant there (403 when they have none)."""
        access = self.access()
        charger = access.charger_for_code(code) if isinstance(code, str) else None
        if charger is None:
            raise GuestError("bad_request")
        grant = next((g for g in access.guest_grants(visitor.person) if g.charger == charger), None)
        ref = self.owners().get(charger)
        if grant is None or ref is None:
            raise GuestError("not_allowed")
        if grant.why_not is not None:
            raise GuestError(grant.why_not)
        return ref, grant.id_tag

    async def start(self, visitor: Visitor, body: dict[str, Any]) -> None:
        """Start a session with the person's tag (and the driver's log they gave)."""
        odometer = _number(body.get("odometer"), 0, 2_000_000)
        vehicle = _text(body.get("vehicle"), 50)
        ref, id_tag = self._target(visitor, body.get("charger"))
        charger = ref.owner.charger
        if not charger.online:
            raise GuestError("offline")
        if charger.active_transaction is not None:
            raise GuestError("busy")
        assert id_tag is not None
        try:
            await ref.owner.async_start_session(id_tag, odometer, vehicle)
        except Exception as err:
            raise GuestError("failed") from err
        self._record(ref, visitor.person, "start", id_tag)

    async def stop(self, visitor: Visitor, body: dict[str, Any]) -> None:
        """Stop the running session, only when it runs on the person's own tag."""
        code = body.get("charger")
        access = self.access()
        charger_id = access.charger_for_code(code) if isinstance(code, str) else None
        ref = None if charger_id is None else self.owners().get(charger_id)
        if ref is None:
            raise GuestError("bad_request")
        if not any(g.charger == charger_id for g in access.guest_grants(visitor.person)):
            raise GuestError("not_allowed")
        tx = ref.owner.charger.active_transaction
        if tx is None:
            raise GuestError("not_running")
        if not may_stop(visitor.person, tx.id_tag):
            raise GuestError("not_yours")
        try:
            await ref.owner.charger.remote_stop()
        except Exception as err:
            raise GuestError("failed") from err
        self._record(ref, visitor.person, "stop", tx.id_tag)

    async def accept(self, visitor: Visitor, body: dict[str, Any]) -> None:
        """A member accepts their group's invitation."""
        person = visitor.person
        if person.kind != "member" or body.get("group_id") != person.group_id:
            raise GuestError("not_allowed")
        assert person.group_id is not None
        assert person.member_id is not None
        await self.access().accept_invitation(person.group_id, person.member_id)
        self.hass.bus.async_fire(
            EVENT_GUEST_ACTION,
            {"action": "accept", "name": person.name, "kind": person.kind, "charger": None},
        )

    def _record(self, ref: ChargerRef, person: Person, action: str, id_tag: str) -> None:
        """The logbook entry (an event logbook.py describes) and the card event."""
        self.hass.bus.async_fire(
            EVENT_GUEST_ACTION,
            {
                "action": action,
                "name": person.name,
                "kind": person.kind,
                "charger": ref.name,
                "identity": ref.owner.charger.identity,
                "entity_id": ref.card_entity_id,
            },
        )
        ref.owner.present_tag("accepted", id_tag, person.name or None, f"guest_{action}")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _number(value: Any, low: float, high: float) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise GuestError("bad_request")
    return float(value)


def _text(value: Any, longest: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > longest:
        raise GuestError("bad_request")
    return value.strip() or None
