"""Records of the access package: tags, shares, groups, bookings and decisions.

All are frozen dataclasses; :class:`~.control.AccessControl` replaces them on change.
``to_dict()`` is JSON-safe (times as ISO 8601 strings) and is what actions return;
``from_dict()`` restores what ``to_dict()`` wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ..models import Tariff
from ..timeutil import format_ocpp_time, utcnow

type TagKind = Literal["virtual", "rfid"]
type AuthorizationStatus = Literal["Accepted", "Blocked", "Expired", "Invalid"]
type DecisionReason = Literal[
    "owner_tag",
    "share",
    "group",
    "booking",
    "booking_other",
    "learned",
    "open",
    "unknown",
    "share_expired",
    "remote_start",
]

TAG_KINDS: tuple[TagKind, ...] = ("virtual", "rfid")


def aware(value: datetime) -> datetime:
    """The same instant in UTC; a naive time is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: Any) -> datetime:
    return aware(datetime.fromisoformat(str(value)))


def _optional_time(value: Any) -> datetime | None:
    return None if value in (None, "") else _time(value)


def _optional_text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


@dataclass(frozen=True)
class Tag:
    """An id tag of the installation: an RFID card or a virtual tag (app, Home Assistant)."""

    id_tag: str
    alias: str
    kind: TagKind
    created: datetime

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return {
            "id_tag": self.id_tag,
            "alias": self.alias,
            "kind": self.kind,
            "created": _iso(self.created),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tag:
        """Restore."""
        kind = data.get("kind", "virtual")
        return cls(
            id_tag=str(data["id_tag"]),
            alias=str(data.get("alias", "")),
            kind="rfid" if kind == "rfid" else "virtual",
            created=_time(data["created"]),
        )


@dataclass(frozen=True)
class LearnMode:
    """A charger waiting for an unknown card, to add it as a tag called ``alias``."""

    charger: str
    alias: str
    until: datetime

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return {"charger": self.charger, "alias": self.alias, "until": _iso(self.until)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnMode:
        """Restore."""
        return cls(
            charger=str(data["charger"]),
            alias=str(data.get("alias", "")),
            until=_time(data["until"]),
        )


@dataclass(frozen=True)
class Share:
    """Permission for someone else's tag to charge at one charger, optionally until ``expiry``."""

    share_id: str
    charger: str
    name: str
    email: str
    id_tag: str
    expiry: datetime | None
    created: datetime
    # The personal link: only the SHA-256 of its token is kept (see .links).
    link_hash: str | None = None
    link_issued: datetime | None = None

    def is_expired(self, at: datetime | None = None) -> bool:
        """True once ``expiry`` has passed (never for a share without expiry)."""
        return self.expiry is not None and self.expiry <= aware(at or utcnow())

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """Serialise; ``expired`` is judged at ``now`` (default: the current time)."""
        return {
            "share_id": self.share_id,
            "charger": self.charger,
            "name": self.name,
            "email": self.email,
            "id_tag": self.id_tag,
            "expiry": _iso(self.expiry),
            "created": _iso(self.created),
            "expired": self.is_expired(now),
            "link_issued": _iso(self.link_issued),
        }

    def to_storage(self) -> dict[str, Any]:
        """What the store keeps: :meth:`to_dict` with the link's hash, without ``expired``."""
        data = {k: v for k, v in self.to_dict().items() if k != "expired"}
        data["link_hash"] = self.link_hash
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Share:
        """Restore (``expired`` is ignored: it is derived)."""
        return cls(
            share_id=str(data["share_id"]),
            charger=str(data["charger"]),
            name=str(data.get("name", "")),
            email=str(data.get("email", "")),
            id_tag=str(data["id_tag"]),
            expiry=_optional_time(data.get("expiry")),
            created=_time(data["created"]),
            link_hash=_optional_text(data.get("link_hash")),
            link_issued=_optional_time(data.get("link_issued")),
        )


@dataclass(frozen=True)
class Member:
    """A person in a group, with the tags they charge with.

    ``accepted``: the member accepted the invitation (on the guest page); until then their
    tags do not authorize. A member stored without the field (before invitations) is accepted.
    """

    member_id: str
    name: str
    email: str
    tags: list[str] = field(default_factory=list)
    accepted: bool = True
    joined: datetime | None = None
    # The personal link: only the SHA-256 of its token is kept (see .links).
    link_hash: str | None = None
    link_issued: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialise (without the link's hash)."""
        return {
            "member_id": self.member_id,
            "name": self.name,
            "email": self.email,
            "tags": list(self.tags),
            "accepted": self.accepted,
            "joined": _iso(self.joined),
            "link_issued": _iso(self.link_issued),
        }

    def to_storage(self) -> dict[str, Any]:
        """What the store keeps: :meth:`to_dict` with the link's hash."""
        return {**self.to_dict(), "link_hash": self.link_hash}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Member:
        """Restore."""
        return cls(
            member_id=str(data["member_id"]),
            name=str(data.get("name", "")),
            email=str(data.get("email", "")),
            tags=[str(tag) for tag in data.get("tags", [])],
            accepted=bool(data.get("accepted", True)),
            joined=_optional_time(data.get("joined")),
            link_hash=_optional_text(data.get("link_hash")),
            link_issued=_optional_time(data.get("link_issued")),
        )


@dataclass(frozen=True)
class Group:
    """Chargers shared by a set of people (a household, a company car park), with a tariff."""

    group_id: str
    name: str
    address: str = ""
    chargers: list[str] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    tariff: Tariff | None = None

    def member(self, member_id: str) -> Member | None:
        """The member with this id, if any."""
        return next((m for m in self.members if m.member_id == member_id), None)

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return {
            "group_id": self.group_id,
            "name": self.name,
            "address": self.address,
            "chargers": list(self.chargers),
            "members": [member.to_dict() for member in self.members],
            "tariff": None if self.tariff is None else self.tariff.to_dict(),
        }

    def to_storage(self) -> dict[str, Any]:
        """What the store keeps: :meth:`to_dict` with the members' link hashes."""
        return {**self.to_dict(), "members": [m.to_storage() for m in self.members]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Group:
        """Restore."""
        tariff = data.get("tariff")
        return cls(
            group_id=str(data["group_id"]),
            name=str(data.get("name", "")),
            address=str(data.get("address", "")),
            chargers=[str(c) for c in data.get("chargers", [])],
            members=[Member.from_dict(m) for m in data.get("members", [])],
            tariff=None if not tariff else Tariff.from_dict(tariff),
        )


@dataclass(frozen=True)
class Booking:
    """A charger reserved for one tag from ``start`` to ``end`` (end excluded)."""

    booking_id: str
    charger: str
    id_tag: str
    start: datetime
    end: datetime
    note: str = ""

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True if this booking shares any moment with ``[start, end)``."""
        return self.start < end and start < self.end

    def is_active(self, at: datetime) -> bool:
        """True while ``start <= at < end``."""
        return self.start <= at < self.end

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return {
            "booking_id": self.booking_id,
            "charger": self.charger,
            "id_tag": self.id_tag,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Booking:
        """Restore."""
        return cls(
            booking_id=str(data["booking_id"]),
            charger=str(data["charger"]),
            id_tag=str(data["id_tag"]),
            start=_time(data["start"]),
            end=_time(data["end"]),
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True)
class Decision:
    """Whether a tag may charge at a charger now, and why."""

    status: AuthorizationStatus
    expiry: datetime | None
    reason: DecisionReason
    learned_tag: Tag | None = None

    @property
    def accepted(self) -> bool:
        """True when the tag may charge."""
        return self.status == "Accepted"

    def id_tag_info(self) -> dict[str, Any]:
        """The decision as an OCPP 1.6 IdTagInfo (``status`` and optional ``expiryDate``)."""
        info: dict[str, Any] = {"status": self.status}
        if self.expiry is not None:
            info["expiryDate"] = format_ocpp_time(self.expiry)
        return info

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return {
            "status": self.status,
            "reason": self.reason,
            "expiry": _iso(self.expiry),
            "learned_tag": None if self.learned_tag is None else self.learned_tag.to_dict(),
        }
