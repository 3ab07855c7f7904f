"""The card event: fires for every RFID card or tag presented at the charger."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CARD_EVENT_TYPES
from .coordinator import ChargeConnectConfigEntry
from .entity import ChargeConnectEntity, ChargeConnectEntityDescription, async_add_when_supported
from .owner import CardEvent

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ChargeConnectEventDescription(ChargeConnectEntityDescription, EventEntityDescription):
    """An event of the charger."""


# The last card presented stays shown while the charger is offline.
CARD = ChargeConnectEventDescription(
    key="card",
    translation_key="card",
    event_types=CARD_EVENT_TYPES,
    requires_online=False,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargeConnectConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the card event."""
    coordinator = entry.runtime_data.coordinator
    async_add_when_supported(
        entry,
        async_add_entities,
        (CARD,),
        lambda description: ChargeConnectCardEvent(coordinator, description),
    )


class ChargeConnectCardEvent(ChargeConnectEntity, EventEntity):
    """A card was presented: accepted, blocked, expired, invalid or learned."""

    entity_description: ChargeConnectEventDescription

    async def async_added_to_hass(self) -> None:
        """Listen for cards."""
        await super().async_added_to_hass()
        self.async_on_remove(self.owner.add_card_listener(self._on_card))

    @callback
    def _on_card(self, card: CardEvent) -> None:
        self._trigger_event(
            card.event_type,
            {
                "id_tag": card.id_tag,
                "alias": card.alias,
                "reason": card.reason,
                "message": card.source,
            },
        )
        self.async_write_ha_state()
