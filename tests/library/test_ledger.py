"""The session ledger on real SQLite files: sessions, samples, totals, migration, exports.

Every export is read back with an independent reader (csv, openpyxl, pypdf) and compared
with what the database holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import csv
from datetime import UTC, datetime, timedelta
import io
import json
import logging
from pathlib import Path
import re
import sqlite3
import zoneinfo

import openpyxl
import pypdf
import pytest

from custom_components.webasto_chargeconnect.chargeconnect.exceptions import ChargeConnectError
from custom_components.webasto_chargeconnect.chargeconnect.ledger import (
    SCHEMA_V1,
    SCHEMA_VERSION,
    ExportError,
    ExportFormatError,
    Ledger,
    LedgerClosedError,
    LedgerDatabaseError,
    LedgerOpenError,
    LedgerSchemaError,
    Sample,
    SessionFilter,
    SessionRecord,
    SessionStart,
)
from custom_components.webasto_chargeconnect.chargeconnect.ledger.export.texts import pdf_text
from custom_components.webasto_chargeconnect.chargeconnect.models import Tariff

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
EUR = Tariff("EUR", fixed_fee=0.5, price_per_kwh=0.30)


def start(
    transaction_id: int,
    at: datetime = T0,
    *,
    charger: str = "NEXT-1",
    id_tag: str = "AA11",
    meter: float = 10_000.0,
    tariff: Tariff | None = EUR,
    **extra: object,
) -> SessionStart:
    """A SessionStart with sensible defaults."""
    return SessionStart(
        transaction_id=transaction_id,
        charger=charger,
        connector_id=1,
        id_tag=id_tag,
        start_time=at,
        meter_start_wh=meter,
        tariff=tariff,
        **extra,  # type: ignore[arg-type]
    )


def curve(at: datetime, count: int, meter: float = 10_000.0) -> list[Sample]:
    """One sample a minute at 11 kW."""
    return [
        Sample(
            timestamp=at + timedelta(minutes=i),
            power_w=11_000.0,
            current_l1=16.0,
            current_l2=16.0,
            current_l3=15.5,
            register_wh=meter + i * 11_000 / 60,
        )
        for i in range(count)
    ]


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    """An open ledger on a real file."""
    store = Ledger(tmp_path / "ledger" / "sessions.db")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def add_stopped(
    ledger: Ledger,
    transaction_id: int,
    at: datetime,
    energy_wh: float,
    **kwargs: object,
) -> SessionRecord:
    """A finished one-hour session."""
    record = await ledger.start_session(start(transaction_id, at, **kwargs))  # type: ignore[arg-type]
    stopped = await ledger.stop_session(
        transaction_id, at + timedelta(hours=1), record.meter_start_wh + energy_wh, "Local"
    )
    assert stopped is not None
    return stopped


# ---------------------------------------------------------------------------- store


async def test_start_samples_stop_roundtrip(ledger: Ledger) -> None:
    """A session with its power curve goes in and comes out with energy, cost, duration."""
    plug_in = T0 - timedelta(minutes=2)
    record = await ledger.start_session(
        start(7, plug_in_time=plug_in, tag_alias="Anna", group_id="family", vehicle_id="EV-1")
    )
    assert record.is_open and record.energy_kwh == 0.0 and record.cost is None
    assert record.tariff == EUR and record.duration is None

    assert await ledger.add_samples(7, curve(T0, 31)) == 31
    running = await ledger.get_session(7)
    assert running is not None and running.meter_last_wh == pytest.approx(15_500)
    assert running.energy_kwh == pytest.approx(5.5)  # read from the latest register
    assert [r.transaction_id for r in await ledger.open_sessions()] == [7]
    assert await ledger.open_sessions("other") == []

    stopped = await ledger.stop_session(7, T0 + timedelta(minutes=30), 15_512.0, "EVDisconnected")
    assert stopped is not None
    assert stopped.energy_kwh == pytest.approx(5.512)
    assert stopped.cost == pytest.approx(0.5 + 5.512 * 0.30)
    assert stopped.duration == timedelta(minutes=30)
    assert stopped.stop_reason == "EVDisconnected"
    assert stopped.plug_in_time == plug_in and stopped.tag_alias == "Anna"
    assert await ledger.open_sessions() == []
    assert await ledger.last_session() == stopped == await ledger.last_session("NEXT-1")
    assert await ledger.last_session("NEXT-2") is None

    samples = await ledger.samples(7)
    assert [s.timestamp for s in samples] == [T0 + timedelta(minutes=i) for i in range(31)]
    assert samples[3] == curve(T0, 31)[3]
    assert samples[0].timestamp.tzinfo is not None

    data = json.loads(json.dumps(stopped.to_dict()))
    assert data["start_time"] == "2025-03-03T08:00:00+00:00"
    assert data["duration_s"] == 1800 and data["energy_kwh"] == pytest.approx(5.512)
    assert json.loads(json.dumps(samples[0].to_dict()))["register_wh"] == 10_000
    assert await ledger.get_session(999) is None
    assert await ledger.samples(999) == []


async def test_start_and_stop_are_idempotent(ledger: Ledger) -> None:
    """Re-sent messages neither duplicate nor overwrite a session."""
    first = await ledger.start_session(start(1))
    again = await ledger.start_session(start(1, meter=99.0, tag_alias="late alias"))
    assert again.meter_start_wh == first.meter_start_wh == 10_000
    assert again.tag_alias == "late alias"  # a blank is filled, nothing else changes

    stopped = await ledger.stop_session(1, T0 + timedelta(hours=1), 17_000.0, "Local")
    assert stopped is not None and stopped.energy_kwh == pytest.approx(7.0)
    assert await ledger.stop_session(1, T0 + timedelta(hours=1), 17_000.0, "Local") == stopped
    # A different second stop of a properly stopped session changes nothing either.
    assert await ledger.stop_session(1, T0 + timedelta(hours=2), 20_000.0, "Other") == stopped
    # A start re-sent after the stop does not reopen or change it.
    assert await ledger.start_session(start(1, T0 + timedelta(hours=3), meter=0.0)) == stopped

    page, total = await ledger.query(SessionFilter())
    assert total == 1 and page == [stopped]
    assert await ledger.stop_session(404, T0, 1.0, "Local") is None


async def test_out_of_order_late_and_duplicate_samples(ledger: Ledger) -> None:
    """Queued MeterValues arrive shuffled, twice, and after the stop."""
    await ledger.start_session(start(3))
    points = curve(T0, 10)
    assert await ledger.add_samples(3, [points[i] for i in (5, 1, 9, 0)]) == 4
    assert await ledger.add_samples(3, [points[i] for i in (1, 2, 9, 3)]) == 2  # 1 and 9 again
    record = await ledger.get_session(3)
    assert record is not None and record.meter_last_wh == points[9].register_wh
    # An older register arriving late does not move the latest one back.
    assert await ledger.add_samples(3, [points[4]]) == 1
    record = await ledger.get_session(3)
    assert record is not None and record.meter_last_wh == points[9].register_wh

    stopped = await ledger.stop_session(3, T0 + timedelta(minutes=10), 12_000.0, "Local")
    assert stopped is not None
    assert await ledger.add_samples(3, [points[i] for i in (8, 7, 6)]) == 3  # after the stop
    assert [s.timestamp for s in await ledger.samples(3)] == [p.timestamp for p in points]
    assert await ledger.get_session(3) == stopped  # energy and cost are final
    assert await ledger.add_samples(404, points) == 0
    assert await ledger.add_samples(3, []) == 0


async def test_restart_then_stop(tmp_path: Path) -> None:
    """A session started before a restart is stopped after it, on a new Ledger."""
    path = tmp_path / "sessions.db"
    before = Ledger(path)
    await before.open()
    await before.start_session(start(11, id_tag="04E1"))
    await before.add_samples(11, curve(T0, 5))
    await before.close()
    with pytest.raises(LedgerClosedError) as err:
        await before.get_session(11)
    assert err.value.translation_key == "ledger_closed"

    after = Ledger(path)
    await after.open()
    try:
        assert [r.transaction_id for r in await after.open_sessions("NEXT-1")] == [11]
        stopped = await after.stop_session(11, T0 + timedelta(hours=2), 22_000.0, "Remote", "04E1")
        assert stopped is not None and stopped.energy_kwh == pytest.approx(12.0)
        assert stopped.stop_id_tag == "04E1"
        assert stopped.cost == pytest.approx(EUR.cost(12.0))
        assert len(await after.samples(11)) == 5
    finally:
        await after.close()


async def test_interrupted_session_closed_then_corrected(tmp_path: Path) -> None:
    """Home Assistant died mid-session: the session is closed from its last register.

    The first Ledger is never closed (a crash); a second one opens the same file. When
    the charger's queued StopTransaction arrives later, its real meter value wins.
    """
    path = tmp_path / "sessions.db"
    crashed = Ledger(path)
    await crashed.open()
    await crashed.start_session(start(21))
    await crashed.add_samples(21, curve(T0, 13))  # last register 12,200 Wh
    recovered = Ledger(path)
    await recovered.open()
    try:
        closed = await recovered.stop_session(21, T0 + timedelta(minutes=15), None, "PowerLoss")
        assert closed is not None and closed.meter_stop_wh == pytest.approx(12_200)
        assert closed.energy_kwh == pytest.approx(2.2)
        assert closed.cost == pytest.approx(EUR.cost(2.2))
        assert await recovered.open_sessions() == []

        real = await recovered.stop_session(21, T0 + timedelta(minutes=20), 13_000.0, "Local")
        assert real is not None and real.energy_kwh == pytest.approx(3.0)
        assert real.stop_reason == "Local" and real.stop_time == T0 + timedelta(minutes=20)
        # Now the stop is real: nothing replaces it any more.
        assert await recovered.stop_session(21, T0, None, "PowerLoss") == real
        assert await recovered.stop_session(21, T0, 99_000.0, "Other") == real
        # An interrupted session without any register closes with no energy.
        await recovered.start_session(start(22, T0 + timedelta(hours=1), meter=500.0))
        empty = await recovered.stop_session(22, T0 + timedelta(hours=2), None, "Reboot")
        assert empty is not None and empty.energy_kwh == 0 and empty.cost == 0.5
    finally:
        await recovered.close()
        await crashed.close()


async def test_cost_uses_the_tariff_at_start(ledger: Ledger) -> None:
    """A tariff change does not reprice a running or finished session; no tariff, no cost."""
    await ledger.start_session(start(1, tariff=Tariff("EUR", 0.0, 0.25)))
    await ledger.start_session(start(2, T0 + timedelta(minutes=5), tariff=Tariff("EUR", 1.0, 0.40)))
    await ledger.start_session(start(3, T0 + timedelta(minutes=6), tariff=None))
    one = await ledger.stop_session(1, T0 + timedelta(hours=1), 20_000.0, "Local")
    two = await ledger.stop_session(2, T0 + timedelta(hours=1), 20_000.0, "Local")
    three = await ledger.stop_session(3, T0 + timedelta(hours=1), 20_000.0, "Local")
    assert one is not None and one.cost == pytest.approx(2.5) and one.price_per_kwh == 0.25
    assert two is not None and two.cost == pytest.approx(5.0) and two.fixed_fee == 1.0
    assert three is not None and three.cost is None and three.currency is None
    assert three.tariff is None and three.energy_kwh == pytest.approx(10.0)
    # A meter that went backwards never gives negative energy or a refund.
    await ledger.start_session(start(4, T0 + timedelta(hours=2), meter=5_000.0))
    four = await ledger.stop_session(4, T0 + timedelta(hours=3), 100.0, "Other")
    assert four is not None and four.energy_kwh == 0.0 and four.cost == 0.5


async def test_totals_windows(ledger: Ledger) -> None:
    """Totals count stopped sessions that started in [since, until), per charger."""
    day = timedelta(days=1)
    await add_stopped(ledger, 1, T0 - 40 * day, 10_000)
    await add_stopped(ledger, 2, T0 - 10 * day, 5_000)
    await add_stopped(ledger, 3, T0 - 2 * day, 2_500, charger="NEXT-2")
    await add_stopped(ledger, 4, T0 - day, 1_000, tariff=Tariff("CHF", 0.0, 1.0))
    await add_stopped(ledger, 5, T0 - day, 4_000, tariff=None)
    await ledger.start_session(start(6, T0 - day))  # still running: not counted

    week = await ledger.totals(None, T0 - 7 * day)
    assert week.sessions == 3 and week.energy_kwh == pytest.approx(7.5)
    assert week.cost_by_currency == {"CHF": pytest.approx(1.0), "EUR": pytest.approx(1.25)}
    month = await ledger.totals(None, T0 - 30 * day, T0)
    assert month.sessions == 4 and month.energy_kwh == pytest.approx(12.5)
    assert month.cost_by_currency == {"CHF": 1.0, "EUR": pytest.approx(2.0 + 1.25)}
    one = await ledger.totals("NEXT-2", T0 - 30 * day)
    assert (one.sessions, one.energy_kwh, one.cost_by_currency) == (1, 2.5, {"EUR": 1.25})
    # since is inclusive, until exclusive.
    exact = await ledger.totals(None, T0 - 10 * day, T0 - 2 * day)
    assert exact.sessions == 1 and exact.energy_kwh == pytest.approx(5.0)
    assert (await ledger.totals("none", T0 - 99 * day)).to_dict() == {
        "sessions": 0,
        "energy_kwh": 0.0,
        "cost_by_currency": {},
    }


async def test_query_filters_and_paging(ledger: Ledger) -> None:
    """Filters combine; pages come newest first with the total count."""
    for i in range(25):
        await add_stopped(
            ledger,
            100 + i,
            T0 + timedelta(hours=2 * i),
            1_000 * (i + 1),
            charger=f"NEXT-{i % 3}",
            id_tag=f"TAG{i % 2}",
            group_id="fleet" if i % 5 == 0 else None,
        )
    page, total = await ledger.query(SessionFilter(), 0, 10)
    assert total == 25 and [r.transaction_id for r in page] == list(range(124, 114, -1))
    page, total = await ledger.query(SessionFilter(), 20, 10)
    assert total == 25 and [r.transaction_id for r in page] == list(range(104, 99, -1))
    assert (await ledger.query(SessionFilter(), 30, 10)) == ([], 25)

    def ids(records: list[SessionRecord]) -> set[int]:
        return {r.transaction_id for r in records}

    page, total = await ledger.query(SessionFilter(chargers=["NEXT-1", "NEXT-2"]))
    assert total == 16 and ids(page) == {100 + i for i in range(25) if i % 3}
    page, total = await ledger.query(SessionFilter(chargers=["NEXT-0"], id_tags=["TAG0"]))
    assert ids(page) == {100 + i for i in range(25) if i % 6 == 0} and total == 5
    page, _ = await ledger.query(SessionFilter(group_id="fleet"))
    assert ids(page) == {100, 105, 110, 115, 120}
    window = SessionFilter(start=T0 + timedelta(hours=4), end=T0 + timedelta(hours=10))
    page, total = await ledger.query(window)
    assert ids(page) == {102, 103, 104} and total == 3  # end is exclusive
    page, total = await ledger.query(SessionFilter(transaction_ids=[101, 124, 999]))
    assert ids(page) == {101, 124} and total == 2
    assert await ledger.query(SessionFilter(chargers=[])) == ([], 0)


async def test_plug_out_and_drivers_log(ledger: Ledger) -> None:
    """Plug-out lands on the last stopped session once; the driver's log is editable."""
    await add_stopped(ledger, 1, T0, 1_000)
    stop = T0 + timedelta(hours=1)
    assert await ledger.set_plug_out("NEXT-1", stop - timedelta(minutes=1)) is None
    record = await ledger.set_plug_out("NEXT-1", stop + timedelta(minutes=5))
    assert record is not None and record.plug_out_time == stop + timedelta(minutes=5)
    assert await ledger.set_plug_out("NEXT-1", stop + timedelta(minutes=9)) is None
    assert await ledger.set_plug_out("NEXT-9", stop) is None
    assert await ledger.set_plug_out("NEXT-1", stop, connector_id=2) is None

    record = await ledger.update_session(1, odometer_km=12_345.6, vehicle_id="ZOE")
    assert record is not None and (record.odometer_km, record.vehicle_id) == (12_345.6, "ZOE")
    record = await ledger.update_session(1, vehicle_id=None, tag_alias="Bob")
    assert record is not None
    assert (record.odometer_km, record.vehicle_id, record.tag_alias) == (12_345.6, None, "Bob")
    assert await ledger.update_session(404, odometer_km=1.0) is None


