"""A simulated OCPP 1.6J charge point on a real aiohttp websocket.

`SimulatedCharger` keeps the charger's state (`state.py`: configuration, energy register,
transaction, charging limit, connector status), talks over its websocket (`link.py`) and
exposes every charger-initiated message as an awaitable method (`actions.py`). Calls from
the central system are answered by `ChargePointSession` (see `session.py`), which records
them in `received` and asks the methods below for the answer: each decides it, and
registers with `after_reply` what the charger does once the answer is on the wire.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from . import configuration, smart_charging
from .actions import ChargerActions
from .link import RECONNECT_ERRORS
from .session import ChargePointSession, Followup
from .state import Reservation
from .wire import WebSocketAdapter, parse_time, tag_key

# Connector states in which a vehicle (or a session) occupies the connector.
_OCCUPIED = frozenset({"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"})
# OCPP IdTagInfo fields, as ocpp hands them over (snake_case) and as on the wire.
_ID_TAG_INFO_FIELDS = {
    "status": "status",
    "expiry_date": "expiryDate",
    "parent_id_tag": "parentIdTag",
}


class SimulatedCharger(ChargerActions):
    """An OCPP 1.6J charge point talking to a central system over a real websocket."""

    async def __aenter__(self) -> SimulatedCharger:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.disconnect()

    def _session(self, adapter: WebSocketAdapter) -> ChargePointSession:
        return ChargePointSession(self, adapter)

    # ------------------------------------------------------------------ configuration

    def read_configuration(self, keys: list[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
        """GetConfiguration: the known keys and the unknown ones."""
        return configuration.read_configuration(self.profile, self.configuration, keys)

    def change_configuration(self, key: str, value: str) -> str:
        """ChangeConfiguration: the ConfigurationStatus (the value is stored if Accepted)."""
        status = configuration.change_configuration(self.profile, self.configuration, key, value)
        if status == "Accepted":
            if key == "HeartbeatInterval":
                self.heartbeat_interval = int(self.configuration[key])
            self.log.info("configuration %s = %s", key, self.configuration[key])
        return status

    # ------------------------------------------------------------------ smart charging

    def set_charging_profile(self, connector_id: int, profile: dict[str, Any]) -> str:
        """SetChargingProfile (snake_case, as ocpp hands it over): Accepted or Rejected."""
        installed = (
            None
            if self.reject_charging_profiles or connector_id > self.connectors
            else smart_charging.install_profile(
                self.configuration,
                self.charging_profiles,
                connector_id,
                profile,
                transaction_running=self.transaction_id is not None,
            )
        )
        if installed is None:
            return "Rejected"
        self.charging_profiles = installed
        self._recompute_limit()
        self.log.info("charging limit now %s A", self.current_limit_a)
        return "Accepted"

    def clear_charging_profiles(
        self,
        profile_id: int | None,
        connector_id: int | None,
        purpose: str | None,
        stack_level: int | None,
    ) -> str:
        """ClearChargingProfile: remove the matching profiles (always Accepted)."""
        self.charging_profiles = smart_charging.clear_profiles(
            self.charging_profiles, profile_id, connector_id, purpose, stack_level
        )
        self._recompute_limit()
        self.log.info("charging limit now %s A", self.current_limit_a)
        return "Accepted"

    # ------------------------------------------------------------------ availability & follow-ups

    async def apply_limit(self) -> None:
        """Suspend at a 0 A limit, resume when the limit rises again."""
        if self.transaction_id is None:
            return
        state = self.connector_status.get(self.tx_connector)
        if state in ("Charging", "SuspendedEVSE") and state != self._charging_state():
            await self.status(self._charging_state(), self.tx_connector)

    def change_availability(self, connector_id: int, kind: str) -> str:
        """ChangeAvailability: Scheduled while a transaction holds a connector it takes out."""
        if connector_id > self.connectors:
            return "Rejected"
        targets = list(range(1, self.connectors + 1)) if connector_id == 0 else [connector_id]
        if (
            kind == "Inoperative"
            and self.transaction_id is not None
            and self.tx_connector in targets
        ):
            self._pending_unavailable.update(targets)
            return "Scheduled"
        self.after_reply(lambda: self._apply_availability(targets, operative=kind == "Operative"))
        return "Accepted"

    async def remote_start(
        self, id_tag: str, connector_id: int, profile: dict[str, Any] | None
    ) -> None:
        """After an accepted RemoteStartTransaction: authorize if configured to, plug in,
        start, and install the profile that came with it."""
        if self.configuration.get("AuthorizeRemoteTxRequests", "false").lower() == "true":
            reply = await self.authorize(id_tag)
            if reply.get("idTagInfo", {}).get("status") != "Accepted":
                self.log.warning("remote start for %s not authorized", id_tag)
                return
        if self.connector_status.get(connector_id) != "Preparing":
            await self.plug_in(connector_id)
        transaction_id = await self.start_transaction(id_tag, connector_id)
        if self.transaction_id is None:
            return  # stopped again: the tag was not accepted
        if profile is not None:
            self.set_charging_profile(connector_id, {**profile, "transaction_id": transaction_id})
            await self.apply_limit()

    async def unlock(self, connector_id: int) -> None:
        """After UnlockConnector: a transaction on the connector ends (UnlockCommand)."""
        if self.transaction_id is not None and self.tx_connector == connector_id:
            await self.stop_transaction(reason="UnlockCommand")

    async def reboot(self, kind: str) -> None:
        """After Reset: stop the transaction, close, forget the cars, connect and boot."""
        self.log.info("%s reset", kind)
        if self.transaction_id is not None:
            await self.stop_transaction(reason=f"{kind}Reset")
        await self._close_link(1000)
        self._plugged.clear()
        for connector in range(1, self.connectors + 1):
            self.connector_status[connector] = self._idle_status(connector)
        try:
            await self.reconnect(boot=True)
        except RECONNECT_ERRORS as err:
            self.log.warning("reconnect after reset failed: %s", err)
            if self.auto_reconnect:
                self._start_reconnecting()

    async def update_firmware(self) -> None:
        """After UpdateFirmware: report download and installation."""
        for status in ("Downloading", "Downloaded", "Installing", "Installed"):
            await self.firmware_status(status)

    async def upload_diagnostics(self) -> None:
        """After GetDiagnostics: report the upload."""
        for status in ("Uploading", "Uploaded"):
            await self.diagnostics_status(status)

    # ------------------------------------------------------------------ local list

    def get_local_list_version(self) -> int:
        """-1: no local list on this charger (OCPP); else the version last accepted."""
        return self.local_list_version if self._local_list_usable() else -1

    def send_local_list(self, version: int, update_type: str, entries: list[dict[str, Any]]) -> str:
        """Apply a SendLocalList (entries as ocpp hands them over, snake_case)."""
        if not self._local_list_usable():
            return "NotSupported"
        keys = [tag_key(str(entry["id_tag"])) for entry in entries]
        max_send = configuration.limit(self.configuration, "SendLocalListMaxLength")
        if version < 1 or (max_send and len(entries) > max_send) or len(set(keys)) != len(keys):
            return "Failed"
        if update_type == "Differential":
            if version <= self.local_list_version:
                return "VersionMismatch"
            updated = dict(self.local_list)
        else:
            updated = {}
        for entry in entries:
            tag = str(entry["id_tag"])
            for existing in [t for t in updated if tag_key(t) == tag_key(tag)]:
                del updated[existing]
            info = entry.get("id_tag_info")
            if info:  # Differential: an entry without idTagInfo removes the tag
                updated[tag] = {
                    wire: info[name]
                    for name, wire in _ID_TAG_INFO_FIELDS.items()
                    if info.get(name) is not None
                }
        max_length = configuration.limit(self.configuration, "LocalAuthListMaxLength")
        if max_length and len(updated) > max_length:
            return "Failed"
        self.local_list = updated
        self.local_list_version = version
        self.log.info("local list version %s: %s tag(s)", version, len(updated))
        return "Accepted"

    # ------------------------------------------------------------------ reservations

    def reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
    ) -> str:
        """ReserveNow: the ReservationStatus; an accepted reservation expires by itself."""
        if not self.supports("Reservation") or connector_id > self.connectors:
            return "Rejected"
        try:
            expiry = parse_time(expiry_date)
        except ValueError:
            return "Rejected"
        if expiry <= datetime.now(UTC):
            return "Rejected"
        if connector_id == 0:
            if not configuration.flag(
                self.configuration, "ReserveConnectorZeroSupported", default=False
            ):
                return "Rejected"
            targets = list(range(1, self.connectors + 1))
        else:
            targets = [connector_id]
        states = [self.connector_status.get(c, "Available") for c in targets]
        if all(state == "Faulted" for state in states):
            return "Faulted"
        if not self.available or all(state == "Unavailable" for state in states):
            return "Unavailable"
        free = [
            c
            for c in targets
            if self.connector_status.get(c) not in _OCCUPIED
            and not (self.transaction_id is not None and self.tx_connector == c)
            and self.connector_status.get(c) not in ("Faulted", "Unavailable")
            and ((held := self.reservation_on(c)) is None or held.reservation_id == reservation_id)
        ]
        if not free:
            return "Occupied"
        previous = self.reservations.get(reservation_id)
        reservation = Reservation(reservation_id, connector_id, id_tag, expiry, parent_id_tag)
        self.reservations[reservation_id] = reservation
        self.log.info("connector %s reserved for %s until %s", connector_id, id_tag, expiry)
        self._spawn(self._expire_reservation(reservation))

        async def announce() -> None:
            if previous is not None and previous.connector_id not in (0, connector_id):
                await self._release(previous.connector_id)
            if connector_id != 0:
                await self.status("Reserved", connector_id)

        self.after_reply(announce)
        return "Accepted"

    def cancel_reservation(self, reservation_id: int) -> str:
        """CancelReservation: Accepted if the reservation existed (the connector is freed)."""
        reservation = self.reservations.pop(reservation_id, None)
        if reservation is None or not self.supports("Reservation"):
            return "Rejected"
        self.log.info("reservation %s cancelled", reservation_id)

        async def release() -> None:
            await self._release(reservation.connector_id)

        self.after_reply(release)
        return "Accepted"

    async def _release(self, connector_id: int) -> None:
        """A reservation ended: a Reserved connector becomes available again."""
        if connector_id != 0 and self.connector_status.get(connector_id) == "Reserved":
            await self.status(self._idle_status(connector_id), connector_id)

    async def _expire_reservation(self, reservation: Reservation) -> None:
        await asyncio.sleep(max(0.0, (reservation.expiry - datetime.now(UTC)).total_seconds()))
        if self.reservations.get(reservation.reservation_id) is reservation:
            del self.reservations[reservation.reservation_id]
            self.log.info("reservation %s expired", reservation.reservation_id)
            await self._release(reservation.connector_id)

    # ------------------------------------------------------------------ trigger

    def trigger(self, message: str, connector_id: int | None) -> Followup | None:
        """The follow-up that sends a triggered message, None if it cannot be triggered."""
        connectors = (
            [connector_id] if connector_id is not None else list(range(self.connectors + 1))
        )

        async def statuses() -> None:
            for connector in connectors:
                await self.status(self.connector_status.get(connector, "Available"), connector)

        async def meter_values() -> None:
            power = self.nominal_power_w()
            await self.meter_values(power, self.register_wh, connector_id or 1, context="Trigger")

        async def boot() -> None:
            await self.boot()

        async def heartbeat() -> None:
            await self.heartbeat()

        triggers: dict[str, Followup] = {
            "BootNotification": boot,
            "Heartbeat": heartbeat,
            "StatusNotification": statuses,
            "MeterValues": meter_values,
            "FirmwareStatusNotification": lambda: self.firmware_status("Idle"),
            "DiagnosticsStatusNotification": lambda: self.diagnostics_status("Idle"),
        }
        return triggers.get(message)
