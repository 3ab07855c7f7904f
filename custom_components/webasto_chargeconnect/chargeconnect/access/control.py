"""Who may charge where and when: tags, shares, groups, tariffs and bookings.

One :class:`AccessControl` serves a whole installation (tags and groups span chargers);
chargers are named by their OCPP identity. Decisions are pure and in memory, so a
removed tag, member or share stops charging at the next Authorize. Every mutation is
saved to the :class:`~..storage.StateStore` and then announced to the listeners.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import hashlib
import json
import logging
import secrets
from typing import Any

from ..callbacks import Callbacks
from ..exceptions import InvalidArgumentError
from ..models import Tariff
from ..storage import StateStore
from ..timeutil import format_ocpp_time, utcnow
from .errors import (
    MAX_ID_TAG_LENGTH,
    BookingOverlapError,
    DuplicateTagError,
    FavouriteTagUnknownError,
    InvalidBookingWindowError,
    InvalidTagIdError,
    ShareExpiryInPastError,
    UnknownBookingError,
    UnknownGroupError,
    UnknownMemberError,
    UnknownShareError,
    UnknownTagError,
)
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

_LOGGER = logging.getLogger(__name__)

STORE_VERSION = 1
# Bookings that ended longer ago than this are dropped when the state is saved or loaded.
BOOKING_RETENTION = timedelta(days=30)
# A booking may start this much in the past (a form filled in at 18:00 for "18:00").
BOOKING_START_GRACE = timedelta(minutes=1)
# Local list versions lie in [2**16, 2**31 - 1]: positive OCPP integers with room below,
# so a list sent in several chunks can count up to its version (Full at V - n + 1,
# then Differential updates up to V).
LOCAL_LIST_VERSION_MIN = 1 << 16
LOCAL_LIST_VERSION_MAX = (1 << 31) - 1
VIRTUAL_TAG_PREFIX = "HA"

_FAR_PAST = datetime.min.replace(tzinfo=UTC)
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)

Listener = Callable[[], None]


def _key(id_tag: str) -> str:
    """Id tags are compared case-insensitively (RFID UIDs come in either case)."""
    return id_tag.strip().casefold()


def validate_id_tag(id_tag: str) -> str:
    """Return the id tag without surrounding blanks, or raise :class:`InvalidTagIdError`.

    An OCPP 1.6 IdToken holds 1 to 20 printable ASCII characters.
    """
    text = id_tag.strip() if isinstance(id_tag, str) else ""
    if not text or len(text) > MAX_ID_TAG_LENGTH or not all(" " <= ch <= "~" for ch in text):
        raise InvalidTagIdError(str(id_tag))
    return text


def _new_id(taken: Iterable[str]) -> str:
    used = set(taken)
    while True:
        candidate = secrets.token_hex(6)
        if candidate not in used:
            return candidate


class AccessControl:
    """Tags, favourites, learn mode, shares, groups, tariffs, bookings, and decisions."""

    def __init__(self, store: StateStore, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock
        self._listeners: Callbacks[[]] = Callbacks(_LOGGER, "an access listener")
        self._tags: dict[str, Tag] = {}  # by _key(id_tag)
        self._favourites: dict[str, str] = {}  # charger -> _key(id_tag)
        self._learning: dict[str, LearnMode] = {}
        self._shares: dict[str, Share] = {}
        self._groups: dict[str, Group] = {}
        self._charger_tariffs: dict[str, Tariff] = {}
        self._bookings: dict[str, Booking] = {}

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> datetime:
        return aware(self._clock())

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener()`` after every change; returns a function that removes it."""
        return self._listeners.add(listener)

    def _notify(self) -> None:
        self._listeners()

    def _prune(self) -> None:
        now = self._now()
        cutoff = now - BOOKING_RETENTION
        for booking_id in [b.booking_id for b in self._bookings.values() if b.end < cutoff]:
            del self._bookings[booking_id]
        for charger in [c for c, mode in self._learning.items() if mode.until <= now]:
            del self._learning[charger]

    async def _save(self) -> None:
        self._prune()
        await self._store.async_save(self.to_dict())
        self._notify()

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe: what the store holds (also fit for diagnostics)."""
        return {
            "version": STORE_VERSION,
            "tags": [tag.to_dict() for tag in self._tags.values()],
            "favourites": {
                charger: self._tags[key].id_tag
                for charger, key in self._favourites.items()
                if key in self._tags
            },
            "learning": [mode.to_dict() for mode in self._learning.values()],
            "shares": [
                {k: v for k, v in share.to_dict().items() if k != "expired"}
                for share in self._shares.values()
            ],
            "groups": [group.to_dict() for group in self._groups.values()],
            "charger_tariffs": {
                charger: tariff.to_dict() for charger, tariff in self._charger_tariffs.items()
            },
            "bookings": [booking.to_dict() for booking in self._bookings.values()],
        }

    async def async_load(self) -> None:
        """Read the saved state (nothing saved yet: an empty installation, in open mode)."""
        data = await self._store.async_load()
        if not isinstance(data, dict):
            return

        def restore[T](items: Any, parse: Callable[[dict[str, Any]], T]) -> list[T]:
            restored: list[T] = []
            for item in items if isinstance(items, list) else []:
                try:
                    restored.append(parse(item))
                except (KeyError, TypeError, ValueError, AttributeError) as err:
                    _LOGGER.warning("dropping an unreadable access record %r: %s", item, err)
            return restored

        self._tags = {_key(t.id_tag): t for t in restore(data.get("tags"), Tag.from_dict)}
        favourites = data.get("favourites")
        self._favourites = {
            str(charger): _key(str(id_tag))
            for charger, id_tag in (favourites.items() if isinstance(favourites, dict) else [])
            if _key(str(id_tag)) in self._tags
        }
        self._learning = {m.charger: m for m in restore(data.get("learning"), LearnMode.from_dict)}
        self._shares = {s.share_id: s for s in restore(data.get("shares"), Share.from_dict)}
        self._groups = {g.group_id: g for g in restore(data.get("groups"), Group.from_dict)}
        tariffs = data.get("charger_tariffs")
        self._charger_tariffs = {
            str(charger): Tariff.from_dict(tariff)
            for charger, tariff in (tariffs.items() if isinstance(tariffs, dict) else [])
            if isinstance(tariff, dict)
        }
        self._bookings = {b.booking_id: b for b in restore(data.get("bookings"), Booking.from_dict)}
        self._prune()

    def _known_ids(self) -> set[str]:
        """Every id tag the installation knows of, in comparison form."""
        known = set(self._tags)
        known.update(_key(share.id_tag) for share in self._shares.values())
        known.update(_key(b.id_tag) for b in self._bookings.values())
        for group in self._groups.values():
            known.update(_key(tag) for member in group.members for tag in member.tags)
        return known

    @property
    def is_open(self) -> bool:
        """Open mode: no tags, shares, group members or bookings yet, so everyone may charge."""
        return not (
            self._tags
            or self._shares
            or self._bookings
            or any(group.members for group in self._groups.values())
        )

    # ------------------------------------------------------------------ tags

    def tags(self) -> list[Tag]:
        """The installation's tags, by alias."""
        return sorted(self._tags.values(), key=lambda t: (t.alias.casefold(), _key(t.id_tag)))

    def tag(self, id_tag: str) -> Tag | None:
        """The tag with this id (any case), or None."""
        return self._tags.get(_key(id_tag))

    def _require_tag(self, id_tag: str) -> Tag:
        tag = self.tag(id_tag)
        if tag is None:
            raise UnknownTagError(id_tag)
        return tag

    def _generate_id_tag(self) -> str:
        known = self._known_ids()
        while True:
            random_part = base64.b32encode(secrets.token_bytes(10)).decode("ascii")
            candidate = f"{VIRTUAL_TAG_PREFIX}{random_part[:12]}"
            if _key(candidate) not in known:
                return candidate

    async def add_tag(
        self, alias: str, id_tag: str | None = None, kind: TagKind = "virtual"
    ) -> Tag:
        """Add a tag; without ``id_tag`` a unique virtual id (``HA`` + 12 base32) is made."""
        if kind not in TAG_KINDS:
            raise InvalidArgumentError(f"Unknown tag kind {kind!r}", kind=str(kind))
        text = self._generate_id_tag() if id_tag is None else validate_id_tag(id_tag)
        if _key(text) in self._tags:
            raise DuplicateTagError(text)
        tag = Tag(id_tag=text, alias=alias.strip() or text, kind=kind, created=self._now())
        self._tags[_key(text)] = tag
        await self._save()
        return tag

    async def update_tag(self, id_tag: str, alias: str) -> Tag:
        """Rename a tag."""
        tag = replace(self._require_tag(id_tag), alias=alias.strip() or id_tag.strip())
        self._tags[_key(tag.id_tag)] = tag
        await self._save()
        return tag

    async def remove_tag(self, id_tag: str) -> Tag:
        """Remove a tag; chargers that had it as favourite have none afterwards."""
        tag = self._require_tag(id_tag)
        key = _key(tag.id_tag)
        del self._tags[key]
        self._favourites = {c: k for c, k in self._favourites.items() if k != key}
        await self._save()
        return tag

    # ------------------------------------------------------------------ favourites

    async def set_favourite(self, charger: str, id_tag: str | None) -> Tag | None:
        """Make a known tag the charger's favourite (None: no favourite)."""
        if id_tag is None:
            self._favourites.pop(charger, None)
            await self._save()
            return None
        tag = self.tag(id_tag)
        if tag is None:
            raise FavouriteTagUnknownError(charger, id_tag)
        self._favourites[charger] = _key(tag.id_tag)
        await self._save()
        return tag

    def favourite(self, charger: str) -> Tag | None:
        """The charger's favourite tag, if any."""
        key = self._favourites.get(charger)
        return None if key is None else self._tags.get(key)

    # ------------------------------------------------------------------ learn mode

    async def arm_learning(self, charger: str, alias: str, duration: timedelta) -> LearnMode:
        """Add the next unknown card presented at ``charger`` within ``duration`` as a tag."""
        if duration <= timedelta(0):
            raise InvalidArgumentError(
                "The learning time must be positive", duration=str(duration.total_seconds())
            )
        mode = LearnMode(charger=charger, alias=alias.strip(), until=self._now() + duration)
        self._learning[charger] = mode
        await self._save()
        return mode

    def learning(self, charger: str) -> LearnMode | None:
        """The charger's learn mode, None when not armed or expired."""
        mode = self._learning.get(charger)
        if mode is None or mode.until <= self._now():
            return None
        return mode

    async def cancel_learning(self, charger: str) -> None:
        """Stop waiting for a card at ``charger``."""
        self._learning.pop(charger, None)
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
            share_id=_new_id(self._shares),
            charger=charger,
            name=name.strip(),
            email=email.strip(),
            id_tag=known.id_tag if known is not None else text,
            expiry=expiry,
            created=now,
        )
        self._shares[share.share_id] = share
        await self._save()
        return share

    async def revoke_share(self, share_id: str) -> Share:
        """End a share at once."""
        share = self._shares.pop(share_id, None)
        if share is None:
            raise UnknownShareError(share_id)
        await self._save()
        return share

    def shares(self, charger: str | None = None) -> list[Share]:
        """Shares (of one charger, or all), oldest first; expired ones included."""
        return sorted(
            (s for s in self._shares.values() if charger in (None, s.charger)),
            key=lambda s: s.created,  # ties: in order of creation (stable sort)
        )

    # ------------------------------------------------------------------ groups

    def _require_group(self, group_id: str) -> Group:
        group = self._groups.get(group_id)
        if group is None:
            raise UnknownGroupError(group_id)
        return group

    def groups(self) -> list[Group]:
        """Every group, by name (copies: change them through the methods)."""
        return [
            copy.deepcopy(g)
            for g in sorted(self._groups.values(), key=lambda g: (g.name.casefold(), g.group_id))
        ]

    def group(self, group_id: str) -> Group | None:
        """The group with this id, or None."""
        group = self._groups.get(group_id)
        return None if group is None else copy.deepcopy(group)

    def _group_of(self, charger: str) -> Group | None:
        return next((g for g in self._groups.values() if charger in g.chargers), None)

    def group_of(self, charger: str) -> Group | None:
        """The group the charger belongs to, or None."""
        group = self._group_of(charger)
        return None if group is None else copy.deepcopy(group)

    async def _put_group(self, group: Group) -> Group:
        self._groups[group.group_id] = group
        await self._save()
        return copy.deepcopy(group)

    async def create_group(self, name: str, address: str = "") -> Group:
        """A new group without chargers or members."""
        group = Group(group_id=_new_id(self._groups), name=name.strip(), address=address.strip())
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
        group = self._groups.pop(group_id, None)
        if group is None:
            raise UnknownGroupError(group_id)
        await self._save()
        return group

    def _member_tags(self, tags: Iterable[str]) -> list[str]:
        result: list[str] = []
        for tag in tags:
            text = validate_id_tag(tag)
            if _key(text) not in {_key(t) for t in result}:
                result.append(text)
        return result

    async def add_member(
        self, group_id: str, name: str, email: str = "", tags: Iterable[str] = ()
    ) -> Member:
        """Add a person to a group; their ``tags`` may charge at the group's chargers."""
        group = self._require_group(group_id)
        member = Member(
            member_id=_new_id(m.member_id for m in group.members),
            name=name.strip(),
            email=email.strip(),
            tags=self._member_tags(tags),
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
        await self._put_group(replace(group, members=members))
        return member

    async def set_group_tariff(self, group_id: str, tariff: Tariff | None) -> Group:
        """The tariff for sessions at the group's chargers (None: none)."""
        group = self._require_group(group_id)
        return await self._put_group(replace(group, tariff=tariff))

    async def assign_charger(self, charger: str, group_id: str | None) -> Group | None:
        """Put a charger in a group (moving it out of any other), or in none."""
        target = None if group_id is None else self._require_group(group_id)
        for group in list(self._groups.values()):
            if charger in group.chargers and group is not target:
                chargers = [c for c in group.chargers if c != charger]
                self._groups[group.group_id] = replace(group, chargers=chargers)
        if target is not None and charger not in target.chargers:
            target = replace(target, chargers=[*target.chargers, charger])
            self._groups[target.group_id] = target
        await self._save()
        return None if target is None else copy.deepcopy(target)

    # ------------------------------------------------------------------ tariffs

    async def set_charger_tariff(self, charger: str, tariff: Tariff | None) -> None:
        """The charger's own tariff, used when its group has none (None: remove)."""
        if tariff is None:
            self._charger_tariffs.pop(charger, None)
        else:
            self._charger_tariffs[charger] = tariff
        await self._save()

    def charger_tariff(self, charger: str) -> Tariff | None:
        """The charger's own tariff (ignoring groups)."""
        return self._charger_tariffs.get(charger)

    def tariff_for(self, charger: str) -> Tariff | None:
        """What sessions at ``charger`` cost: its group's tariff, else its own, else None."""
        group = self._group_of(charger)
        if group is not None and group.tariff is not None:
            return group.tariff
        return self._charger_tariffs.get(charger)

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
            booking_id=_new_id(self._bookings),
            charger=charger,
            id_tag=text,
            start=start,
            end=end,
            note=note.strip(),
        )
        self._bookings[booking.booking_id] = booking
        await self._save()
        return booking

    async def cancel_booking(self, booking_id: str) -> Booking:
        """Remove a booking."""
        booking = self._bookings.pop(booking_id, None)
        if booking is None:
            raise UnknownBookingError(booking_id)
        await self._save()
        return booking

    def booking(self, booking_id: str) -> Booking | None:
        """The booking with this id, or None."""
        return self._bookings.get(booking_id)

    def bookings(
        self,
        charger: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Booking]:
        """Bookings (of one charger, or all) sharing a moment with ``[start, end)``, by start."""
        low = _FAR_PAST if start is None else aware(start)
        high = _FAR_FUTURE if end is None else aware(end)
        return sorted(
            (
                b
                for b in self._bookings.values()
                if charger in (None, b.charger) and b.overlaps(low, high)
            ),
            key=lambda b: (b.start, b.end, b.charger),
        )

    def active_booking(self, charger: str, at: datetime | None = None) -> Booking | None:
        """The booking of ``charger`` running at ``at`` (default: now)."""
        moment = self._now() if at is None else aware(at)
        return next(
            (b for b in self._bookings.values() if b.charger == charger and b.is_active(moment)),
            None,
        )

    # ------------------------------------------------------------------ decisions

    def authorize(
        self, charger: str, id_tag: str, *, remote_start_tag: str | None = None
    ) -> Decision:
        """Decide whether ``id_tag`` may charge at ``charger`` now.

        In order: a booking running now (its tag, or Blocked for everyone else); the
        installation's tags; ``remote_start_tag``; an unexpired share for this charger; a
        member tag of the charger's group; an expired share (Expired); learn mode (an
        unknown card becomes a tag); open mode (nothing set up yet); else Invalid.

        Learning a card is the one change made here: it is saved with the store's
        ``async_delay_save`` (so call this from the event loop) and listeners are called.
        """
        now = self._now()
        key = _key(id_tag)
        booking = self.active_booking(charger, now)
        if booking is not None:
            if _key(booking.id_tag) == key:
                return Decision("Accepted", booking.end, "booking")
            return Decision("Blocked", None, "booking_other")
        if key in self._tags:
            return Decision("Accepted", None, "owner_tag")
        if remote_start_tag and _key(remote_start_tag) == key:
            return Decision("Accepted", None, "remote_start")
        shares = [
            s for s in self._shares.values() if s.charger == charger and _key(s.id_tag) == key
        ]
        live = [s for s in shares if not s.is_expired(now)]
        if live:
            best = max(live, key=lambda s: s.expiry or _FAR_FUTURE)
            return Decision("Accepted", best.expiry, "share")
        group = self._group_of(charger)
        if group is not None and any(
            _key(tag) == key for member in group.members for tag in member.tags
        ):
            return Decision("Accepted", None, "group")
        if shares:
            return Decision("Expired", max(s.expiry or now for s in shares), "share_expired")
        learned = self._learn(charger, id_tag, now)
        if learned is not None:
            return Decision("Accepted", None, "learned", learned)
        if self.is_open:
            return Decision("Accepted", None, "open")
        return Decision("Invalid", None, "unknown")

    def _learn(self, charger: str, id_tag: str, now: datetime) -> Tag | None:
        """Add ``id_tag`` as an rfid tag if ``charger`` is learning and nobody knows it."""
        mode = self.learning(charger)
        if mode is None or _key(id_tag) in self._known_ids():
            return None
        try:
            text = validate_id_tag(id_tag)
        except InvalidTagIdError:
            return None
        tag = Tag(id_tag=text, alias=mode.alias or text, kind="rfid", created=now)
        self._tags[_key(text)] = tag
        del self._learning[charger]
        self._store.async_delay_save(self.to_dict, 0)
        self._notify()
        return tag

    # ------------------------------------------------------------------ local list

    def local_list(self, charger: str) -> list[dict[str, Any]]:
        """The OCPP local authorization list for ``charger``: every tag that may charge
        there now (AuthorizationData, camelCase), sorted by id tag, one entry per tag.

        Owner tags, unexpired shares of this charger (with ``expiryDate``) and member tags
        of its group. While a booking runs, only the booking's tag (until its end): a
        charger that authorizes from its list must not let anyone else in. Empty in open
        mode (the charger then asks the central system, which accepts everyone).
        """
        if self.is_open:
            return []
        now = self._now()
        chosen: dict[str, tuple[str, datetime | None]] = {}

        def offer(id_tag: str, expiry: datetime | None) -> None:
            key = _key(id_tag)
            current = chosen.get(key)
            if current is None:
                chosen[key] = (id_tag, expiry)
            elif current[1] is not None and (expiry is None or expiry > current[1]):
                chosen[key] = (current[0], expiry)

        booking = self.active_booking(charger, now)
        if booking is not None:
            offer(booking.id_tag, booking.end)
        else:
            for tag in self._tags.values():
                offer(tag.id_tag, None)
            for share in self._shares.values():
                if share.charger == charger and not share.is_expired(now):
                    offer(share.id_tag, share.expiry)
            group = self._group_of(charger)
            for member in group.members if group is not None else []:
                for tag_id in member.tags:
                    offer(tag_id, None)
        entries: list[dict[str, Any]] = []
        for key in sorted(chosen):
            id_tag, expiry = chosen[key]
            info: dict[str, Any] = {"status": "Accepted"}
            if expiry is not None:
                info["expiryDate"] = format_ocpp_time(expiry)
            entries.append({"idTag": id_tag, "idTagInfo": info})
        return entries

    def local_list_version(self, charger: str) -> int:
        """A version number of ``local_list(charger)``, derived from its content.

        Equal lists give equal versions, also after a restart; a change of content changes
        it. Always within [65536, 2**31 - 1].
        """
        text = json.dumps(self.local_list(charger), sort_keys=True, separators=(",", ":"))
        digest = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
        span = LOCAL_LIST_VERSION_MAX - LOCAL_LIST_VERSION_MIN + 1
        return LOCAL_LIST_VERSION_MIN + digest % span

    def next_transition(self, charger: str | None = None) -> datetime | None:
        """The next moment a decision or local list changes by itself (a share expires, a
        booking starts or ends, learn mode ends), for ``charger`` or any charger."""
        now = self._now()
        moments: list[datetime] = []
        moments.extend(
            s.expiry
            for s in self._shares.values()
            if s.expiry is not None and charger in (None, s.charger)
        )
        for booking in self._bookings.values():
            if charger in (None, booking.charger):
                moments.extend((booking.start, booking.end))
        moments.extend(m.until for c, m in self._learning.items() if charger in (None, c))
        future = [moment for moment in moments if moment > now]
        return min(future) if future else None

    # ------------------------------------------------------------------ misc

    def label(self, id_tag: str, charger: str | None = None) -> str | None:
        """A human name for ``id_tag``: the tag's alias, else the share's or member's name."""
        key = _key(id_tag)
        tag = self._tags.get(key)
        if tag is not None:
            return tag.alias
        for share in self.shares(charger):
            if _key(share.id_tag) == key and share.name:
                return share.name
        for group in self._groups.values():
            for member in group.members:
                if member.name and any(_key(t) == key for t in member.tags):
                    return member.name
        return None

    async def forget_charger(self, charger: str) -> None:
        """Drop everything about a charger that is removed from the installation."""
        self._favourites.pop(charger, None)
        self._learning.pop(charger, None)
        self._charger_tariffs.pop(charger, None)
        self._shares = {k: s for k, s in self._shares.items() if s.charger != charger}
        self._bookings = {k: b for k, b in self._bookings.items() if b.charger != charger}
        for group in list(self._groups.values()):
            if charger in group.chargers:
                chargers = [c for c in group.chargers if c != charger]
                self._groups[group.group_id] = replace(group, chargers=chargers)
        await self._save()
