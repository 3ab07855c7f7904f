"""The forwarder's parts on their own: the id map, the outbox, the back-off, the URL for logs.

No websocket here: test_upstream.py runs the whole link against a real backend. These pin the
decisions each part makes at its edges (refused ids, a full queue, a long back-off).
"""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

import pytest

from custom_components.webasto_chargeconnect.chargeconnect.upstream.config import (
    RECONNECT_MAX,
    RECONNECT_MIN,
    UpstreamConfig,
    display_url,
)
from custom_components.webasto_chargeconnect.chargeconnect.upstream.connect import (
    describe_connect_error,
    retry_delay,
)
from custom_components.webasto_chargeconnect.chargeconnect.upstream.outbox import Outbox
from custom_components.webasto_chargeconnect.chargeconnect.upstream.transactions import (
    KEEP_FINISHED,
    TransactionMap,
)

LOGGER = logging.getLogger("tests.upstream_parts")


def meter(tx: int | None, n: int = 0) -> dict[str, Any]:
    payload: dict[str, Any] = {"connectorId": 1, "meterValue": [{"n": n}]}
    if tx is not None:
        payload["transactionId"] = tx
    return payload


# ------------------------------------------------------------------ transaction ids
def test_transaction_map_learns_only_integer_ids() -> None:
    """A bool, a string or a CallError gives no backend id; the map still knows ours."""
    ids = TransactionMap()
    ids.started(1, {"transactionId": 5000, "idTagInfo": {"status": "Accepted"}})
    ids.started(2, {"transactionId": True})
    ids.started(3, {"transactionId": "5002"})
    ids.started(4, None)
    assert [ids.theirs(n) for n in (1, 2, 3, 4)] == [5000, None, None, None]
    assert all(n in ids for n in (1, 2, 3, 4))
    assert 5 not in ids
    assert len(ids) == 4
    assert ids.ours(5000) == 1
    assert ids.ours(True) is None  # True == 1, but not an id
    assert ids.ours("5000") is None
    assert ids.ours(4242) is None


def test_transaction_map_keeps_the_last_finished() -> None:
    """Finished transactions keep their mapping for a late RemoteStop, the last few only."""
    ids = TransactionMap()
    for ours in range(1, KEEP_FINISHED + 3):
        ids.started(ours, {"transactionId": 1000 + ours})
        ids.finish(ours)
    assert 1 not in ids and 2 not in ids
    assert ids.ours(1003) == 3
    assert len(ids) == KEEP_FINISHED

    stored = ids.to_storage()
    assert stored["finished"] == list(range(3, KEEP_FINISHED + 3))
    restored = TransactionMap()
    restored.load({**stored, "finished": [*stored["finished"], 99]})  # 99: not mapped
    assert restored.to_storage() == stored
    restored.clear()
    assert len(restored) == 0
    assert restored.to_storage() == {"transactions": {}, "finished": []}


# ------------------------------------------------------------------------- outbox
def test_outbox_keeps_billing_and_drops_the_rest_offline() -> None:
    """Offline only billing messages are queued; a start we gave no id is never queued."""
    box = Outbox(10, LOGGER, "CP")
    assert box.add("Heartbeat", {}, {}, connected=False) is None
    assert box.add("MeterValues", meter(None), {}, connected=False) is None
    assert (
        box.add("StartTransaction", {"idTag": "X"}, {"transactionId": "7"}, connected=True) is None
    )
    start = box.add("StartTransaction", {"idTag": "X"}, {"transactionId": 7}, connected=False)
    assert start is not None and (start.tx, start.billing) == (7, True)
    online = box.add("Heartbeat", {}, {}, connected=True)
    assert online is not None and not online.billing
    values = box.add("MeterValues", meter(7), {}, connected=True)
    assert values is not None and values.tx == 7
    assert len(box) == 3
    assert [m.seq for m in (start, online, values)] == [1, 2, 3]

    box.disconnected()  # the Heartbeat goes, the billing messages wait
    assert len(box) == 2
    assert box.sending() is start
    box.sent(values)  # not the head: stays
    assert len(box) == 2
    box.sent(start)
    assert box.sending() is values


