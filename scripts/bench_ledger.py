"""Benchmark: the session ledger (SQLite archive, totals, exports) on a large archive.

Builds an archive of ``--sessions`` sessions (default 20,000) with ``--samples`` power
samples each (default 200, one a minute) spread over ``--years`` years and ``--chargers``
chargers, through ``Ledger.import_sessions`` (the documented bulk helper: the generator is
consumed in the ledger's thread, 500 sessions per transaction). Then it measures, on that
file:

* the database size, and how long ``open()`` takes on the existing archive (the
  time the ledger adds to the integration's setup; first open and median of 5),
* ``query`` of one month (first page, a later page, with the total count),
* ``totals`` for 7 and 30 days (all chargers and one),
* a session stop on the live archive,
* exports of one year and of everything as CSV, XLSX and PDF (seconds, file size), and a
  stop issued while the biggest XLSX export runs (how long it waits),
* memory: peak of the Python heap (tracemalloc, in a second pass so that tracing does not
  slow the timed pass) for each export of everything and of one year, and the process's
  peak RSS,
* the longest event-loop block during each phase: a ticker coroutine sleeps 1 ms in a loop
  and records the largest overshoot (and the p99 of those gaps during the exports),
  next to two references: the same ticker while a thread runs pure Python for 5 s (the
  floor that GIL hand-over and this machine's scheduling give), and the one-off import of
  XlsxWriter and fpdf2 at their first use.

Prints a Markdown table (``--json PATH`` also writes the figures). Usage:
    scripts/bench_ledger [--sessions 20000] [--samples 200] [--dir DIR] [--keep]
                         [--no-tracemalloc] [--json PATH]
``--dir`` reuses an archive built earlier with the same size (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
import importlib
import json
from pathlib import Path
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.webasto_chargeconnect.chargeconnect.ledger import (  # noqa: E402
    Ledger,
    Sample,
    SessionFilter,
    SessionRecord,
    SessionStart,
)
from custom_components.webasto_chargeconnect.chargeconnect.models import Tariff  # noqa: E402

TARGET_OPEN_MS = 200.0
TARGET_CSV_ALL_S = 1.0
TARGET_XLSX_ALL_S = 5.0
TARGET_BLOCK_MS = 50.0

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Ticker:
    """The longest time the event loop could not run a 1 ms sleep on time."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.gaps: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.001)
            gap = time.perf_counter() - began - 0.001
            self.gaps.append(gap)
            self.longest = max(self.longest, gap)

    def __enter__(self) -> Ticker:
        self.longest = 0.0
        self.gaps = []
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def archive(
    sessions: int, samples: int, chargers: int, years: float, seed: int = 1
) -> Iterator[tuple[SessionRecord, Sequence[Sample]]]:
    """Finished sessions, oldest first, evenly spread over the years before NOW."""
    rng = random.Random(seed)
    span = timedelta(days=365 * years)
    first = NOW - span
    step = span / sessions
    registers = [rng.uniform(0, 5e6) for _ in range(chargers)]
    tariffs = [Tariff("EUR", 0.0, 0.29), Tariff("EUR", 0.5, 0.35), Tariff("CHF", 1.0, 0.40)]
    for index in range(sessions):
        charger = index % chargers
        started = first + step * index + timedelta(seconds=rng.randint(0, 600))
        power = rng.choice((3_700.0, 7_400.0, 11_000.0))
        meter_start = registers[charger]
        points: list[Sample] = []
        register = meter_start
        for minute in range(samples):
            watts = power * (1.0 if minute < samples * 0.8 else 0.5)
            register += watts / 60
            amps = round(watts / 230 / 3, 2)
            points.append(
                Sample(started + timedelta(minutes=minute), watts, amps, amps, amps, register)
            )
        registers[charger] = register
        stopped = started + timedelta(minutes=samples)
        energy = round((register - meter_start) / 1000, 6)
        tariff = tariffs[index % 7 % 3] if index % 11 else None
        yield (
            SessionRecord(
                transaction_id=index + 1,
                charger=f"NEXT-WS{100000 + charger}",
                connector_id=1,
                id_tag=f"{rng.randrange(16**8):08X}",
                start_time=started,
                meter_start_wh=meter_start,
                tag_alias=rng.choice((None, "Anna", "Bram", "Zoë")),
                group_id=rng.choice((None, "family", "guests")),
                plug_in_time=started - timedelta(minutes=1),
                plug_out_time=stopped + timedelta(minutes=5),
                stop_time=stopped,
                meter_stop_wh=register,
                meter_last_wh=register,
                energy_kwh=energy,
                currency=None if tariff is None else tariff.currency,
                fixed_fee=None if tariff is None else tariff.fixed_fee,
                price_per_kwh=None if tariff is None else tariff.price_per_kwh,
                cost=None if tariff is None else tariff.cost(energy),
                stop_reason=rng.choice(("Local", "EVDisconnected", "Remote")),
                odometer_km=float(10_000 + index * 12) if index % 3 == 0 else None,
                vehicle_id=rng.choice((None, "ZOE", "ID.3")),
            ),
            points,
        )