async def test_schema_and_indexes(ledger: Ledger) -> None:
    """WAL, the current schema version, and date-range queries that use an index."""
    conn = sqlite3.connect(ledger.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT count(*), total(energy_kwh) FROM sessions "
                "WHERE charger = ? AND start_time >= ? AND start_time < ? "
                "AND stop_time IS NOT NULL",
                ("NEXT-1", 0, 1),
            )
        )
        assert "USING INDEX sessions_charger_start" in plan
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE start_time >= ? "
                "ORDER BY start_time DESC LIMIT 10",
                (0,),
            )
        )
        assert "USING INDEX sessions_start" in plan
    finally:
        conn.close()


async def test_a_new_database_reports_no_migration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database made now is built through every version without a line about migrating."""
    caplog.set_level(logging.INFO)
    ledger = Ledger(tmp_path / "new.db")
    await ledger.open()
    await ledger.close()
    assert not [r for r in caplog.records if "Migrating" in r.getMessage()]
    conn = sqlite3.connect(tmp_path / "new.db")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


async def test_migration_from_schema_v1_keeps_every_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A version-1 database (ISO text times, no energy column) is migrated in place."""
    caplog.set_level(logging.INFO)
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    conn.executemany(
        "INSERT INTO sessions (id, charger, connector_id, transaction_id, id_tag, start_time, "
        "stop_time, meter_start_wh, meter_stop_wh, stop_reason) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (1, "NEXT-1", 1, 501, "AA", "2024-05-01T10:00:00Z", "2024-05-01T12:30:00Z",
             1000.0, 8500.0, "Local"),
            (2, "NEXT-1", 1, 502, "BB", "2024-05-02T10:00:00+02:00", "2024-05-02T11:00:00+02:00",
             8500.0, 8400.0, "Other"),
            (3, "UNITE-7", 2, 503, "CC", "2024-05-03T09:00:00.250Z", None, 0.0, None, None),
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO samples (session_id, timestamp, power_w, register_wh) VALUES (?,?,?,?)",
        [
            (3, "2024-05-03T09:01:00Z", 7000.0, 100.0),
            (3, "2024-05-03T09:03:00Z", 7100.0, 340.0),
            (3, "2024-05-03T09:02:00Z", 7050.0, 220.0),
            (3, "2024-05-03T09:02:00Z", 7050.0, 220.0),  # v1 had no unique key
            (1, "2024-05-01T10:05:00Z", 3600.0, None),
        ],
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()

    ledger = Ledger(path)
    await ledger.open()
    assert [r.getMessage() for r in caplog.records if "Migrating" in r.getMessage()] == [
        f"Migrating {path} from schema 1 to 2"
    ]
    try:
        page, total = await ledger.query(SessionFilter())
        assert total == 3
        by_id = {r.transaction_id: r for r in page}
        one, two, three = by_id[501], by_id[502], by_id[503]
        assert one.start_time == datetime(2024, 5, 1, 10, tzinfo=UTC)
        assert one.stop_time == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
        assert one.energy_kwh == pytest.approx(7.5) and one.cost is None
        assert (one.charger, one.id_tag, one.stop_reason) == ("NEXT-1", "AA", "Local")
        assert two.start_time == datetime(2024, 5, 2, 8, tzinfo=UTC)
        assert two.energy_kwh == 0.0  # meter went backwards
        assert three.is_open and three.connector_id == 2
        assert three.start_time == datetime(2024, 5, 3, 9, 0, 0, 250_000, tzinfo=UTC)
        assert three.meter_last_wh == 340.0 and three.energy_kwh == pytest.approx(0.34)
        samples = await ledger.samples(503)
        assert [s.register_wh for s in samples] == [100.0, 220.0, 340.0]
        assert samples[0].current_l1 is None and samples[0].power_w == 7000.0
        assert len(await ledger.samples(501)) == 1
        # The migrated database is fully usable.
        stopped = await ledger.stop_session(
            503, datetime(2024, 5, 3, 10, tzinfo=UTC), 400.0, "Local"
        )
        assert stopped is not None and stopped.energy_kwh == pytest.approx(0.4)
        week = await ledger.totals(None, datetime(2024, 5, 1, tzinfo=UTC))
        assert week.sessions == 3 and week.energy_kwh == pytest.approx(7.9)
    finally:
        await ledger.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert {"sessions_start", "sessions_charger_start", "sessions_stop"} <= names
        assert not any(name.endswith("_v2") for name in names)
    finally:
        conn.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database from a newer integration version is not touched."""
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    ledger = Ledger(path)
    with pytest.raises(LedgerSchemaError) as err:
        await ledger.open()
    assert isinstance(err.value, ChargeConnectError)
    assert err.value.translation_key == "ledger_schema_newer"
    assert err.value.placeholders == {
        "path": str(path),
        "version": "99",
        "supported": str(SCHEMA_VERSION),
    }
    assert not ledger.is_open
    with pytest.raises(LedgerClosedError):
        await ledger.query(SessionFilter())


async def test_unreadable_database_is_reported(tmp_path: Path) -> None:
    """A file that is not a database gives a translated error and no thread is left."""
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an SQLite database" * 100)
    ledger = Ledger(path)
    with pytest.raises(LedgerOpenError) as err:
        await ledger.open()
    assert err.value.translation_key == "ledger_open_failed"
    assert err.value.placeholders["path"] == str(path)
    assert "not a database" in err.value.placeholders["error"]
    assert not ledger.is_open
    await ledger.close()  # harmless


async def test_sqlite_failures_become_ledger_errors(ledger: Ledger) -> None:
    """A database broken underneath the ledger raises a translated error, not sqlite3's."""
    await add_stopped(ledger, 1, T0, 1_000)
    conn = sqlite3.connect(ledger.path)
    conn.execute("DROP TABLE samples")
    conn.close()
    with pytest.raises(LedgerDatabaseError) as err:
        await ledger.samples(1)
    assert err.value.translation_key == "ledger_database_error"
    assert "no such table" in err.value.placeholders["error"]
    assert (await ledger.totals(None, T0)).sessions == 1  # the rest still works


