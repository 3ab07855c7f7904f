"""Sensors of a Webasto charger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import re

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

from .chargeconnect import Charger
from .chargeconnect.ocpp.charger import session_duration
from .chargeconnect.upstream import UpstreamLink
from .const import ERROR_CODE_OPTIONS, FIRMWARE_STATUS_OPTIONS, STATUS_OPTIONS
from .coordinator import ChargeConnectConfigEntry
from .entity import ChargeConnectEntity
from .guest.entity import GUESTS, GuestsSensor
from .owner import WINDOWS, ChargerOwner

PARALLEL_UPDATES = 0


def _snake(value: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", value).lower()


def _status(charger: Charger) -> str:
    if not charger.online:
        return "offline"
    value = _snake(charger.status.value).replace("e_v_s_e", "evse").replace("e_v", "ev")
    return value if value in STATUS_OPTIONS else "unknown"


def _error_code(charger: Charger) -> str:
    value = _snake(charger.error_code).replace("e_v_", "ev_")
    return value if value in ERROR_CODE_OPTIONS else "other_error"


def _firmware_status(charger: Charger) -> str | None:
    if charger.firmware_status is None:
        return None
    value = _snake(charger.firmware_status)
    return value if value in FIRMWARE_STATUS_OPTIONS else None


def _round(value: float | None, digits: int) -> float | None:
    """Round what the charger measured: a state is written only when this changes."""
    return None if value is None else round(value, digits)


def _kwh(value: float | None) -> float | None:
    return None if value is None else round(value / 1000.0, 3)


def _lifetime_energy(charger: Charger) -> float | None:
    if charger.energy.last_register_wh is None:
        return None  # nothing measured yet
    return _kwh(charger.energy.lifetime_wh)


def _session_energy(charger: Charger) -> float | None:
    session = charger.session
    return None if session is None else _kwh(session.energy_wh)


def _session_duration(charger: Charger) -> float | None:
    duration = session_duration(charger.session, charger.measurements.timestamp)
    return None if duration is None else round(duration.total_seconds() / 60.0, 1)


def _session_start(charger: Charger) -> datetime | None:
    session = charger.session
    return None if session is None else session.start_time


def _id_tag(charger: Charger) -> str | None:
    tx = charger.active_transaction
    return None if tx is None else tx.id_tag


@dataclass(frozen=True, kw_only=True)
class ChargeConnectSensorDescription(SensorEntityDescription):
    """A sensor and how to read it from the charger."""

    value_fn: Callable[[Charger], StateType | datetime]
    requires_online: bool = True


SENSORS: tuple[ChargeConnectSensorDescription, ...] = (
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
        value_fn=_error_code,
    ),
    ChargeConnectSensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        value_fn=lambda c: _round(c.measurements.power_w, 1),
    ),
    *(
        ChargeConnectSensorDescription(
            key=f"current_{phase.lower()}",
            translation_key=f"current_{phase.lower()}",
            device_class=SensorDeviceClass.CURRENT,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
            suggested_display_precision=1,
            value_fn=lambda c, p=phase: _round(c.measurements.current_a.get(p), 2),  # type: ignore[misc]
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
        value_fn=lambda c: _round(c.measurements.voltage, 1),
    ),
    ChargeConnectSensorDescription(
        key="energy",
        translation_key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda c: (
            _kwh(c.energy.lifetime_wh) if c.energy.last_register_wh is not None else None
        ),
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
        value_fn=lambda c: _round(c.measurements.current_offered_a, 1),
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
        value_fn=lambda c: c.last_heartbeat,
        entity_registry_enabled_default=False,
        requires_online=False,
    ),
    ChargeConnectSensorDescription(
        key="firmware_status",
        translation_key="firmware_status",
        device_class=SensorDeviceClass.ENUM,
        options=FIRMWARE_STATUS_OPTIONS,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_firmware_status,
        requires_online=False,
    ),
)


def _window_energy(owner: ChargerOwner, window: str) -> float | None:
    totals = owner.totals.get(window)
    if totals is None:
        return None
    energy = totals.energy_kwh
    if (tx := owner.running_in(window)) is not None:
        energy += tx.energy_wh / 1000.0
    # 10 Wh steps: totals are read in kWh, and a state is written only when this changes.
    return round(energy, 2)


def _window_cost(owner: ChargerOwner, window: str) -> float | None:
    totals = owner.totals.get(window)
    if totals is None:
        return None
    cost = totals.cost_by_currency.get(owner.currency, 0.0)
    if (tx := owner.running_in(window)) is not None:
        cost += owner.recorder.live_cost(tx) or 0.0
    return round(cost, 2)


def _last(owner: ChargerOwner, attribute: str) -> StateType | datetime:
    record = owner.last_session
    if record is None:
        return None
    value = getattr(record, attribute)
    if attribute == "duration":
        return None if value is None else round(value.total_seconds() / 60.0, 1)
    if isinstance(value, float):
        return round(value, 3)
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True, kw_only=True)
class OwnerSensorDescription(SensorEntityDescription):
    """A sensor of the session archive and costs."""

    owner_fn: Callable[[ChargerOwner], StateType | datetime]
    monetary: bool = False
    requires_online: bool = False


OWNER_SENSORS: tuple[OwnerSensorDescription, ...] = (
    OwnerSensorDescription(
        key="session_cost",
        translation_key="session_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        owner_fn=lambda o: None if (cost := o.live_cost()) is None else round(cost, 2),
    ),
    OwnerSensorDescription(
        key="last_session_energy",
        translation_key="last_session_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        owner_fn=lambda o: _last(o, "energy_kwh"),
    ),
    OwnerSensorDescription(
        key="last_session_cost",
        translation_key="last_session_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        owner_fn=lambda o: _last(o, "cost"),
    ),
    OwnerSensorDescription(
        key="last_session_start",
        translation_key="last_session_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        owner_fn=lambda o: _last(o, "start_time"),
    ),
    OwnerSensorDescription(
        key="last_session_end",
        translation_key="last_session_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        owner_fn=lambda o: _last(o, "stop_time"),
    ),
    OwnerSensorDescription(
        key="last_session_duration",
        translation_key="last_session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        owner_fn=lambda o: _last(o, "duration"),
    ),
    *(
        OwnerSensorDescription(
            key=f"energy_{window}",
            translation_key=f"energy_{window}",
            device_class=SensorDeviceClass.ENERGY,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=2,
            owner_fn=lambda o, w=window: _window_energy(o, w),  # type: ignore[misc]
        )
        for window in WINDOWS
    ),
    *(
        OwnerSensorDescription(
            key=f"cost_{window}",
            translation_key=f"cost_{window}",
            device_class=SensorDeviceClass.MONETARY,
            suggested_display_precision=2,
            monetary=True,
            owner_fn=lambda o, w=window: _window_cost(o, w),  # type: ignore[misc]
        )
        for window in WINDOWS
    ),
    OwnerSensorDescription(
        key="sessions",
        translation_key="sessions",
        state_class=SensorStateClass.TOTAL_INCREASING,
        owner_fn=lambda o: o.session_count,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charger's sensors."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(ChargeConnectSensor(coordinator, d) for d in SENSORS)
    async_add_entities(ChargeConnectOwnerSensor(coordinator, d) for d in OWNER_SENSORS)
    async_add_entities([GuestsSensor(coordinator, GUESTS)])
    if entry.runtime_data.forwarding is not None:
        async_add_entities(UpstreamSensor(coordinator, d) for d in UPSTREAM_SENSORS)


class ChargeConnectSensor(ChargeConnectEntity, SensorEntity):
    """A sensor of a Webasto charger."""

    entity_description: ChargeConnectSensorDescription

    @property
    def native_value(self) -> StateType | datetime:
        """The sensor's value."""
        return self.entity_description.value_fn(self.charger)

    def state_signature(self) -> object:
        """Only the value matters."""
        return self.native_value


