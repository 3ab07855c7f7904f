"""A Webasto-flavoured OCPP 1.6J charge-point simulator (aiohttp websocket client)."""

from .charger import ReceivedCall, SimulatedCharger, iso_utc
from .profiles import PROFILES, Profile

__all__ = ["PROFILES", "Profile", "ReceivedCall", "SimulatedCharger", "iso_utc"]
