"""What an installation's access control holds, and its stored form.

:class:`AccessState` is a plain container of the access records, keyed for lookup.
:class:`~.control.AccessControl` owns and changes it and decides when it is saved;
:mod:`.policy` only reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
from typing import Any, Literal

from ..models import Tariff
from .models import Booking, Group, LearnMode, Share, Tag, aware

_LOGGER = logging.getLogger(__name__)

# 1: before guest access. 2: members carry ``accepted`` (stored members of version 1 had no
# invitation to accept: they load as accepted), personal links (hashes), charger codes and
# the retired links (so a dead link can say why it died).
STORE_VERSION = 2
# A retired link is remembered this long (then it is just an unknown link), at most this many.
RETIRED_LINK_RETENTION = timedelta(days=365)
MAX_RETIRED_LINKS = 2000

type RetiredReason = Literal["revoked", "removed"]


def tag_key(id_tag: str) -> str:
    """Id tags are compared case-insensitively (RFID UIDs come in either case)."""
    return id_tag.strip().casefold()


def _restore[T](items: Any, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    """Parse each stored record; an unreadable one is logged and dropped."""
    restored: list[T] = []
    for item in items if isinstance(items, list) else []:
        try:
            restored.append(parse(item))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            _LOGGER.warning("dropping an unreadable access record %r: %s", item, err)
    return restored


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring stored access data of an older version to :data:`STORE_VERSION` (a copy).

    Version 1 to 2: every stored group member is accepted (there were no invitations to
    accept); shares and members have no personal link yet (the owner renews one).
    """
    version = data.get("version", 1)
    migrated = dict(data)
    if not isinstance(version, int) or version < 2:
        groups = data.get("groups")
        migrated["groups"] = [
            {
                **group,
                "members": [
                    {**member, "accepted": True} if isinstance(member, dict) else member
                    for member in group.get("members", [])
                ],
            }
            if isinstance(group, dict) and isinstance(group.get("members"), list)
            else group
            for group in (groups if isinstance(groups, list) else [])
        ]
    migrated["version"] = STORE_VERSION
    return migrated


@dataclass(frozen=True)
class RetiredLink:
    """A personal link that stopped working because its share or member went away."""

    reason: RetiredReason
    at: datetime


@dataclass
class AccessState:
    """Tags, favourites, learn modes, shares, groups, charger tariffs and bookings."""

    tags: dict[str, Tag] = field(default_factory=dict)  # by tag_key(id_tag)
    favourites: dict[str, str] = field(default_factory=dict)  # charger -> tag_key(id_tag)
    learning: dict[str, LearnMode] = field(default_factory=dict)  # by charger
    shares: dict[str, Share] = field(default_factory=dict)  # by share_id
    groups: dict[str, Group] = field(default_factory=dict)  # by group_id
    charger_tariffs: dict[str, Tariff] = field(default_factory=dict)  # by charger
    bookings: dict[str, Booking] = field(default_factory=dict)  # by booking_id
    charger_codes: dict[str, str] = field(default_factory=dict)  # charger -> QR code
    retired_links: dict[str, RetiredLink] = field(default_factory=dict)  # by link hash

    def prune(self, now: datetime, booking_retention: timedelta) -> None:
        """Drop bookings that ended over ``booking_retention`` ago, expired learn modes and
        links retired long ago (the newest :data:`MAX_RETIRED_LINKS` are kept)."""
        cutoff = now - booking_retention
        for booking_id in [b.booking_id for b in self.bookings.values() if b.end < cutoff]:
            del self.bookings[booking_id]
        for charger in [c for c, mode in self.learning.items() if mode.until <= now]:
            del self.learning[charger]
        kept = sorted(
            (
                (digest, link)
                for digest, link in self.retired_links.items()
                if link.at > now - RETIRED_LINK_RETENTION
            ),
            key=lambda item: item[1].at,
        )[-MAX_RETIRED_LINKS:]
        self.retired_links = dict(kept)

    def retire(self, link_hash: str | None, reason: RetiredReason, now: datetime) -> None:
        """Remember why a link stopped working (its share was revoked, its member removed)."""
        if link_hash:
            self.retired_links[link_hash] = RetiredLink(reason, now)

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe: what the store holds (also fit for diagnostics)."""
        return {
            "version": STORE_VERSION,
            "tags": [tag.to_dict() for tag in self.tags.values()],
            "favourites": {
                charger: self.tags[key].id_tag
                for charger, key in self.favourites.items()
                if key in self.tags
            },
            "learning": [mode.to_dict() for mode in self.learning.values()],
            "shares": [share.to_storage() for share in self.shares.values()],
            "groups": [group.to_storage() for group in self.groups.values()],
            "charger_tariffs": {
                charger: tariff.to_dict() for charger, tariff in self.charger_tariffs.items()
            },
            "bookings": [booking.to_dict() for booking in self.bookings.values()],
            "charger_codes": dict(self.charger_codes),
            "retired_links": {
                digest: {"reason": link.reason, "at": link.at.isoformat()}
                for digest, link in self.retired_links.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccessState:
        """Restore what :meth:`to_dict` wrote (of this or an older version, see
        :func:`migrate`), dropping (and logging) unreadable records."""
        data = migrate(data)
        tags = {tag_key(t.id_tag): t for t in _restore(data.get("tags"), Tag.from_dict)}
        favourites = data.get("favourites")
        tariffs = data.get("charger_tariffs")
        return cls(
            tags=tags,
            favourites={
                str(charger): tag_key(str(id_tag))
                for charger, id_tag in (favourites.items() if isinstance(favourites, dict) else [])
                if tag_key(str(id_tag)) in tags
            },
            learning={m.charger: m for m in _restore(data.get("learning"), LearnMode.from_dict)},
            shares={s.share_id: s for s in _restore(data.get("shares"), Share.from_dict)},
            groups={g.group_id: g for g in _restore(data.get("groups"), Group.from_dict)},
            charger_tariffs={
                str(charger): Tariff.from_dict(tariff)
                for charger, tariff in (tariffs.items() if isinstance(tariffs, dict) else [])
                if isinstance(tariff, dict)
            },
            bookings={b.booking_id: b for b in _restore(data.get("bookings"), Booking.from_dict)},
            charger_codes=_codes(data.get("charger_codes")),
            retired_links=_retired(data.get("retired_links")),
        )


def _codes(value: Any) -> dict[str, str]:
    """Stored charger codes; a code used twice is kept for the first charger only."""
    codes: dict[str, str] = {}
    for charger, code in value.items() if isinstance(value, dict) else []:
        if isinstance(code, str) and code and code not in codes.values():
            codes[str(charger)] = code
    return codes


def _retired(value: Any) -> dict[str, RetiredLink]:
    retired: dict[str, RetiredLink] = {}
    for digest, item in value.items() if isinstance(value, dict) else []:
        try:
            reason = item["reason"]
            if reason not in ("revoked", "removed"):
                continue
            retired[str(digest)] = RetiredLink(reason, aware(datetime.fromisoformat(item["at"])))
        except (KeyError, TypeError, ValueError):
            continue
    return retired
