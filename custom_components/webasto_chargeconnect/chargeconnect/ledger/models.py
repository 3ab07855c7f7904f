"""What the ledger stores and returns: sessions, power samples, filters and totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Final

from ..models import Tariff


class _Unset(Enum):
    """Type of :data:`UNSET`."""

    UNSET = 0


# "Not given" for :meth:`Ledger.update_session` (None means "clear the value").
UNSET: Final = _Unset.UNSET

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(value: datetime) -> int:
    """A time as integer milliseconds since the epoch (naive times are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(milliseconds=1)


def from_ms(value: int) -> datetime:
    """The inverse of :func:`to_ms`: a timezone-aware UTC datetime.

    ``fromtimestamp`` is four times faster than adding a timedelta and exact to the
    millisecond (it rounds to the microsecond).
    """
    return datetime.fromtimestamp(value / 1000, UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class Sample:
    """One point of a session's power curve (a MeterValues sample)."""

    timestamp: datetime
    power_w: float | None = None
    current_l1: float | None = None
    current_l2: float | None = None
    current_l3: float | None = None
    register_wh: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values."""
        return {
            "timestamp": self.timestamp.isoformat(),
            "power_w": self.power_w,
            "current_l1": self.current_l1,
            "current_l2": self.current_l2,
            "current_l3": self.current_l3,
            "register_wh": self.register_wh,
        }


@dataclass(frozen=True, slots=True)
class SessionStart:
    """What is known when a session starts (StartTransaction)."""

    transaction_id: int
    charger: str
    connector_id: int
    id_tag: str
    start_time: datetime
    meter_start_wh: float
    tariff: Tariff | None
    plug_in_time: datetime | None = None
    tag_alias: str | None = None
    group_id: str | None = None
    odometer_km: float | None = None
    vehicle_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One charging session as archived.

    ``energy_kwh`` is final once the session stopped; while it runs it is the energy
    read from the latest meter register received (0 before the first one). ``cost`` is
    set at the stop, from the tariff stored at the start (None without a tariff).
    """

    transaction_id: int
    charger: str
    connector_id: int
    id_tag: str
    start_time: datetime
    meter_start_wh: float
    tag_alias: str | None = None
    group_id: str | None = None
    plug_in_time: datetime | None = None
    plug_out_time: datetime | None = None
    stop_time: datetime | None = None
    meter_stop_wh: float | None = None
    meter_last_wh: float | None = None
    energy_kwh: float = 0.0
    currency: str | None = None
    fixed_fee: float | None = None
    price_per_kwh: float | None = None
    cost: float | None = None
    stop_reason: str | None = None
    stop_id_tag: str | None = None
    odometer_km: float | None = None
    vehicle_id: str | None = None

    @property
    def is_open(self) -> bool:
        """True until the session stopped."""
        return self.stop_time is None

    @property
    def duration(self) -> timedelta | None:
        """Start to stop (None while the session runs; never negative)."""
        if self.stop_time is None:
            return None
        return max(timedelta(0), self.stop_time - self.start_time)

    @property
    def tariff(self) -> Tariff | None:
        """The tariff stored at the start, if any."""
        if self.currency is None:
            return None
        return Tariff(
            currency=self.currency,
            fixed_fee=self.fixed_fee or 0.0,
            price_per_kwh=self.price_per_kwh or 0.0,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values (ISO 8601 times, duration in seconds)."""
        duration = self.duration
        return {
            "transaction_id": self.transaction_id,
            "charger": self.charger,
            "connector_id": self.connector_id,
            "id_tag": self.id_tag,
            "tag_alias": self.tag_alias,
            "group_id": self.group_id,
            "plug_in_time": _iso(self.plug_in_time),
            "plug_out_time": _iso(self.plug_out_time),
            "start_time": _iso(self.start_time),
            "stop_time": _iso(self.stop_time),
            "duration_s": None if duration is None else duration.total_seconds(),
            "meter_start_wh": self.meter_start_wh,
            "meter_stop_wh": self.meter_stop_wh,
            "meter_last_wh": self.meter_last_wh,
            "energy_kwh": self.energy_kwh,
            "currency": self.currency,
            "fixed_fee": self.fixed_fee,
            "price_per_kwh": self.price_per_kwh,
            "cost": self.cost,
            "stop_reason": self.stop_reason,
            "stop_id_tag": self.stop_id_tag,
            "odometer_km": self.odometer_km,
            "vehicle_id": self.vehicle_id,
        }


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """Which sessions a query, a total or an export covers.

    ``None`` means "no restriction"; an empty sequence matches no session. ``start`` and
    ``end`` bound the session's start time (``end`` exclusive).
    """

    chargers: Sequence[str] | None = None
    id_tags: Sequence[str] | None = None
    group_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    transaction_ids: Sequence[int] | None = None

    @property
    def single_session(self) -> int | None:
        """The transaction id when the filter names exactly one session."""
        if self.transaction_ids is not None and len(set(self.transaction_ids)) == 1:
            return next(iter(self.transaction_ids))
        return None


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over stopped sessions."""

    sessions: int = 0
    energy_kwh: float = 0.0
    cost_by_currency: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values."""
        return {
            "sessions": self.sessions,
            "energy_kwh": self.energy_kwh,
            "cost_by_currency": dict(self.cost_by_currency),
        }


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    sessions: int
    totals: Totals

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values."""
        return {"path": str(self.path), "sessions": self.sessions, "totals": self.totals.to_dict()}
