"""A lifetime energy total that never goes down and never jumps.

Some chargers (Webasto Next) report ``Energy.Active.Import.Register`` as a lifetime
value; others (the Vestel-built Unite) reset it to zero at every session start.
:class:`LifetimeEnergy` turns either into a monotonic lifetime total, which is what
Home Assistant's Energy dashboard needs (a ``total_increasing`` sensor).

Readings are judged against the last one counted (the baseline):

- Up by no more than the charger can deliver in the time since
  (:func:`plausible_gain_wh`: its maximum power, times the time elapsed, with a margin,
  plus :data:`SLACK_WH`): counted.
- Anything else (a drop, or a jump beyond that bound) is held, not counted, and the
  next reading decides what it was:

  - back in line with the baseline: a **glitch** (a single 0 Wh, an old reading
    arriving late); forgotten, nothing counted twice;
  - in line with the held reading: the register really is there now. A drop to at
    most :data:`RESTART_MAX_WH` is a **register reset** (per-session register; the
    energy since zero counts). Any other confirmed step (down to a non-zero value,
    or up by more than was possible) is a **meter change**: counting continues from
    the new register, the step itself counts nothing, and :attr:`last_change` says
    what happened (the charger raises an event, Home Assistant a repair issue);
  - neither: it is held instead (the next reading decides again).

So the total never moves by more than the bound at once, and a reset or a meter
change costs at most one reading's delay.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

# A register that goes down by less than this is taken as rounding noise, not a reset.
RESET_TOLERANCE_WH = 1.0
# A register that restarts at no more than this restarted from zero (a per-session
# register: the Unite starts every session at 0). A restart higher up is another meter.
RESTART_MAX_WH = 1000.0
# The most an AC charger delivers: 32 A on three phases of 230 V (every Webasto).
MAX_AC_POWER_W = 32 * 3 * 230.0
# Margin on the power (voltage above nominal, meters' tolerance).
POWER_MARGIN = 1.25
# Energy always allowed between two readings, however close their timestamps: a
# reading's timestamp may be a sample interval off (1 kWh is 3 minutes at 22 kW).
SLACK_WH = 1000.0


def plausible_gain_wh(elapsed_s: float | None, max_power_w: float = MAX_AC_POWER_W) -> float:
    """The most energy a charger can deliver in ``elapsed_s`` (None: unknown, no limit)."""
    if elapsed_s is None:
        return math.inf
    return max_power_w * POWER_MARGIN * max(0.0, elapsed_s) / 3600.0 + SLACK_WH


@dataclass(frozen=True)
class MeterChange:
    """The register continued from another value: a different meter (or a reset one)."""

    previous_wh: float
    new_wh: float

    def to_dict(self) -> dict[str, float]:
        """Serialise."""
        return {"previous_wh": self.previous_wh, "new_wh": self.new_wh}


def _finite(value: Any, default: float | None) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def _add(total: float | None, elapsed: float | None) -> float | None:
    if total is None or elapsed is None:
        return None
    return total + max(0.0, elapsed)


@dataclass
class LifetimeEnergy:
    """Track a charger's energy register and derive a lifetime total."""

    # The baseline: the last register reading counted.
    last_register_wh: float | None = None
    lifetime_wh: float = 0.0
    resets: int = 0
    glitches: int = 0
    meter_changes: int = 0
    # A reading that did not fit, waiting for the next one to tell what it was.
    pending_wh: float | None = None
    # Seconds since the baseline reading and since the held one (None: unknown).
    since_last_s: float | None = 0.0
    since_pending_s: float | None = 0.0
    last_change: MeterChange | None = None

    def update(
        self,
        register_wh: float,
        elapsed_s: float | None = None,
        max_power_w: float = MAX_AC_POWER_W,
    ) -> float:
        """Feed a register reading (Wh) and return the lifetime total.

        ``elapsed_s`` is the time since the previous reading (None: unknown, then no
        physical bound applies and only the order of readings tells).
        """
        if not math.isfinite(register_wh) or register_wh < 0:
            return self.lifetime_wh
        last = self.last_register_wh
        if last is None:
            self.last_register_wh = register_wh
            self.lifetime_wh = max(self.lifetime_wh, register_wh)
            self.since_last_s = 0.0
            return self.lifetime_wh
        self.since_last_s = _add(self.since_last_s, elapsed_s)
        if self.pending_wh is not None:
            self.since_pending_s = _add(self.since_pending_s, elapsed_s)
        if (
            -RESET_TOLERANCE_WH
            <= register_wh - last
            <= plausible_gain_wh(self.since_last_s, max_power_w)
        ):
            if self.pending_wh is not None:
                self.glitches += 1
                self.pending_wh = None
            self._count(register_wh - last, register_wh)
            return self.lifetime_wh
        held = self.pending_wh
        if held is None or not (
            -RESET_TOLERANCE_WH
            <= register_wh - held
            <= plausible_gain_wh(self.since_pending_s, max_power_w)
        ):
            self.pending_wh = register_wh
            self.since_pending_s = 0.0
            return self.lifetime_wh
        # Two readings agree: the register really continued from ``held``.
        self.pending_wh = None
        if held < last and held <= RESTART_MAX_WH:
            self.resets += 1
            gained = held  # counted from zero
        else:
            self.meter_changes += 1
            self.last_change = MeterChange(previous_wh=last, new_wh=held)
            gained = 0.0
        self.lifetime_wh += gained
        self.last_register_wh = held
        self.since_last_s = self.since_pending_s
        self._count(register_wh - held, register_wh)
        return self.lifetime_wh

    def _count(self, gain_wh: float, register_wh: float) -> None:
        if gain_wh > 0:
            self.lifetime_wh += gain_wh
            self.last_register_wh = register_wh
            self.since_last_s = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Serialise for persistence (only finite numbers: JSON has no others)."""
        return {
            "last_register_wh": self.last_register_wh,
            "lifetime_wh": self.lifetime_wh,
            "resets": self.resets,
            "glitches": self.glitches,
            "meter_changes": self.meter_changes,
            "pending_wh": self.pending_wh,
            "since_last_s": self.since_last_s,
            "since_pending_s": self.since_pending_s,
            "last_change": None if self.last_change is None else self.last_change.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LifetimeEnergy:
        """Restore from :meth:`to_dict` output (or start empty).

        A value that is not a finite number (a state written before numbers were
        checked) is dropped rather than failing the whole charger's state.
        """
        if not data:
            return cls()
        last = _finite(data.get("last_register_wh"), None)
        lifetime = _finite(data.get("lifetime_wh"), None)
        if lifetime is None:
            lifetime = last or 0.0
        change = data.get("last_change")
        previous = _finite(change.get("previous_wh"), None) if isinstance(change, dict) else None
        new = _finite(change.get("new_wh"), None) if isinstance(change, dict) else None
        return cls(
            last_register_wh=last,
            lifetime_wh=lifetime,
            resets=int(_finite(data.get("resets"), 0) or 0),
            glitches=int(_finite(data.get("glitches"), 0) or 0),
            meter_changes=int(_finite(data.get("meter_changes"), 0) or 0),
            pending_wh=_finite(data.get("pending_wh"), None),
            since_last_s=_finite(data.get("since_last_s"), None),
            since_pending_s=_finite(data.get("since_pending_s"), None),
            last_change=(None if previous is None or new is None else MeterChange(previous, new)),
        )
