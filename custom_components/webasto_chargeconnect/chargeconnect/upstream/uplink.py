"""Charger -> backend: how each message goes up, rewritten for the backend, over one connection.

We stay the authority: the charger already has our answer, so the backend's answer is only
used to learn. Decides:

- The charger's own payload goes up; only ``transactionId`` is rewritten to the backend's id.
- StartTransaction: the backend's answer gives its transaction id (a refusal is logged at
  info level: we accepted the session, the backend's opinion changes nothing here).
- MeterValues and StopTransaction of a transaction the backend never saw start: it is
  started from our record first; of one the backend has no id for: not forwarded (a
  warning). A forwarded StopTransaction finishes the mapping.
- BootNotification: the answer's interval sets the Heartbeat interval; a status other than
  Accepted is reported.
- A CallError is logged and reported as the link's last error, and the message counts as
  done: it is not sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import logging
from typing import TYPE_CHECKING, Any

from .announce import Announcements, start_from_record
from .backend import Backend, UpstreamCallError
from .outbox import Message
from .transactions import TransactionMap

if TYPE_CHECKING:
    from ..ocpp.charger import Charger


@dataclass(kw_only=True, eq=False)
class Uplink:
    """Sends the charger's messages to the backend on one connection."""

    backend: Backend
    charger: Charger
    transactions: TransactionMap
    logger: logging.Logger
    report: Callable[[str], None]  # the link's last error
    answered: Callable[[], None]  # the backend answered one of our Calls
    mapped: Callable[[], None]  # the transaction map changed
    # The backend's heartbeat interval (s), from its answer to BootNotification.
    _heartbeat_interval: float | None = field(default=None, init=False)
    # Loop time at which the last answered Call left.
    _last_sent: float = field(default=0.0, init=False)

    def idle_timeout(self, now: float) -> float | None:
        """Seconds until a Heartbeat is due at loop time ``now`` (None: never)."""
        if not self._heartbeat_interval:
            return None
        return max(0.0, self._last_sent + self._heartbeat_interval - now)

    async def heartbeat(self) -> None:
        """Keep the link alive."""
        await self._send_checked("Heartbeat", {})

    async def announce(self, announcements: Announcements) -> None:
        """On connect: BootNotification, then the current status of every connector."""
        boot = announcements.boot()
        if boot is None:
            return
        await self._send_boot(boot)
        for status in announcements.statuses():
            await self._send_checked("StatusNotification", status)

    async def send(self, message: Message) -> None:
        """Send one queued message, rewritten for the backend."""
        action, payload, ours = message.action, message.payload, message.tx
        if action == "StartTransaction" and ours is not None:
            self._started(ours, await self._send_checked(action, payload))
            return
        if action in ("MeterValues", "StopTransaction") and ours is not None:
            if ours not in self.transactions:
                await self._start_from_record(ours)
            theirs = self.transactions.theirs(ours)
            if theirs is None:
                self.logger.warning(
                    "%s: %s of transaction %s not forwarded: the backend has no id for it",
                    self.charger.identity,
                    action,
                    ours,
                )
                return
            await self._send_checked(action, {**payload, "transactionId": theirs})
            if action == "StopTransaction":
                self.transactions.finish(ours)
                self.mapped()
            return
        if action == "BootNotification":
            await self._send_boot(payload)
            return
        await self._send_checked(action, payload)

    def _started(self, ours: int, answer: dict[str, Any] | None) -> None:
        self.transactions.started(ours, answer)
        if answer is not None:
            status = (answer.get("idTagInfo") or {}).get("status")
            if status != "Accepted":
                self.logger.info(
                    "%s: the backend answered StartTransaction %s with %s (we accepted it)",
                    self.charger.identity,
                    ours,
                    status,
                )
        self.mapped()

    async def _start_from_record(self, ours: int) -> None:
        payload = start_from_record(self.charger, ours)
        if payload is None:
            self.transactions.started(ours, None)
            self.mapped()
            return
        self.logger.info(
            "%s: telling the backend about transaction %s it never saw start",
            self.charger.identity,
            ours,
        )
        self._started(ours, await self._send_checked("StartTransaction", payload))

    async def _send_boot(self, payload: dict[str, Any]) -> None:
        answer = await self._send_checked("BootNotification", payload)
        if answer is None:
            return
        status = answer.get("status")
        interval = answer.get("interval")
        if isinstance(interval, int | float) and interval > 0:
            self._heartbeat_interval = float(interval)
        if status != "Accepted":
            self.logger.warning(
                "%s: the backend answered BootNotification with %s", self.charger.identity, status
            )
            self.report(f"The backend answered BootNotification with {status}")

    async def _send_checked(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Send and wait; a CallError is logged (we stay the authority) and None returned."""
        try:
            answer = await self.backend.call(action, payload)
        except UpstreamCallError as err:
            self.logger.warning(
                "%s: the backend refused %s: %s %s",
                self.charger.identity,
                action,
                err.code,
                err.description,
            )
            self.report(f"The backend answered {action} with CallError {err.code}")
            return None
        self._last_sent = self.backend.last_call_time or 0.0
        self.answered()
        return answer
