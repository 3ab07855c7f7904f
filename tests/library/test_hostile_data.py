"""One frame must never poison a charger: the checks on their own.

The validation of a charger's Calls, OCPP timestamps, and the ledger's batched sample writes on
real SQLite. Hostile numbers and clocks over the real websocket, and the charger's state through
Home Assistant's real Store: tests/integration/test_hostile_data.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import json
import math
from pathlib import Path
from typing import Any

import pytest

from custom_components.webasto_chargeconnect.chargeconnect.ledger import (
    Ledger,
    LedgerDatabaseError,
    Sample,
    SessionStart,
)
from custom_components.webasto_chargeconnect.chargeconnect.ocpp import validation
from custom_components.webasto_chargeconnect.chargeconnect.timeutil import (
    ArrivalTime,
    format_ocpp_time,
    parse_ocpp_time,
    plausible_time,
)

from ..common import FAR_FUTURE, meter_values as _mv


def test_check_values_directly() -> None:
    """What the JSON parser without orjson lets through is refused as well."""
    for bad in (math.inf, math.nan):
        with pytest.raises(validation.SchemaError) as err:
            validation.check_values({"connectorId": 1, "meterValue": [], "x": [bad]})
        assert err.value.code == "TypeConstraintViolation"
    # Signed meter data is not a number and is not checked as one.
    validation.check_values(_mv({"value": "MIIBIjANBgkq", "format": "SignedData"}))
    validation.check_values({"connectorId": validation.MAX_CONNECTOR_ID, "flag": True})
    assert validation.call_error_code("OccurrenceConstraintViolation") == (
        "OccurenceConstraintViolation"
    )
    assert validation.call_error_code("NotSupported") == "NotSupported"


# ------------------------------------------------------------------- timestamps


def test_year_one_is_written_with_four_digits() -> None:
    """A year below 1000 is zero-padded, so the state file reads back."""
    moment = datetime(1, 1, 1, tzinfo=UTC)
    assert format_ocpp_time(moment) == "0001-01-01T00:00:00.000Z"
    assert parse_ocpp_time(format_ocpp_time(moment)) == moment
    # What earlier versions wrote still loads.
    assert parse_ocpp_time("1-01-01T00:00:00.000Z") == moment


def test_time_without_utc_equivalent_is_a_value_error() -> None:
    """9999-12-31T23:59:59-01:00 is in the year 10000 in UTC: ValueError, no overflow."""
    with pytest.raises(ValueError, match="outside"):
        parse_ocpp_time(FAR_FUTURE)


def test_plausible_time() -> None:
    """The charger's time when it can be true; its arrival otherwise."""
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    queued = now - timedelta(days=3)
    assert plausible_time(queued, now) == queued
    assert not isinstance(plausible_time(queued, now), ArrivalTime)
    for wrong in (datetime(1970, 1, 1, tzinfo=UTC), now + timedelta(hours=2), None):
        moment = plausible_time(wrong, now)
        assert moment == now
        assert isinstance(moment, ArrivalTime)
    ahead = now + timedelta(minutes=2)  # a clock a little fast is believed
    assert plausible_time(ahead, now) == ahead


# ------------------------------------------------------------------- the ledger


async def test_one_chargers_bad_samples_do_not_lose_anothers(tmp_path: Path) -> None:
    """Samples of two chargers in one batch: the bad one fails alone, 150 others are kept."""
    ledger = Ledger(tmp_path / "sessions.db")
    await ledger.open()
    try:
        t0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
        for tx, charger in ((1, "NEXT-1"), (2, "NEXT-2")):
            await ledger.start_session(
                SessionStart(
                    transaction_id=tx,
                    charger=charger,
                    connector_id=1,
                    id_tag="A",
                    start_time=t0,
                    meter_start_wh=0.0,
                    tariff=None,
                )
            )
        good = [
            Sample(timestamp=t0 + timedelta(seconds=10 * i), power_w=7000.0, register_wh=i * 20.0)
            for i in range(150)
        ]
        # A value SQLite cannot hold (what an unchecked 2^64 transaction id was).
        bad = [Sample(timestamp=t0, power_w=2**64, register_wh=1.0)]  # type: ignore[arg-type]
        results = await asyncio.gather(
            ledger.add_samples(1, bad), ledger.add_samples(2, good), return_exceptions=True
        )
        assert results[1] == 150
        assert isinstance(results[0], LedgerDatabaseError)
        record = await ledger.get_session(2)
        assert record is not None and record.meter_last_wh == pytest.approx(149 * 20.0)
        assert len(await ledger.samples(2)) == 150
        assert await ledger.samples(1) == []
        # The writer goes on: the first charger's next samples are stored.
        assert await ledger.add_samples(1, good[:3]) == 3
    finally:
        await ledger.close()


# ------------------------------------------------------------------- the schemas


def _numbers_outside_integers(node: Any, path: str = "") -> list[str]:
    """Where a schema lets a number through that is not a typed integer: a ``number``
    type, an untyped value or an object open to more properties."""
    found: list[str] = []
    if not isinstance(node, dict):
        return found
    kind = node.get("type")
    if kind == "number" or (kind is None and path):
        found.append(path or "/")
    if kind == "object" and node.get("additionalProperties") is not False:
        found.append(f"{path or '/'} (open object)")
    for name, child in node.get("properties", {}).items():
        found += _numbers_outside_integers(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        found += _numbers_outside_integers(node["items"], f"{path}[]")
    return found


def test_charger_calls_hold_no_numbers_but_integers() -> None:
    """What lets validate_charger_call leave out the walk over the whole document.

    The compiled schemas bound every integer to 64 bits; a charger's Call that passed
    them holds no other number. If a newer ``ocpp`` package opened a schema, this fails
    and the walk has to come back on that path.
    """
    schemas = Path(validation._SCHEMA_DIR)
    for action in validation.CHARGER_ACTIONS:
        schema = json.loads((schemas / f"{action}.json").read_text(encoding="utf-8-sig"))
        assert _numbers_outside_integers(schema) == [], action
    validation.warm_up()
    for number, code in ((2**63 - 1, None), (2**63, "TypeConstraintViolation")):
        sample = {"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "1"}]}
        payload = {"connectorId": 1, "transactionId": number, "meterValue": [sample]}
        if code is None:
            validation.validate_charger_call("MeterValues", payload)
            continue
        with pytest.raises(validation.SchemaError) as err:
            validation.validate_charger_call("MeterValues", payload)
        assert err.value.code == code
        assert err.value.description == "transactionId does not fit in a 64-bit integer"
    # A sampled value is text: a decimal number, finite and in range, or refused.
    for text, ok in (
        ("1.5", True),
        (" -2e3 ", True),
        ("1_000", False),
        ("nan", False),
        ("inf", False),
        ("1e400", False),
        ("٣", True),
        ("0x10", False),
    ):
        payload = {
            "connectorId": 1,
            "meterValue": [
                {"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": text}]}
            ],
        }
        if ok:
            validation.validate_charger_call("MeterValues", payload)
        else:
            with pytest.raises(validation.SchemaError) as err:
                validation.validate_charger_call("MeterValues", payload)
            assert err.value.code == "PropertyConstraintViolation", text