class ChargeConnectOwnerSensor(ChargeConnectEntity, SensorEntity):
    """A sensor of the charger's session archive and costs."""

    entity_description: OwnerSensorDescription

    @property
    def native_value(self) -> StateType | datetime:
        """The sensor's value."""
        return self.entity_description.owner_fn(self.owner)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Costs are in the tariff's currency."""
        if self.entity_description.monetary:
            return self.owner.currency
        return self.entity_description.native_unit_of_measurement

    def state_signature(self) -> object:
        """Value and unit."""
        return (self.native_value, self.native_unit_of_measurement)


@dataclass(frozen=True, kw_only=True)
class UpstreamSensorDescription(SensorEntityDescription):
    """A sensor of the forwarding to the charger's original backend."""

    upstream_fn: Callable[[UpstreamLink], StateType | datetime]
    requires_online: bool = False  # the backend link has nothing to do with the charger


UPSTREAM_SENSORS: tuple[UpstreamSensorDescription, ...] = (
    UpstreamSensorDescription(
        key="upstream_queued",
        translation_key="upstream_queued",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        upstream_fn=lambda link: link.queued,
    ),
    UpstreamSensorDescription(
        key="upstream_last_error",
        translation_key="upstream_last_error",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        upstream_fn=lambda link: link.last_error[:255] if link.last_error else None,
    ),
)


class UpstreamSensor(ChargeConnectEntity, SensorEntity):
    """A sensor of the forwarding (queued messages, last error)."""

    entity_description: UpstreamSensorDescription

    @property
    def native_value(self) -> StateType | datetime:
        """The link's value."""
        link = self.upstream
        return None if link is None else self.entity_description.upstream_fn(link)

    def state_signature(self) -> object:
        """Only the value matters."""
        return self.native_value
