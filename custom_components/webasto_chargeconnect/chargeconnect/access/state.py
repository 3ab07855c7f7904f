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
from typing import Any

from ..models import Tariff
from .models import Booking, Group, LearnMode, Share, Tag

_LOGGER = logging.getLogger(__name__)

STORE_VERSION = 1


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

    def prune(self, now: datetime, booking_retention: timedelta) -> None:
        """Drop bookings that ended over ``booking_retention`` ago and expired learn modes."""
        cutoff = now - booking_retention
        for booking_id in [b.booking_id for b in self.bookings.values() if b.end < cutoff]:
            del self.bookings[booking_id]
        for charger in [c for c, mode in self.learning.items() if mode.until <= now]:
            del self.learning[charger]

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
            "shares": [
                {k: v for k, v in share.to_dict().items() if k != "expired"}
                for share in self.shares.values()
            ],
            "groups": [group.to_dict() for group in self.groups.values()],
            "charger_tariffs": {
                charger: tariff.to_dict() for charger, tariff in self.charger_tariffs.items()
            },
            "bookings": [booking.to_dict() for booking in self.bookings.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccessState:
        """Restore what :meth:`to_dict` wrote, dropping (and logging) unreadable records."""
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
        )
