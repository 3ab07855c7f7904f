"""A charger entry's options: the options flow, what the library gets from them, applying them.

The options flow (:class:`ChargeConnectOptionsFlow`) applies a change itself
(``async_apply_options``): live where it can, without reconnecting the charger, and by reloading
the entry where it must (a new backend link). There is no config entry update listener: Home
Assistant reports one next to flows that reload the entry (an error from 2026.12), and a listener
would also run for every other update of the entry.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector

from .chargeconnect import ChargeConnectError, ChargerOptions
from .chargeconnect.ocpp.charger import MIN_CHARGING_CURRENT_A
from .compat import vol
from .const import (
    CONF_ALLOW_APP_CONTROL,
    CONF_MAX_CURRENT,
    CONF_METER_INTERVAL,
    CONF_REMOTE_START_TAG,
    CONF_UPSTREAM_PASSWORD,
    CONF_UPSTREAM_URL,
    CONF_UPSTREAM_USERNAME,
    DEFAULT_MAX_CURRENT,
    DEFAULT_REMOTE_START_TAG,
    LOGGER,
)
from .coordinator import ChargeConnectConfigEntry
from .flow_forms import PASSWORD_SELECTOR, valid_ocpp_url
from .forwarding import Forwarding, upstream_settings


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


class ChargeConnectOptionsFlow(OptionsFlow):
    """Meter sample interval, installation maximum current, remote start tag, forwarding."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options."""
        errors: dict[str, str] = {}
        current = upstream_settings(self.config_entry)
        if user_input is not None:
            tag = str(user_input.get(CONF_REMOTE_START_TAG, "")).strip()
            upstream = _upstream_options(user_input, current)
            url = upstream[CONF_UPSTREAM_URL]
            if not 1 <= len(tag) <= 20:
                errors[CONF_REMOTE_START_TAG] = "invalid_tag"
            elif url and not valid_ocpp_url(url):
                errors[CONF_UPSTREAM_URL] = "invalid_upstream_url"
            else:
                changed = {
                    **self.config_entry.options,
                    CONF_METER_INTERVAL: int(user_input.get(CONF_METER_INTERVAL, 0)),
                    CONF_MAX_CURRENT: int(user_input[CONF_MAX_CURRENT]),
                    CONF_REMOTE_START_TAG: tag,
                    **upstream,
                }
                # Saved and applied here (live, or by a reload for a new backend link); the
                # flow's own save that follows then finds nothing changed.
                if self.hass.config_entries.async_update_entry(self.config_entry, options=changed):
                    await async_apply_options(self.hass, self.config_entry)
                return self.async_create_entry(data=changed)
        schema = _options_schema(self.config_entry, current)
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(
                schema, {k: v for k, v in user_input.items() if k != CONF_UPSTREAM_PASSWORD}
            )
        return self.async_show_form(step_id="init", data_schema=schema, errors=errors)


def _options_schema(entry: ChargeConnectConfigEntry, current: dict[str, Any]) -> vol.Schema:
    options = entry.options
    return vol.Schema(
        {
            vol.Required(
                CONF_METER_INTERVAL, default=options.get(CONF_METER_INTERVAL, 0)
            ): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=0,
                    max=3600,
                    step=1,
                    unit_of_measurement="s",
                    mode=selector.NumberSelectorMode.BOX,
                )
            ),
            vol.Required(
                CONF_MAX_CURRENT, default=options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT)
            ): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=MIN_CHARGING_CURRENT_A,
                    max=80,
                    step=1,
                    unit_of_measurement="A",
                    mode=selector.NumberSelectorMode.BOX,
                )
            ),
            vol.Required(
                CONF_REMOTE_START_TAG,
                default=options.get(CONF_REMOTE_START_TAG, DEFAULT_REMOTE_START_TAG),
            ): str,
            vol.Optional(
                CONF_UPSTREAM_URL,
                description={"suggested_value": current[CONF_UPSTREAM_URL] or ""},
            ): str,
            vol.Optional(
                CONF_UPSTREAM_USERNAME,
                description={"suggested_value": current[CONF_UPSTREAM_USERNAME] or ""},
            ): str,
            # Never shown back; left empty, the stored password is kept.
            vol.Optional(CONF_UPSTREAM_PASSWORD): PASSWORD_SELECTOR,
            vol.Optional(CONF_ALLOW_APP_CONTROL, default=current[CONF_ALLOW_APP_CONTROL]): bool,
        }
    )


def _upstream_options(user_input: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The forwarding options from the form; a field left out keeps its value."""
    url = str(user_input.get(CONF_UPSTREAM_URL, current[CONF_UPSTREAM_URL] or "")).strip()
    username = str(
        user_input.get(CONF_UPSTREAM_USERNAME, current[CONF_UPSTREAM_USERNAME] or "")
    ).strip()
    password = str(user_input.get(CONF_UPSTREAM_PASSWORD) or "").strip() or (
        current[CONF_UPSTREAM_PASSWORD] or ""
    )
    if not url:
        username = password = ""  # no forwarding: forget its credentials
    return {
        CONF_UPSTREAM_URL: url,
        CONF_UPSTREAM_USERNAME: username,
        CONF_UPSTREAM_PASSWORD: password,
        CONF_ALLOW_APP_CONTROL: bool(
            user_input.get(CONF_ALLOW_APP_CONTROL, current[CONF_ALLOW_APP_CONTROL])
        ),
    }
