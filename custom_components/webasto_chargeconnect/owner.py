"""The owner's features for one charger: archive, totals, authorization, local list, bookings.

Glue only: the decisions live in the library (``access``), the archive in ``ledger``
and the session recording in ``recorder``. This class connects them to the charger,
to Home Assistant's clock (timers for totals, share expiries and bookings) and to
the entities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
import zlib

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import (
    async_call_later,
    async_track_point_in_utc_time,
    async_track_time_change,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from .chargeconnect import ChargeConnectError, Charger, Transaction
from .chargeconnect.access import AccessControl
from .chargeconnect.ledger import Ledger, LedgerError, SessionRecord, Totals
from .chargeconnect.ocpp.events import ChargerEvent, PluggedOut, TransactionStopped
from .chargeconnect.recorder import SessionContext, SessionRecorder
from .const import DOMAIN, LOGGER

# Totals windows shown as sensors.
WINDOWS = ("today", "7d", "30d")
# A StartTransaction within this long after an Authorize of the same tag is the same card.
CARD_REPEAT = timedelta(minutes=2)
# Access changes are sent to the charger's local list after this pause (bursts coalesce).
LOCAL_LIST_DELAY = 1.0
_EPOCH = datetime(2000, 1, 1, tzinfo=dt_util.UTC)


@dataclass(frozen=True)
class CardEvent:
    """A card (or tag) presented at the charger, and what we answered."""

    event_type: str
    id_tag: str
    alias: str | None
    reason: str
    source: str


def reservation_id(booking_id: str) -> int:
    """A stable OCPP reservation id for a booking."""
    return (zlib.crc32(booking_id.encode()) & 0x7FFFFFFF) or 1


class ChargerOwner:
    """Everything the ChargeConnect app does for its owner, for one charger."""

    def __init__(
        self,
        hass: HomeAssistant,
        charger: Charger,
        access: AccessControl,
        ledger: Ledger,
        on_change: Callable[[], None],
    ) -> None:
        self.hass = hass
        self.charger = charger
        self.access = access
        self.ledger = ledger
        # Tells the entities to refresh (the charger's coordinator).
        self.on_change = on_change
        self.recorder = SessionRecorder(
            charger, ledger, self._context, on_written=self._on_written, logger=LOGGER
        )
        self.totals: dict[str, Totals] = {}
        self.session_count = 0
        self.last_session: SessionRecord | None = None
        self._card_listeners: list[Callable[[CardEvent], None]] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._list_timer: CALLBACK_TYPE | None = None
        self._transition_timer: CALLBACK_TYPE | None = None
        self._recent_cards: dict[str, datetime] = {}
        self._was_configured = False
        self._reserved: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # ----------------------------------------------------------------- lifecycle
    async def async_start(self) -> None:
        """Hook into the charger and start the timers."""
        self.charger.authorizer = self._authorize
        self.charger.remote_start_tag_provider = lambda: self.remote_start_tag
        await self.recorder.start()
        self._unsubs.append(self.access.add_listener(self._on_access_change))
        self._unsubs.append(self.charger.add_listener(self._on_charger_change))
        self._unsubs.append(
            async_track_time_interval(self.hass, self._timer_refresh, timedelta(hours=1))
        )
        self._unsubs.append(
            async_track_time_change(self.hass, self._timer_refresh, hour=0, minute=0, second=2)
        )
        self._schedule_access_timers()
        await self.async_refresh_totals()

    @callback
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run background work that ends (or is cancelled) with the entry."""
        task = self.hass.async_create_background_task(
            coro, f"{DOMAIN} {self.charger.identity}", eager_start=False
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def async_stop(self) -> None:
        """Unhook; write what is queued to the archive."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        for timer in (self._list_timer, self._transition_timer):
            if timer is not None:
                timer()
        self._list_timer = self._transition_timer = None
        self.charger.authorizer = None
        self.charger.remote_start_tag_provider = None
        await self.recorder.stop()

    # ----------------------------------------------------------------- the tag
    @property
    def remote_start_tag(self) -> str:
        """The favourite tag, else the configured remote-start tag."""
        favourite = self.access.favourite(self.charger.identity)
        return favourite.id_tag if favourite is not None else self.charger.options.remote_start_tag

    # ----------------------------------------------------------- authorization
    async def _authorize(self, id_tag: str, source: str) -> dict[str, Any]:
        decision = self.access.authorize(
            self.charger.identity, id_tag, remote_start_tag=self.remote_start_tag
        )
        now = dt_util.utcnow()
        key = id_tag.upper()
        seen = self._recent_cards.get(key)
        if source == "Authorize" or seen is None or now - seen > CARD_REPEAT:
            tag = decision.learned_tag or self.access.tag(id_tag)
            event_type = "learned" if decision.learned_tag else decision.status.lower()
            event = CardEvent(
                event_type=event_type,
                id_tag=id_tag,
                alias=tag.alias if tag is not None else None,
                reason=decision.reason,
                source=source,
            )
            for listener in list(self._card_listeners):
                listener(event)
        if source == "Authorize":
            self._recent_cards[key] = now
        else:
            self._recent_cards.pop(key, None)
        info: dict[str, Any] = decision.id_tag_info()
        return info

    @callback
    def present_tag(self, event_type: str, id_tag: str, alias: str | None, reason: str) -> None:
        """A tag used from the guest page: the card event fires as for a card at the charger.

        The StartTransaction that follows a start from the page does not fire it again.
        """
        event = CardEvent(event_type, id_tag, alias, reason, source="guest_page")
        for listener in list(self._card_listeners):
            listener(event)
        self._recent_cards[id_tag.upper()] = dt_util.utcnow()

    async def async_start_session(
        self, id_tag: str | None, odometer_km: float | None, vehicle_id: str | None
    ) -> None:
        """Start a session (RemoteStartTransaction), with the driver's log kept for it.

        The one path of every start from Home Assistant: the start_charging action and the
        guest page.
        """
        self.recorder.set_drivers_log(odometer_km, vehicle_id)
        try:
            await self.charger.remote_start(id_tag)
        except ChargeConnectError:
            # the session did not start: the log must not stick to the next one
            self.recorder.set_drivers_log(None, None)
            raise

    @callback
    def add_card_listener(self, listener: Callable[[CardEvent], None]) -> CALLBACK_TYPE:
        """Call ``listener`` for every card presented."""
        self._card_listeners.append(listener)

        def remove() -> None:
            if listener in self._card_listeners:
                self._card_listeners.remove(listener)

        return remove

    # --------------------------------------------------------------- recording
    def _context(self, tx: Transaction) -> SessionContext:
        identity = self.charger.identity
        tag = self.access.tag(tx.id_tag)
        group = self.access.group_of(identity)
        return SessionContext(
            tariff=self.access.tariff_for(identity),
            tag_alias=tag.alias if tag is not None else None,
            group_id=group.group_id if group is not None else None,
        )

    @callback
    def _on_written(self, event: ChargerEvent) -> None:
        if isinstance(event, (TransactionStopped, PluggedOut)):
            self._spawn(self.async_refresh_totals())

    def live_cost(self) -> float | None:
        """Cost of the running session so far."""
        tx = self.charger.active_transaction
        return None if tx is None else self.recorder.live_cost(tx)

    @property
    def currency(self) -> str:
        """The currency costs are shown in."""
        tariff = self.access.tariff_for(self.charger.identity)
        if tariff is not None:
            return tariff.currency
        for totals in self.totals.values():
            for currency in totals.cost_by_currency:
                return currency
        return str(self.hass.config.currency)

    def window_start(self, window: str) -> datetime:
        """Where a totals window begins."""
        now = dt_util.now()
        if window == "today":
            return dt_util.start_of_local_day(now)
        return now - timedelta(days=7 if window == "7d" else 30)

    def running_in(self, window: str) -> Transaction | None:
        """The running session, if it started in the window."""
        tx = self.charger.active_transaction
        if tx is None or tx.start_time < self.window_start(window):
            return None
        return tx

    async def async_refresh_totals(self) -> None:
        """Read totals, the last session and the session count from the archive."""
        identity = self.charger.identity
        try:
            for window in WINDOWS:
                self.totals[window] = await self.ledger.totals(identity, self.window_start(window))
            self.last_session = await self.ledger.last_session(identity)
            everything = await self.ledger.totals(identity, _EPOCH)
        except LedgerError as err:
            LOGGER.warning("%s: could not read the session archive: %s", identity, err)
            return
        self.session_count = everything.sessions
        self.on_change()

    @callback
    def _timer_refresh(self, _now: datetime) -> None:
        self._spawn(self.async_refresh_totals())

    # ------------------------------------------------------ local list, bookings
    @callback
    def _on_charger_change(self) -> None:
        configured = self.charger.online and self.charger.configured
        if configured and not self._was_configured:
            self._schedule_local_list(0)
        self._was_configured = configured

    @callback
    def _on_access_change(self) -> None:
        self._schedule_local_list(LOCAL_LIST_DELAY)
        self._schedule_access_timers()
        self.on_change()

    @callback
    def _schedule_local_list(self, delay: float) -> None:
        if self._list_timer is not None:
            self._list_timer()
        self._list_timer = async_call_later(self.hass, delay, self._local_list_due)

    @callback
    def _local_list_due(self, _now: datetime) -> None:
        self._list_timer = None
        self._spawn(self.async_sync_local_list())

    async def async_sync_local_list(self) -> bool:
        """Send the charger the tags that may charge there (if it keeps a local list)."""
        charger = self.charger
        if not charger.online or not charger.features.local_list:
            return False
        identity = charger.identity
        try:
            return await charger.sync_local_list(
                self.access.local_list(identity), self.access.local_list_version(identity)
            )
        except ChargeConnectError as err:
            LOGGER.warning("%s: could not update the local authorization list: %s", identity, err)
            return False

    @callback
    def _schedule_access_timers(self) -> None:
        """Wake up when access changes by itself: a share expires, a booking starts or ends."""
        if self._transition_timer is not None:
            self._transition_timer()
            self._transition_timer = None
        moment = self.access.next_transition(self.charger.identity)
        if moment is not None:
            self._transition_timer = async_track_point_in_utc_time(
                self.hass, self._transition, moment + timedelta(milliseconds=100)
            )
        active = self.access.active_booking(self.charger.identity)
        if active is not None and active.booking_id not in self._reserved:
            self._spawn(self.async_reserve())

    @callback
    def _transition(self, _now: datetime) -> None:
        self._transition_timer = None
        self._schedule_local_list(0)
        self._schedule_access_timers()
        self.on_change()

    async def async_reserve(self) -> None:
        """Reserve the charger for the booking that is active now (where supported)."""
        booking = self.access.active_booking(self.charger.identity)
        if booking is None or booking.booking_id in self._reserved:
            return
        if not self.charger.online or not self.charger.features.reservations:
            return
        rid = reservation_id(booking.booking_id)
        self._reserved[booking.booking_id] = rid
        try:
            await self.charger.reserve_now(rid, booking.id_tag, booking.end)
        except ChargeConnectError as err:
            # Authorization still enforces the booking; the reservation is a courtesy.
            LOGGER.info("%s: reservation refused: %s", self.charger.identity, err)

    async def async_cancel_reservation(self, booking_id: str) -> None:
        """Cancel the charger's reservation for a booking that was cancelled."""
        rid = self._reserved.pop(booking_id, None)
        if rid is None or not self.charger.online:
            return
        try:
            await self.charger.cancel_reservation(rid)
        except ChargeConnectError as err:
            LOGGER.info("%s: cancelling the reservation: %s", self.charger.identity, err)
