"""Timestamps as OCPP wants them, and as Webasto chargers insist on."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def format_ocpp_time(value: datetime) -> str:
    """Format a time as UTC ISO 8601 with milliseconds and ``Z``.

    The Webasto Next drops the connection when a ``currentTime`` has no fractional
    seconds, so every timestamp we send carries exactly three digits of them.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_ocpp_time(value: str) -> datetime:
    """Parse an OCPP timestamp; naive times are taken as UTC.

    Raises ``ValueError`` for text that is not an ISO 8601 date-time.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
