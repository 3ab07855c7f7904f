"""Writes one charger's sessions into the ledger, in the order the charger reported them.

The charger's session events arrive on the event loop; the recorder queues them and a
single worker applies them to the ledger (whose SQLite work runs in its own thread),
so a start is always written before its samples and its stop, and the OCPP answer
never waits for the disk. Nothing is lost if the ledger missed a start (a crash
between the answer and the write): the stop recreates the session from the
charger's own record.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING

from .ledger import Ledger, Sample, SessionStart
from .models import Tariff, Transaction
from .ocpp.events import (
    ChargerEvent,
    MeterSample,
    PluggedOut,
    TransactionSamples,
    TransactionStarted,
    TransactionStopped,
)
from .timeutil import utcnow

if TYPE_CHECKING:
    from .ocpp.charger import Charger

_LOGGER = logging.getLogger(__name__)

# A driver's log entry given with start_charging applies to a session that starts within this.
DRIVERS_LOG_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class SessionContext:
    """What the archive stores about a session besides what OCPP says."""

    tariff: Tariff | None = None
    tag_alias: str | None = None
    group_id: str | None = None


@dataclass
class DriversLog:
    """Odometer and vehicle given with a start, waiting for the session to begin."""

    odometer_km: float | None
    vehicle_id: str | None
    given: datetime


ContextProvider = Callable[[Transaction], SessionContext]


class SessionRecorder:
    """Feeds a charger's transactions into the session archive."""

    def __init__(
        self,
        charger: Charger,
        ledger: Ledger,
        context: ContextProvider,
        *,
        on_written: Callable[[ChargerEvent], None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.charger = charger
        self.ledger = ledger
        self._context = context
        self._on_written = on_written
        self._logger = logger or _LOGGER
        # Events waiting for the writer (None ends it); _idle is set when all are written.
        self._pending: deque[ChargerEvent | None] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None
        self._remove_listener: Callable[[], None] | None = None
        # Tariff in force at each open session's start (for the live cost).
        self.tariffs: dict[int, Tariff | None] = {}
        self.drivers_log: DriversLog | None = None

    async def async_start(self) -> None:
        """Listen to the charger and start the writer; restores open sessions' tariffs."""
        for tx_id in list(self.charger.transactions):
            record = await self.ledger.get_session(tx_id)
            if record is not None:
                self.tariffs[tx_id] = record.tariff
        self._remove_listener = self.charger.add_event_listener(self._enqueue)
        self._worker = asyncio.get_running_loop().create_task(
            self._run(), name=f"session recorder {self.charger.identity}"
        )

    async def async_stop(self) -> None:
        """Stop listening, write what is queued, end the worker."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        if self._worker is not None:
            self._enqueue(None)
            await self._worker
            self._worker = None

    async def async_flush(self) -> None:
        """Wait until every queued event is in the ledger."""
        await self._idle.wait()

    def _enqueue(self, event: ChargerEvent | None) -> None:
        self._pending.append(event)
        self._idle.clear()
        self._wake.set()

    def _next(self) -> ChargerEvent | None:
        """The next event; consecutive samples of one session become one write."""
        event = self._pending.popleft()
        if not isinstance(event, TransactionSamples):
            return event
        samples = list(event.samples)
        while (
            self._pending
            and isinstance(following := self._pending[0], TransactionSamples)
            and following.transaction_id == event.transaction_id
        ):
            self._pending.popleft()
            samples.extend(following.samples)
        return TransactionSamples(event.transaction_id, tuple(samples))

    def set_drivers_log(self, odometer_km: float | None, vehicle_id: str | None) -> None:
        """Remember odometer and vehicle for the session about to start."""
        if odometer_km is None and vehicle_id is None:
            self.drivers_log = None
            return
        self.drivers_log = DriversLog(odometer_km, vehicle_id, utcnow())

    def live_cost(self, tx: Transaction) -> float | None:
        """The running session's cost so far, with the tariff in force at its start."""
        tariff = self.tariffs.get(tx.transaction_id)
        if tariff is None:
            return None
        return tariff.cost(tx.energy_wh / 1000)

    def live_currency(self, tx: Transaction) -> str | None:
        """The running session's currency."""
        tariff = self.tariffs.get(tx.transaction_id)
        return None if tariff is None else tariff.currency

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            event = self._next()
            if event is None:
                self._idle.set()
                return
            try:
                await self._apply(event)
                if self._on_written is not None:
                    self._on_written(event)
            except Exception:
                self._logger.exception(
                    "%s: could not write a session event to the archive", self.charger.identity
                )

    async def _apply(self, event: ChargerEvent) -> None:
        if isinstance(event, TransactionStarted):
            await self._start(event.transaction, event.plug_in_time)
        elif isinstance(event, TransactionSamples):
            await self.ledger.add_samples(event.transaction_id, [_sample(s) for s in event.samples])
        elif isinstance(event, TransactionStopped):
            tx = event.transaction
            if await self.ledger.get_session(tx.transaction_id) is None:
                await self._start(tx, None)
            assert tx.stop_time is not None
            await self.ledger.stop_session(
                tx.transaction_id,
                tx.stop_time,
                tx.meter_stop_wh if tx.meter_stop_wh is not None else tx.meter_start_wh,
                tx.stop_reason or "Local",
                tx.stop_id_tag,
            )
            self.tariffs.pop(tx.transaction_id, None)
        elif isinstance(event, PluggedOut):
            await self.ledger.set_plug_out(self.charger.identity, event.time)

    async def _start(
        self,
        tx: Transaction,
        plug_in_time: datetime | None,
    ) -> None:
        context = self._context(tx)
        log = self.drivers_log
        odometer: float | None = None
        vehicle: str | None = None
        if log is not None and tx.start_time - log.given <= DRIVERS_LOG_WINDOW:
            odometer, vehicle = log.odometer_km, log.vehicle_id
            self.drivers_log = None
        self.tariffs[tx.transaction_id] = context.tariff
        await self.ledger.start_session(
            SessionStart(
                transaction_id=tx.transaction_id,
                charger=self.charger.identity,
                connector_id=tx.connector_id,
                id_tag=tx.id_tag,
                start_time=tx.start_time,
                meter_start_wh=tx.meter_start_wh,
                tariff=context.tariff,
                plug_in_time=plug_in_time,
                tag_alias=context.tag_alias,
                group_id=context.group_id,
                odometer_km=odometer,
                vehicle_id=vehicle,
            )
        )


def _sample(sample: MeterSample) -> Sample:
    return Sample(
        timestamp=sample.timestamp,
        power_w=sample.power_w,
        current_l1=sample.current_a.get("L1"),
        current_l2=sample.current_a.get("L2"),
        current_l3=sample.current_a.get("L3"),
        register_wh=sample.register_wh,
    )
