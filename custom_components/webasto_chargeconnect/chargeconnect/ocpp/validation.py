"""Schema validation of OCPP 1.6 frames with the ``ocpp`` package's JSON schemas.

The schemas are the ones the ``ocpp`` package ships (``ocpp/v16/schemas``). Frames on
the hot path (what chargers send us, what we answer) are checked with validators that
``fastjsonschema`` compiles from those schemas: the same rules as the package's own
``Draft4Validator``, about ten times faster (see ``scripts/bench``); they are compiled as
draft 4 like the schemas say, so an integral float (``1.0``, ``1e20``) is no integer.
Commands we send
(rare) are checked with the ``ocpp`` package's own validator, which handles the
``multipleOf`` decimals of charging profiles exactly. A test compares both validators
on valid and invalid frames.

The schemas say nothing about ranges. :func:`check_values` adds what a number must be
for us to keep it: every integer fits SQLite's signed 64 bits, every JSON number is
finite, a ``connectorId`` is between 0 and :data:`MAX_CONNECTOR_ID`, and a sampled
value (a decimal in a string) is a finite number below :data:`MAX_SAMPLED_VALUE`.
On the hot path (:func:`validate_charger_call`) the 64-bit bound is compiled into the
schemas (``minimum``/``maximum`` on every ``integer``) and the walk over the whole
document is left out: a charger's Call that passed its schema holds no number but those
integers (every object in those schemas is closed and none has a ``number``;
``tests/library/test_hostile_data.py`` checks that this stays true of the ``ocpp`` package's
schemas), and neither JSON parser of ours yields NaN or an infinity.

Reading the schema files is blocking I/O: call :func:`warm_up` in an executor before
the first frame (the server does this when it starts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import decimal
import json
import math
from pathlib import Path
import re
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
# The charger's Calls that carry sampled values (checked by _check_samples_of_valid).
_SAMPLED_ACTIONS = frozenset({"MeterValues", "StopTransaction"})
# Their schemas use multipleOf 0.1, which needs decimals to be checked exactly.
_DECIMAL_ACTIONS = frozenset({"SetChargingProfile", "RemoteStartTransaction"})

# SQLite stores integers as signed 64-bit numbers.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# The highest connector number we take: chargers have a handful (Webasto: one).
MAX_CONNECTOR_ID = 32
# The largest magnitude of a sampled value (1 TWh in Wh, 1 TW in W): no meter reads more.
MAX_SAMPLED_VALUE = 1e12
# What OCPP 1.6 calls a decimal: digits with an optional fraction and exponent.
_DECIMAL_RE = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
# The 1.6 spelling of the code (the ocpp package's errata note); 2.0 spells it right.
OCCURRENCE_CODE = "OccurenceConstraintViolation"

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
    - Every ``integer`` gets the signed 64-bit bounds (:func:`check_values` holds them too;
      here they cost one comparison inside the generated code).
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
    if out.get("type") == "integer":
        # SQLite's signed 64 bits; reported as a type violation (see _check).
        out["minimum"] = max(out.get("minimum", INT64_MIN), INT64_MIN)
        out["maximum"] = min(out.get("maximum", INT64_MAX), INT64_MAX)
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
    # Draft 4, as the schemas declare: an integral float is not an integer there (the
    # ocpp package's Draft4Validator agrees); later drafts would take 1.0 for 1.
    schema["$schema"] = "http://json-schema.org/draft-04/schema#"
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
    "required": OCCURRENCE_CODE,
    "additionalProperties": "FormationViolation",
    "maxLength": "TypeConstraintViolation",
    "enum": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "minItems": OCCURRENCE_CODE,
    "maxItems": OCCURRENCE_CODE,
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
        if err.rule in ("minimum", "maximum") and err.rule_definition in (INT64_MIN, INT64_MAX):
            code = "TypeConstraintViolation"
            message = f"{str(err.name).removeprefix('data.')} does not fit in a 64-bit integer"
        allowed = _ENUMS.get(str(err.rule_definition))
        if allowed is not None:
            message = f"{err.name} must be one of {', '.join(allowed)}"
        raise SchemaError(code, message) from None


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every value of a JSON document with its path (``meterValue[0].timestamp``)."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def _decimal_number(value: Any) -> float | None:
    """A Raw sampled value as a number: None unless it is a decimal number in a string.

    ``float`` reads every decimal; what else it reads (``nan``, ``inf``, ``1_000``, digits of
    other scripts) is caught by the finite test or, for the rare text that is not plain
    ASCII without ``_``, by the pattern.
    """
    if type(value) is not str:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if math.isfinite(number) and value.isascii() and "_" not in value:
        return number
    return number if _DECIMAL_RE.match(value) else None


def _check_sampled_values(meter_values: Any, path: str) -> None:
    if not isinstance(meter_values, list):
        return
    for i, meter_value in enumerate(meter_values):
        samples = meter_value.get("sampledValue") if isinstance(meter_value, dict) else None
        for j, sample in enumerate(samples if isinstance(samples, list) else ()):
            if not isinstance(sample, dict) or sample.get("format") == "SignedData":
                continue
            value = sample.get("value")
            number = _decimal_number(value)
            if number is None:
                # The field is a string (right type); OCPP 1.6 says a Raw value is a decimal
                # number, so other text is an invalid value.
                raise SchemaError(
                    "PropertyConstraintViolation",
                    f"{path}[{i}].sampledValue[{j}].value must be a decimal number, not {value!r}",
                )
            if not -MAX_SAMPLED_VALUE <= number <= MAX_SAMPLED_VALUE:  # False for NaN too
                raise SchemaError(
                    "PropertyConstraintViolation",
                    f"{path}[{i}].sampledValue[{j}].value {str(value).strip()[:40]} is out of "
                    f"range (at most {MAX_SAMPLED_VALUE:g})",
                )


def check_values(payload: Any) -> None:
    """Refuse numbers we cannot keep (see the module docstring); raises SchemaError.

    Run after the schema check: the types are known to be right by then. Every frame pays
    only for :func:`_suspect` (no paths built); the walk that names the value runs when it
    found something.
    """
    if _suspect(payload):
        _name_the_number(payload)
    _check_fields(payload)


def _check_fields(payload: Any) -> None:
    """The connector id and the sampled values: what the schemas let through."""
    if isinstance(payload, dict):
        connector = payload.get("connectorId")
        if type(connector) is int and not 0 <= connector <= MAX_CONNECTOR_ID:
            raise SchemaError(
                "PropertyConstraintViolation",
                f"connectorId must be between 0 and {MAX_CONNECTOR_ID}, not {connector}",
            )
        _check_sampled_values(payload.get("meterValue"), "meterValue")
        _check_sampled_values(payload.get("transactionData"), "transactionData")


def _suspect(payload: Any) -> bool:
    """Whether the document holds an integer beyond 64 bits or a non-finite float."""
    stack = [payload]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is str:
            continue  # most leaves: settle them first
        if kind is dict:
            stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
        elif kind is int:
            if not INT64_MIN <= node <= INT64_MAX:
                return True
        elif kind is float and not math.isfinite(node):
            return True
    return False


def _name_the_number(payload: Any) -> None:
    """Raise the SchemaError for the first number :func:`_suspect` objects to, by its path."""
    for path, value in _walk(payload, ""):
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise SchemaError(
                    "TypeConstraintViolation", f"{path} does not fit in a 64-bit integer"
                )
        elif isinstance(value, float) and not math.isfinite(value):
            raise SchemaError("TypeConstraintViolation", f"{path} must be a finite number")


def validate_charger_call(action: str, payload: Any) -> None:
    """Validate a Call a charger sent us: its schema, then the values (:func:`check_values`).

    After the schema only the fields are checked: the integers are bounded by the
    compiled schema, and a valid Call holds no other numbers (see the module docstring).
    """
    _check(action, payload)
    if action in _SAMPLED_ACTIONS:
        _check_samples_of_valid(payload)
    else:
        _check_fields(payload)


def _check_samples_of_valid(payload: dict[str, Any]) -> None:
    """:func:`_check_fields` for a MeterValues or StopTransaction that passed its schema.

    The schema has settled the shape (every sampled value an object with a string
    ``value``), so this runs without type checks; a value that is not a plain finite
    decimal in range goes to :func:`_check_fields`, which names the defect. This is the
    loop of every MeterValues frame.
    """
    if not 0 <= payload.get("connectorId", 0) <= MAX_CONNECTOR_ID:
        _check_fields(payload)  # raises
    for meter_values in (payload.get("meterValue"), payload.get("transactionData")):
        for meter_value in meter_values or ():
            for sample in meter_value["sampledValue"]:
                value = sample["value"]
                try:
                    number = float(value)
                except ValueError:
                    _check_fields(payload)  # raises, unless the value is SignedData
                    return  # _check_fields found the whole payload right
                if not (
                    -MAX_SAMPLED_VALUE <= number <= MAX_SAMPLED_VALUE
                    and value.isascii()
                    and "_" not in value
                ):
                    _check_fields(payload)
                    return


def validate_our_result(action: str, payload: Any) -> None:
    """Validate the CallResult we answer a charger's Call with."""
    _check(f"{action}Response", payload)


def validate_charger_result(action: str, payload: Any) -> None:
    """Validate the CallResult a charger answered our Call with (schema and values)."""
    _check(f"{action}Response", payload)
    check_values(payload)


def call_error_code(code: Any) -> str:
    """A CallError code as received, with both spellings of the occurrence code as one.

    OCPP-J 1.6 spells it ``OccurenceConstraintViolation``; chargers that follow the
    errata (or 2.0) send ``OccurrenceConstraintViolation``. Both read as the 1.6 code.
    """
    text = str(code)
    return OCCURRENCE_CODE if text == "OccurrenceConstraintViolation" else text


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
    "MAX_CONNECTOR_ID",
    "OCCURRENCE_CODE",
    "SchemaError",
    "call_error_code",
    "check_values",
    "known_v16_action",
    "validate_charger_call",
    "validate_charger_result",
    "validate_our_call",
    "validate_our_result",
    "warm_up",
]
