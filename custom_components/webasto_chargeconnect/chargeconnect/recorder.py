"""Writes one charger's sessions into the ledger, in the order the charger reported them.

The charger's session events arrive on the event loop; the recorder queues them and a
single worker applies them to the ledger (whose SQLite work runs in its own thread),
so a start is always written before its samples and its stop, and the OCPP answer
never waits for the disk. Nothing is lost if the ledger missed a start (a crash
between the answer and the write): the stop recreates the session from the
charger's own record.

A crash can also lose writes the charger's saved state already reflects. So before
anything else the recorder reconciles the archive with the charger's state: open
transactions missing from the archive are started, the charger's recently closed
transactions are stopped there (a no-op when the archive has them), and sessions the
archive has open but the charger no longer knows are closed as interrupted.

A transaction id the archive already holds for another session is refused loudly
(an error with the session's data), and nothing of this session is written over the
other one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING

from .ledger import Ledger, Sample, SessionRecord, SessionStart, to_ms
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
# Why the archive closes a session the charger no longer knows (an OCPP stop reason).
INTERRUPTED_REASON = "Other"


class _Reconcile:
    """Queue item: bring the archive in line with the charger's state."""


_RECONCILE = _Reconcile()


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
        self._pending: deque[ChargerEvent | _Reconcile | None] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None
        self._remove_listener: Callable[[], None] | None = None
        # Tariff in force at each open session's start (for the live cost).
        self.tariffs: dict[int, Tariff | None] = {}
        self.drivers_log: DriversLog | None = None
        # Transactions whose id the archive holds for another session: not written.
        self._refused: set[int] = set()

    async def start(self) -> None:
        """Listen to the charger and start the writer; restores open sessions' tariffs.

        The writer's first job is the reconciliation with the charger's state (see
        the module); events that arrive meanwhile are written after it.
        """
        for tx_id in list(self.charger.transactions):
            record = await self.ledger.get_session(tx_id)
            if record is not None:
                self.tariffs[tx_id] = record.tariff
        self._enqueue(_RECONCILE)
        self._remove_listener = self.charger.add_event_listener(self._enqueue)
        self._worker = asyncio.get_running_loop().create_task(
            self._run(), name=f"session recorder {self.charger.identity}"
        )

    async def stop(self) -> None:
        """Stop listening, write what is queued, end the worker."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        if self._worker is not None:
            self._enqueue(None)
            await self._worker
            self._worker = None

    async def flush(self) -> None:
        """Wait until every queued event is in the ledger."""
        await self._idle.wait()

    def _enqueue(self, event: ChargerEvent | _Reconcile | None) -> None:
        self._pending.append(event)
        self._idle.clear()
        self._wake.set()

    def _next(self) -> ChargerEvent | _Reconcile | None:
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
                if isinstance(event, _Reconcile):
                    await self._reconcile()
                    continue
                await self._apply(event)
                if self._on_written is not None:
                    self._on_written(event)
            except Exception:
                self._logger.exception(
                    "%s: could not write a session event to the archive", self.charger.identity
                )

    async def _reconcile(self) -> None:
        """Write what the charger's state knows and the archive missed (a crash)."""
        charger = self.charger
        repaired: list[Transaction] = []
        for tx in list(charger.transactions.values()):
            record = await self.ledger.get_session(tx.transaction_id)
            if record is None:
                self._logger.warning(
                    "%s: the archive missed the start of transaction %s; written now",
                    charger.identity,
                    tx.transaction_id,
                )
                record = await self._start(tx, charger.plug_in_times.get(tx.connector_id))
            self._check_same(record, tx)
        for tx in list(charger.closed_transactions.values()):
            before = await self.ledger.get_session(tx.transaction_id)
            missed = before is None or before.is_open
            if missed:
                self._logger.warning(
                    "%s: the archive missed the stop of transaction %s; written now",
                    charger.identity,
                    tx.transaction_id,
                )
            # Also replaces a stop the archive estimated (closed as interrupted).
            await self._stop(tx)
            if missed:
                repaired.append(tx)
        for record in await self.ledger.open_sessions(charger.identity):
            tx_id = record.transaction_id
            if tx_id in charger.transactions or tx_id in charger.closed_transactions:
                continue
            closed = await self.ledger.close_interrupted(tx_id, INTERRUPTED_REASON)
            self._logger.warning(
                "%s: session %s was open in the archive, but the charger's state does not "
                "know it; closed as interrupted with the latest meter reading",
                charger.identity,
                tx_id,
            )
            if closed is not None:
                repaired.append(_transaction_of(closed))
        if self._on_written is not None:
            for tx in repaired:
                self._on_written(TransactionStopped(tx))

    async def _apply(self, event: ChargerEvent) -> None:
        if isinstance(event, TransactionStarted):
            tx = event.transaction
            record = await self._start(tx, event.plug_in_time)
            self._check_same(record, tx)
        elif isinstance(event, TransactionSamples):
            if event.transaction_id in self._refused:
                return
            await self.ledger.add_samples(event.transaction_id, [_sample(s) for s in event.samples])
        elif isinstance(event, TransactionStopped):
            await self._stop(event.transaction)
        elif isinstance(event, PluggedOut):
            await self.ledger.set_plug_out(self.charger.identity, event.time)

    async def _ensure_started(self, tx: Transaction, plug_in_time: datetime | None) -> bool:
        """The session is in the archive (written now if missing); False if refused."""
        record = await self.ledger.get_session(tx.transaction_id)
        if record is None:
            record = await self._start(tx, plug_in_time)
        return self._check_same(record, tx)

    def _check_same(self, record: SessionRecord, tx: Transaction) -> bool:
        """Is the archived ``record`` this transaction, or another session with its id?"""
        if record.charger == self.charger.identity and to_ms(record.start_time) == to_ms(
            tx.start_time
        ):
            return True
        if tx.transaction_id not in self._refused:
            self._refused.add(tx.transaction_id)
            self._logger.error(
                "%s: transaction id %s is already archived for another session (%s, "
                "started %s); the session started %s with tag %s at %s Wh is not archived",
                self.charger.identity,
                tx.transaction_id,
                record.charger,
                record.start_time.isoformat(),
                tx.start_time.isoformat(),
                tx.id_tag,
                tx.meter_start_wh,
            )
        return False

    async def _stop(self, tx: Transaction) -> None:
        if tx.transaction_id in self._refused or not await self._ensure_started(tx, None):
            if tx.stop_time is not None:
                self._logger.error(
                    "%s: transaction %s (tag %s, %s to %s, %s Wh to %s Wh) is not archived: "
                    "its id belongs to another session",
                    self.charger.identity,
                    tx.transaction_id,
                    tx.id_tag,
                    tx.start_time.isoformat(),
                    tx.stop_time.isoformat(),
                    tx.meter_start_wh,
                    tx.meter_stop_wh,
                )
            return
        assert tx.stop_time is not None
        await self.ledger.stop_session(
            tx.transaction_id,
            tx.stop_time,
            tx.meter_stop_wh if tx.meter_stop_wh is not None else tx.meter_start_wh,
            tx.stop_reason or "Local",
            tx.stop_id_tag,
        )
        self.tariffs.pop(tx.transaction_id, None)

    async def _start(
        self,
        tx: Transaction,
        plug_in_time: datetime | None,
    ) -> SessionRecord:
        context = self._context(tx)
        log = self.drivers_log
        odometer: float | None = None
        vehicle: str | None = None
        if log is not None and tx.start_time - log.given <= DRIVERS_LOG_WINDOW:
            odometer, vehicle = log.odometer_km, log.vehicle_id
            self.drivers_log = None
        self.tariffs[tx.transaction_id] = context.tariff
        return await self.ledger.start_session(
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


def _transaction_of(record: SessionRecord) -> Transaction:
    """A closed archive record as the charger's Transaction (for listeners)."""
    return Transaction(
        transaction_id=record.transaction_id,
        connector_id=record.connector_id,
        id_tag=record.id_tag,
        meter_start_wh=record.meter_start_wh,
        start_time=record.start_time,
        meter_last_wh=record.meter_last_wh,
        meter_stop_wh=record.meter_stop_wh,
        stop_time=record.stop_time,
        stop_reason=record.stop_reason,
        stop_id_tag=record.stop_id_tag,
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
