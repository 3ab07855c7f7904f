"""One charger as the central system sees it: the OCPP handlers for what it sends.

Its persisted state is in :mod:`.state`, meter parsing in :mod:`.meter`, the wrong-clock
policy in :mod:`.clock`, the outgoing calls in :mod:`.commands`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime, timedelta
import logging
import math
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from ocpp.routing import on as _ocpp_on
from ocpp.v16.enums import Action

from ..energy import MAX_AC_POWER_W, LifetimeEnergy
from ..models import (
    PLUGGED_IN_STATUSES,
    ChargerInfo,
    ChargerModel,
    ConnectorState,
    ConnectorStatus,
    Features,
    Measurements,
    Transaction,
)
from ..ratelog import RateLimitedLog
from ..storage import StateStore
from ..timeutil import ArrivalTime, format_ocpp_time, utcnow
from . import quirks
from .clock import Rejected, is_stale, message_time
from .commands import ACCEPTED, CHARGING_PROFILE_ID, MIN_CHARGING_CURRENT_A, ChargerCommands
from .events import (
    Authorizer,
    ChargerListeners,
    MeterChanged,
    MeterSample,
    PluggedOut,
    TransactionSamples,
    TransactionStarted,
    TransactionStopped,
)
from .meter import read_meter_value, update_measurements
from .state import STORAGE_VERSION, ChargerOptions, ChargerState, StateField, StateView

if TYPE_CHECKING:
    from .protocol import OcppConnection

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "CHARGING_PROFILE_ID",
    "MIN_CHARGING_CURRENT_A",
    "STORAGE_VERSION",
    "Charger",
    "ChargerOptions",
    "TransactionIdAllocator",
    "session_duration",
]

DELAYED_SAVE_SECONDS = 30.0
# The Heartbeat interval we give chargers in the BootNotification answer (s).
HEARTBEAT_INTERVAL = 300
# The highest power reading we take into the bound on energy gains (a DC charger's).
MAX_REPORTED_POWER_W = 1_000_000.0
# Statuses in which no energy flows.
NO_POWER_STATUSES = frozenset(
    {
        ConnectorStatus.AVAILABLE,
        ConnectorStatus.PREPARING,
        ConnectorStatus.FINISHING,
        ConnectorStatus.UNAVAILABLE,
        ConnectorStatus.FAULTED,
    }
)


class TransactionIdAllocator(Protocol):
    """Hands out transaction ids unique across the installation and persisted."""

    async def allocate(self) -> int:
        """Return a new id (persisted before it is returned)."""


_F = TypeVar("_F", bound=Callable[..., Any])


def on(action: str) -> Callable[[_F], _F]:
    """The ``ocpp`` package's ``@on`` route decorator, typed."""
    return cast(Callable[[_F], _F], _ocpp_on(action))


