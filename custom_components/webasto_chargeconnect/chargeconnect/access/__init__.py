"""Who may charge where and when: tags, shares, groups, tariffs, bookings, authorization."""

from .attempts import AttemptLimiter
from .control import BOOKING_RETENTION, AccessControl
from .errors import (
    MAX_ID_TAG_LENGTH,
    AccessError,
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
from .guest import Grant, GuestRefusedError, Invitation, Person
from .models import Booking, Decision, Group, LearnMode, Member, Share, Tag
from .policy import LOCAL_LIST_VERSION_MAX, LOCAL_LIST_VERSION_MIN, validate_id_tag

__all__ = [
    "BOOKING_RETENTION",
    "LOCAL_LIST_VERSION_MAX",
    "LOCAL_LIST_VERSION_MIN",
    "MAX_ID_TAG_LENGTH",
    "AccessControl",
    "AccessError",
    "AttemptLimiter",
    "Booking",
    "BookingOverlapError",
    "Decision",
    "DuplicateTagError",
    "FavouriteTagUnknownError",
    "Grant",
    "Group",
    "GuestRefusedError",
    "InvalidBookingWindowError",
    "InvalidTagIdError",
    "Invitation",
    "LearnMode",
    "Member",
    "Person",
    "Share",
    "ShareExpiryInPastError",
    "Tag",
    "UnknownBookingError",
    "UnknownGroupError",
    "UnknownMemberError",
    "UnknownShareError",
    "UnknownTagError",
    "validate_id_tag",
]
