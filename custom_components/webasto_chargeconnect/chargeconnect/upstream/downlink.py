"""Backend -> charger: which of the backend's Calls reach the charger, and rewritten how.

Decides, in this order:

- A payload that is not a JSON object: FormationViolation.
- Remote control switched off by the owner: SecurityError (not NotSupported: the charger
  does support the action, and the owner may switch control back on at any time).
- Only the Calls a central system may send reach the charger: another OCPP 1.6 action is
  NotSupported, an unknown one NotImplemented.
- ChangeConfiguration of a key that decides how the charger reaches US
  (:data:`PROTECTED_KEYS`) is Rejected here and never sent on: it would lock Home
  Assistant out.
- RemoteStopTransaction and a SetChargingProfile for a transaction carry the backend's
  transaction id: it is mapped to ours, and a transaction we cannot map is Rejected without
  bothering the charger.
- The charger's answer goes back as it is; its CallError with the same code; a charger that
  is offline or does not answer in time is a GenericError that says so.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from ..exceptions import (
    CallErrorResponse,
    CallTimeoutError,
    ChargeConnectError,
    ChargerOfflineError,
)
from ..ocpp import validation
from .backend import UpstreamCallError
from .transactions import TransactionMap

if TYPE_CHECKING:
    from ..ocpp.charger import Charger

# Configuration keys that decide how the charger reaches US: never changed from upstream.
PROTECTED_KEYS = frozenset({"authorizationkey", "securityprofile"})


async def answer_backend_call(
    charger: Charger,
    transactions: TransactionMap,
    action: str,
    payload: Any,
    *,
    allow_control: bool,
    logger: logging.Logger,
) -> dict[str, Any]:
    """The answer to a Call from the backend; raises :class:`UpstreamCallError` for a CallError."""
    identity = charger.identity
    if not isinstance(payload, dict):
        raise UpstreamCallError("FormationViolation", "The payload must be a JSON object")
    if not allow_control:
        logger.warning(
            "%s: refused %s from the backend: remote control is switched off", identity, action
        )
        raise UpstreamCallError(
            "SecurityError", "Remote control through this backend is switched off"
        )
    if action not in validation.CENTRAL_ACTIONS:
        if validation.known_v16_action(action):
            raise UpstreamCallError("NotSupported", f"{action} is not supported")
        raise UpstreamCallError("NotImplemented", f"Unknown action {action!r}")
    payload = copy.deepcopy(payload)
    if action == "ChangeConfiguration" and str(payload.get("key", "")).lower() in (PROTECTED_KEYS):
        logger.warning(
            "%s: refused ChangeConfiguration %s from the backend: it would lock Home Assistant out",
            identity,
            payload.get("key"),
        )
        return {"status": "Rejected"}
    if action == "RemoteStopTransaction":
        ours = transactions.ours(payload.get("transactionId"))
        if ours is None:
            logger.info(
                "%s: RemoteStopTransaction for unknown backend transaction %s",
                identity,
                payload.get("transactionId"),
            )
            return {"status": "Rejected"}
        payload["transactionId"] = ours
    if action == "SetChargingProfile":
        profile = payload.get("csChargingProfiles")
        if isinstance(profile, dict) and "transactionId" in profile:
            ours = transactions.ours(profile["transactionId"])
            if ours is None:
                return {"status": "Rejected"}
            profile["transactionId"] = ours
    return await _ask_charger(charger, action, payload)


async def _ask_charger(charger: Charger, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The charger's answer; every way it fails as the CallError the backend gets."""
    try:
        return await charger.call(action, payload)
    except CallErrorResponse as err:
        description = str(err.placeholders.get("description", "")) or str(err)
        raise UpstreamCallError(err.code, description) from None
    except ChargerOfflineError:
        raise UpstreamCallError(
            "GenericError", "The charger is not connected to Home Assistant"
        ) from None
    except CallTimeoutError:
        raise UpstreamCallError("GenericError", "The charger did not answer in time") from None
    except validation.SchemaError as err:
        raise UpstreamCallError(err.code, err.description) from None
    except ChargeConnectError as err:
        raise UpstreamCallError("GenericError", str(err)) from None