CPU = {"last": 0.0}


GAPS: list[float] = []


async def timed[T](func: Callable[[], Awaitable[T]]) -> tuple[T, float, float]:
    """Result, seconds, and the longest loop block meanwhile (seconds).

    The process CPU time it took (all threads) is left in ``CPU["last"]``, the ticker's
    gaps in ``GAPS``.
    """
    with Ticker() as ticker:
        began = time.perf_counter()
        cpu = time.process_time()
        result = await func()
        elapsed = time.perf_counter() - began
        CPU["last"] = time.process_time() - cpu
        await asyncio.sleep(0.005)  # let the ticker see the end
    GAPS[:] = ticker.gaps
    return result, elapsed, ticker.longest


def busy(seconds: float) -> None:
    """Pure-Python work that allocates (the GIL is handed over every 5 ms)."""
    end = time.perf_counter() + seconds
    junk: list[tuple[int, str]] = []
    while time.perf_counter() < end:
        junk.extend((i, str(i)) for i in range(1000))
        junk.clear()


def size(path: Path) -> int:
    """A database's size with its WAL."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def mib(value: float) -> str:
    """Bytes as MiB."""
    return f"{value / 2**20:.1f} MiB"


def maxrss() -> int:
    """Peak RSS of this process in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """All measurements."""
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_ledger_"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"ledger_{args.sessions}x{args.samples}.db"
    out = workdir / "exports"
    figures: dict[str, Any] = {"sessions": args.sessions, "samples": args.samples}
    blocks: dict[str, float] = {}
    rss_start = maxrss()
    try:
        if not db.exists():
            ledger = Ledger(db)
            await ledger.open()
            log(f"building {args.sessions} sessions x {args.samples} samples in {db}")
            source = archive(args.sessions, args.samples, args.chargers, args.years)
            inserted, seconds, block = await timed(lambda: ledger.import_sessions(source))
            assert inserted == args.sessions, inserted
            figures["build_s"] = seconds
            blocks["build (bulk import)"] = block
            await ledger.close()
        figures["db_bytes"] = size(db)

        # Opening the existing archive: what the ledger adds to the setup.
        opens: list[float] = []
        for _ in range(5):
            ledger = Ledger(db)
            _, seconds, block = await timed(ledger.open)
            opens.append(seconds)
            blocks["open"] = max(blocks.get("open", 0.0), block)
            await ledger.close()
        figures["open_first_ms"] = opens[0] * 1000
        figures["open_median_ms"] = statistics.median(opens) * 1000

        ledger = Ledger(db)
        await ledger.open()
        try:
            last = await ledger.last_session()
            assert last is not None
            end = last.start_time + timedelta(seconds=1)
            month = SessionFilter(start=end - timedelta(days=30), end=end)
            (_, total), seconds, block = await timed(lambda: ledger.query(month, 0, 100))
            figures["query_month_ms"] = seconds * 1000
            figures["query_month_total"] = total
            blocks["query"] = block
            _, seconds, block = await timed(lambda: ledger.query(month, 400, 100))
            figures["query_month_page5_ms"] = seconds * 1000
            blocks["query"] = max(blocks["query"], block)
            one = SessionFilter(chargers=[last.charger], start=end - timedelta(days=30), end=end)
            _, seconds, _ = await timed(lambda: ledger.query(one, 0, 100))
            figures["query_month_one_charger_ms"] = seconds * 1000

            for days in (7, 30):
                since = end - timedelta(days=days)
                totals, seconds, block = await timed(lambda s=since: ledger.totals(None, s, end))
                figures[f"totals_{days}d_ms"] = seconds * 1000
                figures[f"totals_{days}d_sessions"] = totals.sessions
                blocks["totals"] = max(blocks.get("totals", 0.0), block)
                totals, seconds, _ = await timed(
                    lambda s=since: ledger.totals(last.charger, s, end)
                )
                figures[f"totals_{days}d_one_charger_ms"] = seconds * 1000
            _, seconds, _ = await timed(lambda: ledger.totals(None, NOW - timedelta(days=9999)))
            figures["totals_all_ms"] = seconds * 1000

            # A live session on the big archive.
            live_id = args.sessions + 1
            start = SessionStart(live_id, last.charger, 1, "LIVE", NOW, 1e6, Tariff())
            _, seconds, block = await timed(lambda: ledger.start_session(start))
            figures["start_session_ms"] = seconds * 1000
            points = [Sample(NOW + timedelta(seconds=10 * i), 7000.0) for i in range(10)]
            _, seconds, _ = await timed(lambda: ledger.add_samples(live_id, points))
            figures["add_samples_ms"] = seconds * 1000
            _, seconds, block2 = await timed(
                lambda: ledger.stop_session(live_id, NOW + timedelta(hours=1), 1.01e6, "Local")
            )
            figures["stop_session_ms"] = seconds * 1000
            blocks["start/samples/stop"] = max(block, block2)

            # The floor on this machine: the same ticker while a thread runs pure Python.
            loop = asyncio.get_running_loop()
            _, _, block = await timed(lambda: loop.run_in_executor(None, busy, 5.0))
            figures["floor_block_ms"] = block * 1000
            # First use of the writer libraries imports them (in the ledger's thread when an
            # export runs; here in a worker thread, measured apart from the exports).
            _, seconds, block = await timed(
                lambda: asyncio.to_thread(
                    lambda: (importlib.import_module("xlsxwriter"), importlib.import_module("fpdf"))
                )
            )
            figures["import_writers_s"] = seconds
            figures["import_writers_block_ms"] = block * 1000

            year = SessionFilter(start=end - timedelta(days=365), end=end)
            everything = SessionFilter()
            export_gaps: list[float] = []
            for fmt in ("csv", "xlsx", "pdf"):
                for label, flt in (("year", year), ("all", everything)):
                    target = out / f"sessions_{label}.{fmt}"
                    log(f"export {label} as {fmt}")
                    rss_before = maxrss()
                    result, seconds, block = await timed(
                        lambda f=fmt, t=target, x=flt: ledger.export(f, t, x)  # type: ignore[misc]
                    )
                    figures[f"export_{fmt}_{label}_s"] = seconds
                    figures[f"export_{fmt}_{label}_cpu_s"] = CPU["last"]
                    figures[f"export_{fmt}_{label}_bytes"] = target.stat().st_size
                    figures[f"export_{fmt}_{label}_sessions"] = result.sessions
                    figures[f"export_{fmt}_{label}_rss_growth"] = maxrss() - rss_before
                    blocks[f"export {fmt}"] = max(blocks.get(f"export {fmt}", 0.0), block)
                    export_gaps.extend(GAPS)

            export_gaps.sort()
            figures["export_gap_p99_ms"] = export_gaps[int(len(export_gaps) * 0.99)] * 1000
            figures["export_gap_p999_ms"] = export_gaps[int(len(export_gaps) * 0.999)] * 1000

            # A single-session PDF with its power curve.
            _, seconds, block = await timed(
                lambda: ledger.export(
                    "pdf", out / "session.pdf", SessionFilter(transaction_ids=[last.transaction_id])
                )
            )
            figures["export_pdf_session_s"] = seconds
            blocks["export pdf"] = max(blocks["export pdf"], block)

            # How long a stop waits while the biggest XLSX export runs.
            waits: list[float] = []
            live_id += 1
            await ledger.start_session(
                SessionStart(live_id, last.charger, 1, "LIVE", NOW, 1e6, Tariff())
            )

            async def stop_during_export() -> None:
                export = asyncio.ensure_future(
                    ledger.export("xlsx", out / "concurrent.xlsx", everything)
                )
                await asyncio.sleep(0.3)
                began = time.perf_counter()
                await ledger.stop_session(live_id, NOW + timedelta(hours=2), 1.02e6, "Local")
                waits.append(time.perf_counter() - began)
                await export

            _, _, block = await timed(stop_during_export)
            figures["stop_during_export_ms"] = waits[0] * 1000
            blocks["export xlsx"] = max(blocks["export xlsx"], block)

            if args.tracemalloc:
                tracemalloc.start()
                for fmt in ("csv", "xlsx", "pdf"):
                    for label, flt in (("year", year), ("all", everything)):
                        log(f"export {label} as {fmt} (tracemalloc)")
                        tracemalloc.reset_peak()
                        base = tracemalloc.get_traced_memory()[0]
                        await ledger.export(fmt, out / f"traced.{fmt}", flt)  # type: ignore[arg-type]
                        figures[f"export_{fmt}_{label}_heap_peak"] = (
                            tracemalloc.get_traced_memory()[1] - base
                        )
                tracemalloc.stop()
        finally:
            await ledger.close()
        figures["rss_peak"] = maxrss()
        figures["rss_growth"] = maxrss() - rss_start
        figures["blocks_ms"] = {k: v * 1000 for k, v in blocks.items()}
        figures["longest_block_ms"] = max(blocks.values()) * 1000
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep or args.dir:
            log(f"kept {workdir}")
    return figures


