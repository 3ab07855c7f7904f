"""Lifetime energy, the tracker on its own: resets, glitches and meter swaps told apart; never a
jump it cannot be (with a property-based check of its bound).

Over the real websocket, with the repair issue Home Assistant raises for a meter that changed:
tests/integration/test_energy.py.
"""

from __future__ import annotations

import math

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.webasto_chargeconnect.chargeconnect.energy import (
    MAX_AC_POWER_W,
    RESTART_MAX_WH,
    SLACK_WH,
    LifetimeEnergy,
    MeterChange,
    plausible_gain_wh,
)


def feed(energy: LifetimeEnergy, *readings: float, elapsed: float = 60.0) -> float:
    for register in readings:
        energy.update(register, elapsed)
    return energy.lifetime_wh


def test_single_zero_between_readings_is_a_glitch() -> None:
    """0 Wh between 1,000,000 and 1,000,010 Wh counts 10 Wh, not a second million."""
    energy = LifetimeEnergy()
    assert feed(energy, 1_000_000, 0, 1_000_010) == 1_000_010
    assert (energy.glitches, energy.resets, energy.meter_changes) == (1, 0, 0)


def test_meter_swap_adds_nothing() -> None:
    """A register that continues from a lower, non-zero value is another meter."""
    energy = LifetimeEnergy()
    assert feed(energy, 1_235_119, 1_000_000) == 1_235_119  # held
    assert feed(energy, 1_000_010) == 1_235_129  # confirmed: only the 10 Wh count
    assert energy.meter_changes == 1
    assert energy.last_change == MeterChange(previous_wh=1_235_119, new_wh=1_000_000)
    assert feed(energy, 1_000_500) == 1_235_619


def test_per_session_reset_counts_from_zero() -> None:
    """The Unite's register restarts at 0 with every session; all of it counts."""
    energy = LifetimeEnergy()
    assert feed(energy, 0, 5_000, 0, 150, 4_000, elapsed=3600) == 9_000
    assert (energy.resets, energy.meter_changes, energy.glitches) == (1, 0, 0)
    # A restart a little above zero (the first sample of the session) is a reset too.
    assert feed(energy, 300, 900) == 9_900
    assert energy.resets == 2


def test_jump_beyond_what_the_charger_can_deliver() -> None:
    """+100 kWh in a minute is not energy: held, then taken as a new meter if it stays."""
    energy = LifetimeEnergy()
    feed(energy, 1_000_000)
    assert feed(energy, 1_100_000) == 1_000_000
    assert feed(energy, 1_100_100) == 1_000_100
    assert energy.meter_changes == 1
    # A single absurd reading that goes away again is a glitch.
    assert feed(energy, 9e11, 1_100_200) == 1_000_200
    assert energy.glitches == 1


def test_large_gain_after_a_long_time_counts() -> None:
    """60 kWh after five hours without readings is possible at 22 kW: counted."""
    energy = LifetimeEnergy()
    feed(energy, 1_000_000)
    energy.update(1_060_000, 5 * 3600)
    assert energy.lifetime_wh == 1_060_000
    # A higher-powered charger may gain faster.
    energy.update(1_070_000, 600, max_power_w=150_000)
    assert energy.lifetime_wh == 1_070_000


def test_readings_out_of_order_are_not_counted_twice() -> None:
    """An older, lower reading arriving late is a glitch, not a reset or a swap."""
    energy = LifetimeEnergy()
    assert feed(energy, 1_000, 1_500, 1_200, 1_510) == 1_510
    assert (energy.glitches, energy.meter_changes) == (1, 0)


def test_bound() -> None:
    assert plausible_gain_wh(None) == math.inf
    assert plausible_gain_wh(0) == SLACK_WH
    assert plausible_gain_wh(3600) == pytest.approx(MAX_AC_POWER_W * 1.25 + SLACK_WH)
    assert plausible_gain_wh(-5) == SLACK_WH


def test_bad_numbers_are_ignored_and_state_survives_json() -> None:
    """inf, NaN and negative registers are not readings; the state stays finite."""
    energy = LifetimeEnergy()
    feed(energy, 1_000, math.inf, math.nan, -5, 1_010)
    assert energy.lifetime_wh == 1_010
    data = energy.to_dict()
    assert all(v is None or isinstance(v, (int, dict)) or math.isfinite(v) for v in data.values())
    assert LifetimeEnergy.from_dict(data) == energy
    # What an unchecked version wrote: inf became null (Home Assistant's JSON).
    restored = LifetimeEnergy.from_dict(
        {"lifetime_wh": None, "last_register_wh": "inf", "resets": "x", "last_change": {}}
    )
    assert (restored.lifetime_wh, restored.last_register_wh, restored.resets) == (0, None, 0)


# Readings: a register (any order, glitches, swaps, absurd values) and seconds elapsed.
readings = st.lists(
    st.tuples(
        st.one_of(
            st.floats(min_value=0, max_value=1e12, allow_nan=False),
            st.sampled_from([0.0, 1_000_000.0, 1_000_010.0, math.inf, math.nan, -1.0]),
        ),
        st.one_of(st.none(), st.floats(min_value=0, max_value=86_400, allow_nan=False)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(readings)
def test_lifetime_never_jumps_more_than_possible(sequence: list[tuple[float, float]]) -> None:
    """Whatever the register does, the total only grows, and by no more than the charger
    could deliver since it last grew by more than a restart's energy from zero (plus that)."""
    energy = LifetimeEnergy()
    since_growth: float | None = 0.0
    for register, elapsed in sequence:
        before = energy.lifetime_wh
        had_baseline = energy.last_register_wh is not None
        after = energy.update(register, elapsed)
        assert math.isfinite(after)
        assert after >= before
        since_growth = None if since_growth is None or elapsed is None else since_growth + elapsed
        if had_baseline:
            assert after - before <= plausible_gain_wh(since_growth) + RESTART_MAX_WH + 1e-6
        if after - before > RESTART_MAX_WH or not had_baseline:
            since_growth = 0.0
    assert LifetimeEnergy.from_dict(energy.to_dict()) == energy
