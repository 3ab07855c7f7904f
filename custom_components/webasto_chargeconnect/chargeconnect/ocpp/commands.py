"""What the central system asks a charger: the outgoing OCPP calls, mixed into ``Charger``.

Configuration, remote start and stop, reset, availability, the charging profile that limits
the current, the local authorization list, reservations and firmware updates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
import logging
from typing import TYPE_CHECKING, Any

from ..exceptions import (
    CallRejectedError,
    ChargerOfflineError,
    InvalidArgumentError,
    NotSupportedByChargerError,
)
from ..models import Features
from ..timeutil import format_ocpp_time, utcnow
from . import quirks
from .state import ChargerOptions, ChargerState

if TYPE_CHECKING:
    from .protocol import OcppConnection

# Our charging profile's id: ClearChargingProfile removes only ours.
CHARGING_PROFILE_ID = 8727
MIN_CHARGING_CURRENT_A = 6.0
ACCEPTED = "Accepted"


class ChargerCommands:
    """The outgoing calls of a :class:`~.charger.Charger` (which provides what is declared)."""

    if TYPE_CHECKING:
        identity: str
        options: ChargerOptions
        state: ChargerState
        features: Features
        connection: OcppConnection | None
        local_list_version: int | None
        remote_start_tag_provider: Callable[[], str] | None
        _logger: logging.Logger
        _boot_event: asyncio.Event
        setup_error: str | None
        configured: bool

        async def _save_now(self) -> None: ...

        def _save_later(self) -> None: ...

        def _notify(self) -> None: ...

    # ------------------------------------------------------------- after connect
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
        if interval and self.state.configuration.get("MeterValueSampleInterval") != str(interval):
            await self.change_configuration("MeterValueSampleInterval", str(interval))
        if self.state.desired_current_limit_a is not None and self.features.smart_charging:
            await self.set_current_limit(self.state.desired_current_limit_a)

    # ------------------------------------------------------------------ calls
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
        self, action: str, payload: dict[str, Any], accepted: Iterable[str] = (ACCEPTED,)
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
                self.state.configuration[key] = str(item["value"])
        self._refresh_features()
        return {"configuration": found, "unknown": unknown}

    async def refresh_configuration(self) -> None:
        """Read the whole configuration and re-detect model and features."""
        await self.get_configuration()
        self._save_later()
        self._notify()

    def _refresh_features(self) -> None:
        state = self.state
        state.model = quirks.detect_model(self.identity, state.info, state.configuration)
        self.features = quirks.detect_features(state.model, state.configuration)

    async def change_configuration(self, key: str, value: str) -> str:
        """Set a configuration key; returns Accepted or RebootRequired."""
        if not key:
            raise InvalidArgumentError("The configuration key is empty")
        status = await self._call_expect(
            "ChangeConfiguration", {"key": key, "value": value}, (ACCEPTED, "RebootRequired")
        )
        self.state.configuration[key] = value
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
        tx = self.state.active_transaction
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
            (ACCEPTED, "Scheduled"),
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
        self.state.current_limit_a = amps
        self.state.desired_current_limit_a = amps
        await self._save_now()
        self._notify()

    async def clear_current_limit(self) -> None:
        """Remove our charging profile: the charger's own maximum applies again."""
        await self._call_expect(
            "ClearChargingProfile", {"id": CHARGING_PROFILE_ID}, (ACCEPTED, "Unknown")
        )
        self.state.current_limit_a = None
        self.state.desired_current_limit_a = None
        await self._save_now()
        self._notify()

    async def set_free_charging(self, enabled: bool) -> None:
        """Free charging: the charger charges without authorisation (Unite: FreeModeActive)."""
        if not self.features.free_charging:
            raise NotSupportedByChargerError("free charging")
        await self.change_configuration(
            "FreeModeActive",
            quirks.format_bool(enabled, self.state.model, self.state.configuration),
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
        chunk = _int_or_none(self.state.configuration.get("SendLocalListMaxLength")) or len(entries)
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


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None
