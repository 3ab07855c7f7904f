"""Timestamps as OCPP wants them, and as Webasto chargers insist on.

What a charger's clock is worth
-------------------------------
Chargers boot with their clock at 1970 or 2000 until they have synchronised it, some
send local time labelled UTC, and they queue transaction messages while offline and
send them, with the time they happened, once they are back. :func:`plausible_time`
decides which timestamps we believe: a charger's time is kept when it can be true,
that is not before :data:`EARLIEST_PLAUSIBLE` (OCPP 1.6 did not exist before) and not
later than its arrival plus :data:`MAX_CLOCK_AHEAD` (a message cannot come from the
future). Otherwise the message is taken as happening when it arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import re

# No OCPP 1.6 charger has anything to report from before 2015 (1.6 was published
# then): a time before this is a clock that was never set (1970, 2000, year 1).
EARLIEST_PLAUSIBLE = datetime(2015, 1, 1, tzinfo=UTC)
# How far ahead of ours a charger's clock may be before its times are not believed.
# Also the longest a wrongly dated message can hold back later ones.
MAX_CLOCK_AHEAD = timedelta(minutes=5)
# A year written with fewer than four digits (what strftime's %Y gives for year 1).
_SHORT_YEAR = re.compile(r"^(\d{1,3})-")


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def format_ocpp_time(value: datetime) -> str:
    """Format a time as UTC ISO 8601 with milliseconds and ``Z``.

    The Webasto Next drops the connection when a ``currentTime`` has no fractional
    seconds, so every timestamp we send carries exactly three digits of them. The year
    always has four digits (``0001``), so that :func:`parse_ocpp_time` reads it back.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}."
        f"{value.microsecond // 1000:03d}Z"
    )


def parse_ocpp_time(value: str) -> datetime:
    """Parse an OCPP timestamp; naive times are taken as UTC.

    Raises ``ValueError`` for text that is not an ISO 8601 date-time, and for one that
    has no UTC equivalent (``9999-12-31T23:59:59-01:00`` is in the year 10000). A year
    of fewer than four digits (written by versions that did not pad it) is accepted.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if match := _SHORT_YEAR.match(text):
        text = f"{int(match.group(1)):04d}{text[match.end(1) :]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is outside the range of UTC times") from None


class ArrivalTime(datetime):
    """A message's time taken from its arrival, not from the charger's clock.

    A ``datetime`` in every respect; the type only tells where it came from, so that
    such a time never decides the order of the charger's own timestamps.
    """

    @classmethod
    def of(cls, value: datetime) -> ArrivalTime:
        """The same instant, marked as an arrival time."""
        return cls(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo,
        )


def plausible_time(claimed: datetime | None, received: datetime) -> datetime:
    """The time a message happened: the charger's own when plausible, else its arrival.

    ``claimed`` is the charger's timestamp (None when it sent none or an unreadable
    one), ``received`` when the message arrived. An arrival time is returned as an
    :class:`ArrivalTime`. See the module docstring.
    """
    if claimed is None or not is_plausible(claimed, received):
        return ArrivalTime.of(received)
    return claimed


def is_plausible(claimed: datetime, received: datetime) -> bool:
    """True when a charger's timestamp can be the time its message happened."""
    return EARLIEST_PLAUSIBLE <= claimed <= received + MAX_CLOCK_AHEAD
