"""Webasto ChargeConnect library: an OCPP 1.6J central system for Webasto chargers.

This package has no Home Assistant imports; the integration around it is glue.
"""

from .exceptions import (
    CallErrorResponse,
    CallRejectedError,
    CallTimeoutError,
    ChargeConnectError,
    ChargerOfflineError,
    InvalidArgumentError,
    NotSupportedByChargerError,
    ServerStartError,
)
from .models import ChargerModel, ConnectorStatus, Transaction
from .ocpp import CentralSystem, Charger, ChargerOptions, PersistentIdAllocator
from .storage import JsonFileStore, MemoryStore, StateStore

__all__ = [
    "CallErrorResponse",
    "CallRejectedError",
    "CallTimeoutError",
    "CentralSystem",
    "ChargeConnectError",
    "Charger",
    "ChargerModel",
    "ChargerOfflineError",
    "ChargerOptions",
    "ConnectorStatus",
    "InvalidArgumentError",
    "JsonFileStore",
    "MemoryStore",
    "NotSupportedByChargerError",
    "PersistentIdAllocator",
    "ServerStartError",
    "StateStore",
    "Transaction",
]