# ---------------------------------------------------------------------------- exports


async def archive(ledger: Ledger) -> list[SessionRecord]:
    """Sessions with everything filled in, two currencies, one running, one without tariff."""
    plug = timedelta(minutes=3)
    records = [
        await add_stopped(
            ledger, 1, T0, 12_345, tag_alias="Zoë", plug_in_time=T0 - plug, vehicle_id="EV-ő"
        ),
        await add_stopped(ledger, 2, T0 + timedelta(days=1), 7_000.5, charger="NEXT-2"),
        await add_stopped(ledger, 3, T0 + timedelta(days=2), 3_210, tariff=Tariff("CHF", 1.0, 0.5)),
        await add_stopped(ledger, 4, T0 + timedelta(days=3), 999, tariff=None),
    ]
    await ledger.set_plug_out("NEXT-1", T0 + timedelta(days=3, hours=1, minutes=2))
    await ledger.update_session(1, odometer_km=40_123.0)
    await ledger.start_session(start(5, T0 + timedelta(days=4)))  # running: not exported
    page, _ = await ledger.query(SessionFilter(transaction_ids=[1, 2, 3, 4]))
    assert {r.transaction_id for r in records} == {r.transaction_id for r in page}
    return sorted(page, key=lambda r: r.start_time)


def names(folder: Path) -> list[str]:
    """The files in a folder."""
    return sorted(p.name for p in folder.iterdir())


