"""The owner's view of guest access: who may charge at a charger and who accepted.

Read by the ``guests`` sensor (its state is the count of people who may charge now, its
attribute ``people`` lists everyone with a share or an invitation).
"""

from __future__ import annotations

from typing import Any

from ..coordinator import ChargeConnectRuntimeData


def guest_people(data: ChargeConnectRuntimeData) -> dict[str, Any]:
    """Everyone with a share or an invitation here: how, until when, accepted or not."""
    return {
        "people": [
            {
                "name": g.name,
                "via": g.via,
                "accepted": g.accepted,
                "until": None if g.until is None else g.until.isoformat(),
                "link_issued": g.link_issued is not None,
            }
            for g in data.owner.access.guests(data.charger.identity)
        ]
    }


def guest_count(data: ChargeConnectRuntimeData) -> int:
    """The people who may charge here now (members only once they accepted)."""
    return sum(1 for g in data.owner.access.guests(data.charger.identity) if g.accepted)
