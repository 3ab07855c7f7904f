"""A Webasto-flavoured OCPP 1.6J charge-point simulator (aiohttp websocket client)."""

from .charger import REFUSED, ReceivedCall, Reservation, SimulatedCharger, basic_auth, iso_utc
from .profiles import PROFILES, Profile

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
