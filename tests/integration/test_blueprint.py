"""The solar-surplus blueprint, loaded into Home Assistant, against a simulated charger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
import itertools
from pathlib import Path
import shutil
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.hub import ChargeConnectHub
from webasto_sim import SimulatedCharger

from .conftest import wait_configured, wait_until

BLUEPRINT = (
    Path(__file__).parents[2]
    / "blueprints"
    / "automation"
    / "webasto_chargeconnect"
    / "solar_surplus.yaml"
)
E = "webasto_next_ws123456"
GRID = "sensor.grid_power"
BATTERY = "sensor.home_battery"
SLOT = timedelta(minutes=5)


class VirtualClock:
    """Moves the event loop's clock forward, so `for:` delays pass without waiting.

    Only the loop's timers see the jump; the websocket traffic with the simulated charger
    stays real. The clock is moved only while no OCPP call is in flight.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.offset = 0.0
        self._real = hass.loop.time

    def time(self) -> float:
        return self._real() + self.offset

    async def advance(self, step: timedelta) -> None:
        self.offset += step.total_seconds()
        # The loop runs every timer that is now due; let their work finish.
        await asyncio.sleep(0)
        await self.hass.async_block_till_done()


@pytest.fixture(autouse=True)
def no_websocket_ping() -> Iterator[None]:
    """Websocket pings run on the loop clock too; hours pass here in a second."""
    with patch.object(ChargeConnectHub, "ping_interval", 10**9):
        yield


@pytest.fixture
async def clock(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[VirtualClock]:
    """A loop clock the test moves forward."""
    virtual = VirtualClock(hass)
    monkeypatch.setattr(hass.loop, "time", virtual.time)
    yield virtual
    # Switch the automation off: its pending `for:` timers go with it.
    if hass.states.get("automation.solar_surplus"):
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "automation.solar_surplus"}, blocking=True
        )


@dataclass
class Day:
    """What the charger was told, slot by slot."""

    starts: list[int] = field(default_factory=list)
    stops: list[int] = field(default_factory=list)
    limits: list[tuple[int, float]] = field(default_factory=list)


async def _setup_blueprint(hass: HomeAssistant, tmp_path: Path, **inputs: object) -> None:
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "webasto_chargeconnect"
    target.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target / BLUEPRINT.name)
    hass.states.async_set(GRID, "0", {"unit_of_measurement": "W", "device_class": "power"})
    config = {
        "automation": {
            "id": "solar",
            "alias": "Solar surplus",
            "use_blueprint": {
                "path": "webasto_chargeconnect/solar_surplus.yaml",
                "input": {
                    "grid_power": GRID,
                    "current_limit": f"number.{E}_charging_current_limit",
                    "charging_switch": f"switch.{E}_charging",
                    "charger_power": f"sensor.{E}_power",
                    "min_current": 6,
                    "max_current": 16,
                    "start_surplus": 4500,
                    "start_delay": {"minutes": 5},
                    "stop_surplus": 3000,
                    "stop_delay": {"minutes": 10},
                    **inputs,
                },
            },
        }
    }
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()
    assert hass.states.get("automation.solar_surplus").state == "on"


async def _play(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: SimulatedCharger,
    clock: VirtualClock,
    solar: list[float],
    house: float = 500.0,
) -> Day:
    """Play grid power slot by slot; the charger's draw is part of the grid power."""
    charger = entry.runtime_data.charger
    day = Day()
    seen = 0
    for slot, sun in enumerate(solar):
        charging = sim.transaction_id is not None
        draw = (sim.current_limit_a or 0) * 230 * 3 if charging else 0.0
        if charging:
            await sim.meter_values(power_w=draw)
            await wait_until(hass, lambda d=draw: charger.measurements.power_w == d)
        hass.states.async_set(
            GRID, str(house - sun + draw), {"unit_of_measurement": "W", "device_class": "power"}
        )
        await hass.async_block_till_done()
        await clock.advance(SLOT)
        for call in sim.received[seen:]:
            if call.action == "RemoteStartTransaction":
                day.starts.append(slot)
                await wait_until(hass, lambda: charger.charging)
            elif call.action == "RemoteStopTransaction":
                day.stops.append(slot)
                await wait_until(hass, lambda: charger.active_transaction is None)
            elif call.action == "SetChargingProfile":
                period = call.payload["csChargingProfiles"]["chargingSchedule"]
                day.limits.append((slot, period["chargingSchedulePeriod"][0]["limit"]))
        seen = len(sim.received)
    return day


async def test_solar_day(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    tmp_path: Path,
    clock: VirtualClock,
) -> None:
    """Start on lasting surplus, follow it, ride out a cloud, stop when it stays low."""
    await online_sim.plug_in()
    await wait_configured(hass, entry)
    await _setup_blueprint(hass, tmp_path)
    solar = [
        0, 0, 0,  # night: importing
        6000, 6000, 6000,  # morning sun: 5.5 kW surplus -> start after 5 min at 7 A
        9000, 9000,  # more sun -> 12 A
        2000,  # one passing cloud: below the stop threshold for 5 min only
        9000, 9000,  # sun again: charging never stopped
        1000, 1000, 1000, 1000,  # long clouds: stop after 10 min
        10000, 10000, 10000,  # sun: start again, follow it
        0, 0, 0, 0,  # evening: stop
    ]  # fmt: skip
    day = await _play(hass, entry, online_sim, clock, solar)

    assert day.starts == [3, 15]  # after 5 minutes of surplus
    assert day.stops == [12, 19]  # after 10 minutes without
    limits = [amps for _, amps in day.limits]
    assert all(6 <= amps <= 16 for amps in limits)
    assert limits[0] == 7  # 5,500 W / (3 x 230 V)
    assert 12 in limits  # followed the stronger sun
    assert (8, 6) in day.limits  # the cloud only lowered the current to the minimum
    # No flapping: one command per change, never the same limit twice in a row.
    assert all(a != b for a, b in itertools.pairwise(limits))


async def test_home_battery_first(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    tmp_path: Path,
    clock: VirtualClock,
) -> None:
    """Never charge the car while the home battery is below its minimum."""
    await online_sim.plug_in()
    await wait_configured(hass, entry)
    hass.states.async_set(BATTERY, "20", {"unit_of_measurement": "%", "device_class": "battery"})
    await _setup_blueprint(hass, tmp_path, battery_soc=BATTERY, min_battery_soc=50)
    day = await _play(hass, entry, online_sim, clock, [8000, 8000, 8000])
    assert day.starts == []
    hass.states.async_set(BATTERY, "80", {"unit_of_measurement": "%", "device_class": "battery"})
    day = await _play(hass, entry, online_sim, clock, [8000, 8000, 8000])
    assert day.starts == [0]  # the battery is fine again, the surplus is still there
    assert day.limits[0][1] == 10  # 7,500 W / 690 W per A
