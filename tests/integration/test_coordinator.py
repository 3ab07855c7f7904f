"""The coordinator: pushes from the library's callbacks reach the entities, throttled."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.coordinator import ChargeConnectCoordinator
from webasto_sim import SimulatedCharger

from .conftest import wait_for_state

E = "webasto_next_ws123456"


async def test_updates_are_throttled(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Many messages in a burst give one immediate refresh and one trailing refresh."""
    coordinator: ChargeConnectCoordinator = entry.runtime_data.coordinator
    await online_sim.charge(samples=1, power_w=7000)
    with patch.object(ChargeConnectCoordinator, "throttle", 0.2):
        pushes = coordinator.pushes
        for power in (1000, 2000, 3000, 4000, 5000):
            await online_sim.meter_values(power_w=power)
        # Far fewer refreshes than messages, and the last value still arrives.
        state = await wait_for_state(hass, f"sensor.{E}_power", lambda s: s.state == "5.0")
        assert state is not None
        assert coordinator.pushes - pushes <= 3