def decimal(text: str, comma: bool) -> float | None:
    """Parse a CSV number in the export's locale."""
    if text == "":
        return None
    return float(text.replace(",", ".") if comma else text)


@pytest.mark.parametrize(("locale", "separator", "comma", "total"), [
    ("en", ",", False, "Total"),
    ("nl", ";", True, "Totaal"),
    ("de-DE", ";", True, "Summe"),
])  # fmt: skip
async def test_csv_export(
    ledger: Ledger, tmp_path: Path, locale: str, separator: str, comma: bool, total: str
) -> None:
    """CSV read back with the csv module equals the database, in each locale."""
    records = await archive(ledger)
    target = tmp_path / "exports" / "deep" / "sessions.csv"
    result = await ledger.export("csv", target, SessionFilter(), locale=locale)
    assert result.path == target and result.sessions == 4
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == comma  # BOM for Dutch/German Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=separator))
    header, body, totals = rows[0], rows[1:5], rows[5:]
    assert len(header) == 19 and all(len(row) == 19 for row in rows)
    assert "(kWh)" in header[9] and "(kWh)" in header[10] and "(km)" in header[17]
    col = {name: index for index, name in enumerate(
        ["session", "charger", "tag", "alias", "plug_in", "plug_out", "start", "stop",
         "duration", "energy", "meter_start", "meter_stop", "price", "fee", "cost", "currency",
         "reason", "odometer", "vehicle"]
    )}  # fmt: skip
    for row, record in zip(body, records, strict=True):
        assert int(row[col["session"]]) == record.transaction_id
        assert row[col["charger"]] == record.charger and row[col["tag"]] == record.id_tag
        assert row[col["alias"]] == (record.tag_alias or "")
        assert datetime.fromisoformat(row[col["start"]]) == record.start_time
        assert datetime.fromisoformat(row[col["stop"]]) == record.stop_time
        assert decimal(row[col["energy"]], comma) == pytest.approx(record.energy_kwh)
        assert decimal(row[col["meter_start"]], comma) == pytest.approx(
            record.meter_start_wh / 1000
        )
        assert decimal(row[col["meter_stop"]], comma) == pytest.approx(
            (record.meter_stop_wh or 0) / 1000
        )
        assert decimal(row[col["cost"]], comma) == pytest.approx(record.cost)
        assert decimal(row[col["price"]], comma) == pytest.approx(record.price_per_kwh)
        assert row[col["currency"]] == (record.currency or "")
        assert row[col["duration"]] == "1:00:00"
        assert row[col["reason"]] == "Local"
    first = body[0]
    assert first[col["alias"]] == "Zoë" and first[col["vehicle"]] == "EV-ő"
    assert datetime.fromisoformat(first[col["plug_in"]]) == T0 - timedelta(minutes=3)
    assert first[col["plug_out"]] == "" and body[3][col["plug_out"]] != ""
    assert decimal(first[col["odometer"]], comma) == 40_123.0
    assert decimal(body[1][col["energy"]], comma) == 7.0005
    # Totals: energy and cost on the first row, one more row for the second currency.
    assert [row[0] for row in totals] == [total, total]
    assert decimal(totals[0][col["energy"]], comma) == pytest.approx(result.totals.energy_kwh)
    assert result.totals.energy_kwh == pytest.approx(sum(r.energy_kwh for r in records))
    costs = {row[col["currency"]]: decimal(row[col["cost"]], comma) for row in totals}
    assert costs == {"CHF": pytest.approx(1.0 + 3.21 * 0.5), "EUR": pytest.approx(
        records[0].cost + records[1].cost)}  # fmt: skip
    assert costs == pytest.approx(result.totals.cost_by_currency)
    assert names(target.parent) == [target.name]  # no temp file left behind


