"""What a simulated charger is at a moment: configuration, register, transaction, limits,
connector states, local authorization list and reservations.

`ChargerState` holds it, with the questions every other part asks of it (the current
limit, the status of an idle connector, whether a reservation lets a tag in, what the
local list says offline). It sends nothing: `link.py` and the layers above do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
import logging
from typing import Any

from . import configuration, smart_charging
from .profiles import PROFILES, Profile
from .smart_charging import VOLTAGE
from .wire import parse_time, tag_key


@dataclass(frozen=True)
class Reservation:
    """A connector (0: any connector) held for `id_tag` (or tags of `parent_id_tag`)."""

    reservation_id: int
    connector_id: int
    id_tag: str
    expiry: datetime
    parent_id_tag: str | None = None

    def matches(self, id_tag: str, parent_id_tag: str | None = None) -> bool:
        """True if a card with this tag (and parent) may use the reservation."""
        if tag_key(self.id_tag) == tag_key(id_tag):
            return True
        return bool(
            self.parent_id_tag
            and parent_id_tag
            and tag_key(self.parent_id_tag) == tag_key(parent_id_tag)
        )


class ChargerState:
    """The state of one charge point and the questions asked of it."""

    def __init__(
        self, identity: str, profile: Profile | str, connectors: int, log: logging.Logger
    ) -> None:
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.identity = identity
        self.connectors = connectors
        self.log = log

        self.configuration: dict[str, str] = dict(self.profile.configuration)
        if "NumberOfConnectors" in self.configuration:
            self.configuration["NumberOfConnectors"] = str(connectors)
        self.register_wh: float = self.profile.initial_register_wh
        self.transaction_id: int | None = None
        self.id_tag: str | None = None
        self.id_tag_status: str | None = None
        self.tx_connector = 1
        self.current_limit_a: float | None = None
        self.charging_profiles: list[dict[str, Any]] = []  # snake_case, as ocpp hands them over
        self.connector_status: dict[int, str] = dict.fromkeys(range(connectors + 1), "Available")
        self.available = True
        self.boot_status: str | None = None
        self.heartbeat_interval = int(self.configuration.get("HeartbeatInterval", "300"))
        self.rejected_time = False
        self.offline_queue: list[Any] = []
        # StartTransactions queued while offline -> the local transaction id they stand for.
        self._offline_starts: dict[int, int] = {}
        self._offline_tx_count = 0
        self.last_stop_reason: str | None = None
        # Local authorization list (SendLocalList): idTag -> idTagInfo as on the wire.
        self.local_list: dict[str, dict[str, Any]] = {}
        self.local_list_version = 0
        self.reservations: dict[int, Reservation] = {}
        self._plugged: set[int] = set()
        self._pending_unavailable: set[int] = set()

    # ------------------------------------------------------------------ derived state

    @property
    def serial_number(self) -> str:
        """Serial number derived from the identity: "NEXT-WS123456" -> "WS123456"."""
        return self.identity.split("-", 1)[-1][:25]

    @property
    def meter_interval(self) -> int:
        return int(self.configuration.get("MeterValueSampleInterval", "60") or 0) or 60

    @property
    def offered_current_a(self) -> float:
        limit = self.current_limit_a
        return (
            self.profile.max_current_a if limit is None else min(limit, self.profile.max_current_a)
        )

    def nominal_power_w(self) -> float:
        """Power drawn right now: phases x 230 V x offered current while charging, else 0."""
        if (
            self.transaction_id is None
            or self.connector_status.get(self.tx_connector) != "Charging"
        ):
            return 0.0
        return self.profile.phases * VOLTAGE * self.offered_current_a

    def supports(self, feature_profile: str) -> bool:
        """True if SupportedFeatureProfiles lists it (a charger without the key: Core only)."""
        return configuration.supports(self.configuration, feature_profile)

    def _must_deauthorize(self) -> bool:
        return (
            self.id_tag_status not in (None, "Accepted")
            and self.configuration.get("StopTransactionOnInvalidId", "true").strip().lower()
            != "false"
        )

    def _sampled_values(self, power_w: float, context: str) -> list[dict[str, Any]]:
        def sample(
            measurand: str, value: str, unit: str, phase: str | None = None
        ) -> dict[str, Any]:
            entry = {
                "value": value,
                "context": context,
                "format": "Raw",
                "measurand": measurand,
                "location": "Outlet",
                "unit": unit,
            }
            if phase:
                entry["phase"] = phase
            return entry

        if self.profile.energy_unit == "kWh":
            energy = f"{self.register_wh / 1000:.3f}"
        else:
            energy = f"{self.register_wh:.0f}"
        power = f"{power_w / 1000:.3f}" if self.profile.power_unit == "kW" else f"{power_w:.0f}"
        phases = self.profile.phases
        amps = power_w / (VOLTAGE * phases)
        values = [
            sample("Energy.Active.Import.Register", energy, self.profile.energy_unit),
            sample("Power.Active.Import", power, self.profile.power_unit),
        ]
        for index, phase in enumerate(("L1", "L2", "L3")):
            values.append(
                sample("Current.Import", f"{amps if index < phases else 0:.2f}", "A", phase)
            )
        for phase in ("L1-N", "L2-N", "L3-N"):
            values.append(sample("Voltage", f"{VOLTAGE:.1f}", "V", phase))
        values.append(sample("Current.Offered", f"{self.offered_current_a:.1f}", "A"))
        return values

    # ------------------------------------------------------------------ charging limit

    def _recompute_limit(self) -> None:
        self.current_limit_a = smart_charging.current_limit(
            self.charging_profiles, self.transaction_id, self.profile.phases
        )

    def _charging_state(self) -> str:
        return "SuspendedEVSE" if self.current_limit_a == 0 else "Charging"

    # ------------------------------------------------------------------ local list

    def _local_list_usable(self) -> bool:
        return self.supports("LocalAuthListManagement") and configuration.flag(
            self.configuration, "LocalAuthListEnabled", default=False
        )

    def local_authorization(self, id_tag: str) -> dict[str, Any] | None:
        """The local list's idTagInfo for a tag (compared case-insensitively), or None."""
        key = tag_key(id_tag)
        return next((info for tag, info in self.local_list.items() if tag_key(tag) == key), None)

    def _offline_authorization(self, id_tag: str) -> tuple[str, str | None]:
        if not self._local_list_usable() or (
            self.configuration.get("LocalAuthorizeOffline", "true").strip().lower() == "false"
        ):
            return "Invalid", None
        info = self.local_authorization(id_tag)
        if info is None:
            return "Invalid", None
        status = str(info.get("status", "Invalid"))
        expiry = info.get("expiryDate")
        if status == "Accepted" and expiry and parse_time(str(expiry)) <= datetime.now(UTC):
            status = "Expired"
        return status, info.get("parentIdTag")

    # ------------------------------------------------------------------ reservations

    def _live_reservations(self) -> list[Reservation]:
        now = datetime.now(UTC)
        return [r for r in self.reservations.values() if r.expiry > now]

    def reservation_on(self, connector_id: int) -> Reservation | None:
        """The unexpired reservation of a connector (not counting connector 0), if any."""
        return next((r for r in self._live_reservations() if r.connector_id == connector_id), None)

    def _idle_status(self, connector_id: int) -> str:
        """The status of a connector without a transaction."""
        if not self.available:
            return "Unavailable"
        if connector_id in self._plugged:
            return "Preparing"
        if self.reservation_on(connector_id) is not None:
            return "Reserved"
        return "Available"

    def _matching_reservation(
        self, id_tag: str, parent: str | None, connector_id: int
    ) -> Reservation | None:
        own = self.reservation_on(connector_id)
        if own is not None:
            return own if own.matches(id_tag, parent) else None
        return next(
            (
                r
                for r in self._live_reservations()
                if r.connector_id == 0 and r.matches(id_tag, parent)
            ),
            None,
        )

    def may_use(self, id_tag: str, parent: str | None, connector_id: int) -> bool:
        """False if a reservation for another tag holds this connector (or, through
        connector 0 reservations, every connector that would be left)."""
        own = self.reservation_on(connector_id)
        if own is not None:
            return own.matches(id_tag, parent)
        others = [
            r
            for r in self._live_reservations()
            if r.connector_id == 0 and not r.matches(id_tag, parent)
        ]
        if not others:
            return True
        free = [
            c
            for c in range(1, self.connectors + 1)
            if c != connector_id
            and self.connector_status.get(c) == "Available"
            and self.reservation_on(c) is None
        ]
        return len(free) >= len(others)

    def _take_reservation(
        self,
        id_tag: str,
        connector_id: int,
        reservation_id: int | None,
        parent: str | None = None,
    ) -> Reservation | None:
        """Use up the reservation a transaction starts under, if any."""
        if reservation_id is not None:
            reservation = self.reservations.get(reservation_id)
        else:
            reservation = self._matching_reservation(id_tag, parent, connector_id)
        if reservation is not None:
            del self.reservations[reservation.reservation_id]
            self.log.info("reservation %s used", reservation.reservation_id)
        return reservation
