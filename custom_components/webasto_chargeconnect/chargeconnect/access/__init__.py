"""Who may charge where and when: tags, shares, groups, tariffs, bookings, authorization."""

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
from .models import Booking, Decision, Group, LearnMode, Member, Share, Tag
from .policy import LOCAL_LIST_VERSION_MAX, LOCAL_LIST_VERSION_MIN, validate_id_tag

__all__ = [
    "BOOKING_RETENTION",
    "LOCAL_LIST_VERSION_MAX",
    "LOCAL_LIST_VERSION_MIN",
    "MAX_ID_TAG_LENGTH",
    "AccessControl",
    "AccessError",
    "Booking",
    "BookingOverlapError",
    "Decision",
    "DuplicateTagError",
    "FavouriteTagUnknownError",
    "Group",
    "InvalidBookingWindowError",
    "InvalidTagIdError",
    "LearnMode",
    "Member",
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
