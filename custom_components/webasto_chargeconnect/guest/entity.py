"""The owner's view of guest access: a sensor of who may charge here and who accepted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorEntity, SensorEntityDescription

from ..entity import ChargeConnectEntity

GUESTS = SensorEntityDescription(key="guests", translation_key="guests")


class GuestsSensor(ChargeConnectEntity, SensorEntity):
    """How many people may charge here by share or group invitation (accepted ones); the
    attribute ``people`` lists each with how, until when and whether they accepted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._requires_online = False  # Home Assistant's own records, not the charger's

    def _people(self) -> list[dict[str, Any]]:
        return [
            {
                "name": g.name,
                "via": g.via,
                "accepted": g.accepted,
                "until": None if g.until is None else g.until.isoformat(),
                "link_issued": g.link_issued is not None,
            }
            for g in self.owner.access.guests(self.charger.identity)
        ]

    @property
    def native_value(self) -> int:
        """The people who may charge here now (members only once they accepted)."""
        return sum(1 for person in self._people() if person["accepted"])

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Everyone with a share or an invitation, accepted or not."""
        return {"people": self._people()}

    def state_signature(self) -> object:
        """The list is the state."""
        return repr(self._people())
