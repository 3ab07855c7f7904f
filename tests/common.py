"""Helpers that the library and the integration tests share: none of them needs Home Assistant."""

from __future__ import annotations

from webasto_sim import SimulatedCharger

IDENTITY = "NEXT-WS123456"
PASSWORD = "s3cret-Passw0rd"


async def connect_and_boot(sim: SimulatedCharger) -> SimulatedCharger:
    """Open the simulated charger's websocket and send BootNotification."""
    await sim.connect()
    await sim.boot()
    return sim
