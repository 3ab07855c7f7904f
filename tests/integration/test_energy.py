"""Lifetime energy over the real websocket, with the repair issue Home Assistant raises for a
meter that changed.

The tracker on its own (resets, glitches, meter swaps, its bound): tests/library/test_energy.py.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.const import DOMAIN
from custom_components.webasto_chargeconnect.coordinator import meter_issue_id
from webasto_sim import SimulatedCharger, iso_utc

from .conftest import wait_for_state, wait_until

E = "webasto_next_ws123456"


# ------------------------------------------------------------- over the websocket


async def test_glitch_and_unknown_stop_over_the_websocket(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A 0 Wh sample and a Stop of an unknown transaction at 0 Wh add nothing."""
    charger = entry.runtime_data.charger
    start = online_sim.register_wh
    await online_sim.meter_values(power_w=0, energy_wh=start)
    await online_sim.meter_values(power_w=0, energy_wh=0)
    await online_sim.meter_values(power_w=0, energy_wh=start + 10)
    assert charger.energy.lifetime_wh == pytest.approx(start + 10)

    await online_sim.send_raw(
        '[2,"u-1","StopTransaction",{"transactionId":4242,"meterStop":0,'
        f'"timestamp":"{iso_utc()}"}}]'
    )
    assert (await online_sim.next_raw_reply())[:2] == [3, "u-1"]
    await online_sim.meter_values(power_w=0, energy_wh=start + 20)
    assert charger.energy.lifetime_wh == pytest.approx(start + 20)
    energy = await wait_for_state(
        hass,
        f"sensor.{E}_energy",
        lambda s: (
            s.state not in ("unknown", "unavailable")
            and float(s.state) == pytest.approx((start + 20) / 1000)
        ),
    )
    assert float(energy.state) < 2 * start / 1000
    assert ir.async_get(hass).async_get_issue(DOMAIN, meter_issue_id(entry.entry_id)) is None


async def test_meter_swap_raises_a_repair_issue(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """1,235,119 Wh then 1,000,000 Wh under the same identity: no 1,000 kWh, a repair."""
    charger = entry.runtime_data.charger
    await online_sim.meter_values(power_w=0, energy_wh=1_235_119)
    lifetime = charger.energy.lifetime_wh
    await online_sim.meter_values(power_w=0, energy_wh=1_000_000)
    await online_sim.meter_values(power_w=0, energy_wh=1_000_010)
    assert charger.energy.lifetime_wh == pytest.approx(lifetime + 10)
    await wait_until(
        hass,
        lambda: (
            ir.async_get(hass).async_get_issue(DOMAIN, meter_issue_id(entry.entry_id)) is not None
        ),
    )
    issue = ir.async_get(hass).async_get_issue(DOMAIN, meter_issue_id(entry.entry_id))
    assert issue is not None
    assert issue.translation_key == "meter_changed"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["previous"] == "1235.119"
    assert issue.translation_placeholders["new"] == "1000.000"
    assert issue.translation_placeholders["identity"] == charger.identity
