"""What a charger reports that outlives the moment: sessions, their samples, plug-out.

The :class:`~.charger.Charger` hands these to its event listeners in the order the
charger's messages arrived; the session recorder turns them into ledger rows.
:class:`ChargerListeners` keeps who listens (changes, answered calls, these events).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
import logging
from typing import Any

from ..callbacks import Callbacks
from ..models import Transaction


@dataclass(frozen=True)
class MeterSample:
    """One MeterValue of a session: the power curve's point."""

    timestamp: datetime
    power_w: float | None = None
    current_a: dict[str, float] = field(default_factory=dict)
    register_wh: float | None = None


@dataclass(frozen=True)
class TransactionStarted:
    """StartTransaction arrived; ``plug_in_time`` is when the vehicle was connected."""

    transaction: Transaction
    plug_in_time: datetime | None


@dataclass(frozen=True)
class TransactionSamples:
    """MeterValues for a transaction (possibly late, after its stop)."""

    transaction_id: int
    samples: tuple[MeterSample, ...]


@dataclass(frozen=True)
class TransactionStopped:
    """StopTransaction arrived, or a lost transaction was closed."""

    transaction: Transaction


@dataclass(frozen=True)
class PluggedOut:
    """The connector went back to Available: the vehicle left."""

    connector_id: int
    time: datetime


@dataclass(frozen=True)
class MeterChanged:
    """The energy register continued from another value: the meter was replaced or reset.

    The lifetime total counts on from ``new_wh`` without adding the step (see
    :mod:`..energy`); the owner may want to check the charger.
    """

    previous_wh: float
    new_wh: float
    time: datetime


ChargerEvent = (
    TransactionStarted | TransactionSamples | TransactionStopped | PluggedOut | MeterChanged
)

# Called after every change of a charger.
Listener = Callable[[], None]
# (action, payload as received, our answer) for every Call from the charger we answered.
CallObserver = Callable[[str, dict[str, Any], dict[str, Any]], None]
EventListener = Callable[[ChargerEvent], None]
# Decides on an id tag: (id_tag, the message that presented it) -> OCPP IdTagInfo.
Authorizer = Callable[[str, str], Awaitable[dict[str, Any]]]


class ChargerListeners:
    """Who hears about one charger: change listeners, call observers and event listeners."""

    def __init__(self, identity: str, logger: logging.Logger) -> None:
        self._listeners: Callbacks[[]] = Callbacks(logger, f"{identity}: a listener")
        self._call_observers: Callbacks[[str, dict[str, Any], dict[str, Any]]] = Callbacks(
            logger, f"{identity}: a call observer"
        )
        self._event_listeners: Callbacks[[ChargerEvent]] = Callbacks(
            logger, f"{identity}: an event listener"
        )

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every change; returns a function that removes it."""
        return self._listeners.add(listener)

    def add_call_observer(self, observer: CallObserver) -> Callable[[], None]:
        """Call ``observer`` after every Call from the charger that we answered.

        Used by forwarding: the charger's messages and our answers, in arrival order.
        Returns a function that removes the observer.
        """
        return self._call_observers.add(observer)

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Receive session events (start, samples, stop, plug-out) in arrival order."""
        return self._event_listeners.add(listener)

    def _emit(self, event: ChargerEvent) -> None:
        self._event_listeners(event)

    def _observe_call(self, action: str, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        self._call_observers(action, payload, answer)

    def _notify(self) -> None:
        self._listeners()
