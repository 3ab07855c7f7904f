"""A charger entry's options: what the library gets from them, and applying a change.

The options flow applies a change itself (``async_apply_options``): live where it can, without
reconnecting the charger, and by reloading the entry where it must (a new backend link). There is
no config entry update listener: Home Assistant reports one next to flows that reload the entry
(an error from 2026.12), and a listener would also run for every other update of the entry.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .chargeconnect import ChargeConnectError, ChargerOptions
from .const import (
    CONF_MAX_CURRENT,
    CONF_METER_INTERVAL,
    CONF_REMOTE_START_TAG,
    DEFAULT_MAX_CURRENT,
    DEFAULT_REMOTE_START_TAG,
    LOGGER,
)
from .coordinator import ChargeConnectConfigEntry
from .forwarding import Forwarding


def options_from_entry(entry: ChargeConnectConfigEntry) -> ChargerOptions:
    """The library's charger options from the entry's options."""
    interval = int(entry.options.get(CONF_METER_INTERVAL, 0) or 0)
    return ChargerOptions(
        meter_sample_interval=interval or None,
        max_current_a=float(entry.options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT)),
        remote_start_tag=str(entry.options.get(CONF_REMOTE_START_TAG, DEFAULT_REMOTE_START_TAG)),
    )


async def async_apply_options(hass: HomeAssistant, entry: ChargeConnectConfigEntry) -> None:
    """The entry's options changed: apply them to the loaded charger."""
    if entry.state is not ConfigEntryState.LOADED:
        return  # read at the next setup
    forwarding = entry.runtime_data.forwarding
    if forwarding.needs_reload(entry) if forwarding else Forwarding.wanted(entry):
        # The backend URL or its credentials changed: the link is rebuilt with the entry.
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    if forwarding is not None:
        forwarding.apply_options(entry)
    charger = entry.runtime_data.charger
    old_interval = charger.options.meter_sample_interval
    charger.options = options_from_entry(entry)
    interval = charger.options.meter_sample_interval
    if interval and interval != old_interval and charger.online:
        try:
            await charger.change_configuration("MeterValueSampleInterval", str(interval))
        except ChargeConnectError as err:
            # Not fatal: the interval is written again when the charger next connects.
            LOGGER.warning("%s: could not set the meter interval: %s", charger.identity, err)
    entry.runtime_data.coordinator.async_set_updated_data(None)
