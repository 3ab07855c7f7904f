"""The library on its own: time format, energy, model detection, validation, no HA imports."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
import decimal
import json
import logging
from pathlib import Path

from ocpp.messages import get_validator
import pytest

from custom_components.webasto_chargeconnect.chargeconnect import (
    ChargerModel,
    JsonFileStore,
    MemoryStore,
)
from custom_components.webasto_chargeconnect.chargeconnect.energy import LifetimeEnergy
from custom_components.webasto_chargeconnect.chargeconnect.models import ChargerInfo, Transaction
from custom_components.webasto_chargeconnect.chargeconnect.ocpp import quirks, validation
from custom_components.webasto_chargeconnect.chargeconnect.ocpp.server import identity_from_path
from custom_components.webasto_chargeconnect.chargeconnect.timeutil import (
    format_ocpp_time,
    parse_ocpp_time,
)

LIBRARY = Path(__file__).parents[2] / "custom_components/webasto_chargeconnect/chargeconnect"


def test_library_has_no_home_assistant_imports() -> None:
    """The library must stay usable without Home Assistant."""
    offenders = []
    for path in LIBRARY.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "homeassistant"]
    assert offenders == []


def test_time_always_has_milliseconds_and_z() -> None:
    """The Webasto Next drops the connection on a currentTime without fractions."""
    assert format_ocpp_time(datetime(2026, 11, 23, 20, 1, 2, tzinfo=UTC)) == (
        "2026-11-23T20:01:02.000Z"
    )
    cet = timezone(timedelta(hours=1))
    assert format_ocpp_time(datetime(2026, 11, 23, 21, 1, 2, 345678, tzinfo=cet)) == (
        "2026-11-23T20:01:02.345Z"
    )
    assert format_ocpp_time(datetime(2026, 1, 1, 0, 0, 0)) == "2026-01-01T00:00:00.000Z"
    assert parse_ocpp_time("2026-11-23T20:01:02Z") == datetime(2026, 11, 23, 20, 1, 2, tzinfo=UTC)
    assert parse_ocpp_time("2026-11-23T21:01:02+01:00").hour == 20
    assert parse_ocpp_time("2026-11-23T20:01:02").tzinfo is UTC
    with pytest.raises(ValueError):
        parse_ocpp_time("yesterday")


def test_lifetime_energy_survives_register_resets() -> None:
    """A per-session register (Unite) still gives a lifetime total that never goes down."""
    energy = LifetimeEnergy()
    assert energy.update(0) == 0
    assert energy.update(5000) == 5000
    assert energy.update(0) == 5000  # new session: register reset (held until confirmed)
    assert energy.update(2500) == 7500  # confirmed: counted from zero
    assert energy.resets == 1
    assert energy.update(2499.5) == 7500  # rounding noise is not a reset
    restored = LifetimeEnergy.from_dict(json.loads(json.dumps(energy.to_dict())))
    assert restored.update(3000) == 8000
    assert restored.update(100) == 8000  # another reset after a restart...
    assert restored.update(150) == 8150  # ...counted once the next reading agrees
    assert restored.resets == 2
    assert LifetimeEnergy.from_dict(None).lifetime_wh == 0


def test_lifetime_register_passes_through() -> None:
    """A lifetime register (Next) is the total itself."""
    energy = LifetimeEnergy()
    for value in (1_000_000, 1_000_500, 1_003_000):
        assert energy.update(value) == value
    assert energy.resets == 0


@pytest.mark.parametrize(
    ("identity", "vendor", "model", "config", "expected"),
    [
        ("NEXT-WS1", "Webasto", "Webasto Next", {}, ChargerModel.NEXT),
        ("NEXT-WS1", None, None, {}, ChargerModel.NEXT),
        ("NEXT-WS1", "Webasto", "Unite", {}, ChargerModel.UNITE),
        ("WB-1", "Webasto", "NEXT_3P22KW", {}, ChargerModel.NEXT),
        ("WB-2", "Webasto", "Unite", {}, ChargerModel.UNITE),
        ("WB-3", "Vestel", "EVC04", {}, ChargerModel.UNITE),
        ("WB-4", "Webasto", "Wallbox", {"FreeModeActive": "FALSE"}, ChargerModel.UNITE),
        ("WB-5", "Webasto", "Webasto Live", {}, ChargerModel.LIVE),
        ("WB-6", "Bender GmbH", "CC612", {}, ChargerModel.LIVE),
        ("WB-7", "ACME", "Generic", {}, ChargerModel.GENERIC),
    ],
)
def test_model_detection(
    identity: str,
    vendor: str | None,
    model: str | None,
    config: dict[str, str],
    expected: ChargerModel,
) -> None:
    """The model comes from BootNotification and GetConfiguration."""
    info = ChargerInfo(vendor=vendor, model=model)
    assert quirks.detect_model(identity, info, config) is expected


def test_features_from_configuration() -> None:
    """Vestel keys give free charging and LED dimming; rate unit and stack level are read."""
    unite = quirks.detect_features(
        ChargerModel.UNITE,
        {
            "FreeModeActive": "FALSE",
            "LedDimmingLevel": "mid",
            "ChargingScheduleAllowedChargingRateUnit": "Current",
            "ChargeProfileMaxStackLevel": "3",
            "GetConfigurationMaxKeys": "1",
            "CurrentLimiterPhase": "1",
        },
    )
    assert unite.free_charging and unite.led_dimming
    assert (unite.rate_unit, unite.max_stack_level, unite.get_configuration_max_keys) == ("A", 3, 1)
    assert unite.phases == 1
    power_only = quirks.detect_features(
        ChargerModel.GENERIC,
        {"ChargingScheduleAllowedChargingRateUnit": "Power", "SupportedFeatureProfiles": "Core"},
    )
    assert power_only.rate_unit == "W"
    assert not power_only.smart_charging
    assert not power_only.free_charging


def test_booleans() -> None:
    """Vestel writes TRUE/FALSE; others true/false."""
    assert quirks.parse_bool("TRUE") is True
    assert quirks.parse_bool("false") is False
    assert quirks.parse_bool("maybe") is None
    assert quirks.parse_bool(None) is None
    assert quirks.format_bool(True, ChargerModel.UNITE, {}) == "TRUE"
    assert quirks.format_bool(False, ChargerModel.GENERIC, {"X": "FALSE"}) == "FALSE"
    assert quirks.format_bool(True, ChargerModel.NEXT, {"X": "false"}) == "true"


@pytest.mark.parametrize(
    ("path", "identity"),
    [
        ("/NEXT-WS1", "NEXT-WS1"),
        ("/ocpp/NEXT-WS1", "NEXT-WS1"),
        ("/a/b/c/NEXT-WS1/", "NEXT-WS1"),
        ("/ocpp/NEXT%20WS1", "NEXT WS1"),
        ("/", None),
    ],
)
def test_identity_is_last_path_segment(path: str, identity: str | None) -> None:
    """Any prefix path works; the identity is the last segment."""
    assert identity_from_path(path) == identity


# Frames to compare our fast validators with the ocpp package's own.
FRAMES = [
    (
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": "2026-01-01T00:00:00Z",
                    "sampledValue": [
                        {"value": "1", "measurand": "Power.Active.Import", "unit": "W"}
                    ],
                }
            ],
        },
    ),
    ("MeterValues", {"connectorId": "1", "meterValue": []}),
    ("MeterValues", {"connectorId": 1}),
    (
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [
                {"timestamp": "x", "sampledValue": [{"value": "1", "measurand": "Bogus"}]}
            ],
        },
    ),
    ("BootNotification", {"chargePointVendor": "Webasto", "chargePointModel": "Next"}),
    ("BootNotification", {"chargePointVendor": "W" * 21, "chargePointModel": "Next"}),
    ("BootNotification", {"chargePointVendor": "Webasto", "chargePointModel": "Next", "x": 1}),
    ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}),
    ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}),
    (
        "StartTransaction",
        {"connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": "2026-01-01T00:00:00Z"},
    ),
    (
        "StartTransaction",
        {"connectorId": 1, "idTag": "A", "meterStart": 1.5, "timestamp": "2026-01-01T00:00:00Z"},
    ),
    (
        "StopTransaction",
        {
            "transactionId": 1,
            "meterStop": 10,
            "timestamp": "2026-01-01T00:00:00Z",
            "reason": "Local",
        },
    ),
    (
        "StopTransaction",
        {
            "transactionId": 1,
            "meterStop": 10,
            "timestamp": "2026-01-01T00:00:00Z",
            "reason": "Tired",
        },
    ),
    ("Authorize", {"idTag": "A" * 21}),
    ("Heartbeat", {}),
    (
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": "2026-01-01T00:00:00Z",
                    "sampledValue": [{"value": "1", "format": "Raw"}],
                }
            ],
        },
    ),
    (
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": "2026-01-01T00:00:00Z",
                    "sampledValue": [{"value": "1", "format": "Base64"}],
                }
            ],
        },
    ),
    (
        "StatusNotification",
        {
            "connectorId": 1,
            "errorCode": "NoError",
            "status": "Charging",
            "timestamp": "2026-01-01 00:00",
        },
    ),
    (
        "StartTransaction",
        {"connectorId": 1, "idTag": "A", "meterStart": 0, "timestamp": "not a time"},
    ),
    ("DataTransfer", {"vendorId": "Webasto", "data": "x"}),
    # Integral floats are no integers in draft 4 (the ocpp package refuses them).
    (
        "StartTransaction",
        {"connectorId": 1, "idTag": "A", "meterStart": 1.0, "timestamp": "2026-01-01T00:00:00Z"},
    ),
    ("MeterValues", {"connectorId": 1e20, "meterValue": []}),
    ("StatusNotification", {"connectorId": 1.0, "errorCode": "NoError", "status": "Charging"}),
    ("FirmwareStatusNotification", {"status": "Installed"}),
    ("DiagnosticsStatusNotification", {"status": "Nope"}),
]


@pytest.mark.parametrize(("action", "payload"), FRAMES)
def test_fast_validation_agrees_with_ocpp_package(action: str, payload: dict) -> None:
    """Our compiled validators accept and refuse exactly what the ocpp package does."""
    validation.warm_up()
    reference = get_validator(2, action, "1.6")
    expected_valid = reference.is_valid(json.loads(json.dumps(payload)))
    try:
        validation.validate_charger_call(action, payload)
        ours = True
    except validation.SchemaError as err:
        ours = False
        assert err.code in {
            "TypeConstraintViolation",
            "OccurenceConstraintViolation",
            "FormationViolation",
            "PropertyConstraintViolation",
        }
    assert ours is expected_valid


def test_outbound_profiles_validate_with_decimals() -> None:
    """Charging profiles are checked with the ocpp package's decimal-exact validator."""
    validation.warm_up()
    profile = {
        "connectorId": 0,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}],
            },
        },
    }
    validation.validate_our_call("SetChargingProfile", profile)
    profile["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = 6.25
    with pytest.raises(validation.SchemaError):
        validation.validate_our_call("SetChargingProfile", profile)
    assert decimal.Decimal("6.2") % decimal.Decimal("0.1") == 0


def test_transaction_round_trip() -> None:
    """Transactions serialise without losing anything."""
    tx = Transaction(7, 1, "TAG", 1000.0, datetime(2026, 1, 1, tzinfo=UTC), meter_last_wh=1500.0)
    again = Transaction.from_dict(json.loads(json.dumps(tx.to_dict())))
    assert again == tx
    assert again.energy_wh == 500.0
    assert again.is_open


async def test_json_file_store(tmp_path: Path) -> None:
    """The library's own store writes atomically and coalesces delayed saves."""
    store = JsonFileStore(tmp_path / "sub" / "state.json")
    assert await store.async_load() is None
    await store.async_save({"a": 1})
    assert await store.async_load() == {"a": 1}
    counter = {"n": 0}

    def data() -> dict[str, int]:
        counter["n"] += 1
        return {"a": 2}

    store.async_delay_save(data, 60)
    store.async_delay_save(data, 60)
    await store.flush()
    assert await store.async_load() == {"a": 2}
    assert counter["n"] == 1
    memory = MemoryStore()
    memory.async_delay_save(lambda: {"b": 1})
    assert await memory.async_load() == {"b": 1}


def test_callbacks_survive_a_failing_one(caplog: pytest.LogCaptureFixture) -> None:
    """A callback that raises is logged; the others still run; removing twice is harmless."""
    from custom_components.webasto_chargeconnect.chargeconnect.callbacks import Callbacks

    seen: list[int] = []

    def broken(value: int) -> None:
        raise RuntimeError("boom")

    callbacks: Callbacks[[int]] = Callbacks(logging.getLogger("test"), "a test callback")
    remove_broken = callbacks.add(broken)
    callbacks.add(seen.append)
    callbacks(7)
    assert seen == [7]
    assert "a test callback failed" in caplog.text
    remove_broken()
    remove_broken()
    assert len(callbacks) == 1
    callbacks(8)
    assert seen == [7, 8]
