"""When a charger's message happened: its own timestamp where sane, else its arrival.

What a wrong clock means here (chargers boot with 1970 or 2000, drift, or send local time
as UTC):

- The charger's timestamp is kept when it is plausible (:func:`~..timeutil.is_plausible`:
  not before 2015, not more than five minutes after it arrived). Otherwise, and when it is
  missing or unreadable (``9999-12-31T23:59:59-01:00`` has no UTC time), the message is
  dated when it arrived, as an :class:`~..timeutil.ArrivalTime`.
- Live messages change the state in the order they arrive. Only a message with a plausible
  timestamp older than the charger's own timestamp of what we hold already (for the same
  connector, or for the meter) counts as queued while offline (:func:`is_stale`): it is
  archived, but does not overrule the state or count energy twice. An arrival time never
  makes anything look old.
- A BootNotification starts the charger's clock afresh (it may have reset). The timestamps
  compared are kept in memory (the energy one also on disk): after a Home Assistant
  restart, the first status is taken as live.

So a message dated 2099 is taken as arriving now and blocks nothing; one dated a few
minutes ahead can hold back messages for at most those minutes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from ..timeutil import ArrivalTime, parse_ocpp_time, plausible_time


class Rejected(StrEnum):
    """Why a charger's timestamp was not used."""

    UNREADABLE = "unreadable"
    IMPLAUSIBLE = "implausible"


def message_time(value: Any, received: datetime) -> tuple[datetime, Rejected | None]:
    """The moment a message with timestamp ``value`` that arrived at ``received`` happened.

    The second item says why a timestamp that was sent was not used (None: it was used,
    or none was sent).
    """
    claimed: datetime | None = None
    rejected: Rejected | None = None
    if isinstance(value, str):
        try:
            claimed = parse_ocpp_time(value)
        except ValueError:
            rejected = Rejected.UNREADABLE
    moment = plausible_time(claimed, received)
    if claimed is not None and isinstance(moment, ArrivalTime):
        rejected = Rejected.IMPLAUSIBLE
    return moment, rejected


def is_stale(timestamp: datetime, last_claim: datetime | None) -> bool:
    """True for a message dated by the charger before what it already told us."""
    return (
        not isinstance(timestamp, ArrivalTime) and last_claim is not None and timestamp < last_claim
    )
