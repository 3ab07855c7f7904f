"""Handlers for the calls a central system sends to the simulated charger.

Every handler only decides the answer; anything the charger does afterwards (sending
StatusNotifications, starting a transaction, rebooting...) is registered with
`AnsweringCharger.after_reply` and runs once the response is on the wire.
`AnsweringCharger` is all this module needs of the charger; `SimulatedCharger`
(`charger.py`) satisfies it, and this module does not import it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
import logging
from typing import Any, Protocol, cast

from ocpp.routing import on as _on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action

# Something the charger does once the answer to a call has been sent.
type Followup = Callable[[], Coroutine[Any, Any, None]]


class _Connection(Protocol):
    async def send(self, text: str) -> None: ...

    async def recv(self) -> str: ...


class AnsweringCharger(Protocol):
    """The charger as the session sees it: its identity, knobs, and one method per answer."""

    identity: str
    call_timeout: float
    log: logging.Logger
    # Action -> status that replaces the natural answer (a test knob).
    reply_to: dict[str, str]
    transaction_id: int | None
    available: bool
    connectors: int

    @property
    def serial_number(self) -> str: ...

    def after_reply(self, followup: Followup) -> None: ...

    def read_configuration(
        self, keys: list[str] | None
    ) -> tuple[list[dict[str, Any]], list[str]]: ...

    def change_configuration(self, key: str, value: str) -> str: ...

    def trigger(self, message: str, connector_id: int | None) -> Followup | None: ...

    def may_use(self, id_tag: str, parent: str | None, connector_id: int) -> bool: ...

    async def remote_start(
        self, id_tag: str, connector_id: int, profile: dict[str, Any] | None
    ) -> None: ...

    async def stop_transaction(self, reason: str = "Local") -> dict[str, Any] | None: ...

    async def reboot(self, kind: str) -> None: ...

    async def unlock(self, connector_id: int) -> None: ...

    def change_availability(self, connector_id: int, kind: str) -> str: ...

    def set_charging_profile(self, connector_id: int, profile: dict[str, Any]) -> str: ...

    def clear_charging_profiles(
        self,
        profile_id: int | None,
        connector_id: int | None,
        purpose: str | None,
        stack_level: int | None,
    ) -> str: ...

    async def apply_limit(self) -> None: ...

    async def update_firmware(self) -> None: ...

    async def upload_diagnostics(self) -> None: ...

    def send_local_list(
        self, version: int, update_type: str, entries: list[dict[str, Any]]
    ) -> str: ...

    def get_local_list_version(self) -> int: ...

    def reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
    ) -> str: ...

    def cancel_reservation(self, reservation_id: int) -> str: ...


def on[F: Callable[..., Any]](action: Action) -> Callable[[F], F]:
    """ocpp's `@on`, typed."""
    return cast(Callable[[F], F], _on(action))


