"""Helpers that the library and the integration tests share: none of them needs Home Assistant."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from custom_components.webasto_chargeconnect.chargeconnect.ledger import SessionStart
from custom_components.webasto_chargeconnect.chargeconnect.ocpp import PersistentIdAllocator
from webasto_sim import SimulatedCharger

IDENTITY = "NEXT-WS123456"
PASSWORD = "s3cret-Passw0rd"


async def connect_and_boot(sim: SimulatedCharger) -> SimulatedCharger:
    """Open the simulated charger's websocket and send BootNotification."""
    await sim.connect()
    await sim.boot()
    return sim


# ------------------------------------------------------------------ sessions
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def session_start(transaction_id: int, charger: str = IDENTITY, at: datetime = T0) -> SessionStart:
    """An archived session's start, as the recorder writes it."""
    return SessionStart(
        transaction_id=transaction_id,
        charger=charger,
        connector_id=1,
        id_tag="OLD",
        start_time=at,
        meter_start_wh=1000.0,
        tariff=None,
    )


async def allocations_racing_loads(allocator: PersistentIdAllocator) -> list[int]:
    """Ten chargers start 30 sessions each while each one is (re)acquired, as the hub did.

    The first allocations race the first load; every charger acquired loaded again.
    """

    async def charger() -> list[int]:
        ids = []
        for _ in range(30):
            await allocator.load()
            ids.append(await allocator.allocate())
        return ids

    results = await asyncio.gather(*(charger() for _ in range(10)))
    return [tx_id for ids in results for tx_id in ids]


# ------------------------------------------------------------------ hostile frames
NOW = "2026-03-01T12:00:00.000Z"  # replaced by the current time in each frame
FAR_FUTURE = "9999-12-31T23:59:59-01:00"  # no UTC time: year 10000


def meter_values(*values: dict[str, Any]) -> dict[str, Any]:
    """A MeterValues payload of connector 1 with these sampled values."""
    return {"connectorId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": list(values)}]}
