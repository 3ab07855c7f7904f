"""One charger as the central system sees it: state, OCPP handlers and commands."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import math
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from ocpp.routing import on as _ocpp_on
from ocpp.v16.enums import Action

from ..callbacks import Callbacks
from ..energy import MAX_AC_POWER_W, LifetimeEnergy
from ..exceptions import (
    CallRejectedError,
    ChargerOfflineError,
    InvalidArgumentError,
    NotSupportedByChargerError,
)
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
from ..timeutil import (
    ArrivalTime,
    format_ocpp_time,
    is_plausible,
    parse_ocpp_time,
    plausible_time,
    utcnow,
)
from . import quirks
from .events import (
    ChargerEvent,
    MeterChanged,
    MeterSample,
    PluggedOut,
    TransactionSamples,
    TransactionStarted,
    TransactionStopped,
)

if TYPE_CHECKING:
    from .protocol import OcppConnection

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
# Our charging profile's id: ClearChargingProfile removes only ours.
CHARGING_PROFILE_ID = 8727
MIN_CHARGING_CURRENT_A = 6.0
DELAYED_SAVE_SECONDS = 30.0
# The Heartbeat interval we give chargers in the BootNotification answer (s).
HEARTBEAT_INTERVAL = 300
# How many closed transactions are remembered (a StopTransaction sent again after its
# answer was lost is recognised, and the archive is reconciled from them at start-up).
CLOSED_TRANSACTIONS_KEPT = 10
# The highest power reading we take into the bound on energy gains (a DC charger's).
MAX_REPORTED_POWER_W = 1_000_000.0
_ENERGY_UNITS = {"wh": 1.0, "kwh": 1000.0}
_POWER_UNITS = {"w": 1.0, "kw": 1000.0}
_ACCEPTED = "Accepted"
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


@dataclass
class ChargerOptions:
    """Settings the owner chose for this charger."""

    # MeterValueSampleInterval written to the charger on connect (None: leave as is).
    meter_sample_interval: int | None = None
    # Largest current limit the installation allows (A).
    max_current_a: float = 32.0
    # The id tag used for remote starts.
    remote_start_tag: str = "HomeAssistant"


Listener = Callable[[], None]
# (action, payload as received, our answer) for every Call from the charger we answered.
CallObserver = Callable[[str, dict[str, Any], dict[str, Any]], None]
EventListener = Callable[[ChargerEvent], None]
# Decides on an id tag: (id_tag, the message that presented it) -> OCPP IdTagInfo.
Authorizer = Callable[[str, str], Awaitable[dict[str, Any]]]
_F = TypeVar("_F", bound=Callable[..., Any])


def on(action: str) -> Callable[[_F], _F]:
    """The ``ocpp`` package's ``@on`` route decorator, typed."""
    return cast(Callable[[_F], _F], _ocpp_on(action))


