"""The bookings calendar of a charger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.components.calendar.const import CalendarEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .chargeconnect import ChargeConnectError
from .chargeconnect.access import Booking
from .coordinator import ChargeConnectConfigEntry
from .entity import ChargeConnectEntity, ChargeConnectEntityDescription, async_add_when_supported
from .helpers import to_ha_error

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ChargeConnectCalendarDescription(ChargeConnectEntityDescription, CalendarEntityDescription):
    """A calendar of the charger."""


# Bookings are Home Assistant's: they show whether or not the charger is online.
BOOKINGS = ChargeConnectCalendarDescription(
    key="bookings", translation_key="bookings", requires_online=False
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the bookings calendar."""
    coordinator = entry.runtime_data.coordinator
    async_add_when_supported(
        entry,
        async_add_entities,
        (BOOKINGS,),
        lambda description: ChargeConnectBookings(coordinator, description),
    )


class ChargeConnectBookings(ChargeConnectEntity, CalendarEntity):
    """Bookings of the charger: during one, only its tag may charge."""

    _attr_supported_features = CalendarEntityFeature.DELETE_EVENT
    entity_description: ChargeConnectCalendarDescription

    def _event(self, booking: Booking) -> CalendarEvent:
        tag = self.owner.access.tag(booking.id_tag)
        who = tag.alias if tag is not None and tag.alias else booking.id_tag
        return CalendarEvent(
            start=dt_util.as_local(booking.start),
            end=dt_util.as_local(booking.end),
            summary=who,
            description=booking.note or None,
            uid=booking.booking_id,
        )

    @property
    def event(self) -> CalendarEvent | None:
        """The booking now, else the next one."""
        access = self.owner.access
        identity = self.charger.identity
        now = dt_util.utcnow()
        current = access.active_booking(identity)
        if current is not None:
            return self._event(current)
        upcoming = [b for b in access.bookings(identity, start=now) if b.start >= now]
        return self._event(min(upcoming, key=lambda b: b.start)) if upcoming else None

    def state_signature(self) -> object:
        """The shown booking."""
        event = self.event
        return None if event is None else (event.uid, event.start, event.end, event.summary)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Bookings in a window."""
        access = self.owner.access
        return [
            self._event(b)
            for b in access.bookings(self.charger.identity, start=start_date, end=end_date)
        ]

    async def async_delete_event(
        self,
        uid: str,
        recurrence_id: str | None = None,
        recurrence_range: str | None = None,
    ) -> None:
        """Cancel a booking."""
        owner = self.owner
        try:
            await owner.access.cancel_booking(uid)
        except ChargeConnectError as err:
            raise to_ha_error(err) from err
        await owner.async_cancel_reservation(uid)
