"""Who may charge where and when: tags, shares, groups, tariffs and bookings.

One :class:`AccessControl` serves a whole installation (tags and groups span chargers);
chargers are named by their OCPP identity. It holds the state and changes it: every
mutation is saved to the :class:`~..storage.StateStore` and then announced to the
listeners. The decisions (authorize, local list, next transition) are the pure functions
of :mod:`.policy`, fed this state and the injected clock's ``now``, so a removed tag,
member or share stops charging at the next Authorize.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
import copy
from dataclasses import replace
from datetime import datetime, timedelta
import logging
import secrets
from typing import Any

from ..callbacks import Callbacks
from ..exceptions import InvalidArgumentError
from ..models import Tariff
from ..storage import StateStore
from ..timeutil import utcnow
from . import policy
from .errors import (
    BookingOverlapError,
    DuplicateTagError,
    FavouriteTagUnknownError,
    InvalidBookingWindowError,
    ShareExpiryInPastError,
    UnknownBookingError,
    UnknownGroupError,
    UnknownMemberError,
    UnknownShareError,
    UnknownTagError,
)
from .invites import GuestAccess
from .models import (
    TAG_KINDS,
    Booking,
    Decision,
    Group,
    LearnMode,
    Member,
    Share,
    Tag,
    TagKind,
    aware,
)
from .policy import validate_id_tag
from .state import AccessState, tag_key

_LOGGER = logging.getLogger(__name__)

# Bookings that ended longer ago than this are dropped when the state is saved or loaded.
BOOKING_RETENTION = timedelta(days=30)
# A booking may start this much in the past (a form filled in at 18:00 for "18:00").
BOOKING_START_GRACE = timedelta(minutes=1)
VIRTUAL_TAG_PREFIX = "HA"

Listener = Callable[[], None]


def _new_id(taken: Iterable[str]) -> str:
    used = set(taken)
    while True:
        candidate = secrets.token_hex(6)
        if candidate not in used:
            return candidate


class AccessControl(GuestAccess):
    """Tags, favourites, learn mode, shares, groups, tariffs, bookings, and decisions.

    The one writer of the installation's :class:`~.state.AccessState`: each change is
    checked, applied, saved and announced by the method that makes it, which is why the
    class keeps every kind of record (about 500 lines) rather than one class per kind.
    Personal links, invitations and charger codes are its :class:`~.invites.GuestAccess` part.
    """

    def __init__(self, store: StateStore, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock
        self._listeners: Callbacks[[]] = Callbacks(_LOGGER, "an access listener")
        self._state = AccessState()

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> datetime:
        return aware(self._clock())

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener()`` after every change; returns a function that removes it."""
        return self._listeners.add(listener)

    def _notify(self) -> None:
        self._listeners()

    def _prune(self) -> None:
        self._state.prune(self._now(), BOOKING_RETENTION)

    async def _save(self) -> None:
        self._prune()
        await self._store.async_save(self.to_dict())
        self._notify()

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe: what the store holds (also fit for diagnostics)."""
        return self._state.to_dict()

    async def load(self) -> None:
        """Read the saved state (nothing saved yet: an empty installation, in open mode)."""
        data = await self._store.async_load()
        if not isinstance(data, dict):
            return
        self._state = AccessState.from_dict(data)
        self._prune()

    @property
    def is_open(self) -> bool:
        """Open mode: no tags, shares, group members or bookings yet, so everyone may charge."""
        return policy.is_open(self._state)

    # ------------------------------------------------------------------ tags

    def tags(self) -> list[Tag]:
        """The installation's tags, by alias."""
        return sorted(
            self._state.tags.values(), key=lambda t: (t.alias.casefold(), tag_key(t.id_tag))
        )

    def tag(self, id_tag: str) -> Tag | None:
        """The tag with this id (any case), or None."""
        return self._state.tags.get(tag_key(id_tag))

    def _require_tag(self, id_tag: str) -> Tag:
        tag = self.tag(id_tag)
        if tag is None:
            raise UnknownTagError(id_tag)
        return tag

    def _generate_id_tag(self) -> str:
        known = policy.known_ids(self._state)
        while True:
            random_part = base64.b32encode(secrets.token_bytes(10)).decode("ascii")
            candidate = f"{VIRTUAL_TAG_PREFIX}{random_part[:12]}"
            if tag_key(candidate) not in known:
                return candidate

    async def add_tag(
        self, alias: str, id_tag: str | None = None, kind: TagKind = "virtual"
    ) -> Tag:
        """Add a tag; without ``id_tag`` a unique virtual id (``HA`` + 12 base32) is made."""
        if kind not in TAG_KINDS:
            raise InvalidArgumentError(f"Unknown tag kind {kind!r}", kind=str(kind))
        text = self._generate_id_tag() if id_tag is None else validate_id_tag(id_tag)
        if tag_key(text) in self._state.tags:
            raise DuplicateTagError(text)
        tag = Tag(id_tag=text, alias=alias.strip() or text, kind=kind, created=self._now())
        self._state.tags[tag_key(text)] = tag
        await self._save()
        return tag

    async def update_tag(self, id_tag: str, alias: str) -> Tag:
        """Rename a tag."""
        tag = replace(self._require_tag(id_tag), alias=alias.strip() or id_tag.strip())
        self._state.tags[tag_key(tag.id_tag)] = tag
        await self._save()
        return tag

    async def remove_tag(self, id_tag: str) -> Tag:
        """Remove a tag; chargers that had it as favourite have none afterwards."""
        tag = self._require_tag(id_tag)
        key = tag_key(tag.id_tag)
        del self._state.tags[key]
        self._state.favourites = {c: k for c, k in self._state.favourites.items() if k != key}
        await self._save()
        return tag

    # ------------------------------------------------------------------ favourites

    async def set_favourite(self, charger: str, id_tag: str | None) -> Tag | None:
        """Make a known tag the charger's favourite (None: no favourite)."""
        if id_tag is None:
            self._state.favourites.pop(charger, None)
            await self._save()
            return None
        tag = self.tag(id_tag)
        if tag is None:
            raise FavouriteTagUnknownError(charger, id_tag)
        self._state.favourites[charger] = tag_key(tag.id_tag)
        await self._save()
        return tag

    def favourite(self, charger: str) -> Tag | None:
        """The charger's favourite tag, if any."""
        key = self._state.favourites.get(charger)
        return None if key is None else self._state.tags.get(key)

    # ------------------------------------------------------------------ learn mode

    async def arm_learning(self, charger: str, alias: str, duration: timedelta) -> LearnMode:
        """Add the next unknown card presented at ``charger`` within ``duration`` as a tag."""
        if duration <= timedelta(0):
            raise InvalidArgumentError(
                "The learning time must be positive", duration=str(duration.total_seconds())
            )
        mode = LearnMode(charger=charger, alias=alias.strip(), until=self._now() + duration)
        self._state.learning[charger] = mode
        await self._save()
        return mode

    def learning(self, charger: str) -> LearnMode | None:
        """The charger's learn mode, None when not armed or expired."""
        return policy.learning(self._state, charger, self._now())

    async def cancel_learning(self, charger: str) -> None:
        """Stop waiting for a card at ``charger``."""
        self._state.learning.pop(charger, None)
        await self._save()

    # ------------------------------------------------------------------ shares

    async def share(
        self,
        charger: str,
        name: str,
        email: str = "",
        id_tag: str | None = None,
        expiry: datetime | None = None,
    ) -> Share:
        """Let ``id_tag`` (a known tag, a new id, or None for a new virtual id) charge at
        ``charger`` until ``expiry`` (None: until revoked)."""
        now = self._now()
        if expiry is not None:
            expiry = aware(expiry)
            if expiry <= now:
                raise ShareExpiryInPastError(expiry)
        text = self._generate_id_tag() if id_tag is None else validate_id_tag(id_tag)
        known = self.tag(text)
        share = Share(
            share_id=_new_id(self._state.shares),
            charger=charger,
            name=name.strip(),
            email=email.strip(),
            id_tag=known.id_tag if known is not None else text,
            expiry=expiry,
            created=now,
        )
        self._state.shares[share.share_id] = share
        await self._save()
        return share

    async def revoke_share(self, share_id: str) -> Share:
        """End a share at once."""
        share = self._state.shares.pop(share_id, None)
        if share is None:
            raise UnknownShareError(share_id)
        self._state.retire(share.link_hash, "revoked", self._now())
        await self._save()
        return share

    def shares(self, charger: str | None = None) -> list[Share]:
        """Shares (of one charger, or all), oldest first; expired ones included."""
        return policy.shares_of(self._state, charger)

    # ------------------------------------------------------------------ groups

    def _require_group(self, group_id: str) -> Group:
        group = self._state.groups.get(group_id)
        if group is None:
            raise UnknownGroupError(group_id)
        return group

    def groups(self) -> list[Group]:
        """Every group, by name (copies: change them through the methods)."""
        return [
            copy.deepcopy(g)
            for g in sorted(
                self._state.groups.values(), key=lambda g: (g.name.casefold(), g.group_id)
            )
        ]

    def group(self, group_id: str) -> Group | None:
        """The group with this id, or None."""
        group = self._state.groups.get(group_id)
        return None if group is None else copy.deepcopy(group)

    def group_of(self, charger: str) -> Group | None:
        """The group the charger belongs to, or None."""
        group = policy.group_of(self._state, charger)
        return None if group is None else copy.deepcopy(group)

    async def _put_group(self, group: Group) -> Group:
        self._state.groups[group.group_id] = group
        await self._save()
        return copy.deepcopy(group)

    async def create_group(self, name: str, address: str = "") -> Group:
        """A new group without chargers or members."""
        group = Group(
            group_id=_new_id(self._state.groups), name=name.strip(), address=address.strip()
        )
        return await self._put_group(group)

    async def update_group(
        self, group_id: str, *, name: str | None = None, address: str | None = None
    ) -> Group:
        """Rename a group or change its address (None: unchanged)."""
        group = self._require_group(group_id)
        if name is not None:
            group = replace(group, name=name.strip())
        if address is not None:
            group = replace(group, address=address.strip())
        return await self._put_group(group)

    async def delete_group(self, group_id: str) -> Group:
        """Delete a group; its chargers belong to no group afterwards."""
        group = self._state.groups.pop(group_id, None)
        if group is None:
            raise UnknownGroupError(group_id)
        for member in group.members:
            self._state.retire(member.link_hash, "removed", self._now())
        await self._save()
        return group

    def _member_tags(self, tags: Iterable[str]) -> list[str]:
        result: list[str] = []
        for tag in tags:
            text = validate_id_tag(tag)
            if tag_key(text) not in {tag_key(t) for t in result}:
                result.append(text)
        return result

    async def add_member(
        self, group_id: str, name: str, email: str = "", tags: Iterable[str] = ()
    ) -> Member:
        """Add a person to a group; their ``tags`` may charge at the group's chargers once
        they accepted the invitation (:meth:`accept_invitation`)."""
        group = self._require_group(group_id)
        member = Member(
            member_id=_new_id(m.member_id for m in group.members),
            name=name.strip(),
            email=email.strip(),
            tags=self._member_tags(tags),
            accepted=False,
            joined=self._now(),
        )
        await self._put_group(replace(group, members=[*group.members, member]))
        return copy.deepcopy(member)

    async def update_member(
        self,
        group_id: str,
        member_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> Member:
        """Change a member's name, e-mail or tags (None: unchanged)."""
        group = self._require_group(group_id)
        member = group.member(member_id)
        if member is None:
            raise UnknownMemberError(group_id, member_id)
        updated = replace(
            member,
            name=member.name if name is None else name.strip(),
            email=member.email if email is None else email.strip(),
            tags=list(member.tags) if tags is None else self._member_tags(tags),
        )
        members = [updated if m.member_id == member_id else m for m in group.members]
        await self._put_group(replace(group, members=members))
        return copy.deepcopy(updated)

    async def remove_member(self, group_id: str, member_id: str) -> Member:
        """Remove a person from a group; their tags stop working there at once."""
        group = self._require_group(group_id)
        member = group.member(member_id)
        if member is None:
            raise UnknownMemberError(group_id, member_id)
        members = [m for m in group.members if m.member_id != member_id]
        self._state.retire(member.link_hash, "removed", self._now())
        await self._put_group(replace(group, members=members))
        return member

    async def set_group_tariff(self, group_id: str, tariff: Tariff | None) -> Group:
        """The tariff for sessions at the group's chargers (None: none)."""
        group = self._require_group(group_id)
        return await self._put_group(replace(group, tariff=tariff))

    async def assign_charger(self, charger: str, group_id: str | None) -> Group | None:
        """Put a charger in a group (moving it out of any other), or in none."""
        target = None if group_id is None else self._require_group(group_id)
        for group in list(self._state.groups.values()):
            if charger in group.chargers and group is not target:
                chargers = [c for c in group.chargers if c != charger]
                self._state.groups[group.group_id] = replace(group, chargers=chargers)
        if target is not None and charger not in target.chargers:
            target = replace(target, chargers=[*target.chargers, charger])
            self._state.groups[target.group_id] = target
        await self._save()
        return None if target is None else copy.deepcopy(target)

    # ------------------------------------------------------------------ tariffs

    async def set_charger_tariff(self, charger: str, tariff: Tariff | None) -> None:
        """The charger's own tariff, used when its group has none (None: remove)."""
        if tariff is None:
            self._state.charger_tariffs.pop(charger, None)
        else:
            self._state.charger_tariffs[charger] = tariff
        await self._save()

    def charger_tariff(self, charger: str) -> Tariff | None:
        """The charger's own tariff (ignoring groups)."""
        return self._state.charger_tariffs.get(charger)

    def tariff_for(self, charger: str) -> Tariff | None:
        """What sessions at ``charger`` cost: its group's tariff, else its own, else None."""
        return policy.tariff_for(self._state, charger)

    # ------------------------------------------------------------------ bookings

    async def add_booking(
        self, charger: str, id_tag: str, start: datetime, end: datetime, note: str = ""
    ) -> Booking:
        """Reserve ``charger`` for ``id_tag`` from ``start`` to ``end``.

        Raises :class:`InvalidBookingWindowError` when ``end <= start`` or ``start`` lies
        more than a minute in the past, :class:`BookingOverlapError` when another booking
        of the charger shares a moment with the window.
        """
        start, end = aware(start), aware(end)
        if end <= start:
            raise InvalidBookingWindowError(start, end, "end_not_after_start")
        if start < self._now() - BOOKING_START_GRACE:
            raise InvalidBookingWindowError(start, end, "start_in_past")
        text = validate_id_tag(id_tag)
        for other in self.bookings(charger):
            if other.overlaps(start, end):
                raise BookingOverlapError(other)
        booking = Booking(
            booking_id=_new_id(self._state.bookings),
            charger=charger,
            id_tag=text,
            start=start,
            end=end,
            note=note.strip(),
        )
        self._state.bookings[booking.booking_id] = booking
        await self._save()
        return booking

    async def cancel_booking(self, booking_id: str) -> Booking:
        """Remove a booking."""
        booking = self._state.bookings.pop(booking_id, None)
        if booking is None:
            raise UnknownBookingError(booking_id)
        await self._save()
        return booking

    def booking(self, booking_id: str) -> Booking | None:
        """The booking with this id, or None."""
        return self._state.bookings.get(booking_id)

    def bookings(
        self,
        charger: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Booking]:
        """Bookings (of one charger, or all) sharing a moment with ``[start, end)``, by start."""
        return policy.bookings_between(
            self._state,
            charger,
            policy.FAR_PAST if start is None else aware(start),
            policy.FAR_FUTURE if end is None else aware(end),
        )

    def active_booking(self, charger: str, at: datetime | None = None) -> Booking | None:
        """The booking of ``charger`` running at ``at`` (default: now)."""
        return policy.active_booking(self._state, charger, self._now() if at is None else aware(at))

    # ------------------------------------------------------------------ decisions

    def authorize(
        self, charger: str, id_tag: str, *, remote_start_tag: str | None = None
    ) -> Decision:
        """Decide whether ``id_tag`` may charge at ``charger`` now (see
        :func:`.policy.authorize` for the order of the rules).

        Learning a card is the one change made here: it is saved with the store's
        ``async_delay_save`` (so call this from the event loop) and listeners are called.
        """
        decision = policy.authorize(
            self._state, charger, id_tag, self._now(), remote_start_tag=remote_start_tag
        )
        if decision.learned_tag is not None:
            tag = decision.learned_tag
            self._state.tags[tag_key(tag.id_tag)] = tag
            del self._state.learning[charger]
            self._store.async_delay_save(self.to_dict, 0)
            self._notify()
        return decision

    def local_list(self, charger: str) -> list[dict[str, Any]]:
        """The OCPP local authorization list for ``charger`` now (:func:`.policy.local_list`)."""
        return policy.local_list(self._state, charger, self._now())

    def local_list_version(self, charger: str) -> int:
        """A version number of ``local_list(charger)``, derived from its content."""
        return policy.local_list_version(self._state, charger, self._now())

    def next_transition(self, charger: str | None = None) -> datetime | None:
        """The next moment a decision or local list changes by itself (a share expires, a
        booking starts or ends, learn mode ends), for ``charger`` or any charger."""
        return policy.next_transition(self._state, self._now(), charger)

    # ------------------------------------------------------------------ misc

    def label(self, id_tag: str, charger: str | None = None) -> str | None:
        """A human name for ``id_tag``: the tag's alias, else the share's or member's name."""
        return policy.label(self._state, id_tag, charger)

    async def forget_charger(self, charger: str) -> None:
        """Drop everything about a charger that is removed from the installation."""
        self._state.favourites.pop(charger, None)
        self._state.learning.pop(charger, None)
        self._state.charger_tariffs.pop(charger, None)
        self._state.charger_codes.pop(charger, None)
        for share in self._state.shares.values():
            if share.charger == charger:
                self._state.retire(share.link_hash, "revoked", self._now())
        self._state.shares = {k: s for k, s in self._state.shares.items() if s.charger != charger}
        self._state.bookings = {
            k: b for k, b in self._state.bookings.items() if b.charger != charger
        }
        for group in list(self._state.groups.values()):
            if charger in group.chargers:
                chargers = [c for c in group.chargers if c != charger]
                self._state.groups[group.group_id] = replace(group, chargers=chargers)
        await self._save()
