"""Errors of the access package: tags, shares, groups and bookings.

Each error names its translation with ``translation_key`` and carries named
placeholders for it (see :class:`~..exceptions.ChargeConnectError`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..exceptions import ChargeConnectError

if TYPE_CHECKING:
    from .models import Booking

# OCPP 1.6 IdToken: CiString20Type.
MAX_ID_TAG_LENGTH = 20


def format_moment(value: datetime) -> str:
    """A time for an error message: ``2026-11-23 20:00 UTC``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class AccessError(ChargeConnectError):
    """Base class of the errors raised by :class:`AccessControl` (never raised itself)."""


class UnknownTagError(AccessError):
    """No tag of the installation has this id."""

    translation_key = "unknown_tag"

    def __init__(self, id_tag: str) -> None:
        super().__init__(f"Unknown tag {id_tag!r}", id_tag=id_tag)
        self.id_tag = id_tag


class DuplicateTagError(AccessError):
    """A tag with this id (compared case-insensitively) already exists."""

    translation_key = "duplicate_tag"

    def __init__(self, id_tag: str) -> None:
        super().__init__(f"A tag with id {id_tag!r} already exists", id_tag=id_tag)
        self.id_tag = id_tag


class InvalidTagIdError(AccessError):
    """A tag id is empty, longer than 20 characters or not printable ASCII."""

    translation_key = "invalid_tag_id"

    def __init__(self, id_tag: str) -> None:
        super().__init__(
            f"Invalid tag id {id_tag!r}: it must be 1 to {MAX_ID_TAG_LENGTH} printable "
            "ASCII characters",
            id_tag=id_tag,
            max_length=str(MAX_ID_TAG_LENGTH),
        )
        self.id_tag = id_tag


class FavouriteTagUnknownError(AccessError):
    """Only a tag of the installation can be a charger's favourite."""

    translation_key = "favourite_unknown_tag"

    def __init__(self, charger: str, id_tag: str) -> None:
        super().__init__(
            f"Tag {id_tag!r} cannot be the favourite of {charger}: it is not a known tag",
            charger=charger,
            id_tag=id_tag,
        )
        self.id_tag = id_tag


class UnknownShareError(AccessError):
    """No share has this id."""

    translation_key = "unknown_share"

    def __init__(self, share_id: str) -> None:
        super().__init__(f"Unknown share {share_id!r}", share_id=share_id)
        self.share_id = share_id


class ShareExpiryInPastError(AccessError):
    """A share cannot be created already expired."""

    translation_key = "share_expiry_in_past"

    def __init__(self, expiry: datetime) -> None:
        super().__init__(
            f"The share's expiry {format_moment(expiry)} is in the past",
            expiry=format_moment(expiry),
        )
        self.expiry = expiry


class UnknownGroupError(AccessError):
    """No group has this id."""

    translation_key = "unknown_group"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"Unknown group {group_id!r}", group_id=group_id)
        self.group_id = group_id


class UnknownMemberError(AccessError):
    """The group has no member with this id."""

    translation_key = "unknown_member"

    def __init__(self, group_id: str, member_id: str) -> None:
        super().__init__(
            f"Group {group_id!r} has no member {member_id!r}",
            group_id=group_id,
            member_id=member_id,
        )
        self.group_id = group_id
        self.member_id = member_id


class BookingOverlapError(AccessError):
    """The requested window overlaps another booking of the same charger."""

    translation_key = "booking_overlap"

    def __init__(self, other: Booking) -> None:
        super().__init__(
            f"The charger is already booked from {format_moment(other.start)} "
            f"to {format_moment(other.end)}",
            start=format_moment(other.start),
            end=format_moment(other.end),
            booking_id=other.booking_id,
        )
        self.other = other


class InvalidBookingWindowError(AccessError):
    """A booking must end after it starts and must not start in the past."""

    translation_key = "invalid_booking_window"

    def __init__(self, start: datetime, end: datetime, reason: str) -> None:
        super().__init__(
            f"Invalid booking window {format_moment(start)} to {format_moment(end)}: "
            "a booking must end after it starts and cannot start in the past",
            start=format_moment(start),
            end=format_moment(end),
        )
        # "end_not_after_start" or "start_in_past" (not a placeholder: not translated).
        self.reason = reason


class UnknownBookingError(AccessError):
    """No booking has this id."""

    translation_key = "unknown_booking"

    def __init__(self, booking_id: str) -> None:
        super().__init__(f"Unknown booking {booking_id!r}", booking_id=booking_id)
        self.booking_id = booking_id
