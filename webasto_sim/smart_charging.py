"""Charging profiles as the simulator keeps them (snake_case, as ocpp hands them over).

Whether a SetChargingProfile fits the charger's configuration, which installed profiles it
replaces, what a ClearChargingProfile removes, and the current limit the installed
profiles give: TxProfile (else TxDefaultProfile), capped by ChargePointMaxProfile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

VOLTAGE = 230.0
_RATE_UNITS = {"Current": "A", "Power": "W"}


def install_profile(
    configuration: Mapping[str, str],
    installed: list[dict[str, Any]],
    connector_id: int,
    profile: dict[str, Any],
    *,
    transaction_running: bool,
) -> list[dict[str, Any]] | None:
    """The profiles after a SetChargingProfile, or None if the charger rejects it."""
    schedule = profile["charging_schedule"]
    periods = schedule["charging_schedule_period"]
    allowed_units = {
        _RATE_UNITS.get(unit.strip(), unit.strip())
        for unit in configuration.get("ChargingScheduleAllowedChargingRateUnit", "").split(",")
    }
    max_periods = int(configuration.get("ChargingScheduleMaxPeriods", "0") or 0)
    purpose = profile["charging_profile_purpose"]
    if (
        profile["stack_level"] > int(configuration.get("ChargeProfileMaxStackLevel", "8"))
        or schedule["charging_rate_unit"] not in allowed_units
        or (max_periods and len(periods) > max_periods)
        or (purpose == "TxProfile" and not transaction_running)
    ):
        return None
    kept = [
        p
        for p in installed
        if p["charging_profile_id"] != profile["charging_profile_id"]
        and not (
            p["charging_profile_purpose"] == purpose
            and p["stack_level"] == profile["stack_level"]
            and p["connector_id"] == connector_id
        )
    ]
    if len(kept) >= int(configuration.get("MaxChargingProfilesInstalled", "10")):
        return None
    return [*kept, {**profile, "connector_id": connector_id}]


def clear_profiles(
    installed: list[dict[str, Any]],
    profile_id: int | None,
    connector_id: int | None,
    purpose: str | None,
    stack_level: int | None,
) -> list[dict[str, Any]]:
    """The profiles a ClearChargingProfile leaves (None criteria match everything)."""

    def matches(p: dict[str, Any]) -> bool:
        return (
            (profile_id is None or p["charging_profile_id"] == profile_id)
            and (connector_id is None or p["connector_id"] == connector_id)
            and (purpose is None or p["charging_profile_purpose"] == purpose)
            and (stack_level is None or p["stack_level"] == stack_level)
        )

    return [p for p in installed if not matches(p)]


def current_limit(
    installed: list[dict[str, Any]], transaction_id: int | None, phases: int
) -> float | None:
    """The limit in A: TxProfile (else TxDefaultProfile), capped by ChargePointMaxProfile;
    each profile's first period counts. None: no limit."""

    def top(purpose: str) -> float | None:
        candidates = [
            p
            for p in installed
            if p["charging_profile_purpose"] == purpose
            and p.get("transaction_id") in (None, transaction_id)
        ]
        if not candidates:
            return None
        schedule = max(candidates, key=lambda p: p["stack_level"])["charging_schedule"]
        period = min(schedule["charging_schedule_period"], key=lambda p: p["start_period"])
        limit = float(period["limit"])
        if schedule["charging_rate_unit"] == "W":
            limit /= VOLTAGE * (period.get("number_phases") or phases)
        return round(limit, 1)

    tx_limit = top("TxProfile") if transaction_id is not None else None
    if tx_limit is None:
        tx_limit = top("TxDefaultProfile")
    limits = [v for v in (top("ChargePointMaxProfile"), tx_limit) if v is not None]
    return min(limits) if limits else None
