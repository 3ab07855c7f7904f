"""Messages the link writes for the backend itself, from what the charger told us before.

- On every (re)connect the backend is told the charger's current state: a BootNotification,
  then one StatusNotification per connector (in connector order). The charger's own latest
  ones are used when it sent them since the link started; otherwise, or for a connector it
  said nothing of, they are built from our model of the charger (after a restart, or when
  forwarding starts while the charger is already up). Without a known vendor and model
  there is no BootNotification to give, and nothing is announced.
- A transaction the backend never saw start (forwarding began mid-session) is started from
  our record of it, so that its MeterValues and StopTransaction can follow.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from ..models import ConnectorStatus
from ..timeutil import format_ocpp_time

if TYPE_CHECKING:
    from ..ocpp.charger import Charger


class Announcements:
    """The charger's latest BootNotification and StatusNotifications, for the next connect."""

    def __init__(self, charger: Charger) -> None:
        self.charger = charger
        self._boot: dict[str, Any] | None = None
        self._status: dict[int, dict[str, Any]] = {}

    def note(self, action: str, payload: dict[str, Any]) -> None:
        """The charger sent ``action``: remember it if it is part of its state."""
        if action == "BootNotification":
            self._boot = payload
        elif action == "StatusNotification":
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._status[int(payload["connectorId"])] = payload

    def boot(self) -> dict[str, Any] | None:
        """The BootNotification to announce (None: we know too little to give one)."""
        return self._boot or self._synthesized_boot()

    def statuses(self) -> list[dict[str, Any]]:
        """The StatusNotifications to announce, by connector."""
        statuses = self._synthesized_statuses()
        statuses.update(self._status)
        return [statuses[connector_id] for connector_id in sorted(statuses)]

    def _synthesized_boot(self) -> dict[str, Any] | None:
        info = self.charger.info
        if not info.vendor or not info.model:
            return None
        fields = {
            "chargePointVendor": info.vendor,
            "chargePointModel": info.model,
            "chargePointSerialNumber": info.serial,
            "chargeBoxSerialNumber": info.charge_box_serial,
            "firmwareVersion": info.firmware,
            "iccid": info.iccid,
            "imsi": info.imsi,
            "meterType": info.meter_type,
            "meterSerialNumber": info.meter_serial,
        }
        return {k: v for k, v in fields.items() if v}

    def _synthesized_statuses(self) -> dict[int, dict[str, Any]]:
        statuses: dict[int, dict[str, Any]] = {}
        for connector_id, state in self.charger.connectors.items():
            if state.status is ConnectorStatus.UNKNOWN:
                continue
            payload: dict[str, Any] = {
                "connectorId": connector_id,
                "errorCode": state.error_code or "NoError",
                "status": state.status.value,
            }
            if state.info:
                payload["info"] = state.info
            if state.vendor_error_code:
                payload["vendorErrorCode"] = state.vendor_error_code
            if state.timestamp is not None:
                payload["timestamp"] = format_ocpp_time(state.timestamp)
            statuses[connector_id] = payload
        return statuses


def start_from_record(charger: Charger, ours: int) -> dict[str, Any] | None:
    """A StartTransaction for our transaction ``ours`` (None: we have no record of it)."""
    tx = charger.transactions.get(ours)
    last = charger.last_transaction
    if tx is None and last is not None and last.transaction_id == ours:
        tx = last
    if tx is None:
        return None
    payload: dict[str, Any] = {
        "connectorId": tx.connector_id,
        "idTag": tx.id_tag,
        "meterStart": round(tx.meter_start_wh),
        "timestamp": format_ocpp_time(tx.start_time),
    }
    if tx.reservation_id is not None:
        payload["reservationId"] = tx.reservation_id
    return payload
