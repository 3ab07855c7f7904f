"""The access decisions, as pure functions of an :class:`~.state.AccessState` and a moment.

Who may charge (:func:`authorize`), what a charger's local authorization list holds
(:func:`local_list`, :func:`local_list_version`) and when either changes by itself
(:func:`next_transition`). Nothing here reads a clock, touches a store or changes the
state: :class:`~.control.AccessControl` passes its state and ``now`` in, and applies
the one change a decision can ask for (a learned card, :attr:`Decision.learned_tag`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
import hashlib
import json
from typing import Any

from ..models import Tariff
from ..timeutil import format_ocpp_time
from .errors import MAX_ID_TAG_LENGTH, InvalidTagIdError
from .models import Booking, Decision, Group, LearnMode, Share, Tag
from .state import AccessState, tag_key

# Local list versions lie in [2**16, 2**31 - 1]: positive OCPP integers with room below,
# so a list sent in several chunks can count up to its version (Full at V - n + 1,
# then Differential updates up to V).
LOCAL_LIST_VERSION_MIN = 1 << 16
LOCAL_LIST_VERSION_MAX = (1 << 31) - 1

FAR_PAST = datetime.min.replace(tzinfo=UTC)
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def validate_id_tag(id_tag: str) -> str:
    """Return the id tag without surrounding blanks, or raise :class:`InvalidTagIdError`.

    An OCPP 1.6 IdToken holds 1 to 20 printable ASCII characters.
    """
    text = id_tag.strip() if isinstance(id_tag, str) else ""
    if not text or len(text) > MAX_ID_TAG_LENGTH or not all(" " <= ch <= "~" for ch in text):
        raise InvalidTagIdError(str(id_tag))
    return text


# ---------------------------------------------------------------------- lookups


def is_open(state: AccessState) -> bool:
    """Open mode: no tags, shares, group members or bookings yet, so everyone may charge."""
    return not (
        state.tags
        or state.shares
        or state.bookings
        or any(group.members for group in state.groups.values())
    )


def known_ids(state: AccessState) -> set[str]:
    """Every id tag the installation knows of, in comparison form."""
    known = set(state.tags)
    known.update(tag_key(share.id_tag) for share in state.shares.values())
    known.update(tag_key(b.id_tag) for b in state.bookings.values())
    for group in state.groups.values():
        known.update(tag_key(tag) for member in group.members for tag in member.tags)
    return known


def group_of(state: AccessState, charger: str) -> Group | None:
    """The group the charger belongs to (the state's own record), or None."""
    return next((g for g in state.groups.values() if charger in g.chargers), None)


def _member_tags(group: Group | None) -> Iterator[str]:
    """The tags that authorize at the group's chargers: those of members who accepted."""
    for member in group.members if group is not None else []:
        if member.accepted:
            yield from member.tags


def shares_of(state: AccessState, charger: str | None = None) -> list[Share]:
    """Shares (of one charger, or all), oldest first; expired ones included."""
    return sorted(
        (s for s in state.shares.values() if charger in (None, s.charger)),
        key=lambda s: s.created,  # ties: in order of creation (stable sort)
    )


def active_booking(state: AccessState, charger: str, at: datetime) -> Booking | None:
    """The booking of ``charger`` running at ``at``."""
    return next(
        (b for b in state.bookings.values() if b.charger == charger and b.is_active(at)),
        None,
    )


def bookings_between(
    state: AccessState, charger: str | None, start: datetime, end: datetime
) -> list[Booking]:
    """Bookings (of one charger, or all) sharing a moment with ``[start, end)``, by start."""
    return sorted(
        (
            b
            for b in state.bookings.values()
            if charger in (None, b.charger) and b.overlaps(start, end)
        ),
        key=lambda b: (b.start, b.end, b.charger),
    )


def learning(state: AccessState, charger: str, now: datetime) -> LearnMode | None:
    """The charger's learn mode, None when not armed or expired at ``now``."""
    mode = state.learning.get(charger)
    return None if mode is None or mode.until <= now else mode


def tariff_for(state: AccessState, charger: str) -> Tariff | None:
    """What sessions at ``charger`` cost: its group's tariff, else its own, else None."""
    group = group_of(state, charger)
    if group is not None and group.tariff is not None:
        return group.tariff
    return state.charger_tariffs.get(charger)


# ---------------------------------------------------------------------- decisions


def authorize(
    state: AccessState,
    charger: str,
    id_tag: str,
    now: datetime,
    *,
    remote_start_tag: str | None = None,
) -> Decision:
    """Decide whether ``id_tag`` may charge at ``charger`` at ``now``.

    In order: a booking running now (its tag, or Blocked for everyone else); the
    installation's tags; ``remote_start_tag``; an unexpired share for this charger; a
    tag of a member of the charger's group who accepted the invitation; an expired share
    (Expired); learn mode (an unknown card becomes a tag: the decision carries it as
    ``learned_tag``, for the caller to add); open mode (nothing set up yet); else Invalid.
    """
    key = tag_key(id_tag)
    booking = active_booking(state, charger, now)
    if booking is not None:
        if tag_key(booking.id_tag) == key:
            return Decision("Accepted", booking.end, "booking")
        return Decision("Blocked", None, "booking_other")
    if key in state.tags:
        return Decision("Accepted", None, "owner_tag")
    if remote_start_tag and tag_key(remote_start_tag) == key:
        return Decision("Accepted", None, "remote_start")
    shares = [s for s in state.shares.values() if s.charger == charger and tag_key(s.id_tag) == key]
    live = [s for s in shares if not s.is_expired(now)]
    if live:
        best = max(live, key=lambda s: s.expiry or FAR_FUTURE)
        return Decision("Accepted", best.expiry, "share")
    if any(tag_key(tag) == key for tag in _member_tags(group_of(state, charger))):
        return Decision("Accepted", None, "group")
    if shares:
        return Decision("Expired", max(s.expiry or now for s in shares), "share_expired")
    learned = learned_tag(state, charger, id_tag, now)
    if learned is not None:
        return Decision("Accepted", None, "learned", learned)
    if is_open(state):
        return Decision("Accepted", None, "open")
    return Decision("Invalid", None, "unknown")


def learned_tag(state: AccessState, charger: str, id_tag: str, now: datetime) -> Tag | None:
    """The rfid tag ``id_tag`` becomes if ``charger`` is learning and nobody knows it."""
    mode = learning(state, charger, now)
    if mode is None or tag_key(id_tag) in known_ids(state):
        return None
    try:
        text = validate_id_tag(id_tag)
    except InvalidTagIdError:
        return None
    return Tag(id_tag=text, alias=mode.alias or text, kind="rfid", created=now)


def local_list(state: AccessState, charger: str, now: datetime) -> list[dict[str, Any]]:
    """The OCPP local authorization list for ``charger``: every tag that may charge
    there at ``now`` (AuthorizationData, camelCase), sorted by id tag, one entry per tag.

    Owner tags, unexpired shares of this charger (with ``expiryDate``) and member tags
    of its group. While a booking runs, only the booking's tag (until its end): a
    charger that authorizes from its list must not let anyone else in. Empty in open
    mode (the charger then asks the central system, which accepts everyone).
    """
    if is_open(state):
        return []
    chosen: dict[str, tuple[str, datetime | None]] = {}

    def offer(id_tag: str, expiry: datetime | None) -> None:
        key = tag_key(id_tag)
        current = chosen.get(key)
        if current is None:
            chosen[key] = (id_tag, expiry)
        elif current[1] is not None and (expiry is None or expiry > current[1]):
            chosen[key] = (current[0], expiry)

    booking = active_booking(state, charger, now)
    if booking is not None:
        offer(booking.id_tag, booking.end)
    else:
        for tag in state.tags.values():
            offer(tag.id_tag, None)
        for share in state.shares.values():
            if share.charger == charger and not share.is_expired(now):
                offer(share.id_tag, share.expiry)
        for tag_id in _member_tags(group_of(state, charger)):
            offer(tag_id, None)
    entries: list[dict[str, Any]] = []
    for key in sorted(chosen):
        id_tag, expiry = chosen[key]
        info: dict[str, Any] = {"status": "Accepted"}
        if expiry is not None:
            info["expiryDate"] = format_ocpp_time(expiry)
        entries.append({"idTag": id_tag, "idTagInfo": info})
    return entries


def list_version(entries: list[dict[str, Any]]) -> int:
    """A version number of a local list, derived from its content.

    Equal lists give equal versions, also after a restart; a change of content changes
    it. Always within [65536, 2**31 - 1].
    """
    text = json.dumps(entries, sort_keys=True, separators=(",", ":"))
    digest = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    span = LOCAL_LIST_VERSION_MAX - LOCAL_LIST_VERSION_MIN + 1
    return LOCAL_LIST_VERSION_MIN + digest % span


def local_list_version(state: AccessState, charger: str, now: datetime) -> int:
    """The version number of ``local_list(state, charger, now)``."""
    return list_version(local_list(state, charger, now))


def next_transition(
    state: AccessState, now: datetime, charger: str | None = None
) -> datetime | None:
    """The next moment after ``now`` a decision or local list changes by itself (a share
    expires, a booking starts or ends, learn mode ends), for ``charger`` or any charger."""
    moments: list[datetime] = [
        s.expiry
        for s in state.shares.values()
        if s.expiry is not None and charger in (None, s.charger)
    ]
    for booking in state.bookings.values():
        if charger in (None, booking.charger):
            moments.extend((booking.start, booking.end))
    moments.extend(m.until for c, m in state.learning.items() if charger in (None, c))
    future = [moment for moment in moments if moment > now]
    return min(future) if future else None


def label(state: AccessState, id_tag: str, charger: str | None = None) -> str | None:
    """A human name for ``id_tag``: the tag's alias, else the (oldest) share's name for
    ``charger`` (None: any charger), else a group member's name."""
    key = tag_key(id_tag)
    tag = state.tags.get(key)
    if tag is not None:
        return tag.alias
    for share in shares_of(state, charger):
        if tag_key(share.id_tag) == key and share.name:
            return share.name
    for group in state.groups.values():
        for member in group.members:
            if member.name and any(tag_key(t) == key for t in member.tags):
                return member.name
    return None
