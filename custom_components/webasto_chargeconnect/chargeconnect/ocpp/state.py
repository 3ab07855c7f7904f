"""What a charger's state file holds, and the owner's settings for a charger.

:class:`ChargerState` is everything that must survive a restart; ``to_storage`` writes the
stored JSON (version 1) and ``from_storage`` reads it, including files written by older code
(missing keys, unreadable or implausible timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..energy import LifetimeEnergy
from ..models import (
    PLUGGED_IN_STATUSES,
    ChargerInfo,
    ChargerModel,
    ConnectorState,
    ConnectorStatus,
    Transaction,
)
from ..timeutil import ArrivalTime, format_ocpp_time, is_plausible, parse_ocpp_time
from . import quirks

STORAGE_VERSION = 1
# How many closed transactions are remembered (a StopTransaction sent again after its
# answer was lost is recognised, and the archive is reconciled from them at start-up).
CLOSED_TRANSACTIONS_KEPT = 10


@dataclass
class ChargerOptions:
    """Settings the owner chose for this charger."""

    # MeterValueSampleInterval written to the charger on connect (None: leave as is).
    meter_sample_interval: int | None = None
    # Largest current limit the installation allows (A).
    max_current_a: float = 32.0
    # The id tag used for remote starts.
    remote_start_tag: str = "HomeAssistant"


@dataclass
class ChargerState:
    """A charger's persisted state."""

    info: ChargerInfo = field(default_factory=ChargerInfo)
    model: ChargerModel = ChargerModel.GENERIC
    configuration: dict[str, str] = field(default_factory=dict)
    connectors: dict[int, ConnectorState] = field(default_factory=dict)
    energy: LifetimeEnergy = field(default_factory=LifetimeEnergy)
    # The last register reading counted: when it happened (stored as "energy_time"), when it
    # arrived, and the charger's own timestamp of it (None: it had no plausible one; stored
    # as "energy_timestamp").
    energy_timestamp: datetime | None = None
    energy_received: datetime | None = None
    energy_claim: datetime | None = None
    transactions: dict[int, Transaction] = field(default_factory=dict)
    last_transaction: Transaction | None = None
    # The latest closed transactions by id, oldest first (last_transaction is the last).
    closed_transactions: dict[int, Transaction] = field(default_factory=dict)
    desired_current_limit_a: float | None = None
    current_limit_a: float | None = None
    firmware_status: str | None = None
    last_heartbeat: datetime | None = None
    last_boot: datetime | None = None
    # When the vehicle was plugged in, per connector (for the session archive).
    plug_in_times: dict[int, datetime] = field(default_factory=dict)

    @property
    def connector(self) -> ConnectorState:
        """Connector 1 (Webasto chargers have one), or the charger as a whole."""
        return self.connectors.get(1) or self.connectors.get(0) or ConnectorState()

    @property
    def status(self) -> ConnectorStatus:
        """Status of the charger: connector 0 Unavailable/Faulted wins, else connector 1."""
        whole = self.connectors.get(0)
        if whole and whole.status in (ConnectorStatus.UNAVAILABLE, ConnectorStatus.FAULTED):
            return whole.status
        return self.connector.status

    @property
    def error_code(self) -> str:
        """The latest error code (connector 0 or 1)."""
        for connector_id in (1, 0):
            connector = self.connectors.get(connector_id)
            if connector and connector.error_code != "NoError":
                return connector.error_code
        return "NoError"

    @property
    def plugged_in(self) -> bool:
        """A vehicle is connected."""
        return self.connector.status in PLUGGED_IN_STATUSES

    @property
    def charging(self) -> bool:
        """Energy is flowing (status Charging)."""
        return self.connector.status is ConnectorStatus.CHARGING

    @property
    def available(self) -> bool:
        """The charger is operative (not set Unavailable)."""
        return self.status is not ConnectorStatus.UNAVAILABLE

    @property
    def active_transaction(self) -> Transaction | None:
        """The open transaction on connector 1 (or any), if one is running."""
        for tx in self.transactions.values():
            if tx.connector_id in (0, 1):
                return tx
        return next(iter(self.transactions.values()), None)

    @property
    def highest_transaction_id(self) -> int:
        """The highest transaction id this charger's state holds (0 if none)."""
        return max((*self.transactions, *self.closed_transactions), default=0)

    @property
    def session(self) -> Transaction | None:
        """The running session, else the most recent one."""
        return self.active_transaction or self.last_transaction

    @property
    def free_charging(self) -> bool | None:
        """Free charging (no authorisation) on a model that has it."""
        return quirks.parse_bool(self.configuration.get("FreeModeActive"))

    @property
    def led_dimming_level(self) -> str | None:
        """The Unite's LED dimming level."""
        return self.configuration.get("LedDimmingLevel")

    def remember_closed(self, tx: Transaction) -> None:
        """Keep ``tx`` as the newest closed transaction (the oldest beyond the limit go)."""
        self.closed_transactions.pop(tx.transaction_id, None)
        self.closed_transactions[tx.transaction_id] = tx
        while len(self.closed_transactions) > CLOSED_TRANSACTIONS_KEPT:
            del self.closed_transactions[next(iter(self.closed_transactions))]

    def count_energy(
        self, register_wh: float, timestamp: datetime, received: datetime, max_power_w: float
    ) -> None:
        """Give the lifetime tracker a register reading that is not a queued, older one.

        The tracker bounds the gain by the time elapsed since the last reading: by the
        charger's timestamps or by arrival, whichever is longer (a queued reading's
        timestamps tell the time it took; arrival covers a clock that went back).
        """
        elapsed: float | None = None
        if self.energy_timestamp is not None and self.energy_received is not None:
            elapsed = max(
                (timestamp - self.energy_timestamp).total_seconds(),
                (received - self.energy_received).total_seconds(),
                0.0,
            )
        self.energy_timestamp = timestamp
        self.energy_received = received
        if not isinstance(timestamp, ArrivalTime):
            self.energy_claim = timestamp
        self.energy.update(register_wh, elapsed, max_power_w)

    def to_storage(self) -> dict[str, Any]:
        """The stored JSON form (key order and format as version 1 always wrote them)."""
        return {
            "version": STORAGE_VERSION,
            "info": self.info.to_dict(),
            "model": self.model.value,
            "configuration": dict(self.configuration),
            "connectors": {str(k): v.to_dict() for k, v in self.connectors.items()},
            "energy": self.energy.to_dict(),
            "energy_timestamp": _dump_time(self.energy_claim),
            "energy_time": _dump_time(self.energy_timestamp),
            "energy_received": _dump_time(self.energy_received),
            "transactions": [tx.to_dict() for tx in self.transactions.values()],
            "last_transaction": self.last_transaction.to_dict() if self.last_transaction else None,
            "closed_transactions": [tx.to_dict() for tx in self.closed_transactions.values()],
            "desired_current_limit_a": self.desired_current_limit_a,
            "current_limit_a": self.current_limit_a,
            "firmware_status": self.firmware_status,
            "last_heartbeat": _dump_time(self.last_heartbeat),
            "last_boot": _dump_time(self.last_boot),
            "plug_in_times": {str(k): format_ocpp_time(v) for k, v in self.plug_in_times.items()},
        }

    @classmethod
    def from_storage(cls, data: dict[str, Any], now: datetime) -> ChargerState:
        """Read a stored state (``now`` judges the saved timestamps' plausibility)."""
        try:
            model = ChargerModel(data.get("model", "generic"))
        except ValueError:
            model = ChargerModel.GENERIC
        energy_claim = _load_time(data.get("energy_timestamp"))
        if energy_claim is not None and not is_plausible(energy_claim, now):
            energy_claim = None  # written before timestamps were checked (2099)
        state = cls(
            info=ChargerInfo.from_dict(data.get("info")),
            model=model,
            configuration={str(k): str(v) for k, v in data.get("configuration", {}).items()},
            connectors={
                int(k): ConnectorState.from_dict(v) for k, v in data.get("connectors", {}).items()
            },
            energy=LifetimeEnergy.from_dict(data.get("energy")),
            energy_timestamp=_load_time(data.get("energy_time")) or energy_claim,
            energy_received=_load_time(data.get("energy_received")),
            energy_claim=energy_claim,
            desired_current_limit_a=data.get("desired_current_limit_a"),
            current_limit_a=data.get("current_limit_a"),
            firmware_status=data.get("firmware_status"),
            last_heartbeat=_load_time(data.get("last_heartbeat")),
            last_boot=_load_time(data.get("last_boot")),
            plug_in_times={
                int(k): t
                for k, v in (data.get("plug_in_times") or {}).items()
                if (t := _load_time(v)) is not None
            },
        )
        for item in data.get("transactions", []):
            tx = Transaction.from_dict(item)
            state.transactions[tx.transaction_id] = tx
        if last := data.get("last_transaction"):
            state.last_transaction = Transaction.from_dict(last)
        for item in data.get("closed_transactions") or []:
            state.remember_closed(Transaction.from_dict(item))
        if state.last_transaction is not None:
            state.remember_closed(state.last_transaction)
        return state


class _HasState(Protocol):
    state: ChargerState


class StateView[T]:
    """A read-only attribute of a state holder: its :class:`ChargerState`'s of that name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, holder: _HasState, owner: type | None = None) -> T:
        # No typing.cast: it is a call, and this runs for every read of charger state.
        return getattr(holder.state, self._name)  # type: ignore[no-any-return]


class StateField[T](StateView[T]):
    """An attribute of a state holder kept in its :class:`ChargerState` (read and write)."""

    def __set__(self, holder: _HasState, value: T) -> None:
        setattr(holder.state, self._name, value)


def _load_time(value: Any) -> datetime | None:
    """A saved timestamp, or None when missing or unreadable (a state from older code)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_ocpp_time(value)
    except ValueError:
        return None


def _dump_time(value: datetime | None) -> str | None:
    return None if value is None else format_ocpp_time(value)