def table(f: dict[str, Any], tracemalloc_on: bool) -> str:
    """The figures as Markdown."""

    def ok(value: float, target: float) -> str:
        return "yes" if value < target else "**NO**"

    rows = [
        ("Archive", f"{f['sessions']:,} sessions x {f['samples']} samples", "", ""),
        ("DB size (with WAL)", mib(f["db_bytes"]), "", ""),
    ]
    if "build_s" in f:
        rate = f["sessions"] * f["samples"] / f["build_s"]
        rows.append(
            ("Build (bulk import)", f"{f['build_s']:.1f} s ({rate:,.0f} samples/s)", "", "")
        )
    rows += [
        (
            "open() on the archive (added setup time)",
            f"{f['open_first_ms']:.1f} ms first, {f['open_median_ms']:.1f} ms median of 5",
            f"< {TARGET_OPEN_MS:.0f} ms",
            ok(max(f["open_first_ms"], f["open_median_ms"]), TARGET_OPEN_MS),
        ),
        (
            f"query one month ({f['query_month_total']} sessions), page 1 / page 5",
            f"{f['query_month_ms']:.1f} ms / {f['query_month_page5_ms']:.1f} ms",
            "",
            "",
        ),
        ("query one month, one charger", f"{f['query_month_one_charger_ms']:.1f} ms", "", ""),
        (
            f"totals 7 days ({f['totals_7d_sessions']} sessions): all / one charger",
            f"{f['totals_7d_ms']:.2f} ms / {f['totals_7d_one_charger_ms']:.2f} ms",
            "",
            "",
        ),
        (
            f"totals 30 days ({f['totals_30d_sessions']} sessions): all / one charger",
            f"{f['totals_30d_ms']:.2f} ms / {f['totals_30d_one_charger_ms']:.2f} ms",
            "",
            "",
        ),
        ("totals over everything", f"{f['totals_all_ms']:.1f} ms", "", ""),
        (
            "start / add 10 samples / stop a session",
            f"{f['start_session_ms']:.2f} / {f['add_samples_ms']:.2f} / "
            f"{f['stop_session_ms']:.2f} ms",
            "",
            "",
        ),
    ]
    for fmt in ("csv", "xlsx", "pdf"):
        for label in ("year", "all"):
            seconds = f[f"export_{fmt}_{label}_s"]
            target, verdict = "", ""
            if label == "all" and fmt == "csv":
                target, verdict = f"< {TARGET_CSV_ALL_S:.0f} s", ok(seconds, TARGET_CSV_ALL_S)
            if label == "all" and fmt == "xlsx":
                target, verdict = f"< {TARGET_XLSX_ALL_S:.0f} s", ok(seconds, TARGET_XLSX_ALL_S)
            memory = ""
            if tracemalloc_on:
                memory = f", heap peak {mib(f[f'export_{fmt}_{label}_heap_peak'])}"
            count = f[f"export_{fmt}_{label}_sessions"]
            cpu = f[f"export_{fmt}_{label}_cpu_s"]
            rows.append(
                (
                    f"export {fmt.upper()} {label} ({count:,} sessions)",
                    f"{seconds:.2f} s ({cpu:.2f} s CPU), "
                    f"{mib(f[f'export_{fmt}_{label}_bytes'])}{memory}",
                    target,
                    verdict,
                )
            )
    rows += [
        (
            "export PDF of one session (details + power curve)",
            f"{f['export_pdf_session_s']:.2f} s",
            "",
            "",
        ),
        (
            "a stop issued during the XLSX export of all waits",
            f"{f['stop_during_export_ms']:.0f} ms",
            "",
            "",
        ),
        (
            "peak RSS of the process (growth during the run)",
            f"{mib(f['rss_peak'])} ({mib(f['rss_growth'])})",
            "",
            "",
        ),
    ]
    rows.append(
        (
            "first use: import of XlsxWriter + fpdf2 (Pillow, fontTools)",
            f"{f['import_writers_s']:.2f} s, loop block {f['import_writers_block_ms']:.1f} ms",
            "",
            "",
        )
    )
    rows.append(
        (
            "floor: loop block while a thread runs pure Python for 5 s",
            f"{f['floor_block_ms']:.1f} ms",
            "",
            "",
        )
    )
    rows.append(
        (
            "event-loop gaps during the six exports: p99 / p99.9",
            f"{f['export_gap_p99_ms']:.1f} ms / {f['export_gap_p999_ms']:.1f} ms",
            "",
            "",
        )
    )
    for phase, value in f["blocks_ms"].items():
        rows.append((f"longest event-loop block: {phase}", f"{value:.1f} ms", "", ""))
    rows.append(
        (
            "**longest event-loop block overall**",
            f"{f['longest_block_ms']:.1f} ms",
            f"< {TARGET_BLOCK_MS:.0f} ms",
            ok(f["longest_block_ms"], TARGET_BLOCK_MS),
        )
    )
    lines = ["| measurement | result | target | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=200, help="samples per session")
    parser.add_argument("--chargers", type=int, default=8)
    parser.add_argument("--years", type=float, default=3.0, help="span of the archive")
    parser.add_argument("--dir", help="work directory (an archive there is reused)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    print(table(figures, args.tracemalloc))


if __name__ == "__main__":
    main()
