"""OCPP 1.6J central system."""

from .charger import Charger, ChargerOptions
from .server import CentralSystem, PersistentIdAllocator, identity_from_path

__all__ = [
    "CentralSystem",
    "Charger",
    "ChargerOptions",
    "PersistentIdAllocator",
    "identity_from_path",
]
