"""Messages the actions send through a notify action: a share's invitation, an export.

The texts are in translations/<language>.json (``exceptions.notify_*``: the one translation
category every supported Home Assistant version loads for a custom integration, besides
``issues``), in Home Assistant's language when it is one of ours, English otherwise.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_get_translations

from ..const import DOMAIN
from .common import invalid

LANGUAGES = ("en", "nl", "de")


def language(hass: HomeAssistant) -> str:
    """Home Assistant's language if we have texts in it, else English."""
    lang = str(hass.config.language).split("-")[0]
    return lang if lang in LANGUAGES else "en"


async def async_texts(hass: HomeAssistant, lang: str) -> dict[str, str]:
    """The ``notify_*`` texts in ``lang`` (one of LANGUAGES), without the prefix."""
    strings = await async_get_translations(hass, lang, "exceptions", [DOMAIN])
    prefix = f"component.{DOMAIN}.exceptions.notify_"
    return {
        key.removeprefix(prefix).removesuffix(".message"): text
        for key, text in strings.items()
        if key.startswith(prefix)
    }


async def async_notify(
    hass: HomeAssistant,
    service: str,
    *,
    title: str,
    message: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Send a message through the notify action ``service`` (``notify.<name>``)."""
    domain, name = service.split(".", 1)
    if not hass.services.has_service(domain, name):
        raise invalid("notify_not_found", service=service)
    payload: dict[str, Any] = {"title": title, "message": message}
    if data:
        payload["data"] = data
    try:
        await hass.services.async_call(domain, name, payload, blocking=True)
    except HomeAssistantError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="notify_failed",
            translation_placeholders={"service": service, "error": str(err)},
        ) from err
