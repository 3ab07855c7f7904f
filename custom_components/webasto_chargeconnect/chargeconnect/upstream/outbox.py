"""What waits for the backend, in the order the charger sent it, and what of it may be lost.

The backend is never waited for: every Call the charger sent and we answered is put here and
sent up when the link gets to it. Decides:

- Billing messages (StartTransaction, MeterValues of a transaction, StopTransaction) wait,
  in order, until the backend answered them: across outages and restarts (they are stored).
- Other messages are queued only while connected and are dropped when the connection goes;
  the backend gets the latest BootNotification and StatusNotification on reconnect instead.
- A StartTransaction we gave no transaction id is not forwarded.
- Beyond ``max_queue`` billing messages the oldest MeterValues make room (never the one being
  sent, never a start or a stop); said once per connection.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import logging
from typing import Any

# Messages whose loss would falsify the backend's billing: queued and persisted.
BILLING = frozenset({"StartTransaction", "MeterValues", "StopTransaction"})


def is_billing(action: str, payload: dict[str, Any]) -> bool:
    """Whether losing this message would falsify the backend's billing."""
    if action == "MeterValues":
        return payload.get("transactionId") is not None
    return action in BILLING


@dataclass
class Message:
    """One Call of the charger on its way up."""

    seq: int
    action: str
    payload: dict[str, Any]
    tx: int | None  # our transaction id (billing messages)
    billing: bool


def _our_id(value: Any) -> int | None:
    return value if isinstance(value, int) else None


class Outbox:
    """The messages for the backend, oldest first."""

    def __init__(self, max_queue: int, logger: logging.Logger, name: str) -> None:
        self.max_queue = max_queue
        self._logger = logger
        self._name = name
        self._queue: deque[Message] = deque()
        self.next_seq = 1
        # The message being sent (never trimmed away under the sender).
        self._in_flight: Message | None = None
        self._trim_logged = False

    def __len__(self) -> int:
        return len(self._queue)

    def sending(self) -> Message | None:
        """The oldest message, to send now: it stays first, and is not trimmed, until sent."""
        self._in_flight = self._queue[0] if self._queue else None
        return self._in_flight

    def add(
        self, action: str, payload: dict[str, Any], answer: dict[str, Any], *, connected: bool
    ) -> Message | None:
        """Queue a Call the charger sent and we answered with ``answer``; None: dropped."""
        billing = is_billing(action, payload)
        if not billing and not connected:
            return None
        tx: int | None = None
        if action == "StartTransaction":
            tx = _our_id(answer.get("transactionId"))
            if tx is None:
                return None
        elif billing:
            tx = _our_id(payload.get("transactionId"))
        message = Message(self.next_seq, action, payload, tx, billing)
        self._queue.append(message)
        self.next_seq += 1
        if billing:
            self._trim()
        return message

    def sent(self, message: Message) -> None:
        """``message`` was sent (answered, or given up on): it leaves the queue."""
        self._in_flight = None
        if self._queue and self._queue[0] is message:
            self._queue.popleft()

    def connected(self) -> None:
        """A new connection: a trimmed queue is said again."""
        self._trim_logged = False

    def disconnected(self) -> None:
        """The connection is gone: only billing messages wait for the next one."""
        self._in_flight = None
        self._queue = deque(message for message in self._queue if message.billing)

    def _trim(self) -> None:
        billing = sum(1 for message in self._queue if message.billing)
        while billing > self.max_queue:
            victim = next(
                (
                    message
                    for message in self._queue
                    if message.action == "MeterValues" and message is not self._in_flight
                ),
                None,
            )
            if victim is None:
                return
            self._queue.remove(victim)
            billing -= 1
            if not self._trim_logged:
                self._trim_logged = True
                self._logger.warning(
                    "%s: more than %s messages wait for the backend; dropping the oldest "
                    "MeterValues (transaction starts and stops are kept)",
                    self._name,
                    self.max_queue,
                )

    # ------------------------------------------------------------ persistence
    def clear(self) -> None:
        """Forget every message (the sequence goes on)."""
        self._queue.clear()

    def load(self, data: dict[str, Any]) -> None:
        """Add the billing messages that :meth:`to_storage` wrote."""
        for item in data.get("queue", []):
            if isinstance(item, dict) and isinstance(item.get("payload"), dict):
                self._queue.append(
                    Message(
                        int(item.get("seq", 0)),
                        str(item["action"]),
                        item["payload"],
                        item.get("tx"),
                        billing=True,
                    )
                )
        seqs = [message.seq for message in self._queue]
        self.next_seq = max([int(data.get("next_seq", 1)), *(s + 1 for s in seqs)])

    def to_storage(self) -> dict[str, Any]:
        """The billing messages as JSON (what survives a restart)."""
        return {
            "next_seq": self.next_seq,
            "queue": [
                {
                    "seq": message.seq,
                    "action": message.action,
                    "payload": message.payload,
                    "tx": message.tx,
                }
                for message in self._queue
                if message.billing
            ],
        }
