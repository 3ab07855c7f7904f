"""Sensors of a Webasto charger: what it measures, its session archive, the backend link.

Over 400 lines because it is one table: some thirty descriptions, each a few lines of data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .chargeconnect import Transaction
from .chargeconnect.ledger import SessionRecord, Totals
from .chargeconnect.ocpp.charger import session_duration
from .const import (
    CONNECTOR_STATUS_TO_HA,
    ERROR_CODE_OPTIONS,
    ERROR_CODE_OTHER,
    ERROR_CODE_TO_HA,
    FIRMWARE_STATUS_OPTIONS,
    FIRMWARE_STATUS_TO_HA,
    STATUS_OFFLINE,
    STATUS_OPTIONS,
)
from .coordinator import ChargeConnectConfigEntry, ChargeConnectRuntimeData
from .entity import (
    ChargeConnectEntity,
    ChargeConnectEntityDescription,
    async_add_when_supported,
    forwarded,
    upstream_value,
)
from .guest.entity import guest_count, guest_people
from .owner import WINDOWS, ChargerOwner

PARALLEL_UPDATES = 0

type Value = StateType | datetime


@dataclass(frozen=True, kw_only=True)
class ChargeConnectSensorDescription(ChargeConnectEntityDescription, SensorEntityDescription):
    """A sensor and how to read it from what the entry holds."""

    value_fn: Callable[[ChargeConnectRuntimeData], Value]
    # The unit when it is not fixed (costs: the tariff's currency).
    unit_fn: Callable[[ChargeConnectRuntimeData], str | None] | None = None
    # State attributes, for the few sensors that have them (guests: who they are).
    attrs_fn: Callable[[ChargeConnectRuntimeData], dict[str, Any]] | None = None


def _round(value: float | None, digits: int) -> float | None:
    """Round what the charger measured: a state is written only when this changes."""
    return None if value is None else round(value, digits)


def _kwh(value: float | None) -> float | None:
    return None if value is None else round(value / 1000.0, 3)


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value / 60.0, 1)


def _status(data: ChargeConnectRuntimeData) -> str:
    charger = data.charger
    return CONNECTOR_STATUS_TO_HA[charger.status] if charger.online else STATUS_OFFLINE


def _lifetime_energy(data: ChargeConnectRuntimeData) -> float | None:
    energy = data.charger.energy
    if energy.last_register_wh is None:
        return None  # nothing measured yet
    return _kwh(energy.lifetime_wh)


def _session_energy(data: ChargeConnectRuntimeData) -> float | None:
    session = data.charger.session
    return None if session is None else _kwh(session.energy_wh)


def _session_duration(data: ChargeConnectRuntimeData) -> float | None:
    charger = data.charger
    duration = session_duration(charger.session, charger.measurements.timestamp)
    return None if duration is None else _minutes(duration.total_seconds())


def _session_start(data: ChargeConnectRuntimeData) -> datetime | None:
    session = data.charger.session
    return None if session is None else session.start_time


def _id_tag(data: ChargeConnectRuntimeData) -> str | None:
    tx = data.charger.active_transaction
    return None if tx is None else tx.id_tag


def _phase_current(phase: str) -> Callable[[ChargeConnectRuntimeData], float | None]:
    def value(data: ChargeConnectRuntimeData) -> float | None:
        return _round(data.charger.measurements.current_a.get(phase), 2)

    return value


def _currency(data: ChargeConnectRuntimeData) -> str:
    return data.owner.currency


def _last_session(
    read: Callable[[SessionRecord], Value],
) -> Callable[[ChargeConnectRuntimeData], Value]:
    """A value of the last finished session (None before the first)."""

    def value(data: ChargeConnectRuntimeData) -> Value:
        record = data.owner.last_session
        return None if record is None else read(record)

    return value


def _in_window(
    window: str,
    archived: Callable[[ChargerOwner, Totals], float],
    running: Callable[[ChargerOwner, Transaction], float],
) -> Callable[[ChargeConnectRuntimeData], float | None]:
    """A sum over a window: the archive's totals, plus the running session if it started there.

    Rounded to 0.01 (kWh: 10 Wh steps), and a state is written only when this changes.
    """

    def value(data: ChargeConnectRuntimeData) -> float | None:
        owner = data.owner
        totals = owner.totals.get(window)
        if totals is None:
            return None
        amount = archived(owner, totals)
        if (tx := owner.running_in(window)) is not None:
            amount += running(owner, tx)
        return round(amount, 2)

    return value


def _window_energy(window: str) -> Callable[[ChargeConnectRuntimeData], float | None]:
    """Energy charged in a window, in kWh."""
    return _in_window(
        window, lambda _, totals: totals.energy_kwh, lambda _, tx: tx.energy_wh / 1000
    )


def _window_cost(window: str) -> Callable[[ChargeConnectRuntimeData], float | None]:
    """Costs in a window, in the currency shown."""
    return _in_window(
        window,
        lambda owner, totals: totals.cost_by_currency.get(owner.currency, 0.0),
        lambda owner, tx: owner.recorder.live_cost(tx) or 0.0,
    )


def _live_cost(data: ChargeConnectRuntimeData) -> float | None:
    cost = data.owner.live_cost()
    return None if cost is None else round(cost, 2)


_CHARGER_SENSORS: tuple[ChargeConnectSensorDescription, ...] = (
    ChargeConnectSensorDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=STATUS_OPTIONS,
        value_fn=_status,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="error_code",
        translation_key="error_code",
        device_class=SensorDeviceClass.ENUM,
        options=ERROR_CODE_OPTIONS,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda d: ERROR_CODE_TO_HA.get(d.charger.error_code, ERROR_CODE_OTHER),
    ),
    ChargeConnectSensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        value_fn=lambda d: _round(d.charger.measurements.power_w, 1),
    ),
    *(
        ChargeConnectSensorDescription(
            key=f"current_{phase.lower()}",
            translation_key=f"current_{phase.lower()}",
            device_class=SensorDeviceClass.CURRENT,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
            suggested_display_precision=1,
            value_fn=_phase_current(phase),
        )
        for phase in ("L1", "L2", "L3")
    ),
    ChargeConnectSensorDescription(
        key="voltage",
        translation_key="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=0,
        value_fn=lambda d: _round(d.charger.measurements.voltage, 1),
    ),
    ChargeConnectSensorDescription(
        key="energy",
        translation_key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_lifetime_energy,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_session_energy,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="session_duration",
        translation_key="session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=_session_duration,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="session_start",
        translation_key="session_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_session_start,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="current_offered",
        translation_key="current_offered",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=lambda d: _round(d.charger.measurements.current_offered_a, 1),
        entity_registry_enabled_default=False,
    ),
    ChargeConnectSensorDescription(
        key="id_tag",
        translation_key="id_tag",
        value_fn=_id_tag,
    ),
    ChargeConnectSensorDescription(
        key="last_heartbeat",
        translation_key="last_heartbeat",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda d: d.charger.last_heartbeat,
        entity_registry_enabled_default=False,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="firmware_status",
        translation_key="firmware_status",
        device_class=SensorDeviceClass.ENUM,
        options=FIRMWARE_STATUS_OPTIONS,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda d: FIRMWARE_STATUS_TO_HA.get(d.charger.firmware_status or ""),
        requires_online=False,
    ),
)

# The session archive and costs: there whether or not the charger is online.
_OWNER_SENSORS: tuple[ChargeConnectSensorDescription, ...] = (
    ChargeConnectSensorDescription(
        key="session_cost",
        translation_key="session_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=_live_cost,
        unit_fn=_currency,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="last_session_energy",
        translation_key="last_session_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_last_session(lambda r: round(r.energy_kwh, 3)),
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="last_session_cost",
        translation_key="last_session_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=_last_session(lambda r: None if r.cost is None else round(r.cost, 3)),
        unit_fn=_currency,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="last_session_start",
        translation_key="last_session_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last_session(lambda r: r.start_time),
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="last_session_end",
        translation_key="last_session_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last_session(lambda r: r.stop_time),
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="last_session_duration",
        translation_key="last_session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=_last_session(
            lambda r: None if r.duration is None else _minutes(r.duration.total_seconds())
        ),
        requires_online=False,
    ),
    *(
        ChargeConnectSensorDescription(
            key=f"energy_{window}",
            translation_key=f"energy_{window}",
            device_class=SensorDeviceClass.ENERGY,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=2,
            value_fn=_window_energy(window),
            requires_online=False,
        )
        for window in WINDOWS
    ),
    *(
        ChargeConnectSensorDescription(
            key=f"cost_{window}",
            translation_key=f"cost_{window}",
            device_class=SensorDeviceClass.MONETARY,
            suggested_display_precision=2,
            value_fn=_window_cost(window),
            unit_fn=_currency,
            requires_online=False,
        )
        for window in WINDOWS
    ),
    ChargeConnectSensorDescription(
        key="sessions",
        translation_key="sessions",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda d: d.owner.session_count,
        requires_online=False,
    ),
)

# The forwarding to the charger's original backend: nothing to do with the charger's link.
_UPSTREAM_SENSORS: tuple[ChargeConnectSensorDescription, ...] = (
    ChargeConnectSensorDescription(
        key="upstream_queued",
        translation_key="upstream_queued",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=upstream_value(lambda link: link.queued),
        exists_fn=forwarded,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="upstream_last_error",
        translation_key="upstream_last_error",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=upstream_value(lambda link: link.last_error[:255] if link.last_error else None),
        exists_fn=forwarded,
        requires_online=False,
    ),
)

# Home Assistant's own records, not the charger's: shown while it is offline too.
_GUESTS = ChargeConnectSensorDescription(
    key="guests",
    translation_key="guests",
    requires_online=False,
    value_fn=guest_count,
    attrs_fn=guest_people,
)

SENSORS = (*_CHARGER_SENSORS, *_OWNER_SENSORS, _GUESTS, *_UPSTREAM_SENSORS)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charger's sensors."""
    coordinator = entry.runtime_data.coordinator
    async_add_when_supported(
        entry,
        async_add_entities,
        SENSORS,
        lambda description: ChargeConnectSensor(coordinator, description),
    )


class ChargeConnectSensor(ChargeConnectEntity, SensorEntity):
    """A sensor of a Webasto charger."""

    entity_description: ChargeConnectSensorDescription

    @property
    def native_value(self) -> Value:
        """The sensor's value."""
        return self.entity_description.value_fn(self.runtime_data)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The description's unit, or the one of the moment (costs: the tariff's currency)."""
        unit_fn = self.entity_description.unit_fn
        if unit_fn is not None:
            return unit_fn(self.runtime_data)
        return self.entity_description.native_unit_of_measurement

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The description's attributes, if it has any."""
        attrs_fn = self.entity_description.attrs_fn
        return None if attrs_fn is None else attrs_fn(self.runtime_data)

    def state_signature(self) -> object:
        """Value, unit and attributes."""
        attrs = self.extra_state_attributes
        return (
            self.native_value,
            self.native_unit_of_measurement,
            None if attrs is None else repr(attrs),
        )
