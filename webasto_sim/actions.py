"""What a simulated charger says: connecting and booting, status, authorization,
transactions (also started offline, queued until the link is back), meter values.

`ChargerActions` puts every charger-initiated message behind an awaitable method, on top
of the connection of `link.py`; `reconnect` replays the offline queue in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from types import EllipsisType
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from .link import RECONNECT_ERRORS, ChargerLink
from .wire import iso_utc

# What `present_card` returns when the charger itself turns a card away (the connector is
# reserved for another tag), as opposed to an OCPP AuthorizationStatus.
REFUSED = "Refused"


class ChargerActions(ChargerLink):
    """The messages a charge point sends, and the state changes that go with them."""

    # ------------------------------------------------------------------ connecting

    async def connect(self) -> None:
        """Open the websocket (raises aiohttp.WSServerHandshakeError on 4xx) and serve it."""
        await self._open()
        if self.boot_on_connect:
            await self.boot()

    async def reconnect(self, boot: bool | None = None) -> None:
        """Connect again, boot if the profile does, then replay the offline queue in order."""
        self._offline = False
        old = self._link
        if old is not None:
            if not old.closed.done():
                await self._close_link(1000)
            await old.finished.wait()
        await self._open()
        if boot is None:
            boot = self.boot_on_connect
            if boot is None:
                boot = self.profile.boot_on_reconnect
        if boot:
            await self.boot()
            for connector in range(1, self.connectors + 1):
                await self.status(self.connector_status[connector], connector)
        await self._replay_offline_queue()

    async def _replay_offline_queue(self) -> None:
        """Send what was queued offline, in order; an offline-started transaction gets the
        central system's transaction id, and is stopped if its tag turns out invalid."""
        deauthorize = False
        while self.offline_queue and self.online:
            payload = self.offline_queue[0]
            reply = await self._call(payload)
            self.offline_queue.pop(0)
            local_id = self._offline_starts.pop(id(payload), None)
            if local_id is None or not isinstance(payload, call.StartTransaction):
                continue
            real_id = int(reply["transactionId"])
            self.offline_queue = [
                replace(queued, transaction_id=real_id)
                if getattr(queued, "transaction_id", None) == local_id
                else queued
                for queued in self.offline_queue
            ]
            if self.transaction_id == local_id:
                self.transaction_id = real_id
                self.id_tag_status = reply.get("idTagInfo", {}).get("status")
                self.log.info("offline transaction is %s (%s)", real_id, self.id_tag_status)
                deauthorize = self._must_deauthorize()
        if deauthorize and self.online and self.transaction_id is not None:
            await self.stop_transaction(reason="DeAuthorized")

    def _start_reconnecting(self) -> None:
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = self._spawn(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = 1.0
        while not (self._offline or self._stopping or self.online):
            self.log.info("reconnecting in %.0f s", delay)
            await asyncio.sleep(delay)  # back-off
            try:
                await self.reconnect()
            except RECONNECT_ERRORS as err:
                self.log.warning("reconnect failed: %s", err)
                delay = min(delay * 2, 60.0)
            else:
                delay = 1.0

    # ------------------------------------------------------------------ charger -> server

    async def boot(self) -> dict[str, Any]:
        serial = self.serial_number
        reply = await self._call(
            call.BootNotification(
                charge_point_model=self.profile.model,
                charge_point_vendor=self.profile.vendor,
                charge_point_serial_number=serial,
                charge_box_serial_number=serial,
                firmware_version=self.profile.firmware,
            )
        )
        self.boot_status = reply.get("status")
        if self.boot_status == "Accepted" and reply.get("interval"):
            self.heartbeat_interval = int(reply["interval"])
        self.log.info("BootNotification: %s", self.boot_status)
        await self._check_server_time(reply)
        if self.boot_status == "Accepted" and self.online:
            for message in self.profile.boot_data_transfers:
                try:
                    await self.data_transfer(
                        str(message["vendorId"]), message.get("messageId"), message.get("data")
                    )
                except OCPPError as err:
                    self.log.warning("DataTransfer after boot refused: %r", err)
        return reply

    async def data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None
    ) -> dict[str, Any]:
        """Send a DataTransfer; returns the central system's answer."""
        reply = await self._call(
            call.DataTransfer(vendor_id=vendor_id, message_id=message_id, data=data)
        )
        self.data_transfer_replies.append(reply)
        return reply

    async def heartbeat(self) -> dict[str, Any]:
        reply = await self._call(call.Heartbeat())
        await self._check_server_time(reply)
        return reply

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        return await self._call(call.Authorize(id_tag=id_tag))

    async def status(
        self,
        status: str,
        connector_id: int = 1,
        error_code: str = "NoError",
        info: str | None = None,
        timestamp: datetime | str | None = None,
    ) -> None:
        self.connector_status[connector_id] = status
        if not self.online:
            self.log.info("offline: connector %s is now %s (not sent)", connector_id, status)
            return
        self.log.info("connector %s: %s", connector_id, status)
        await self._call(
            call.StatusNotification(
                connector_id=connector_id,
                error_code=error_code,
                status=status,
                info=info,
                timestamp=iso_utc(timestamp),
            )
        )

    async def plug_in(self, connector_id: int = 1) -> None:
        self._plugged.add(connector_id)
        await self.status("Preparing", connector_id)

    async def unplug(self, connector_id: int = 1) -> None:
        if self.transaction_id is not None and self.tx_connector == connector_id:
            await self.stop_transaction(reason="EVDisconnected")
        self._plugged.discard(connector_id)
        await self.status(self._idle_status(connector_id), connector_id)

    async def start_transaction(
        self,
        id_tag: str = "TAG",
        connector_id: int = 1,
        meter_start: int | None = None,
        timestamp: datetime | str | None = None,
        *,
        reservation_id: int | None = None,
    ) -> int:
        """Start a transaction (no authorization here: see `present_card`).

        A reservation of the connector for `id_tag` (or `reservation_id`) is used up and its
        id sent along. If the answer's idTagInfo is not Accepted, the transaction is stopped
        at once with reason DeAuthorized (StopTransactionOnInvalidId, default true).
        """
        if not self.online:
            raise ConnectionError(f"{self.identity} cannot start a transaction while offline")
        if self.transaction_id is not None:
            raise RuntimeError(f"transaction {self.transaction_id} is still running")
        reservation = self._take_reservation(id_tag, connector_id, reservation_id)
        if meter_start is not None:
            self.register_wh = float(meter_start)
        elif not self.profile.lifetime_register:
            self.register_wh = 0.0
        reply = await self._call(
            call.StartTransaction(
                connector_id=connector_id,
                id_tag=id_tag,
                meter_start=round(self.register_wh),
                timestamp=iso_utc(timestamp),
                reservation_id=None if reservation is None else reservation.reservation_id,
            )
        )
        self.transaction_id = int(reply["transactionId"])
        self.id_tag = id_tag
        self.id_tag_status = reply.get("idTagInfo", {}).get("status")
        self.tx_connector = connector_id
        self._plugged.add(connector_id)
        self._recompute_limit()
        self.log.info("transaction %s started (%s)", self.transaction_id, self.id_tag_status)
        await self.status(self._charging_state(), connector_id)
        if self._must_deauthorize():
            self.log.info("transaction %s: tag not accepted, stopping", self.transaction_id)
            await self.stop_transaction(reason="DeAuthorized")
        return int(reply["transactionId"])

    async def _start_offline(self, id_tag: str, connector_id: int, parent: str | None) -> None:
        """Start a transaction while offline: StartTransaction waits in the offline queue."""
        if self.transaction_id is not None:
            raise RuntimeError(f"transaction {self.transaction_id} is still running")
        reservation = self._take_reservation(id_tag, connector_id, None, parent)
        if not self.profile.lifetime_register:
            self.register_wh = 0.0
        payload = call.StartTransaction(
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start=round(self.register_wh),
            timestamp=iso_utc(),
            reservation_id=None if reservation is None else reservation.reservation_id,
        )
        # A negative id until the central system assigns one on reconnect.
        self._offline_tx_count += 1
        local_id = -self._offline_tx_count
        self._offline_starts[id(payload)] = local_id
        self.offline_queue.append(payload)
        self.log.info("offline: transaction started for %s, StartTransaction queued", id_tag)
        self.transaction_id = local_id
        self.id_tag = id_tag
        self.id_tag_status = None
        self.tx_connector = connector_id
        self._plugged.add(connector_id)
        self._recompute_limit()
        await self.status(self._charging_state(), connector_id)

    async def present_card(self, id_tag: str, connector_id: int = 1, *, start: bool = False) -> str:
        """Hold an RFID card to the reader; returns the resulting status.

        Online the charger asks the central system (Authorize) and returns its
        idTagInfo.status. Offline it decides from the local authorization list (when
        LocalAuthListEnabled, and LocalAuthorizeOffline is not false): the entry's status
        ("Expired" past its expiryDate), "Invalid" for a tag not on it. An accepted card at
        a connector reserved for another tag returns `REFUSED`.

        With `start`, an accepted card at a plugged-in connector without a transaction
        starts one (queued while offline); the result is then the StartTransaction
        answer's status (a refused tag's transaction is stopped again: DeAuthorized).
        """
        if self.online:
            reply = await self.authorize(id_tag)
            info = reply.get("idTagInfo", {})
            status = str(info.get("status", "Invalid"))
            parent = info.get("parentIdTag")
        else:
            status, parent = self._offline_authorization(id_tag)
        self.log.info("card %s at connector %s: %s", id_tag, connector_id, status)
        if status != "Accepted":
            return status
        if not self.may_use(id_tag, parent, connector_id):
            self.log.info("connector %s is reserved for another tag", connector_id)
            return REFUSED
        if (
            not start
            or connector_id not in self._plugged
            or self.transaction_id is not None
            or not self.available
        ):
            return status
        if not self.online:
            await self._start_offline(id_tag, connector_id, parent)
            return status
        reservation = self._matching_reservation(id_tag, parent, connector_id)
        await self.start_transaction(
            id_tag,
            connector_id,
            reservation_id=None if reservation is None else reservation.reservation_id,
        )
        return self.id_tag_status or status

    async def meter_values(  # noqa: PLR0917
        self,
        power_w: float | None = None,
        energy_wh: float | None = None,
        connector_id: int = 1,
        timestamp: datetime | str | None = None,
        extra: list[dict[str, Any]] | None = None,
        transaction_id: int | EllipsisType | None = ...,
        *,
        context: str = "Sample.Periodic",
    ) -> None:
        """Send one full sample; without `energy_wh` the register advances by one interval."""
        if power_w is None:
            power_w = self.nominal_power_w()
        if energy_wh is None:
            self.register_wh += power_w * self.meter_interval / 3600
        else:
            self.register_wh = float(energy_wh)
        payload = call.MeterValues(
            connector_id=connector_id,
            transaction_id=self.transaction_id if transaction_id is ... else transaction_id,
            meter_value=[
                {
                    "timestamp": iso_utc(timestamp),
                    "sampledValue": [*self._sampled_values(power_w, context), *(extra or [])],
                }
            ],
        )
        await self._send_or_queue(payload)

    async def stop_transaction(
        self,
        reason: str = "Local",
        meter_stop: int | None = None,
        timestamp: datetime | str | None = None,
        transaction_data: list[Any] | None = None,
    ) -> dict[str, Any] | None:
        """Stop the running transaction; while offline it is queued and None is returned."""
        if self.transaction_id is None:
            raise RuntimeError("no transaction is running")
        if meter_stop is not None:
            self.register_wh = float(meter_stop)
        payload = call.StopTransaction(
            meter_stop=round(self.register_wh),
            timestamp=iso_utc(timestamp),
            transaction_id=self.transaction_id,
            reason=reason,
            id_tag=self.id_tag,
            transaction_data=transaction_data,
        )
        self.log.info("transaction %s stopped (%s)", self.transaction_id, reason)
        self.last_stop_reason = reason
        connector = self.tx_connector
        self.transaction_id = None
        self.id_tag = None
        self.charging_profiles = [
            p for p in self.charging_profiles if p["charging_profile_purpose"] != "TxProfile"
        ]
        self._recompute_limit()
        reply = await self._send_or_queue(payload)
        await self.status("Finishing", connector)
        if connector in self._pending_unavailable:
            await self._apply_availability([connector], operative=False)
        return reply

    async def charge(self, samples: int = 3, power_w: float = 11000.0, id_tag: str = "TAG") -> int:
        """Plug in, start a transaction and send `samples` meter values; returns the tx id."""
        await self.plug_in()
        transaction_id = await self.start_transaction(id_tag)
        for _ in range(samples):
            await self.meter_values(power_w)
        return transaction_id

    async def firmware_status(self, status: str) -> None:
        await self._call(call.FirmwareStatusNotification(status=status))

    async def diagnostics_status(self, status: str) -> None:
        await self._call(call.DiagnosticsStatusNotification(status=status))

    async def _apply_availability(self, connectors: Iterable[int], operative: bool) -> None:
        self.available = operative
        for connector in connectors:
            self._pending_unavailable.discard(connector)
            await self.status(self._idle_status(connector), connector)