async def test_csv_export_in_a_time_zone(ledger: Ledger, tmp_path: Path) -> None:
    """Times carry the export's UTC offset; the filter limits the rows."""
    await archive(ledger)
    target = tmp_path / "one.csv"
    zone = zoneinfo.ZoneInfo("Europe/Amsterdam")
    result = await ledger.export(
        "csv", target, SessionFilter(chargers=["NEXT-2"]), tz=zone, locale="xx"
    )
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert result.sessions == 1 and len(rows) == 3
    assert rows[0][6] == "Start (Europe/Amsterdam)"
    assert rows[1][6] == "2025-03-04T09:00:00+01:00"
    assert rows[2][0] == "Total" and rows[2][15] == "EUR"


async def test_xlsx_export(ledger: Ledger, tmp_path: Path) -> None:
    """XLSX read back with openpyxl: typed cells, units in headers, bold totals."""
    records = await archive(ledger)
    target = tmp_path / "sessions.xlsx"
    result = await ledger.export("xlsx", target, SessionFilter(), locale="de")
    assert result.sessions == 4
    book = openpyxl.load_workbook(target, data_only=True)
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][6] == "Start (UTC)" and rows[0][9] == "Energie (kWh)"
    assert sheet.freeze_panes == "A2"
    for row, record in zip(rows[1:5], records, strict=True):
        assert row[0] == record.transaction_id
        assert isinstance(row[6], datetime) and isinstance(row[7], datetime)
        assert row[6] == record.start_time.replace(tzinfo=None)
        assert row[8] == timedelta(hours=1)  # [h]:mm:ss duration
        assert isinstance(row[9], int | float) and row[9] == pytest.approx(record.energy_kwh)
        assert row[10] == pytest.approx(record.meter_start_wh / 1000)
        assert row[14] == (None if record.cost is None else pytest.approx(record.cost))
        assert row[15] == record.currency
    assert sheet.cell(2, 7).number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet.cell(2, 10).number_format == "0.000"
    totals = rows[5:]
    assert [row[0] for row in totals] == ["Summe", "Summe"]
    assert totals[0][9] == pytest.approx(sum(r.energy_kwh for r in records))
    assert {row[15]: row[14] for row in totals} == pytest.approx(result.totals.cost_by_currency)
    assert sheet.cell(6, 1).font.b and sheet.cell(6, 10).font.b
    formulas = openpyxl.load_workbook(target).active
    assert formulas is not None
    assert formulas.cell(6, 10).value == "=SUM(J2:J5)"
    assert formulas.cell(7, 15).value == '=SUMIF(P2:P5,"EUR",O2:O5)'

    empty = await ledger.export("xlsx", tmp_path / "none.xlsx", SessionFilter(chargers=[]))
    sheet = openpyxl.load_workbook(empty.path, data_only=True).active
    assert sheet is not None
    assert [row[0] for row in sheet.iter_rows(values_only=True)][1:] == ["Total"]
    assert empty.sessions == 0 and empty.totals.energy_kwh == 0


