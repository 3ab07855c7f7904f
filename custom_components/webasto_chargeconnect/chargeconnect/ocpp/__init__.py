"""OCPP 1.6J central system."""

from .charger import Charger, ChargerOptions
from .ids import PersistentIdAllocator
from .server import CentralSystem, identity_from_path

__all__ = [
    "CentralSystem",
    "Charger",
    "ChargerOptions",
    "PersistentIdAllocator",
    "identity_from_path",
]
