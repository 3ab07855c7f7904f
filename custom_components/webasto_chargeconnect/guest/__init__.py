"""The guest page on Home Assistant's own web server: personal links and Scan & Charge.

``async_setup_guest`` registers the views once per Home Assistant (from ``async_setup``;
views cannot be unregistered, so without a loaded charger entry they answer 404). The
contract between the views and the page (``static/``) is the HTTP API described in the
README; :mod:`.portal` holds the glue (who is asking, what they see, start and stop), the
decisions are the library's (``chargeconnect.access.guest``).
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from .portal import BASE_PATH, GuestPortal
from .views import VIEWS

GUEST: HassKey[GuestPortal] = HassKey(f"{DOMAIN}_guest")

__all__ = ["BASE_PATH", "async_setup_guest", "charger_link", "personal_link"]


@callback
def async_setup_guest(hass: HomeAssistant) -> None:
    """Serve the guest page and its API (once per Home Assistant)."""
    if GUEST in hass.data:
        return
    portal = hass.data[GUEST] = GuestPortal(hass)
    for view in VIEWS:
        hass.http.register_view(view(portal))


def _base(hass: HomeAssistant) -> str:
    """Home Assistant's external URL if it has one, else its internal one ("" if neither)."""
    try:
        return get_url(hass, prefer_external=True, allow_cloud=False)
    except NoURLAvailableError:
        return ""


def personal_link(hass: HomeAssistant, token: str) -> str:
    """The link of a share or member: the token in the fragment (never sent to a server)."""
    return f"{_base(hass)}{BASE_PATH}#{token}"


def charger_link(hass: HomeAssistant, code: str) -> str:
    """The Scan & Charge link of a charger (its QR sticker)."""
    return f"{_base(hass)}{BASE_PATH}/c/{code}"
