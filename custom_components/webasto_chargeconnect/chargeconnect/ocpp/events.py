"""What a charger reports that outlives the moment: sessions, their samples, plug-out.

The :class:`~.charger.Charger` hands these to its event listeners in the order the
charger's messages arrived; the session recorder turns them into ledger rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..models import Transaction


@dataclass(frozen=True)
class MeterSample:
    """One MeterValue of a session: the power curve's point."""

    timestamp: datetime
    power_w: float | None = None
    current_a: dict[str, float] = field(default_factory=dict)
    register_wh: float | None = None


@dataclass(frozen=True)
class TransactionStarted:
    """StartTransaction arrived; ``plug_in_time`` is when the vehicle was connected."""

    transaction: Transaction
    plug_in_time: datetime | None


@dataclass(frozen=True)
class TransactionSamples:
    """MeterValues for a transaction (possibly late, after its stop)."""

    transaction_id: int
    samples: tuple[MeterSample, ...]


@dataclass(frozen=True)
class TransactionStopped:
    """StopTransaction arrived, or a lost transaction was closed."""

    transaction: Transaction


@dataclass(frozen=True)
class PluggedOut:
    """The connector went back to Available: the vehicle left."""

    connector_id: int
    time: datetime


@dataclass(frozen=True)
class MeterChanged:
    """The energy register continued from another value: the meter was replaced or reset.

    The lifetime total counts on from ``new_wh`` without adding the step (see
    :mod:`..energy`); the owner may want to check the charger.
    """

    previous_wh: float
    new_wh: float
    time: datetime


ChargerEvent = (
    TransactionStarted | TransactionSamples | TransactionStopped | PluggedOut | MeterChanged
)
