"""What differs between Webasto models (see docs/webasto.md)."""

from __future__ import annotations

from collections.abc import Mapping

from ..models import ChargerInfo, ChargerModel, Features

# The Unite (a Vestel EVC04 inside) offers these LED dimming levels.
LED_DIMMING_LEVELS = ("veryLow", "low", "mid", "high", "timeBased")
VOLTS_PER_PHASE = 230.0


def parse_bool(value: str | None) -> bool | None:
    """Read an OCPP configuration boolean: ``true``/``TRUE``/``1`` and their opposites."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    return None


def format_bool(value: bool, model: ChargerModel, configuration: Mapping[str, str]) -> str:
    """Write a boolean the way this charger writes its own (Vestel: ``TRUE``/``FALSE``)."""
    uppercase = model is ChargerModel.UNITE or any(
        v in ("TRUE", "FALSE") for v in configuration.values()
    )
    text = "true" if value else "false"
    return text.upper() if uppercase else text


def detect_model(
    identity: str, info: ChargerInfo, configuration: Mapping[str, str]
) -> ChargerModel:
    """Recognise the model from BootNotification and GetConfiguration."""
    vendor = (info.vendor or "").lower()
    model = (info.model or "").lower()
    if "next" in model:
        return ChargerModel.NEXT
    if "unite" in model or "evc04" in model or "vestel" in vendor:
        return ChargerModel.UNITE
    if "live" in model or "bender" in vendor or "ebee" in vendor:
        return ChargerModel.LIVE
    if "FreeModeActive" in configuration or "LedDimmingLevel" in configuration:
        return ChargerModel.UNITE  # the Vestel key set
    if not model and identity.upper().startswith("NEXT-"):
        return ChargerModel.NEXT  # before its first BootNotification
    return ChargerModel.GENERIC


def _int(configuration: Mapping[str, str], key: str) -> int | None:
    try:
        return int(str(configuration[key]).strip())
    except (KeyError, ValueError):
        return None


# CurrentLimiterPhase as Vestel firmware writes it (EVC04 v3.118: "threePhase"), plus
# the digits other firmware may send.
_PHASE_WORDS = {
    "singlephase": 1,
    "single": 1,
    "onephase": 1,
    "1": 1,
    "1p": 1,
    "threephase": 3,
    "three": 3,
    "3": 3,
    "3p": 3,
}


def parse_phases(value: str | None) -> int | None:
    """Read a phase count (``CurrentLimiterPhase``): ``singlePhase``/``threePhase`` or 1/3.

    None when the value says neither (the caller assumes three phases).
    """
    if value is None:
        return None
    text = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    return _PHASE_WORDS.get(text)


def detect_features(model: ChargerModel, configuration: Mapping[str, str]) -> Features:
    """Decide what the charger can do from its model and configuration keys."""
    units = configuration.get("ChargingScheduleAllowedChargingRateUnit", "Current")
    allowed = {u.strip().lower() for u in units.split(",") if u.strip()}
    rate_unit = "W" if allowed and "current" not in allowed and "a" not in allowed else "A"
    profiles = configuration.get("SupportedFeatureProfiles")
    smart = profiles is None or "smartcharging" in profiles.lower()
    listed = {item.strip().lower() for item in (profiles or "").split(",")}
    local_list = "localauthlistmanagement" in listed and (
        configuration.get("LocalAuthListEnabled", "true").strip().lower() != "false"
    )
    phases = parse_phases(configuration.get("CurrentLimiterPhase")) or 3
    return Features(
        free_charging="FreeModeActive" in configuration,
        led_dimming="LedDimmingLevel" in configuration,
        smart_charging=smart,
        rate_unit=rate_unit,
        max_stack_level=_int(configuration, "ChargeProfileMaxStackLevel") or 0,
        get_configuration_max_keys=_int(configuration, "GetConfigurationMaxKeys"),
        phases=1 if phases == 1 else 3,
        local_list=local_list,
        local_list_max_length=_int(configuration, "LocalAuthListMaxLength"),
        reservations="reservation" in listed,
    )
