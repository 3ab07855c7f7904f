"""A lifetime energy total that never goes down.

Some chargers (Webasto Next) report ``Energy.Active.Import.Register`` as a lifetime
value; others (the Vestel-built Unite) reset it to zero at every session start.
:class:`LifetimeEnergy` turns either into a monotonic lifetime total, which is what
Home Assistant's Energy dashboard needs (a ``total_increasing`` sensor that only
resets when the meter really is replaced).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A register that goes down by less than this is taken as rounding noise, not a reset.
RESET_TOLERANCE_WH = 1.0


@dataclass
class LifetimeEnergy:
    """Track a charger's energy register and derive a lifetime total."""

    offset_wh: float = 0.0
    last_register_wh: float | None = None
    lifetime_wh: float = 0.0
    resets: int = 0

    def update(self, register_wh: float) -> float:
        """Feed a register reading (in Wh) and return the lifetime total."""
        last = self.last_register_wh
        if last is not None and register_wh < last - RESET_TOLERANCE_WH:
            # The register restarted (new session on a per-session meter, or a meter swap):
            # everything counted so far stays, the new register counts on top of it.
            self.offset_wh = self.lifetime_wh
            self.resets += 1
        self.last_register_wh = register_wh
        self.lifetime_wh = max(self.lifetime_wh, self.offset_wh + register_wh)
        return self.lifetime_wh

    def to_dict(self) -> dict[str, Any]:
        """Serialise for persistence."""
        return {
            "offset_wh": self.offset_wh,
            "last_register_wh": self.last_register_wh,
            "lifetime_wh": self.lifetime_wh,
            "resets": self.resets,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LifetimeEnergy:
        """Restore from :meth:`to_dict` output (or start empty)."""
        if not data:
            return cls()
        last = data.get("last_register_wh")
        return cls(
            offset_wh=float(data.get("offset_wh", 0.0)),
            last_register_wh=None if last is None else float(last),
            lifetime_wh=float(data.get("lifetime_wh", 0.0)),
            resets=int(data.get("resets", 0)),
        )