class Charger:
    """A Webasto (or other OCPP 1.6J) charger registered with the central system."""

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
        self._listeners: Callbacks[[]] = Callbacks(self._logger, f"{identity}: a listener")
        self._call_observers: Callbacks[[str, dict[str, Any], dict[str, Any]]] = Callbacks(
            self._logger, f"{identity}: a call observer"
        )
        self._event_listeners: Callbacks[[ChargerEvent]] = Callbacks(
            self._logger, f"{identity}: an event listener"
        )
        # Who may charge; None accepts every tag.
        self.authorizer: Authorizer | None = None
        # The tag remote starts use when none is given (the owner's favourite tag).
        self.remote_start_tag_provider: Callable[[], str] | None = None
        # When the vehicle was plugged in, per connector (for the session archive).
        self.plug_in_times: dict[int, datetime] = {}
        self.local_list_version: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._setup_task: asyncio.Task[None] | None = None
        self._boot_event = asyncio.Event()
        self.connection: OcppConnection | None = None

        self.info = ChargerInfo()
        self.model = ChargerModel.GENERIC
        self.configuration: dict[str, str] = {}
        self.features = Features()
        self.connectors: dict[int, ConnectorState] = {}
        self.measurements = Measurements()
        self.energy = LifetimeEnergy()
        # The last register reading counted: when it happened, when it arrived, and the
        # charger's own timestamp of it (None: it had no plausible one). See _timestamp.
        self._energy_timestamp: datetime | None = None
        self._energy_received: datetime | None = None
        self._energy_claim: datetime | None = None
        # The charger's own timestamps of the latest status per connector and of the
        # latest live meter values: what a queued (older) message is compared with.
        self._status_claims: dict[int, datetime] = {}
        self._meter_claim: datetime | None = None
        self.transactions: dict[int, Transaction] = {}
        self.last_transaction: Transaction | None = None
        # The latest closed transactions by id, oldest first (last_transaction is the last).
        self.closed_transactions: dict[int, Transaction] = {}
        self.current_limit_a: float | None = None
        self.desired_current_limit_a: float | None = None
        self.firmware_status: str | None = None
        self.diagnostics_status: str | None = None
        self.last_heartbeat: datetime | None = None
        self.last_boot: datetime | None = None
        self.connected_since: datetime | None = None
        self.boot_reason: str | None = None
        self.data_transfers: deque[dict[str, Any]] = deque(maxlen=20)
        self.configured = False  # the post-connect setup ran on this connection
        self.setup_error: str | None = None

    # ------------------------------------------------------------ persistence
    async def async_load(self) -> None:
        """Restore the saved state."""
        data = await self._store.async_load()
        if not data:
            return
        self.info = ChargerInfo.from_dict(data.get("info"))
        self.configuration = {str(k): str(v) for k, v in data.get("configuration", {}).items()}
        try:
            self.model = ChargerModel(data.get("model", "generic"))
        except ValueError:
            self.model = ChargerModel.GENERIC
        self.features = quirks.detect_features(self.model, self.configuration)
        self.connectors = {
            int(k): ConnectorState.from_dict(v) for k, v in data.get("connectors", {}).items()
        }
        self.energy = LifetimeEnergy.from_dict(data.get("energy"))
        now = utcnow()
        self._energy_claim = _load_time(data.get("energy_timestamp"))
        if self._energy_claim is not None and not is_plausible(self._energy_claim, now):
            self._energy_claim = None  # written before timestamps were checked (2099)
        self._energy_timestamp = _load_time(data.get("energy_time")) or self._energy_claim
        self._energy_received = _load_time(data.get("energy_received"))
        for item in data.get("transactions", []):
            tx = Transaction.from_dict(item)
            self.transactions[tx.transaction_id] = tx
        if last := data.get("last_transaction"):
            self.last_transaction = Transaction.from_dict(last)
        for item in data.get("closed_transactions") or []:
            self._remember_closed(Transaction.from_dict(item))
        if self.last_transaction is not None:
            self._remember_closed(self.last_transaction)
        self.desired_current_limit_a = data.get("desired_current_limit_a")
        self.current_limit_a = data.get("current_limit_a")
        self.firmware_status = data.get("firmware_status")
        self.last_heartbeat = _load_time(data.get("last_heartbeat"))
        self.last_boot = _load_time(data.get("last_boot"))
        self.plug_in_times = {
            int(k): t
            for k, v in (data.get("plug_in_times") or {}).items()
            if (t := _load_time(v)) is not None
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything that must survive a restart."""
        return {
            "version": STORAGE_VERSION,
            "info": self.info.to_dict(),
            "model": self.model.value,
            "configuration": dict(self.configuration),
            "connectors": {str(k): v.to_dict() for k, v in self.connectors.items()},
            "energy": self.energy.to_dict(),
            "energy_timestamp": _dump_time(self._energy_claim),
            "energy_time": _dump_time(self._energy_timestamp),
            "energy_received": _dump_time(self._energy_received),
            "transactions": [tx.to_dict() for tx in self.transactions.values()],
            "last_transaction": self.last_transaction.to_dict() if self.last_transaction else None,
            "closed_transactions": [tx.to_dict() for tx in self.closed_transactions.values()],
            "desired_current_limit_a": self.desired_current_limit_a,
            "current_limit_a": self.current_limit_a,
            "firmware_status": self.firmware_status,
            "last_heartbeat": format_ocpp_time(self.last_heartbeat)
            if self.last_heartbeat
            else None,
            "last_boot": format_ocpp_time(self.last_boot) if self.last_boot else None,
            "plug_in_times": {str(k): format_ocpp_time(v) for k, v in self.plug_in_times.items()},
        }

    async def _save_now(self) -> None:
        await self._store.async_save(self.to_dict())

    def _save_later(self) -> None:
        self._store.async_delay_save(self.to_dict, DELAYED_SAVE_SECONDS)

    # ---------------------------------------------------------------- listeners
    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every change; returns a function that removes it."""
        return self._listeners.add(listener)

    def add_call_observer(self, observer: CallObserver) -> Callable[[], None]:
        """Call ``observer`` after every Call from the charger that we answered.

        Used by forwarding: the charger's messages and our answers, in arrival order.
        Returns a function that removes the observer.
        """
        return self._call_observers.add(observer)

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Receive session events (start, samples, stop, plug-out) in arrival order."""
        return self._event_listeners.add(listener)

    def _emit(self, event: ChargerEvent) -> None:
        self._event_listeners(event)

    async def _authorize(self, id_tag: str, source: str) -> dict[str, Any]:
        """IdTagInfo for a tag; free charging accepts everyone."""
        if self.authorizer is None or self.free_charging:
            return {"status": _ACCEPTED}
        try:
            return await self.authorizer(id_tag, source)
        except Exception:
            self._logger.exception("%s: authorization of a tag failed", self.identity)
            return {"status": "Invalid"}

    def _observe_call(self, action: str, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        self._call_observers(action, payload, answer)

    def _notify(self) -> None:
        self._listeners()

    # ------------------------------------------------------------ derived state
    @property
    def online(self) -> bool:
        """True while the charger's websocket is open."""
        return self.connection is not None and not self.connection.closed

    @property
    def connector(self) -> ConnectorState:
        """Connector 1 (Webasto chargers have one), or the charger as a whole."""
        return self.connectors.get(1) or self.connectors.get(0) or ConnectorState()

    @property
    def status(self) -> ConnectorStatus:
        """Status of the charger: connector 0 Unavailable/Faulted wins, else connector 1."""
        whole = self.connectors.get(0)
        if whole and whole.status in (ConnectorStatus.UNAVAILABLE, ConnectorStatus.FAULTED):
            return whole.status
        return self.connector.status

    @property
    def error_code(self) -> str:
        """The latest error code (connector 0 or 1)."""
        for connector_id in (1, 0):
            state = self.connectors.get(connector_id)
            if state and state.error_code != "NoError":
                return state.error_code
        return "NoError"

    @property
    def plugged_in(self) -> bool:
        """A vehicle is connected."""
        return self.connector.status in PLUGGED_IN_STATUSES

    @property
    def charging(self) -> bool:
        """Energy is flowing (status Charging)."""
        return self.connector.status is ConnectorStatus.CHARGING

    @property
    def available(self) -> bool:
        """The charger is operative (not set Unavailable)."""
        return self.status is not ConnectorStatus.UNAVAILABLE

    @property
    def active_transaction(self) -> Transaction | None:
        """The open transaction on connector 1 (or any), if one is running."""
        for tx in self.transactions.values():
            if tx.connector_id in (0, 1):
                return tx
        return next(iter(self.transactions.values()), None)

    @property
    def highest_transaction_id(self) -> int:
        """The highest transaction id this charger's state holds (0 if none)."""
        return max((*self.transactions, *self.closed_transactions), default=0)

    @property
    def session(self) -> Transaction | None:
        """The running session, else the most recent one."""
        return self.active_transaction or self.last_transaction

    @property
    def free_charging(self) -> bool | None:
        """Free charging (no authorisation) on a model that has it."""
        return quirks.parse_bool(self.configuration.get("FreeModeActive"))

    @property
    def led_dimming_level(self) -> str | None:
        """The Unite's LED dimming level."""
        return self.configuration.get("LedDimmingLevel")

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

    async def async_shutdown(self) -> None:
        """Cancel background work and write the state (the server is stopping)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._setup_task = None
        await self._save_now()

    async def _setup_connection(self, boot_wait: float) -> None:
        """After connect: make sure we know the charger, then push our settings."""
        try:
            await asyncio.wait_for(self._boot_event.wait(), boot_wait)
        except TimeoutError:
            # The Webasto Next does not resend BootNotification on a new connection.
            self._logger.info("%s connected without BootNotification; asking for it", self.identity)
            for message in ("BootNotification", "StatusNotification"):
                try:
                    await self.trigger_message(message)
                except Exception as err:
                    self._logger.info("%s: TriggerMessage %s: %s", self.identity, message, err)
        try:
            await self.refresh_configuration()
            await self._apply_settings()
            self.setup_error = None
        except ChargerOfflineError:
            return
        except Exception as err:
            self.setup_error = str(err)
            self._logger.warning("%s: setup after connect failed: %s", self.identity, err)
        self.configured = True
        self._notify()

    async def _apply_settings(self) -> None:
        interval = self.options.meter_sample_interval
        if interval and self.configuration.get("MeterValueSampleInterval") != str(interval):
            await self.change_configuration("MeterValueSampleInterval", str(interval))
        if self.desired_current_limit_a is not None and self.features.smart_charging:
            await self.set_current_limit(self.desired_current_limit_a)

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
        self._energy_claim = None
        self._boot_event.set()
        self._save_later()
        self._notify()
        return {
            "status": _ACCEPTED,
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
        if self._is_stale(timestamp, self._status_claims.get(connector_id)):
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
            answer["idTagInfo"] = {"status": _ACCEPTED}
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
        return {"status": _ACCEPTED}

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
        """When a message happened: the charger's timestamp where sane, else its arrival.

        What a wrong clock means here (chargers boot with 1970 or 2000, drift, or send
        local time as UTC):

        - The charger's timestamp is kept when it is plausible
          (:func:`~..timeutil.is_plausible`: not before 2015, not more than five
          minutes after it arrived). Otherwise, and when it is missing or unreadable
          (``9999-12-31T23:59:59-01:00`` has no UTC time), the message is dated when
          it arrived, as an :class:`~..timeutil.ArrivalTime`.
        - Live messages change the state in the order they arrive. Only a message
          with a plausible timestamp older than the charger's own timestamp of what we
          hold already (for the same connector, or for the meter) counts as queued
          while offline: it is archived, but does not overrule the state or count
          energy twice. An arrival time never makes anything look old.
        - A BootNotification starts the charger's clock afresh (it may have reset).
          The timestamps compared are kept in memory (the energy one also on disk):
          after a Home Assistant restart, the first status is taken as live.

        So a message dated 2099 is taken as arriving now and blocks nothing; one dated
        a few minutes ahead can hold back messages for at most those minutes.
        """
        received = utcnow()
        claimed: datetime | None = None
        if isinstance(value, str):
            try:
                claimed = parse_ocpp_time(value)
            except ValueError:
                self._logger.debug("%s: unreadable timestamp %r", self.identity, value)
        moment = plausible_time(claimed, received)
        if claimed is not None and isinstance(moment, ArrivalTime):
            self._logger.debug(
                "%s: timestamp %r is implausible; using the arrival time", self.identity, value
            )
        return moment

    @staticmethod
    def _is_stale(timestamp: datetime, last_claim: datetime | None) -> bool:
        """True for a message dated by the charger before what it already told us."""
        return (
            not isinstance(timestamp, ArrivalTime)
            and last_claim is not None
            and timestamp < last_claim
        )

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
        self._remember_closed(tx)
        self._emit(TransactionStopped(tx))

    def _remember_closed(self, tx: Transaction) -> None:
        self.closed_transactions.pop(tx.transaction_id, None)
        self.closed_transactions[tx.transaction_id] = tx
        while len(self.closed_transactions) > CLOSED_TRANSACTIONS_KEPT:
            del self.closed_transactions[next(iter(self.closed_transactions))]

    def _feed_energy(self, register_wh: float, timestamp: datetime) -> bool:
        """Give the lifetime tracker a register reading (unless it was queued, older).

        The tracker bounds the gain by the time elapsed since the last reading: by the
        charger's timestamps or by arrival, whichever is longer (a queued reading's
        timestamps tell the time it took; arrival covers a clock that went back).
        Returns False when the tracker holds the reading as doubtful (see
        :mod:`..energy`), True otherwise.
        """
        if not math.isfinite(register_wh) or self._is_stale(timestamp, self._energy_claim):
            return True
        received = utcnow()
        elapsed: float | None = None
        if self._energy_timestamp is not None and self._energy_received is not None:
            elapsed = max(
                (timestamp - self._energy_timestamp).total_seconds(),
                (received - self._energy_received).total_seconds(),
                0.0,
            )
        self._energy_timestamp = timestamp
        self._energy_received = received
        if not isinstance(timestamp, ArrivalTime):
            self._energy_claim = timestamp
        changes = self.energy.meter_changes
        self.energy.update(register_wh, elapsed, self._max_power_w())
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
        ordered = sorted(
            ((self._timestamp(mv.get("timestamp")), mv) for mv in meter_values),
            key=lambda item: item[0],
        )
        tx = self.transactions.get(tx_id) if isinstance(tx_id, int) else self.active_transaction
        changed_energy = False
        samples: list[MeterSample] = []
        for timestamp, meter_value in ordered:
            sample_currents: dict[str, float] = {}
            live = not self._is_stale(timestamp, self._meter_claim)
            if live and not isinstance(timestamp, ArrivalTime):
                self._meter_claim = timestamp
            phase_power: dict[str, float] = {}
            power: float | None = None
            register: float | None = None
            for sample in meter_value.get("sampledValue", []):
                value = _sampled_number(sample)
                if value is None:
                    self._logger.debug("%s: unreadable sample %s", self.identity, sample)
                    continue
                measurand = sample.get("measurand", "Energy.Active.Import.Register")
                unit = str(sample.get("unit", "")).lower()
                phase = sample.get("phase")
                if measurand == "Energy.Active.Import.Register":
                    register = value * _ENERGY_UNITS.get(unit or "wh", 1.0)
                elif measurand == "Power.Active.Import":
                    watts = value * _POWER_UNITS.get(unit or "w", 1.0)
                    if phase:
                        phase_power[phase] = watts
                    else:
                        power = watts
                elif measurand == "Current.Import":
                    sample_currents[_phase(phase)] = value
                    if live:
                        self.measurements.current_a[_phase(phase)] = value
                elif not live:
                    continue
                elif measurand == "Voltage":
                    if phase is None or phase.endswith("-N") or phase in ("L1", "L2", "L3"):
                        self.measurements.voltage_v[_phase(phase)] = value
                elif measurand == "Current.Offered":
                    self.measurements.current_offered_a = value
                elif measurand == "Power.Offered":
                    self.measurements.power_offered_w = value * _POWER_UNITS.get(unit or "w", 1.0)
                elif measurand == "SoC":
                    self.measurements.soc = value
                elif measurand == "Temperature":
                    self.measurements.temperature_c = (
                        (value - 32) / 1.8 if unit == "fahrenheit" else value
                    )
                elif measurand == "Frequency":
                    self.measurements.frequency_hz = value
            if power is None and phase_power:
                power = sum(phase_power.values())
            if power is not None or register is not None or sample_currents:
                samples.append(MeterSample(timestamp, power, sample_currents, register))
            if live:
                if power is not None:
                    self.measurements.power_w = power
                self.measurements.timestamp = timestamp
            if register is not None:
                if live:
                    self.measurements.energy_register_wh = register
                trusted = self._feed_energy(register, timestamp)
                if trusted and tx is not None and register >= tx.meter_start_wh:
                    tx.meter_last_wh = max(tx.meter_last_wh or register, register)
                changed_energy = True
        if changed_energy:
            self._save_later()
        tx_key = tx.transaction_id if tx is not None else tx_id if isinstance(tx_id, int) else None
        if samples and tx_key is not None:
            self._emit(TransactionSamples(tx_key, tuple(samples)))

    # ------------------------------------------------------------ outbound
    def _require_connection(self) -> OcppConnection:
        if self.connection is None or self.connection.closed:
            raise ChargerOfflineError(f"{self.identity} is not connected", identity=self.identity)
        return self.connection

    async def call(
        self, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Send any OCPP 1.6 Call and return the answer."""
        return await self._require_connection().call(action, payload, timeout)

    async def _call_expect(
        self, action: str, payload: dict[str, Any], accepted: Iterable[str] = (_ACCEPTED,)
    ) -> str:
        answer = await self.call(action, payload)
        status = str(answer.get("status"))
        if status not in accepted:
            raise CallRejectedError(action, status)
        return status

    async def get_configuration(self, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """Read configuration keys, ``GetConfigurationMaxKeys`` at a time.

        Returns ``{"configuration": {key: {"value":…, "readonly":…}}, "unknown": [...]}``.
        """
        wanted = [k for k in (keys or []) if k]
        batches: list[list[str]]
        if not wanted:
            batches = [[]]
        else:
            size = max(1, self.features.get_configuration_max_keys or len(wanted))
            batches = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        found: dict[str, dict[str, Any]] = {}
        unknown: list[str] = []
        for batch in batches:
            answer = await self.call("GetConfiguration", {"key": batch} if batch else {})
            for item in answer.get("configurationKey", []):
                found[item["key"]] = {
                    "value": item.get("value"),
                    "readonly": bool(item.get("readonly", False)),
                }
            unknown.extend(answer.get("unknownKey", []))
        for key, item in found.items():
            if item["value"] is not None:
                self.configuration[key] = str(item["value"])
        self._refresh_features()
        return {"configuration": found, "unknown": unknown}

    async def refresh_configuration(self) -> None:
        """Read the whole configuration and re-detect model and features."""
        await self.get_configuration()
        self._save_later()
        self._notify()

    def _refresh_features(self) -> None:
        self.model = quirks.detect_model(self.identity, self.info, self.configuration)
        self.features = quirks.detect_features(self.model, self.configuration)

    async def change_configuration(self, key: str, value: str) -> str:
        """Set a configuration key; returns Accepted or RebootRequired."""
        if not key:
            raise InvalidArgumentError("The configuration key is empty")
        status = await self._call_expect(
            "ChangeConfiguration", {"key": key, "value": value}, (_ACCEPTED, "RebootRequired")
        )
        self.configuration[key] = value
        self._refresh_features()
        self._save_later()
        self._notify()
        return status

    async def trigger_message(self, message: str, connector_id: int | None = None) -> None:
        """Ask the charger to send a message now (TriggerMessage)."""
        payload: dict[str, Any] = {"requestedMessage": message}
        if connector_id is not None:
            payload["connectorId"] = connector_id
        await self._call_expect("TriggerMessage", payload)

    async def refresh(self) -> None:
        """Ask for fresh status and meter values."""
        await self.trigger_message("StatusNotification")
        await self.trigger_message("MeterValues", 1)

    async def remote_start(self, id_tag: str | None = None, connector_id: int = 1) -> None:
        """Start charging (RemoteStartTransaction) with the given or the configured tag."""
        default = (
            self.remote_start_tag_provider()
            if self.remote_start_tag_provider is not None
            else self.options.remote_start_tag
        )
        tag = (id_tag or default).strip()
        if not tag or len(tag) > 20:
            raise InvalidArgumentError("An id tag is 1 to 20 characters", tag=tag)
        await self._call_expect(
            "RemoteStartTransaction", {"connectorId": connector_id, "idTag": tag}
        )

    async def remote_stop(self) -> None:
        """Stop the running session (RemoteStopTransaction)."""
        tx = self.active_transaction
        if tx is None:
            raise InvalidArgumentError("No session is running", identity=self.identity)
        await self._call_expect("RemoteStopTransaction", {"transactionId": tx.transaction_id})

    async def reset(self, hard: bool = False) -> None:
        """Restart the charger (soft or hard Reset)."""
        await self._call_expect("Reset", {"type": "Hard" if hard else "Soft"})

    async def unlock_connector(self, connector_id: int = 1) -> None:
        """Release the cable (UnlockConnector)."""
        answer = await self.call("UnlockConnector", {"connectorId": connector_id})
        if answer.get("status") != "Unlocked":
            raise CallRejectedError("UnlockConnector", str(answer.get("status")))

    async def set_available(self, available: bool, connector_id: int = 0) -> str:
        """Make the charger operative or inoperative (ChangeAvailability)."""
        return await self._call_expect(
            "ChangeAvailability",
            {"connectorId": connector_id, "type": "Operative" if available else "Inoperative"},
            (_ACCEPTED, "Scheduled"),
        )

    def validate_current_limit(self, amps: float) -> float:
        """Check a limit: 0 (pause) or 6 A up to the installation's maximum."""
        maximum = self.options.max_current_a
        if amps != 0 and not MIN_CHARGING_CURRENT_A <= amps <= maximum:
            raise InvalidArgumentError(
                f"A current limit is 0 A (pause) or between {MIN_CHARGING_CURRENT_A:g} "
                f"and {maximum:g} A, not {amps:g} A",
                value=f"{amps:g}",
                minimum=f"{MIN_CHARGING_CURRENT_A:g}",
                maximum=f"{maximum:g}",
            )
        return float(round(amps))

    async def set_current_limit(self, amps: float) -> None:
        """Limit the charging current with a ChargePointMaxProfile (re-applied on connect)."""
        if not self.features.smart_charging:
            raise NotSupportedByChargerError("smart charging")
        amps = self.validate_current_limit(amps)
        self._require_connection()
        unit = self.features.rate_unit
        limit: float | int = int(amps)
        if unit == "W":
            limit = int(amps * quirks.VOLTS_PER_PHASE * self.features.phases)
        schedule = {
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        }
        profile = {
            "chargingProfileId": CHARGING_PROFILE_ID,
            "stackLevel": self.features.max_stack_level,
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": schedule,
        }
        await self._call_expect(
            "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": profile}
        )
        self.current_limit_a = amps
        self.desired_current_limit_a = amps
        await self._save_now()
        self._notify()

    async def clear_current_limit(self) -> None:
        """Remove our charging profile: the charger's own maximum applies again."""
        await self._call_expect(
            "ClearChargingProfile", {"id": CHARGING_PROFILE_ID}, (_ACCEPTED, "Unknown")
        )
        self.current_limit_a = None
        self.desired_current_limit_a = None
        await self._save_now()
        self._notify()

    async def set_free_charging(self, enabled: bool) -> None:
        """Free charging: the charger charges without authorisation (Unite: FreeModeActive)."""
        if not self.features.free_charging:
            raise NotSupportedByChargerError("free charging")
        await self.change_configuration(
            "FreeModeActive", quirks.format_bool(enabled, self.model, self.configuration)
        )

    async def set_led_dimming_level(self, level: str) -> None:
        """The Unite's LED dimming level."""
        if not self.features.led_dimming:
            raise NotSupportedByChargerError("LED dimming")
        if level not in quirks.LED_DIMMING_LEVELS:
            raise InvalidArgumentError(
                f"LED dimming level must be one of {', '.join(quirks.LED_DIMMING_LEVELS)}",
                value=level,
            )
        await self.change_configuration("LedDimmingLevel", level)

    async def sync_local_list(self, entries: list[dict[str, Any]], version: int) -> bool:
        """Make the charger's local authorization list ``entries`` at ``version``.

        Asks GetLocalListVersion first and sends nothing when the charger already has
        this version. Returns True when a list was sent. Lists longer than the
        charger holds are cut (with a warning); SendLocalListMaxLength is respected by
        sending a Full update followed by Differential ones.
        """
        if not self.features.local_list:
            return False
        answer = await self.call("GetLocalListVersion", {})
        if answer.get("listVersion") == version:
            self.local_list_version = version
            return False
        capacity = self.features.local_list_max_length
        if capacity is not None and len(entries) > capacity:
            self._logger.warning(
                "%s: the local list holds %s tags; %s left out",
                self.identity,
                capacity,
                len(entries) - capacity,
            )
            entries = entries[:capacity]
        chunk = _int_or_none(self.configuration.get("SendLocalListMaxLength")) or len(entries)
        chunk = max(1, chunk)
        batches = [entries[i : i + chunk] for i in range(0, len(entries), chunk)] or [[]]
        # A Differential update must carry a higher version than the list it changes:
        # the Full one starts below the target and each further batch counts up to it.
        first_version = max(1, version - len(batches) + 1)
        for index, batch in enumerate(batches):
            await self._call_expect(
                "SendLocalList",
                {
                    "listVersion": first_version + index,
                    "updateType": "Full" if index == 0 else "Differential",
                    "localAuthorizationList": batch,
                },
            )
        self.local_list_version = version
        self._notify()
        return True

    async def reserve_now(
        self, reservation_id: int, id_tag: str, expiry: datetime, connector_id: int = 1
    ) -> None:
        """Reserve a connector for a tag until ``expiry`` (ReserveNow)."""
        if not self.features.reservations:
            raise NotSupportedByChargerError("reservations")
        await self._call_expect(
            "ReserveNow",
            {
                "connectorId": connector_id,
                "expiryDate": format_ocpp_time(expiry),
                "idTag": id_tag,
                "reservationId": reservation_id,
            },
        )

    async def cancel_reservation(self, reservation_id: int) -> None:
        """Cancel a reservation (CancelReservation)."""
        if not self.features.reservations:
            raise NotSupportedByChargerError("reservations")
        await self._call_expect("CancelReservation", {"reservationId": reservation_id})

    async def update_firmware(
        self, location: str, retrieve_date: datetime | None = None, retries: int | None = None
    ) -> None:
        """Tell the charger to install firmware from ``location`` (UpdateFirmware)."""
        if not location.lower().startswith(("http://", "https://", "ftp://", "ftps://")):
            raise InvalidArgumentError(
                "The firmware location must be an http(s) or ftp(s) URL", value=location
            )
        when = retrieve_date or utcnow()
        payload: dict[str, Any] = {
            "location": location,
            "retrieveDate": format_ocpp_time(when),
        }
        if retries is not None:
            payload["retries"] = retries
        await self.call("UpdateFirmware", payload)

    # -------------------------------------------------------------- diagnostics
    def as_dict(self) -> dict[str, Any]:
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


def _load_time(value: Any) -> datetime | None:
    """A saved timestamp, or None when missing or unreadable (a state from older code)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_ocpp_time(value)
    except ValueError:
        return None


def _dump_time(value: datetime | None) -> str | None:
    return None if value is None else format_ocpp_time(value)


def _sampled_number(sample: Any) -> float | None:
    """A sampled value as a finite number, or None (SignedData, unreadable, inf, NaN)."""
    if not isinstance(sample, dict) or sample.get("format") == "SignedData":
        return None
    try:
        value = float(sample["value"])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _phase(phase: str | None) -> str:
    if not phase:
        return "L1"
    return phase.split("-")[0]


def session_duration(tx: Transaction | None, now: datetime | None = None) -> timedelta | None:
    """How long a session has run (until now, or until it stopped)."""
    if tx is None:
        return None
    end = tx.stop_time or now or utcnow()
    return max(timedelta(0), end - tx.start_time)