def test_outbox_trims_the_oldest_meter_values(caplog: pytest.LogCaptureFixture) -> None:
    """Over max_queue the oldest MeterValues go, not the one in flight; said once a connection."""
    box = Outbox(3, LOGGER, "CP")
    first = box.add("MeterValues", meter(1, 1), {}, connected=True)
    assert box.sending() is first
    box.add("StopTransaction", {"transactionId": 1}, {}, connected=True)
    with caplog.at_level(logging.WARNING):
        box.add("MeterValues", meter(1, 2), {}, connected=True)
        box.add("MeterValues", meter(1, 3), {}, connected=True)
    assert len(box) == 3
    stored = [(m["action"], m["payload"].get("meterValue")) for m in box.to_storage()["queue"]]
    assert stored == [
        ("MeterValues", [{"n": 1}]),  # in flight: kept
        ("StopTransaction", None),
        ("MeterValues", [{"n": 3}]),
    ]
    assert caplog.text.count("dropping the oldest MeterValues") == 1

    # Nothing left that may go: starts and stops are kept over the limit.
    full = Outbox(1, LOGGER, "CP")
    full.add("StartTransaction", {}, {"transactionId": 1}, connected=True)
    full.add("StopTransaction", {"transactionId": 1}, {}, connected=True)
    assert len(full) == 2

    caplog.clear()
    box.connected()
    with caplog.at_level(logging.WARNING):
        box.add("MeterValues", meter(1, 4), {}, connected=True)
    assert "dropping the oldest MeterValues" in caplog.text


def test_outbox_storage_round_trip() -> None:
    """Only billing messages are stored; the sequence goes on after the highest stored one."""
    box = Outbox(10, LOGGER, "CP")
    box.add("StartTransaction", {"idTag": "A"}, {"transactionId": 3}, connected=True)
    box.add("Heartbeat", {}, {}, connected=True)
    box.add("StopTransaction", {"transactionId": 3}, {}, connected=True)
    stored = box.to_storage()
    assert stored["next_seq"] == 4
    assert [(m["seq"], m["action"], m["tx"]) for m in stored["queue"]] == [
        (1, "StartTransaction", 3),
        (3, "StopTransaction", 3),
    ]
    restored = Outbox(10, LOGGER, "CP")
    restored.load({**stored, "next_seq": 2, "queue": [*stored["queue"], {"payload": "bad"}]})
    assert restored.to_storage() == stored
    restored.clear()
    assert len(restored) == 0
    assert restored.next_seq == 4


# ------------------------------------------------------------------ connecting
def test_retry_delay_doubles_up_to_the_maximum() -> None:
    """Doubling from reconnect_min, capped at reconnect_max, cut to a half to whole of it."""
    config = UpstreamConfig(
        "ws://h/ocpp", reconnect_min=timedelta(seconds=2), reconnect_max=timedelta(seconds=10)
    )
    for failures, full in ((0, 2), (1, 4), (2, 8), (3, 10), (100, 10)):
        for _ in range(20):
            delay = retry_delay(config, failures)
            assert timedelta(seconds=full / 2) <= delay <= timedelta(seconds=full)

    unset = UpstreamConfig("ws://h/ocpp", reconnect_min=timedelta(0), reconnect_max=-RECONNECT_MAX)
    assert RECONNECT_MIN / 2 <= retry_delay(unset, 0) <= RECONNECT_MIN
    assert RECONNECT_MAX / 2 <= retry_delay(unset, 100) <= RECONNECT_MAX

    # A long minimum doubled many times does not overflow.
    slow = UpstreamConfig(
        "ws://h/ocpp", reconnect_min=timedelta(days=2), reconnect_max=timedelta(days=3)
    )
    assert retry_delay(slow, 100) <= timedelta(days=3)


def test_connect_error_and_display_url() -> None:
    """An unexpected failure is still said; credentials never reach a log line."""
    assert describe_connect_error(ValueError("bad name")) == (
        "Cannot connect to the backend: bad name"
    )
    assert display_url("wss://user:secret@backend.example:8443/ocpp/CP") == (
        "wss://backend.example:8443/ocpp/CP"
    )
    assert display_url("ws://backend.example/ocpp/CP") == "ws://backend.example/ocpp/CP"
