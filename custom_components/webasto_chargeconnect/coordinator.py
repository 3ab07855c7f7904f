"""Runtime data and the push coordinator of one charger entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .chargeconnect import Charger
from .chargeconnect.ocpp.events import ChargerEvent, MeterChanged
from .compat import charger_device
from .const import DOMAIN, LOGGER, UPDATE_THROTTLE
from .hub import ChargeConnectHub

if TYPE_CHECKING:
    from .forwarding import Forwarding
    from .owner import ChargerOwner
    from .webui_coordinator import WebUiCoordinator


@dataclass
class ChargeConnectRuntimeData:
    """What a loaded entry holds."""

    hub: ChargeConnectHub
    charger: Charger
    coordinator: ChargeConnectCoordinator
    port: int
    owner: ChargerOwner
    # Forwarding to the charger's original backend (None: not configured); its link is
    # ``forwarding.link``.
    forwarding: Forwarding | None = None
    # The charger's web UI, polled (None: not configured).
    webui: WebUiCoordinator | None = None


type ChargeConnectConfigEntry = ConfigEntry[ChargeConnectRuntimeData]


class ChargeConnectCoordinator(DataUpdateCoordinator[None]):
    """Pushes charger changes to entities; nothing polls the charger.

    Changes arrive with every OCPP message. Entities are refreshed at once for the
    first change and then at most every ``UPDATE_THROTTLE`` seconds while messages
    keep coming (a charger sending MeterValues every second should not cost a
    state write per entity per second); each entity then writes only if its own
    value changed.
    """

    config_entry: ChargeConnectConfigEntry
    throttle = UPDATE_THROTTLE

    def __init__(
        self, hass: HomeAssistant, entry: ChargeConnectConfigEntry, charger: Charger
    ) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {charger.identity}")
        self.charger = charger
        self._last_push = 0.0
        self._timer: CALLBACK_TYPE | None = None
        self._device_info_key: tuple[str | None, ...] | None = None
        self.pushes = 0
        self.data = None
        info = charger.info
        # One DeviceInfo shared by all of the charger's entities.
        self.device_info = DeviceInfo(
            identifiers={(DOMAIN, charger.identity)},
            name=device_name(charger.identity),
            manufacturer=info.vendor or "Webasto",
            model=info.model,
            serial_number=info.serial or info.charge_box_serial,
            sw_version=info.firmware,
        )

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Listen to the charger; returns the function that stops listening."""
        remove = self.charger.add_listener(self._on_change)
        remove_events = self.charger.add_event_listener(self._on_event)

        def stop() -> None:
            remove()
            remove_events()
            if self._timer is not None:
                self._timer()
                self._timer = None

        return stop

    @callback
    def _on_change(self) -> None:
        if self._timer is not None:
            return
        now = self.hass.loop.time()
        wait = self._last_push + self.throttle - now
        if wait <= 0:
            self._push()
        else:
            self._timer = async_call_later(self.hass, wait, self._timer_fired)

    @callback
    def _on_event(self, event: ChargerEvent) -> None:
        """A meter that changed is a repair issue: the owner should know why."""
        if not isinstance(event, MeterChanged):
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            meter_issue_id(self.config_entry.entry_id),
            is_fixable=False,
            is_persistent=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key="meter_changed",
            translation_placeholders={
                "identity": self.charger.identity,
                "previous": f"{event.previous_wh / 1000:.3f}",
                "new": f"{event.new_wh / 1000:.3f}",
                "time": dt_util.as_local(event.time).strftime("%Y-%m-%d %H:%M"),
            },
        )

    @callback
    def _timer_fired(self, _now: object) -> None:
        self._timer = None
        self._push()

    @callback
    def _push(self) -> None:
        self._last_push = self.hass.loop.time()
        self.pushes += 1
        self._update_device()
        self.async_set_updated_data(None)

    @callback
    def _update_device(self) -> None:
        info = self.charger.info
        key = (info.vendor, info.model, info.serial, info.firmware)
        if key == self._device_info_key or info.model is None:
            return
        self._device_info_key = key
        device = charger_device(self.hass, self.config_entry.entry_id, self.charger.identity)
        if device is None:
            return
        dr.async_get(self.hass).async_update_device(
            device.id,
            manufacturer=info.vendor,
            model=info.model,
            serial_number=info.serial or info.charge_box_serial,
            sw_version=info.firmware,
        )


def device_name(identity: str) -> str:
    """The name a charger's device gets (and the owner's notifications use)."""
    return f"Webasto {identity}"


def meter_issue_id(entry_id: str) -> str:
    """The repair issue raised when a charger's energy meter changed."""
    return f"meter_changed_{entry_id}"