class ChargePointSession(ChargePoint):  # type: ignore[misc]
    """The ocpp ChargePoint of one websocket connection, answering on behalf of `sim`."""

    def __init__(self, sim: AnsweringCharger, connection: _Connection) -> None:
        super().__init__(
            sim.identity,
            connection,
            response_timeout=sim.call_timeout,
            logger=logging.getLogger("webasto_sim.frames"),
        )
        self.sim = sim

    def _answer(self, action: str, status: str, then: Followup | None = None) -> str:
        """Apply `sim.reply_to` overrides; run `then` only if the natural answer is kept."""
        answer = self.sim.reply_to.get(action, status)
        if then is not None and answer == status:
            self.sim.after_reply(then)
        return answer

    @on(Action.get_configuration)
    def on_get_configuration(
        self, key: list[str] | None = None, **_: Any
    ) -> call_result.GetConfiguration:
        known, unknown = self.sim.read_configuration(key)
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        status = self.sim.reply_to.get("ChangeConfiguration") or self.sim.change_configuration(
            key, value
        )
        return call_result.ChangeConfiguration(status=status)

    @on(Action.trigger_message)
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        followup = self.sim.trigger(requested_message, connector_id)
        natural = "Accepted" if followup is not None else "NotImplemented"
        return call_result.TriggerMessage(status=self._answer("TriggerMessage", natural, followup))

    @on(Action.remote_start_transaction)
    def on_remote_start_transaction(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        sim = self.sim
        connector = connector_id or 1
        if (
            sim.transaction_id is None
            and sim.available
            and connector <= sim.connectors
            and sim.may_use(id_tag, None, connector)
        ):

            async def start() -> None:
                await sim.remote_start(id_tag, connector, charging_profile)

            status = self._answer("RemoteStartTransaction", "Accepted", start)
        else:
            status = self._answer("RemoteStartTransaction", "Rejected")
        return call_result.RemoteStartTransaction(status=status)

    @on(Action.remote_stop_transaction)
    def on_remote_stop_transaction(self, transaction_id: int, **_: Any) -> Any:
        sim = self.sim

        async def stop() -> None:
            await sim.stop_transaction(reason="Remote")

        if sim.transaction_id is not None and transaction_id == sim.transaction_id:
            status = self._answer("RemoteStopTransaction", "Accepted", stop)
        else:
            status = self._answer("RemoteStopTransaction", "Rejected")
        return call_result.RemoteStopTransaction(status=status)

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> Any:
        sim = self.sim

        async def reboot() -> None:
            await sim.reboot(type)

        return call_result.Reset(status=self._answer("Reset", "Accepted", reboot))

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any) -> Any:
        sim = self.sim
        if not 1 <= connector_id <= sim.connectors:
            return call_result.UnlockConnector(
                status=self._answer("UnlockConnector", "NotSupported")
            )

        async def unlock() -> None:
            await sim.unlock(connector_id)

        return call_result.UnlockConnector(
            status=self._answer("UnlockConnector", "Unlocked", unlock)
        )

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        status = self.sim.reply_to.get("ChangeAvailability") or self.sim.change_availability(
            connector_id, type
        )
        return call_result.ChangeAvailability(status=status)

    @on(Action.set_charging_profile)
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> Any:
        sim = self.sim
        status = sim.reply_to.get("SetChargingProfile") or sim.set_charging_profile(
            connector_id, cs_charging_profiles
        )
        if status == "Accepted":
            sim.after_reply(sim.apply_limit)
        return call_result.SetChargingProfile(status=status)

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
        **_: Any,
    ) -> Any:
        sim = self.sim
        status = sim.reply_to.get("ClearChargingProfile") or sim.clear_charging_profiles(
            id, connector_id, charging_profile_purpose, stack_level
        )
        sim.after_reply(sim.apply_limit)
        return call_result.ClearChargingProfile(status=status)

    @on(Action.update_firmware)
    def on_update_firmware(self, location: str, retrieve_date: str, **_: Any) -> Any:
        self.sim.log.info("firmware update from %s requested", location)
        self.sim.after_reply(self.sim.update_firmware)
        return call_result.UpdateFirmware()

    @on(Action.get_diagnostics)
    def on_get_diagnostics(self, location: str, **_: Any) -> Any:
        self.sim.after_reply(self.sim.upload_diagnostics)
        return call_result.GetDiagnostics(file_name=f"diagnostics-{self.sim.serial_number}.log")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        return call_result.DataTransfer(status=self._answer("DataTransfer", "Accepted"))

    @on(Action.send_local_list)
    def on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        status = self.sim.reply_to.get("SendLocalList") or self.sim.send_local_list(
            list_version, update_type, local_authorization_list or []
        )
        return call_result.SendLocalList(status=status)

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        return call_result.GetLocalListVersion(list_version=self.sim.get_local_list_version())

    @on(Action.reserve_now)
    def on_reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
        **_: Any,
    ) -> Any:
        status = self.sim.reply_to.get("ReserveNow") or self.sim.reserve_now(
            connector_id, expiry_date, id_tag, reservation_id, parent_id_tag
        )
        return call_result.ReserveNow(status=status)

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        status = self.sim.reply_to.get("CancelReservation") or self.sim.cancel_reservation(
            reservation_id
        )
        return call_result.CancelReservation(status=status)