def pdf_texts(path: Path) -> list[str]:
    """The text of each page."""
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


async def test_pdf_export_table_and_totals(ledger: Ledger, tmp_path: Path) -> None:
    """A many-page PDF: title, filter, repeated table header, sessions and totals."""
    await archive(ledger)
    for i in range(60):
        await add_stopped(ledger, 1000 + i, T0 + timedelta(days=10, hours=i), 1_500 + i)
    target = tmp_path / "report.pdf"
    result = await ledger.export(
        "pdf", target, SessionFilter(chargers=["NEXT-1", "NEXT-2"]), title="Laadsessies 2025 €"
    )
    pages = pdf_texts(target)
    assert len(pages) >= 2
    assert "Laadsessies 2025 EUR" in pages[0]
    assert "Filter: chargers: NEXT-1, NEXT-2" in pages[0]
    assert "Period: 2025-03-03 08:00 - " in pages[0]
    for page in pages:
        assert "Energy" in page and "Stop reason" in page  # header on every page
    text = "\n".join(pages)
    assert "EV-o" in text and "Zoë" in text  # ő mapped to o, ë is Latin-1
    assert "12.345" in text and "1.559" in text  # energy of session 1 and of 1059
    assert result.sessions == 64 and result.totals.energy_kwh == pytest.approx(
        12.345 + 7.0005 + 3.21 + 0.999 + sum(1.5 + i / 1000 for i in range(60))
    )
    energy = f"Energy (kWh): {result.totals.energy_kwh:,.3f}"
    assert text.count(energy) == 2  # summary at the top and totals at the end
    assert "Cost: " in text and " EUR" in text


