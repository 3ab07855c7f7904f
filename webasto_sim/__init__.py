"""A Webasto-flavoured OCPP 1.6J charge-point simulator (aiohttp websocket client)."""

from .actions import REFUSED
from .charger import SimulatedCharger
from .profiles import PROFILES, Profile
from .state import Reservation
from .wire import ReceivedCall, basic_auth, iso_utc

__all__ = [
    "PROFILES",
    "REFUSED",
    "Profile",
    "ReceivedCall",
    "Reservation",
    "SimulatedCharger",
    "basic_auth",
    "iso_utc",
]
