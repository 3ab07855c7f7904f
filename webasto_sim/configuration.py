"""The charger's configuration store and its quirks, as functions of a profile and the keys.

GetConfiguration (`read_configuration`), ChangeConfiguration (`change_configuration`:
read-only keys, enumerations, booleans written in the key's own case as Vestel does) and
the readers other parts use (`supports`, `flag`, `limit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ocpp.exceptions import OccurenceConstraintViolationError

from .profiles import Profile


def read_configuration(
    profile: Profile, configuration: Mapping[str, str], keys: list[str] | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The known keys (as ocpp hands them over) and the unknown ones of a GetConfiguration.

    More keys than GetConfigurationMaxKeys raise OccurenceConstraintViolation.
    """
    max_keys = int(configuration.get("GetConfigurationMaxKeys", "0") or 0)
    if keys and max_keys and len(keys) > max_keys:
        raise OccurenceConstraintViolationError(
            description=f"GetConfiguration accepts at most {max_keys} key(s)"
        )
    known: list[dict[str, Any]] = []
    unknown: list[str] = []
    for key in keys or list(configuration):
        if key not in configuration:
            unknown.append(key)
            continue
        entry: dict[str, Any] = {"key": key, "readonly": key in profile.readonly_keys}
        if key not in profile.write_only_keys:
            entry["value"] = configuration[key]
        known.append(entry)
    return known, unknown


def change_configuration(
    profile: Profile, configuration: dict[str, str], key: str, value: str
) -> str:
    """Apply a ChangeConfiguration to `configuration`; returns its ConfigurationStatus."""
    if key not in configuration:
        return "NotSupported"
    current = configuration[key]
    allowed = profile.allowed_values.get(key)
    if key in profile.readonly_keys:
        return "Rejected"
    if allowed is not None:
        if value not in allowed:
            return "Rejected"
    elif current.lower() in ("true", "false"):
        if value.lower() not in ("true", "false"):
            return "Rejected"
        # Written the way this key is (Vestel mixes TRUE with False).
        if current.isupper():
            value = value.upper()
        elif current[0].isupper():
            value = value.capitalize()
        else:
            value = value.lower()
    elif current.isdigit() and not value.isdigit():
        return "Rejected"
    configuration[key] = value
    return "Accepted"


def supports(configuration: Mapping[str, str], feature_profile: str) -> bool:
    """True if SupportedFeatureProfiles lists it (a charger without the key: Core only)."""
    listed = configuration.get("SupportedFeatureProfiles", "Core")
    return feature_profile.lower() in {p.strip().lower() for p in listed.split(",")}


def flag(configuration: Mapping[str, str], key: str, default: bool) -> bool:
    """A boolean key ("true"/"false" in any case); `default` when missing or unreadable."""
    value = configuration.get(key, "").strip().lower()
    return default if value not in ("true", "false") else value == "true"


def limit(configuration: Mapping[str, str], key: str) -> int:
    """An unsigned integer key; 0 (no limit) when missing or unreadable."""
    value = configuration.get(key, "").strip()
    return int(value) if value.isdigit() else 0