async def test_pdf_export_single_session_draws_the_power_curve(
    ledger: Ledger, tmp_path: Path
) -> None:
    """One session: its details and its power curve, drawn as paths, in Dutch."""
    await ledger.start_session(start(77, tag_alias="Ödön Ő €", vehicle_id="Škoda"))
    await ledger.add_samples(77, curve(T0, 90))
    stopped = await ledger.stop_session(77, T0 + timedelta(minutes=90), 26_500.0, "EVDisconnected")
    assert stopped is not None
    target = tmp_path / "session.pdf"
    result = await ledger.export("pdf", target, SessionFilter(transaction_ids=[77]), locale="nl")
    assert result.sessions == 1
    reader = pypdf.PdfReader(target)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Sessiegegevens" in text and "Laadvermogen" in text
    assert "16,500" in text  # energy with a decimal comma
    assert "5,45 EUR" in text  # 0.50 + 16.5 kWh x 0.30
    assert "EVDisconnected" in text and "Ödön O EUR" in text and "Skoda" in text
    assert "1:30:00" in text and "08:00" in text and "09:30" in text  # time axis labels
    assert "kW" in text
    content = reader.pages[0].get_contents()
    assert content is not None
    stream = content.get_data().decode("latin-1")
    # The curve: one path with a move-to and one line-to per sample, stroked.
    path = re.search(r"((?:[\d.]+ [\d.]+ [ml]\s+){80,})S", stream)
    assert path is not None and len(re.findall(r" l\s", path.group(1))) == 89


async def test_pdf_curve_from_registers_and_empty_session(ledger: Ledger, tmp_path: Path) -> None:
    """Without power samples the curve comes from the register; no samples: a note."""
    await ledger.start_session(start(1))
    await ledger.add_samples(
        1, [Sample(T0 + timedelta(minutes=i), register_wh=10_000 + 100 * i) for i in range(20)]
    )
    await ledger.stop_session(1, T0 + timedelta(minutes=20), 12_000.0, "Local")
    await add_stopped(ledger, 2, T0 + timedelta(hours=2), 500)
    one = await ledger.export("pdf", tmp_path / "a.pdf", SessionFilter(transaction_ids=[1]))
    content = pypdf.PdfReader(one.path).pages[0].get_contents()
    assert content is not None
    assert len(re.findall(r" l\s", content.get_data().decode("latin-1"))) >= 18
    two = await ledger.export("pdf", tmp_path / "b.pdf", SessionFilter(transaction_ids=[2]))
    assert "No power samples recorded" in pdf_texts(two.path)[0]


