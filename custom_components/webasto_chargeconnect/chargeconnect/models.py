"""Data model of a charger as the central system sees it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .timeutil import format_ocpp_time, parse_ocpp_time


class ChargerModel(StrEnum):
    """The charger families we know the quirks of."""

    NEXT = "next"
    UNITE = "unite"
    LIVE = "live"
    GENERIC = "generic"


class ConnectorStatus(StrEnum):
    """OCPP 1.6 ChargePointStatus, plus ``unknown`` before the first report."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EVSE = "SuspendedEVSE"
    SUSPENDED_EV = "SuspendedEV"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"
    UNKNOWN = "Unknown"


# Statuses in which a vehicle is connected to the connector.
PLUGGED_IN_STATUSES = frozenset(
    {
        ConnectorStatus.PREPARING,
        ConnectorStatus.CHARGING,
        ConnectorStatus.SUSPENDED_EVSE,
        ConnectorStatus.SUSPENDED_EV,
        ConnectorStatus.FINISHING,
    }
)


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_ocpp_time(value)


def _parse(value: Any) -> datetime | None:
    return None if value in (None, "") else parse_ocpp_time(str(value))


@dataclass
class ChargerInfo:
    """What the charger says about itself in BootNotification."""

    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    charge_box_serial: str | None = None
    firmware: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ChargerInfo:
        """Restore."""
        data = data or {}
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


@dataclass
class Features:
    """What this charger can do, decided from its model and configuration."""

    free_charging: bool = False
    led_dimming: bool = False
    smart_charging: bool = True
    # "A" or "W": the unit we use in charging profiles.
    rate_unit: str = "A"
    max_stack_level: int = 0
    get_configuration_max_keys: int | None = None
    phases: int = 3
    # The charger keeps a local authorization list (SendLocalList) we can fill.
    local_list: bool = False
    local_list_max_length: int | None = None
    # The charger takes reservations (ReserveNow / CancelReservation).
    reservations: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return asdict(self)


@dataclass
class ConnectorState:
    """The last StatusNotification for one connector."""

    status: ConnectorStatus = ConnectorStatus.UNKNOWN
    error_code: str = "NoError"
    info: str | None = None
    vendor_error_code: str | None = None
    timestamp: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return {
            "status": self.status.value,
            "error_code": self.error_code,
            "info": self.info,
            "vendor_error_code": self.vendor_error_code,
            "timestamp": _time(self.timestamp),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectorState:
        """Restore."""
        try:
            status = ConnectorStatus(data.get("status", "Unknown"))
        except ValueError:
            status = ConnectorStatus.UNKNOWN
        return cls(
            status=status,
            error_code=str(data.get("error_code", "NoError")),
            info=data.get("info"),
            vendor_error_code=data.get("vendor_error_code"),
            timestamp=_parse(data.get("timestamp")),
        )


@dataclass
class Measurements:
    """Latest electrical values, normalised to W, Wh, A and V."""

    power_w: float | None = None
    current_a: dict[str, float] = field(default_factory=dict)
    voltage_v: dict[str, float] = field(default_factory=dict)
    current_offered_a: float | None = None
    power_offered_w: float | None = None
    energy_register_wh: float | None = None
    soc: float | None = None
    temperature_c: float | None = None
    frequency_hz: float | None = None
    timestamp: datetime | None = None

    @property
    def voltage(self) -> float | None:
        """Average phase voltage."""
        values = list(self.voltage_v.values())
        return sum(values) / len(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        data = asdict(self)
        data["timestamp"] = _time(self.timestamp)
        return data


@dataclass
class Transaction:
    """A charging session, from StartTransaction to StopTransaction."""

    transaction_id: int
    connector_id: int
    id_tag: str
    meter_start_wh: float
    start_time: datetime
    meter_last_wh: float | None = None
    meter_stop_wh: float | None = None
    stop_time: datetime | None = None
    stop_reason: str | None = None
    stop_id_tag: str | None = None
    reservation_id: int | None = None
    # Our answer's idTagInfo (a repeated StartTransaction gets the same answer).
    id_tag_info: dict[str, Any] | None = None

    @property
    def is_open(self) -> bool:
        """True until StopTransaction arrived."""
        return self.stop_time is None

    @property
    def energy_wh(self) -> float:
        """Energy delivered in this session so far."""
        end = self.meter_stop_wh if self.meter_stop_wh is not None else self.meter_last_wh
        if end is None:
            return 0.0
        return max(0.0, end - self.meter_start_wh)

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return {
            "transaction_id": self.transaction_id,
            "connector_id": self.connector_id,
            "id_tag": self.id_tag,
            "meter_start_wh": self.meter_start_wh,
            "start_time": _time(self.start_time),
            "meter_last_wh": self.meter_last_wh,
            "meter_stop_wh": self.meter_stop_wh,
            "stop_time": _time(self.stop_time),
            "stop_reason": self.stop_reason,
            "stop_id_tag": self.stop_id_tag,
            "reservation_id": self.reservation_id,
            "id_tag_info": self.id_tag_info,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transaction:
        """Restore."""
        start = _parse(data["start_time"])
        assert start is not None
        return cls(
            transaction_id=int(data["transaction_id"]),
            connector_id=int(data["connector_id"]),
            id_tag=str(data["id_tag"]),
            meter_start_wh=float(data["meter_start_wh"]),
            start_time=start,
            meter_last_wh=data.get("meter_last_wh"),
            meter_stop_wh=data.get("meter_stop_wh"),
            stop_time=_parse(data.get("stop_time")),
            stop_reason=data.get("stop_reason"),
            stop_id_tag=data.get("stop_id_tag"),
            reservation_id=data.get("reservation_id"),
            id_tag_info=data.get("id_tag_info"),
        )


@dataclass(frozen=True)
class Tariff:
    """What a charging session costs: a fixed fee per session plus a price per kWh."""

    currency: str = "EUR"
    fixed_fee: float = 0.0
    price_per_kwh: float = 0.0

    def cost(self, energy_kwh: float) -> float:
        """The cost of a session that delivered ``energy_kwh``, rounded to 1/10000."""
        return round(self.fixed_fee + self.price_per_kwh * max(0.0, energy_kwh), 4)

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tariff:
        """Restore."""
        return cls(
            currency=str(data.get("currency", "EUR")),
            fixed_fee=float(data.get("fixed_fee", 0.0)),
            price_per_kwh=float(data.get("price_per_kwh", 0.0)),
        )
