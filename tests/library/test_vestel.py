"""The Unite as a real Vestel EVC04 behaves (firmware v3.118, GetConfiguration in evcc #15726):
the quirks parser and the simulator's Unite profile on their own.

Over the real websocket, through Home Assistant: tests/integration/test_vestel.py.
"""

from __future__ import annotations

import json

import pytest

from custom_components.webasto_chargeconnect.chargeconnect.models import ChargerModel
from custom_components.webasto_chargeconnect.chargeconnect.ocpp import quirks
from webasto_sim import PROFILES
from webasto_sim.profiles import VESTEL_METER_CONFIGURATION, with_phases
from webasto_sim.wire import vestel_layout


@pytest.mark.parametrize(
    ("value", "phases"),
    [
        ("threePhase", 3),
        ("singlePhase", 1),
        (" SinglePhase ", 1),
        ("1", 1),
        ("3", 3),
        ("", None),
        ("twoAndAHalf", None),
        (None, None),
    ],
)
def test_current_limiter_phase_words(value: str | None, phases: int | None) -> None:
    """Vestel writes the phase count as a word; digits are still read."""
    assert quirks.parse_phases(value) == phases


def test_single_phase_vestel_is_single_phase() -> None:
    """A Unite saying singlePhase is not taken as three-phase (limits in W were 3x)."""
    single = quirks.detect_features(ChargerModel.UNITE, {"CurrentLimiterPhase": "singlePhase"})
    assert single.phases == 1
    three = quirks.detect_features(ChargerModel.UNITE, {"CurrentLimiterPhase": "threePhase"})
    assert three.phases == 3
    assert quirks.detect_features(ChargerModel.UNITE, {}).phases == 3


def test_unite_profile_follows_the_real_dump() -> None:
    """The simulator's Unite says what an EVC04 v3.118 says, in its spelling."""
    unite = PROFILES["unite"]
    config = unite.configuration
    assert config["CurrentLimiterPhase"] == "threePhase"
    # Booleans mix TRUE/FALSE and True/False, as in the dump.
    assert config["LockableCable"] == "False"
    assert config["ContinueChargingAfterPowerLoss"] == "False"
    assert config["BootNotificationAfterConnectionLoss"] == "TRUE"
    assert {quirks.parse_bool(config[k]) for k in ("LockableCable", "LocalAuthListEnabled")} == {
        False,
        True,
    }
    assert unite.pretty_frames
    assert unite.boot_data_transfers == (VESTEL_METER_CONFIGURATION,)
    assert with_phases(unite, 1).configuration["CurrentLimiterPhase"] == "singlePhase"
    assert with_phases(PROFILES["next"], 1).configuration == PROFILES["next"].configuration


def test_vestel_layout_pretty_prints_like_the_dump() -> None:
    """CallResults and BootNotification over several lines; other frames compact."""
    result = vestel_layout('[3,"42",{"status":"Accepted"}]')
    assert result == '[3,"42",{\n    "status": "Accepted"\n    }]'
    assert json.loads(result) == [3, "42", {"status": "Accepted"}]
    boot = vestel_layout('[2,"1","BootNotification",{"chargePointVendor":"Webasto"}]')
    assert boot.startswith('[2,"1","BootNotification",{\n    "chargePointVendor"')
    status = '[2,"2","StatusNotification",{"connectorId":1}]'
    assert vestel_layout(status) == status
    assert vestel_layout("not json") == "not json"
    assert vestel_layout("[3]") == "[3]"