async def test_export_errors(ledger: Ledger, tmp_path: Path) -> None:
    """Bad format and unwritable target raise translated errors and leave no files."""
    await add_stopped(ledger, 1, T0, 1_000)
    with pytest.raises(ExportFormatError) as err:
        await ledger.export("ods", tmp_path / "x.ods", SessionFilter())  # type: ignore[arg-type]
    assert err.value.translation_key == "export_format_unsupported"
    assert err.value.placeholders == {"format": "ods"}
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ExportError) as failed:
        await ledger.export("csv", blocker / "x.csv", SessionFilter())
    assert failed.value.translation_key == "export_failed"
    assert failed.value.placeholders["path"] == str(blocker / "x.csv")
    assert names(tmp_path) == ["file", "ledger"]
    # The ledger still works after a failed export.
    assert (await ledger.totals(None, T0)).sessions == 1


async def test_export_streams_in_chunks_while_writes_go_on(ledger: Ledger, tmp_path: Path) -> None:
    """A stop queued during a long export runs between its chunks; the export is a snapshot."""
    records = [
        (
            SessionRecord(
                transaction_id=i,
                charger="NEXT-1",
                connector_id=1,
                id_tag="AA",
                start_time=T0 + timedelta(minutes=i),
                stop_time=T0 + timedelta(minutes=i + 1),
                meter_start_wh=0.0,
                meter_stop_wh=1000.0,
                energy_kwh=1.0,
            ),
            [],
        )
        for i in range(1, 3501)
    ]
    assert await ledger.import_sessions(records, batch=1000) == 3500
    assert await ledger.import_sessions(records[:10]) == 0  # already there
    await ledger.start_session(start(9999, T0))
    export = asyncio.ensure_future(ledger.export("csv", tmp_path / "all.csv", SessionFilter()))
    stop = asyncio.ensure_future(ledger.stop_session(9999, T0 + timedelta(hours=1), 20_000, "x"))
    stopped = await stop
    assert not export.done()  # the stop did not wait for the whole export
    result = await export
    assert stopped is not None and result.sessions == 3500
    rows = list(csv.reader((tmp_path / "all.csv").open(encoding="utf-8")))
    assert len(rows) == 1 + result.sessions + 1

    # Cancelled half-way (an action that timed out): no temp file stays behind.
    target = tmp_path / "cancelled" / "all.xlsx"
    export = asyncio.ensure_future(ledger.export("xlsx", target, SessionFilter()))
    # Tasks start in order: the read is queued behind the export's first chunk.
    assert await asyncio.ensure_future(ledger.get_session(9999)) is not None
    assert names(target.parent)[0].startswith(".all.xlsx.")  # the temp file
    export.cancel()
    with pytest.raises(asyncio.CancelledError):
        await export
    assert (await ledger.totals(None, T0)).sessions == 3501  # queued after the clean-up
    assert names(target.parent) == []


def test_pdf_text_maps_what_core_fonts_lack() -> None:
    """Latin-1 stays, the rest is mapped or stripped of its accents."""
    assert pdf_text("Zoë 5 € \u2013 ő Ł Œ ☃") == "Zoë 5 EUR - o L OE ?"
    assert pdf_text("plain") == "plain"


async def test_concurrent_samples_are_batched(ledger: Ledger) -> None:
    """Samples from many chargers at once share writes; each caller gets its own count."""
    for tx in (1, 2, 3):
        await ledger.start_session(start(tx, charger=f"NEXT-{tx}"))
    points = curve(T0, 30)
    counts = await asyncio.gather(
        *(ledger.add_samples(tx, [point]) for point in points for tx in (1, 2, 3)),
        ledger.add_samples(99, points[:2]),  # an unknown session: nothing stored
        ledger.add_samples(1, points[:1]),  # a repeat: nothing new
    )
    assert counts[:-2] == [1] * 90
    assert counts[-2:] == [0, 0]
    for tx in (1, 2, 3):
        stored = await ledger.samples(tx)
        assert [s.timestamp for s in stored] == [p.timestamp for p in points]
    record = await ledger.get_session(2)
    assert record is not None
    assert record.energy_kwh == pytest.approx((points[-1].register_wh - 10_000.0) / 1000)


async def test_samples_after_close_are_refused(tmp_path: Path) -> None:
    """A closed ledger refuses samples with its own error, not a crash in a thread."""
    ledger = Ledger(tmp_path / "sessions.db")
    await ledger.open()
    await ledger.start_session(start(1))
    await ledger.close()
    with pytest.raises(LedgerClosedError):
        await ledger.add_samples(1, curve(T0, 1))