class Charger(ChargerListeners, ChargerCommands):
    """A Webasto (or other OCPP 1.6J) charger registered with the central system.

    The inbound handlers are here, the outgoing calls in :class:`ChargerCommands`, and what
    survives a restart in :attr:`state` (its fields are attributes of the charger too).
    """

    info: StateField[ChargerInfo] = StateField()
    model: StateField[ChargerModel] = StateField()
    configuration: StateField[dict[str, str]] = StateField()
    connectors: StateField[dict[int, ConnectorState]] = StateField()
    energy: StateField[LifetimeEnergy] = StateField()
    transactions: StateField[dict[int, Transaction]] = StateField()
    last_transaction: StateField[Transaction | None] = StateField()
    # The latest closed transactions by id, oldest first (last_transaction is the last).
    closed_transactions: StateField[dict[int, Transaction]] = StateField()
    current_limit_a: StateField[float | None] = StateField()
    desired_current_limit_a: StateField[float | None] = StateField()
    firmware_status: StateField[str | None] = StateField()
    last_heartbeat: StateField[datetime | None] = StateField()
    last_boot: StateField[datetime | None] = StateField()
    # When the vehicle was plugged in, per connector (for the session archive).
    plug_in_times: StateField[dict[int, datetime]] = StateField()
    # Derived from the state (read only).
    connector: StateView[ConnectorState] = StateView()
    status: StateView[ConnectorStatus] = StateView()
    error_code: StateView[str] = StateView()
    plugged_in: StateView[bool] = StateView()
    charging: StateView[bool] = StateView()
    available: StateView[bool] = StateView()
    active_transaction: StateView[Transaction | None] = StateView()
    highest_transaction_id: StateView[int] = StateView()
    session: StateView[Transaction | None] = StateView()
    free_charging: StateView[bool | None] = StateView()
    led_dimming_level: StateView[str | None] = StateView()

    def __init__(
        self,
        identity: str,
        *,
        password: str | None,
        store: StateStore,
        allocator: TransactionIdAllocator,
        options: ChargerOptions | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.identity = identity
        self.password = password or None
        self.options = options or ChargerOptions()
        self._store = store
        self._allocator = allocator
        self._logger = logger or _LOGGER
        # What a charger's frames cause (an unknown transaction, a lost stop): one line per
        # cause a minute, however often the charger sends it.
        self._frame_log = RateLimitedLog(self._logger)
        super().__init__(identity, self._logger)
        # Who may charge; None accepts every tag.
        self.authorizer: Authorizer | None = None
        # The tag remote starts use when none is given (the owner's favourite tag).
        self.remote_start_tag_provider: Callable[[], str] | None = None
        self.state = ChargerState()
        self.local_list_version: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._setup_task: asyncio.Task[None] | None = None
        self._boot_event = asyncio.Event()
        self.connection: OcppConnection | None = None

        self.features = Features()
        self.measurements = Measurements()
        # The charger's own timestamps of the latest status per connector and of the
        # latest live meter values: what a queued (older) message is compared with.
        self._status_claims: dict[int, datetime] = {}
        self._meter_claim: datetime | None = None
        self.diagnostics_status: str | None = None
        self.connected_since: datetime | None = None
        self.boot_reason: str | None = None
        self.data_transfers: deque[dict[str, Any]] = deque(maxlen=20)
        self.configured = False  # the post-connect setup ran on this connection
        self.setup_error: str | None = None

    # ------------------------------------------------------------ persistence
    async def load(self) -> None:
        """Restore the saved state."""
        data = await self._store.async_load()
        if not data:
            return
        self.state = ChargerState.from_storage(data, utcnow())
        self.features = quirks.detect_features(self.model, self.configuration)

    def to_storage(self) -> dict[str, Any]:
        """Everything that must survive a restart, as the state file stores it."""
        return self.state.to_storage()

    async def _save_now(self) -> None:
        await self._store.async_save(self.to_storage())

    def _save_later(self) -> None:
        self._store.async_delay_save(self.to_storage, DELAYED_SAVE_SECONDS)

    async def _authorize(self, id_tag: str, source: str) -> dict[str, Any]:
        """IdTagInfo for a tag; free charging accepts everyone."""
        if self.authorizer is None or self.free_charging:
            return {"status": ACCEPTED}
        try:
            return await self.authorizer(id_tag, source)
        except Exception:
            self._logger.exception("%s: authorization of a tag failed", self.identity)
            return {"status": "Invalid"}

    # ------------------------------------------------------------ derived state
    @property
    def online(self) -> bool:
        """True while the charger's websocket is open."""
        return self.connection is not None and not self.connection.closed

    # ------------------------------------------------------------- connection
    def attach(self, connection: OcppConnection, boot_wait: float) -> OcppConnection | None:
        """Take a new websocket session; returns the one it replaces (to be closed)."""
        old = self.connection
        self.connection = connection
        connection.call_observer = self._observe_call
        self.connected_since = utcnow()
        self.configured = False
        self._boot_event = asyncio.Event()
        self._start_setup(boot_wait)
        self._notify()
        return old

    def detach(self, connection: OcppConnection) -> None:
        """The websocket session ended."""
        connection.connection_lost()
        if self.connection is not connection:
            return  # replaced already
        self.connection = None
        self.connected_since = None
        if self._setup_task is not None:
            self._setup_task.cancel()
            self._setup_task = None
        self._save_later()
        self._notify()

    def _start_setup(self, boot_wait: float) -> None:
        if self._setup_task is not None:
            self._setup_task.cancel()
        self._setup_task = self._spawn(self._setup_connection(boot_wait))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def shutdown(self) -> None:
        """Cancel background work and write the state (the server is stopping)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._setup_task = None
        await self._save_now()

    # ------------------------------------------------------------------ inbound
    @on(Action.boot_notification)
    async def on_boot_notification(self, payload: dict[str, Any]) -> dict[str, Any]:
        """BootNotification: who the charger is."""
        self.info = ChargerInfo(
            vendor=payload.get("chargePointVendor"),
            model=payload.get("chargePointModel"),
            serial=payload.get("chargePointSerialNumber"),
            charge_box_serial=payload.get("chargeBoxSerialNumber"),
            firmware=payload.get("firmwareVersion"),
            iccid=payload.get("iccid"),
            imsi=payload.get("imsi"),
            meter_type=payload.get("meterType"),
            meter_serial=payload.get("meterSerialNumber"),
        )
        self.model = quirks.detect_model(self.identity, self.info, self.configuration)
        now = utcnow()
        self.last_boot = now
        # A rebooted charger's clock may have been reset: its timestamps start afresh.
        self._status_claims.clear()
        self._meter_claim = None
        self.state.energy_claim = None
        self._boot_event.set()
        self._save_later()
        self._notify()
        return {
            "status": ACCEPTED,
            "currentTime": format_ocpp_time(now),
            "interval": HEARTBEAT_INTERVAL,
        }

    @on(Action.heartbeat)
    def on_heartbeat(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Heartbeat: answer with our time."""
        now = utcnow()
        self.last_heartbeat = now
        self._notify()
        return {"currentTime": format_ocpp_time(now)}

    @on(Action.status_notification)
    def on_status_notification(self, payload: dict[str, Any]) -> dict[str, Any]:
        """StatusNotification: connector state."""
        connector_id = int(payload["connectorId"])
        try:
            status = ConnectorStatus(payload["status"])
        except ValueError:
            status = ConnectorStatus.UNKNOWN
        timestamp = self._timestamp(payload.get("timestamp"))
        if is_stale(timestamp, self._status_claims.get(connector_id)):
            # A queued, older report: it does not overrule what we know now.
            return {}
        if not isinstance(timestamp, ArrivalTime):
            self._status_claims[connector_id] = timestamp
        current = self.connectors.get(connector_id)
        was_plugged = current is not None and current.status in PLUGGED_IN_STATUSES
        if status in PLUGGED_IN_STATUSES and not was_plugged:
            self.plug_in_times.setdefault(connector_id, timestamp)
        elif status == ConnectorStatus.AVAILABLE and (
            was_plugged or connector_id in self.plug_in_times
        ):
            self.plug_in_times.pop(connector_id, None)
            self._emit(PluggedOut(connector_id, timestamp))
        self.connectors[connector_id] = ConnectorState(
            status=status,
            error_code=str(payload.get("errorCode", "NoError")),
            info=payload.get("info"),
            vendor_error_code=payload.get("vendorErrorCode"),
            timestamp=timestamp,
        )
        if connector_id in (0, 1) and status in NO_POWER_STATUSES:
            self._no_power()
        self._save_later()
        self._notify()
        return {}

    @on(Action.meter_values)
    def on_meter_values(self, payload: dict[str, Any]) -> dict[str, Any]:
        """MeterValues: power, currents, energy."""
        transaction_id = payload.get("transactionId")
        self._apply_meter_values(payload.get("meterValue", []), transaction_id)
        self._notify()
        return {}

    @on(Action.start_transaction)
    async def on_start_transaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        """StartTransaction: hand out our own, persisted transaction id."""
        connector_id = int(payload["connectorId"])
        start_time = self._timestamp(payload.get("timestamp"))
        meter_start = float(payload["meterStart"])
        id_tag = str(payload["idTag"])
        for old in self.transactions.values():
            if (
                old.connector_id == connector_id
                and old.id_tag == id_tag
                and old.meter_start_wh == meter_start
                # (to the millisecond: the saved state keeps no more)
                and format_ocpp_time(old.start_time) == format_ocpp_time(start_time)
            ):
                # The same start again: our answer was lost. Same id, no second session.
                self._logger.info(
                    "%s: StartTransaction repeated; answering transaction %s again",
                    self.identity,
                    old.transaction_id,
                )
                id_tag_info = old.id_tag_info or await self._authorize(id_tag, "StartTransaction")
                return {"transactionId": old.transaction_id, "idTagInfo": id_tag_info}
        for old in [t for t in self.transactions.values() if t.connector_id == connector_id]:
            # The charger started again without stopping: close the lost one.
            self._frame_log.log(
                logging.WARNING,
                "transaction never stopped",
                self.identity,
                "%s: transaction %s was never stopped; closing it",
                self.identity,
                old.transaction_id,
            )
            self._close_transaction(
                old, old.meter_last_wh or old.meter_start_wh, start_time, "Other"
            )
        id_tag_info = await self._authorize(id_tag, "StartTransaction")
        transaction_id = await self._allocator.allocate()
        tx = Transaction(
            transaction_id=transaction_id,
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start_wh=meter_start,
            start_time=start_time,
            meter_last_wh=meter_start,
            reservation_id=payload.get("reservationId"),
            id_tag_info=id_tag_info,
        )
        self.transactions[transaction_id] = tx
        self._feed_energy(meter_start, start_time)
        await self._save_now()
        self._emit(TransactionStarted(tx, self.plug_in_times.get(connector_id)))
        self._notify()
        return {"transactionId": transaction_id, "idTagInfo": id_tag_info}

    @on(Action.stop_transaction)
    async def on_stop_transaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        """StopTransaction: close the session (also one from before a restart)."""
        transaction_id = int(payload["transactionId"])
        answer: dict[str, Any] = {}
        if payload.get("idTag"):
            answer["idTagInfo"] = {"status": ACCEPTED}
        if data := payload.get("transactionData"):
            self._apply_meter_values(data, transaction_id)
        closed = self.closed_transactions.get(transaction_id)
        if closed is not None and transaction_id not in self.transactions:
            # Closed already: our answer was lost and the charger sends the stop again.
            # Same answer, and the transaction stays as it was closed (its energy was
            # counted then). The archive may have missed the first stop (a crash), so
            # it is handed on again; the archive writes it once.
            self._logger.info(
                "%s: StopTransaction for transaction %s repeated; it was closed already",
                self.identity,
                transaction_id,
            )
            self._emit(TransactionStopped(closed))
            self._notify()
            return answer
        stop_time = self._timestamp(payload.get("timestamp"))
        meter_stop = float(payload["meterStop"])
        tx = self.transactions.get(transaction_id)
        if tx is None:
            self._frame_log.log(
                logging.WARNING,
                "unknown transaction",
                self.identity,
                "%s: StopTransaction for unknown transaction %s",
                self.identity,
                transaction_id,
            )
        else:
            tx.stop_id_tag = payload.get("idTag")
            self._close_transaction(tx, meter_stop, stop_time, payload.get("reason", "Local"))
            if not self.transactions and (
                self.measurements.timestamp is None or stop_time >= self.measurements.timestamp
            ):
                self._no_power()
        self._feed_energy(meter_stop, stop_time)
        await self._save_now()
        self._notify()
        return answer

    @on(Action.authorize)
    async def on_authorize(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Authorize: the authorizer decides (tags, shares, groups, bookings)."""
        return {"idTagInfo": await self._authorize(str(payload["idTag"]), "Authorize")}

    @on(Action.data_transfer)
    def on_data_transfer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """DataTransfer: accepted and recorded."""
        self.data_transfers.append({"received": format_ocpp_time(utcnow()), **payload})
        self._logger.debug("%s: DataTransfer %s", self.identity, payload)
        return {"status": ACCEPTED}

    @on(Action.firmware_status_notification)
    def on_firmware_status_notification(self, payload: dict[str, Any]) -> dict[str, Any]:
        """FirmwareStatusNotification."""
        self.firmware_status = str(payload["status"])
        self._save_later()
        self._notify()
        return {}

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status_notification(self, payload: dict[str, Any]) -> dict[str, Any]:
        """DiagnosticsStatusNotification."""
        self.diagnostics_status = str(payload["status"])
        self._notify()
        return {}

    # ---------------------------------------------------------- meter handling
    def _timestamp(self, value: Any) -> datetime:
        """When a message happened (see :mod:`.clock` for what a wrong clock means here)."""
        moment, rejected = message_time(value, utcnow())
        if rejected is Rejected.UNREADABLE:
            self._logger.debug("%s: unreadable timestamp %r", self.identity, value)
        elif rejected is Rejected.IMPLAUSIBLE:
            self._logger.debug(
                "%s: timestamp %r is implausible; using the arrival time", self.identity, value
            )
        return moment

    def _max_power_w(self) -> float:
        """The most power this charger can draw (bounds how fast its register may rise)."""
        installation = self.options.max_current_a * self.features.phases * quirks.VOLTS_PER_PHASE
        reported = max(self.measurements.power_w or 0.0, self.measurements.power_offered_w or 0.0)
        return max(MAX_AC_POWER_W, installation, min(reported, MAX_REPORTED_POWER_W))

    def _no_power(self) -> None:
        """Nothing flows now (chargers do not always send a last zero sample)."""
        self.measurements.power_w = 0.0
        self.measurements.current_a = dict.fromkeys(self.measurements.current_a, 0.0)

    def _close_transaction(
        self, tx: Transaction, meter_stop: float, stop_time: datetime, reason: str
    ) -> None:
        tx.meter_stop_wh = meter_stop
        tx.meter_last_wh = max(tx.meter_last_wh or meter_stop, meter_stop)
        tx.stop_time = stop_time
        tx.stop_reason = reason
        self.transactions.pop(tx.transaction_id, None)
        self.last_transaction = tx
        self.state.remember_closed(tx)
        self._emit(TransactionStopped(tx))

    def _feed_energy(self, register_wh: float, timestamp: datetime) -> bool:
        """Give the lifetime tracker a register reading (unless it was queued, older).

        Returns False when the tracker holds the reading as doubtful (see
        :mod:`..energy`), True otherwise.
        """
        if not math.isfinite(register_wh) or is_stale(timestamp, self.state.energy_claim):
            return True
        changes = self.energy.meter_changes
        self.state.count_energy(register_wh, timestamp, utcnow(), self._max_power_w())
        change = self.energy.last_change
        if self.energy.meter_changes != changes and change is not None:
            self._logger.warning(
                "%s: the energy register went from %.0f Wh to %.0f Wh: another meter? "
                "The lifetime total counts on without the step",
                self.identity,
                change.previous_wh,
                change.new_wh,
            )
            self._emit(MeterChanged(change.previous_wh, change.new_wh, timestamp))
        return self.energy.pending_wh is None

    def _apply_meter_values(self, meter_values: Iterable[dict[str, Any]], tx_id: Any) -> None:
        ordered = [(self._timestamp(mv.get("timestamp")), mv) for mv in meter_values]
        if len(ordered) > 1:
            ordered.sort(key=itemgetter(0))
        tx = self.transactions.get(tx_id) if isinstance(tx_id, int) else self.active_transaction
        changed_energy = False
        samples: list[MeterSample] = []
        for timestamp, meter_value in ordered:
            live = not is_stale(timestamp, self._meter_claim)
            if live and not isinstance(timestamp, ArrivalTime):
                self._meter_claim = timestamp
            reading = read_meter_value(meter_value)
            for sample in reading.unreadable:
                self._logger.debug("%s: unreadable sample %s", self.identity, sample)
            if reading.has_session_data:
                samples.append(
                    MeterSample(timestamp, reading.power_w, reading.currents_a, reading.register_wh)
                )
            if live:
                update_measurements(self.measurements, reading, timestamp)
            if (register := reading.register_wh) is not None:
                trusted = self._feed_energy(register, timestamp)
                if trusted and tx is not None and register >= tx.meter_start_wh:
                    tx.meter_last_wh = max(tx.meter_last_wh or register, register)
                changed_energy = True
        if changed_energy:
            self._save_later()
        tx_key = tx.transaction_id if tx is not None else tx_id if isinstance(tx_id, int) else None
        if samples and tx_key is not None:
            self._emit(TransactionSamples(tx_key, tuple(samples)))

    # -------------------------------------------------------------- diagnostics
    def diagnostics(self) -> dict[str, Any]:
        """A JSON-ready snapshot for diagnostics (without the password)."""
        return {
            "identity": self.identity,
            "online": self.online,
            "model": self.model.value,
            "info": self.info.to_dict(),
            "features": self.features.to_dict(),
            "configuration": {
                k: ("**REDACTED**" if k == "AuthorizationKey" else v)
                for k, v in self.configuration.items()
            },
            "connectors": {str(k): v.to_dict() for k, v in self.connectors.items()},
            "measurements": self.measurements.to_dict(),
            "energy": self.energy.to_dict(),
            "transactions": [tx.to_dict() for tx in self.transactions.values()],
            "last_transaction": self.last_transaction.to_dict() if self.last_transaction else None,
            "current_limit_a": self.current_limit_a,
            "firmware_status": self.firmware_status,
            "diagnostics_status": self.diagnostics_status,
            "setup_error": self.setup_error,
            "data_transfers": list(self.data_transfers),
        }


def session_duration(tx: Transaction | None, now: datetime | None = None) -> timedelta | None:
    """How long a session has run (until now, or until it stopped)."""
    if tx is None:
        return None
    end = tx.stop_time or now or utcnow()
    return max(timedelta(0), end - tx.start_time)
