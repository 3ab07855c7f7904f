"""MeterValues: what one sampled-value group says, normalised to W, Wh, A, V, °C and Hz."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import math
from typing import Any

from ..models import Measurements

ENERGY_REGISTER = "Energy.Active.Import.Register"
_ENERGY_UNITS = {"wh": 1.0, "kwh": 1000.0}
_POWER_UNITS = {"w": 1.0, "kw": 1000.0}


@dataclass
class MeterReading:
    """One MeterValue element (the samples taken at one moment), normalised."""

    register_wh: float | None = None
    # The active power: the unphased sample, else the sum of the phases'.
    power_w: float | None = None
    currents_a: dict[str, float] = field(default_factory=dict)
    voltages_v: dict[str, float] = field(default_factory=dict)
    current_offered_a: float | None = None
    power_offered_w: float | None = None
    soc: float | None = None
    temperature_c: float | None = None
    frequency_hz: float | None = None
    # Samples that were left out (SignedData, unreadable, inf, NaN).
    unreadable: list[Any] = field(default_factory=list)

    @property
    def has_session_data(self) -> bool:
        """Power, register or currents: what a session's samples record."""
        return self.power_w is not None or self.register_wh is not None or bool(self.currents_a)


def _unit(sample: dict[str, Any]) -> str:
    return str(sample.get("unit", "")).lower()


# The phases a sample names, by how chargers write them (others: see phase_name()).
_PHASE_NAMES: dict[str | None, str] = {
    None: "L1",
    "": "L1",
    **{f"L{n}{suffix}": f"L{n}" for n in (1, 2, 3) for suffix in ("", "-N", "-L1", "-L2", "-L3")},
}
# The voltages kept: phase to neutral (or a single phase), not phase to phase.
_PHASE_VOLTAGES = frozenset({None, "L1", "L2", "L3", "L1-N", "L2-N", "L3-N"})


def read_meter_value(meter_value: dict[str, Any]) -> MeterReading:
    """Read one MeterValue element; later samples of the same quantity win.

    This loop runs for every sample of every frame: each field is read only by the
    measurands that use it. A value that is not a finite number (SignedData, unreadable,
    inf, NaN) is left out and listed in ``unreadable``.
    """
    reading = MeterReading()
    phase_power: dict[str, float] = {}
    for sample in meter_value.get("sampledValue", ()):
        try:
            value = float(sample["value"])
        except (KeyError, TypeError, ValueError):
            value = math.nan
        get = sample.get
        if not math.isfinite(value) or get("format") == "SignedData":
            reading.unreadable.append(sample)
            continue
        measurand = get("measurand", ENERGY_REGISTER)
        if measurand == "Current.Import":
            phase = get("phase")
            reading.currents_a[_PHASE_NAMES.get(phase) or phase_name(phase)] = value
        elif measurand == "Voltage":
            phase = get("phase")
            if phase in _PHASE_VOLTAGES or (isinstance(phase, str) and phase.endswith("-N")):
                reading.voltages_v[_PHASE_NAMES.get(phase) or phase_name(phase)] = value
        elif measurand == ENERGY_REGISTER:
            reading.register_wh = value * _ENERGY_UNITS.get(_unit(sample) or "wh", 1.0)
        elif measurand == "Power.Active.Import":
            watts = value * _POWER_UNITS.get(_unit(sample) or "w", 1.0)
            phase = get("phase")
            if phase:
                phase_power[phase] = watts
            else:
                reading.power_w = watts
        elif measurand == "Current.Offered":
            reading.current_offered_a = value
        elif measurand == "Power.Offered":
            reading.power_offered_w = value * _POWER_UNITS.get(_unit(sample) or "w", 1.0)
        elif measurand == "SoC":
            reading.soc = value
        elif measurand == "Temperature":
            reading.temperature_c = (value - 32) / 1.8 if _unit(sample) == "fahrenheit" else value
        elif measurand == "Frequency":
            reading.frequency_hz = value
    if reading.power_w is None and phase_power:
        reading.power_w = sum(phase_power.values())
    return reading


def update_measurements(
    measurements: Measurements, reading: MeterReading, timestamp: datetime
) -> None:
    """Take a live reading into the latest measurements (what it does not say stays)."""
    measurements.current_a.update(reading.currents_a)
    measurements.voltage_v.update(reading.voltages_v)
    if reading.current_offered_a is not None:
        measurements.current_offered_a = reading.current_offered_a
    if reading.power_offered_w is not None:
        measurements.power_offered_w = reading.power_offered_w
    if reading.soc is not None:
        measurements.soc = reading.soc
    if reading.temperature_c is not None:
        measurements.temperature_c = reading.temperature_c
    if reading.frequency_hz is not None:
        measurements.frequency_hz = reading.frequency_hz
    if reading.power_w is not None:
        measurements.power_w = reading.power_w
    measurements.timestamp = timestamp
    if reading.register_wh is not None:
        measurements.energy_register_wh = reading.register_wh


def phase_name(phase: str | None) -> str:
    """The phase a sample is of: ``L2-N`` is ``L2``; none is ``L1``."""
    if not phase:
        return "L1"
    return phase.split("-")[0]
