"""Guest access: who a personal link or an access code belongs to, and what they may do now.

Pure functions of an :class:`~.state.AccessState` and a moment, like :mod:`.policy`. A
person is found by a link (a share or a group member) or by an access code at one charger
(Scan & Charge: a tag that may charge there). :func:`grants` lists the chargers the person
may see now (their share, their group's chargers, chargers booked for their tags), each
with the tag to start with or the reason they cannot. Every request asks again, so an
expired or revoked share, a removed member or an ended booking counts at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..exceptions import ChargeConnectError
from . import policy
from .links import find_hash
from .models import Share
from .state import AccessState, tag_key

type PersonKind = Literal["share", "member", "tag"]
type Via = Literal["share", "group", "booking", "tag"]
type RefusalCode = Literal[
    "invalid_link", "invalid_code", "expired", "revoked", "removed", "ended", "not_accepted"
]
# Why a charger the person sees cannot be started by them now (before the charger's own
# state, online and busy, which the caller adds).
type WhyNot = Literal["not_accepted", "no_tag", "booked"]

# Decisions an access code may log in with: a tag the installation gave this person. Not
# open mode (nobody is known yet), learn mode or the remote-start tag.
_CODE_REASONS = frozenset({"owner_tag", "share", "group", "booking"})


class GuestRefusedError(ChargeConnectError):
    """A link or an access code that gives no access (now); ``code`` says why."""

    translation_key = "guest_refused"

    def __init__(self, code: RefusalCode) -> None:
        super().__init__(f"Guest access refused: {code}", code=code)
        self.code: RefusalCode = code


@dataclass(frozen=True)
class Person:
    """Whom a link or an access code belongs to."""

    kind: PersonKind
    name: str
    tags: tuple[str, ...]
    share_id: str | None = None
    group_id: str | None = None
    member_id: str | None = None
    # An access-code person may use this one charger only.
    charger: str | None = None
    # Sessions before this moment are not theirs (a share's creation, a member's joining).
    since: datetime | None = None
    accepted: bool = True

    def owns_tag(self, id_tag: str | None) -> bool:
        """True when ``id_tag`` is one of this person's tags (as chargers compare tags)."""
        return id_tag is not None and tag_key(id_tag) in {tag_key(t) for t in self.tags}


@dataclass(frozen=True)
class Grant:
    """A charger the person sees now: how, until when, the tag to start with, or why not."""

    charger: str
    via: Via
    until: datetime | None
    id_tag: str | None
    why_not: WhyNot | None = None

    @property
    def may_start(self) -> bool:
        """As far as access goes (the charger's own state is the caller's business)."""
        return self.why_not is None and self.id_tag is not None


@dataclass(frozen=True)
class Invitation:
    """A group invitation the member has not accepted yet."""

    group_id: str
    group: str
    chargers: list[str] = field(default_factory=list)


def identify(state: AccessState, token: str, now: datetime) -> Person:
    """The person whose personal link carries ``token``; :class:`GuestRefusedError` if none.

    An expired share: ``expired``; a link whose share was revoked or whose member was removed:
    ``revoked`` / ``removed``; anything else (a renewed link's old token, a guess):
    ``invalid_link``. A member who has not accepted is identified (to accept on the page).
    """
    shares = list(state.shares.values())
    members = [(g, m) for g in state.groups.values() for m in g.members]
    hashes = [s.link_hash for s in shares] + [m.link_hash for _, m in members]
    found = find_hash(token, [*hashes, *state.retired_links])
    if found is None:
        raise GuestRefusedError("invalid_link")
    for share in shares:
        if share.link_hash == found:
            if share.is_expired(now):
                raise GuestRefusedError("expired")
            return _share_person(share)
    for group, member in members:
        if member.link_hash == found:
            return Person(
                kind="member",
                name=member.name,
                tags=tuple(member.tags),
                group_id=group.group_id,
                member_id=member.member_id,
                since=member.joined,
                accepted=member.accepted,
            )
    raise GuestRefusedError(state.retired_links[found].reason)


def _share_person(share: Share) -> Person:
    return Person(
        kind="share",
        name=share.name,
        tags=(share.id_tag,),
        share_id=share.share_id,
        since=share.created,
    )


def code_person(state: AccessState, charger: str, access_code: str, now: datetime) -> Person:
    """The person an access code (a tag id) is at ``charger``: a tag that may charge there.

    ``not_accepted`` for the tag of a member who has not accepted, ``expired`` for a share's
    tag after its expiry, ``invalid_code`` for anything else.
    """
    code = access_code.strip()
    decision = policy.authorize(state, charger, code, now)
    if not decision.accepted or decision.reason not in _CODE_REASONS:
        group = policy.group_of(state, charger)
        key = tag_key(code)
        pending = group is not None and any(
            not m.accepted and key in {tag_key(t) for t in m.tags} for m in group.members
        )
        if pending:
            raise GuestRefusedError("not_accepted")
        if decision.reason == "share_expired":
            raise GuestRefusedError("expired")
        raise GuestRefusedError("invalid_code")
    id_tag = _stored_spelling(state, code)
    name = policy.label(state, id_tag, charger) or policy.label(state, id_tag) or ""
    return Person(kind="tag", name=name, tags=(id_tag,), charger=charger, since=None)


