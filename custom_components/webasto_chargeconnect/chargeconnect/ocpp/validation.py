"""Schema validation of OCPP 1.6 frames with the ``ocpp`` package's JSON schemas.

The schemas are the ones the ``ocpp`` package ships (``ocpp/v16/schemas``). Frames on
the hot path (what chargers send us, what we answer) are checked with validators that
``fastjsonschema`` compiles from those schemas: the same rules as the package's own
``Draft4Validator``, about ten times faster (see ``scripts/bench``). Commands we send
(rare) are checked with the ``ocpp`` package's own validator, which handles the
``multipleOf`` decimals of charging profiles exactly. A test compares both validators
on valid and invalid frames.

Reading the schema files is blocking I/O: call :func:`warm_up` in an executor before
the first frame (the server does this when it starts).
"""

from __future__ import annotations

from collections.abc import Callable
import decimal
import json
from pathlib import Path
import threading
from typing import Any

import fastjsonschema
import ocpp
from ocpp.messages import get_validator

OCPP_VERSION = "1.6"
_SCHEMA_DIR = Path(str(ocpp.__file__)).parent / "v16" / "schemas"

# Actions a charge point sends to the central system (we validate the Call and our answer).
CHARGER_ACTIONS = (
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
)
# Actions we send to a charge point (we validate the Call and the charger's answer).
CENTRAL_ACTIONS = (
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
)
# Their schemas use multipleOf 0.1, which needs decimals to be checked exactly.
_DECIMAL_ACTIONS = frozenset({"SetChargingProfile", "RemoteStartTransaction"})

_compiled: dict[str, Callable[[Any], Any]] = {}
# The allowed values behind each enum we turned into a set lookup (for error messages).
_ENUMS: dict[str, tuple[str, ...]] = {}
_lock = threading.Lock()
_warm = False


class SchemaError(Exception):
    """A payload does not match its schema; carries the OCPP error code to answer with."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _prepare(node: Any, formats: dict[str, Callable[[str], bool]]) -> Any:
    """Rewrite a schema for speed without changing what it accepts.

    - ``format`` rules are dropped: the ocpp package's validator does not check them
      either (a charger that sends a timestamp without a time zone must not be refused
      here when the reference validator accepts it; we parse timestamps leniently).
    - A string ``enum`` becomes a set lookup (fastjsonschema would emit one comparison
      per allowed value; a measurand has 22). A value outside the set still fails,
      reported by the rule ``format``, which we map to the same CallError as ``enum``.
    - ``additionalProperties`` on a node that is not an object is dropped: JSON Schema
      applies it to objects only, so it never changes the result there.
    """
    if isinstance(node, list):
        return [_prepare(v, formats) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "format" and isinstance(value, str):
            continue
        if key == "additionalProperties" and node.get("type") not in (None, "object"):
            continue
        out[key] = _prepare(value, formats) if key != "enum" else value
    enum = out.get("enum")
    if (
        out.get("type") == "string"
        and isinstance(enum, list)
        and all(isinstance(v, str) for v in enum)
    ):
        name = f"ocpp-enum-{len(_ENUMS)}"
        _ENUMS[name] = tuple(enum)
        formats[name] = frozenset(enum).__contains__
        del out["enum"]
        out["format"] = name
    return out


def _compile(name: str) -> Callable[[Any], Any]:
    schema = json.loads((_SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8-sig"))
    schema.pop("$schema", None)
    schema.pop("id", None)
    formats: dict[str, Callable[[str], bool]] = {}
    schema = _prepare(schema, formats)
    return fastjsonschema.compile(  # type: ignore[no-any-return,unused-ignore]
        schema, formats=formats
    )


def warm_up() -> None:
    """Compile every validator we use (blocking: run it in an executor)."""
    global _warm  # noqa: PLW0603
    with _lock:
        if _warm:
            return
        for action in CHARGER_ACTIONS:
            _compiled[f"{action}"] = _compile(action)
            _compiled[f"{action}Response"] = _compile(f"{action}Response")
        for action in CENTRAL_ACTIONS:
            _compiled[f"{action}Response"] = _compile(f"{action}Response")
            # The ocpp package caches its own validators; load the decimal ones first.
            get_validator(
                2,
                action,
                OCPP_VERSION,
                parse_float=decimal.Decimal if action in _DECIMAL_ACTIONS else float,
            )
        _warm = True


# fastjsonschema's rule name -> the OCPP 1.6 CallError code, mirroring the ocpp package.
_RULE_TO_CODE = {
    "type": "TypeConstraintViolation",
    "required": "OccurrenceConstraintViolation",
    "additionalProperties": "FormationViolation",
    "maxLength": "TypeConstraintViolation",
    "enum": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "minItems": "OccurrenceConstraintViolation",
    "maxItems": "OccurrenceConstraintViolation",
}


def _check(name: str, payload: Any) -> None:
    try:
        validator = _compiled[name]
    except KeyError:
        raise SchemaError("NotImplemented", f"No schema for {name}") from None
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as err:
        code = _RULE_TO_CODE.get(str(err.rule), "FormationViolation")
        message = str(err.message)
        allowed = _ENUMS.get(str(err.rule_definition))
        if allowed is not None:
            message = f"{err.name} must be one of {', '.join(allowed)}"
        raise SchemaError(code, message) from None


def validate_charger_call(action: str, payload: Any) -> None:
    """Validate a Call a charger sent us."""
    _check(action, payload)


def validate_our_result(action: str, payload: Any) -> None:
    """Validate the CallResult we answer a charger's Call with."""
    _check(f"{action}Response", payload)


def validate_charger_result(action: str, payload: Any) -> None:
    """Validate the CallResult a charger answered our Call with."""
    _check(f"{action}Response", payload)


def validate_our_call(action: str, payload: dict[str, Any]) -> None:
    """Validate a Call we are about to send, with the ocpp package's own validator."""
    parse_float: Callable[[str], Any] = decimal.Decimal if action in _DECIMAL_ACTIONS else float
    validator = get_validator(2, action, OCPP_VERSION, parse_float=parse_float)
    data = json.loads(json.dumps(payload), parse_float=parse_float)
    errors = sorted(validator.iter_errors(data), key=lambda e: e.path)
    if errors:
        raise SchemaError("FormationViolation", errors[0].message)


def known_v16_action(action: str) -> bool:
    """True for an action name OCPP 1.6 defines."""
    from ocpp.v16.enums import Action

    try:
        Action(action)
    except ValueError:
        return False
    return True


__all__ = [
    "SchemaError",
    "known_v16_action",
    "validate_charger_call",
    "validate_charger_result",
    "validate_our_call",
    "validate_our_result",
    "warm_up",
]