def _stored_spelling(state: AccessState, code: str) -> str:
    """The tag id as the installation spells it (a code is typed in any case)."""
    key = tag_key(code)
    candidates = [t.id_tag for t in state.tags.values()]
    candidates += [s.id_tag for s in state.shares.values()]
    candidates += [b.id_tag for b in state.bookings.values()]
    candidates += [t for g in state.groups.values() for m in g.members for t in m.tags]
    return next((c for c in candidates if tag_key(c) == key), code)


def check_code_person(state: AccessState, person: Person, now: datetime) -> None:
    """Raise :class:`GuestRefusedError` once an access-code person may no longer charge."""
    assert person.charger is not None
    try:
        code_person(state, person.charger, person.tags[0], now)
    except GuestRefusedError as err:
        ended = any(
            b.charger == person.charger and person.owns_tag(b.id_tag) and b.end <= now
            for b in state.bookings.values()
        )
        code: RefusalCode = "ended" if ended and err.code == "invalid_code" else err.code
        raise GuestRefusedError(code) from None


def grants(state: AccessState, person: Person, now: datetime) -> list[Grant]:
    """The chargers ``person`` sees at ``now``, one grant per charger, by charger."""
    chosen: dict[str, Grant] = {}
    if person.kind == "tag":
        assert person.charger is not None
        chosen[person.charger] = Grant(person.charger, "tag", None, person.tags[0])
    elif person.kind == "share":
        share = state.shares.get(person.share_id or "")
        if share is not None and not share.is_expired(now):
            chosen[share.charger] = Grant(share.charger, "share", share.expiry, share.id_tag)
    else:
        group = state.groups.get(person.group_id or "")
        member = None if group is None else group.member(person.member_id or "")
        if group is not None and member is not None:
            why: WhyNot | None = None if member.accepted else "not_accepted"
            tag = member.tags[0] if member.tags else None
            if why is None and tag is None:
                why = "no_tag"
            for charger in group.chargers:
                chosen[charger] = Grant(charger, "group", None, tag, why)
    for booking in state.bookings.values():
        mine = person.owns_tag(booking.id_tag) and booking.is_active(now)
        if mine and (booking.charger not in chosen or chosen[booking.charger].why_not):
            chosen[booking.charger] = Grant(booking.charger, "booking", booking.end, booking.id_tag)
    result: list[Grant] = []
    for charger in sorted(chosen):
        grant = chosen[charger]
        if grant.why_not is None and grant.id_tag is not None:
            running = policy.active_booking(state, charger, now)
            if running is not None and not person.owns_tag(running.id_tag):
                grant = Grant(grant.charger, grant.via, grant.until, grant.id_tag, "booked")
        result.append(grant)
    return result


def grant_for(state: AccessState, person: Person, charger: str, now: datetime) -> Grant | None:
    """The person's grant at ``charger`` now, or None when they may not see it."""
    return next((g for g in grants(state, person, now) if g.charger == charger), None)


def invitations(state: AccessState, person: Person) -> list[Invitation]:
    """The group invitation a member has not accepted yet (none for anyone else)."""
    if person.kind != "member":
        return []
    group = state.groups.get(person.group_id or "")
    member = None if group is None else group.member(person.member_id or "")
    if group is None or member is None or member.accepted:
        return []
    return [Invitation(group.group_id, group.name, list(group.chargers))]


def may_stop(person: Person, running_id_tag: str | None) -> bool:
    """A person stops only a session started with one of their own tags."""
    return person.owns_tag(running_id_tag)


@dataclass(frozen=True)
class Guest:
    """Someone with a share or a group membership at a charger, as the owner sees them."""

    name: str
    via: Literal["share", "group"]
    accepted: bool
    until: datetime | None
    link_issued: datetime | None


def guests_of(state: AccessState, charger: str, now: datetime) -> list[Guest]:
    """The people with a live share of ``charger`` or in its group (accepted or not)."""
    people = [
        Guest(s.name, "share", True, s.expiry, s.link_issued)
        for s in policy.shares_of(state, charger)
        if not s.is_expired(now)
    ]
    group = policy.group_of(state, charger)
    for member in group.members if group is not None else []:
        people.append(Guest(member.name, "group", member.accepted, None, member.link_issued))
    return people
