"""Benchmark: the OCPP server inside Home Assistant under MeterValues load.

For each N (``--chargers 1,100,1000``) a fresh worker process (this script with
``--worker N``) starts a real Home Assistant core (the test harness's
``async_test_home_assistant`` in a temporary config directory), sets up N config entries
of the integration on one port and starts ``scripts/bench_load.py`` as a separate
process: N simulated chargers that boot, start a transaction and then send MeterValues as
fast as they are answered (one frame in flight per charger). The worker measures, over
the ``--seconds`` window after ``--warmup`` seconds:

* messages per second (frames the server received) and the client's p50/p99 latency,
* server CPU time per message (``time.process_time`` of the Home Assistant process),
* memory per connected charger (RSS after N chargers connected, booted and configured,
  minus RSS before the first entry, divided by N),
* state writes per message (``state_changed`` + ``state_reported`` events; a
  ``state_reported`` event is a write whose value did not change).

Each N runs in its own process so that memory freed by an earlier run cannot hide the
growth of a later one. Every frame is schema-validated as in production (after the window
the load generator sends one invalid frame and must get a CallError); the integration is
used as shipped (entity refresh throttle 1 s unless ``--throttle`` says otherwise).

Diagnostics: ``--profile`` (cProfile of the server during the window: own time per
component and the top 25 functions), ``--memory-profile`` (tracemalloc of the setup: where
the memory per charger is allocated), ``--floor`` (the same load against a bare aiohttp
websocket server: what the transport alone costs on this machine). Results go to
``bench_results/latest.json`` (``profile.json`` for profiled runs).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Callable
import gc
import importlib
import io
import json
import logging
from pathlib import Path
import resource
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
RESULTS = ROOT / "bench_results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # custom_components
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))  # bench_load

# Targets from the issue (on a 2-core machine, at 100 chargers).
TARGET_RATE = 5000.0
TARGET_P99_MS = 50.0
TARGET_KB = 100.0
TARGET_AT = 100


def raise_fd_limit() -> None:
    """Allow thousands of sockets (N=1000 needs 2000+ descriptors)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def rss_bytes() -> int:
    """Resident set size of this process."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# =============================================================================== worker


async def _read_event(stream: asyncio.StreamReader, event: str, timeout: float) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            line = await stream.readline()
            if not line:
                raise RuntimeError(f"the load generator exited before sending {event!r}")
            data: dict[str, Any] = json.loads(line)
            if data.get("event") == event:
                return data


class LoopMeter:
    """How long the event loop waits in its selector, and its longest busy stretch."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._selector = loop._selector  # type: ignore[attr-defined]
        self._select = self._selector.select
        self.idle = 0.0
        self.iterations = 0
        self.longest = 0.0
        self._busy_since = time.perf_counter()
        self._selector.select = self._timed_select

    def _timed_select(self, timeout: float | None = None) -> Any:
        began = time.perf_counter()
        self.longest = max(self.longest, began - self._busy_since)
        try:
            return self._select(timeout)
        finally:
            self._busy_since = time.perf_counter()
            self.idle += self._busy_since - began
            self.iterations += 1

    def close(self) -> None:
        """Stop measuring."""
        self._selector.select = self._select


class GcMeter:
    """Time spent in the cyclic garbage collector, and its longest pause."""

    def __init__(self) -> None:
        self.total = 0.0
        self.longest = 0.0
        self.collections = [0, 0, 0]
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        pause = time.perf_counter() - self._began
        self.total += pause
        self.longest = max(self.longest, pause)
        self.collections[info["generation"]] += 1

    def close(self) -> None:
        """Stop measuring."""
        gc.callbacks.remove(self._callback)


class LoadProcess:
    """scripts/bench_load.py in its own process, driven over stdin/stdout."""

    def __init__(self, port: int, n: int, args: argparse.Namespace) -> None:
        self.port = port
        self.n = n
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the process; the chargers connect and set up at once."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPTS / "bench_load.py"),
            "--url",
            f"ws://127.0.0.1:{self.port}/ocpp",
            "--count",
            str(self.n),
            "--max-seconds",
            str(self.args.warmup + self.args.seconds + 120),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )

    @property
    def _pipes(self) -> tuple[asyncio.StreamWriter, asyncio.StreamReader]:
        assert self.proc is not None
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        return self.proc.stdin, self.proc.stdout

    async def wait_ready(self) -> dict[str, Any]:
        """Until every charger has booted and started its transaction."""
        ready = await _read_event(self._pipes[1], "ready", 60 + 0.3 * self.n)
        if ready["failed"]:
            raise RuntimeError(f"{ready['failed']} chargers failed to set up: {ready['failures']}")
        return ready

    async def command(self, text: str) -> None:
        """go, mark or stop."""
        stdin = self._pipes[0]
        stdin.write(f"{text}\n".encode())
        await stdin.drain()

    async def result(self) -> dict[str, Any]:
        """The client's figures (after ``stop``); the process then exits."""
        stdin, stdout = self._pipes
        client = await _read_event(stdout, "result", 60)
        stdin.close()
        assert self.proc is not None
        async with asyncio.timeout(60):
            await self.proc.wait()
        return client

    async def close(self) -> None:
        """Kill the process if it is still running."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def _unload_all(hass: HomeAssistant, domain: str) -> None:
    from homeassistant.config_entries import ConfigEntryState

    loaded = [
        e for e in hass.config_entries.async_entries(domain) if e.state is ConfigEntryState.LOADED
    ]
    async with asyncio.timeout(300):
        for start in range(0, len(loaded), 100):
            await asyncio.gather(
                *(hass.config_entries.async_unload(e.entry_id) for e in loaded[start : start + 100])
            )
        await hass.async_block_till_done()


async def _bench_one(hass: HomeAssistant, args: argparse.Namespace) -> dict[str, Any]:
    import cProfile
    import pstats

    import bench_load
    from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
    from homeassistant.core import Event, callback
    from homeassistant.helpers import entity_registry as er
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from custom_components.webasto_chargeconnect import PLATFORMS
    from custom_components.webasto_chargeconnect.chargeconnect.ocpp import validation
    from custom_components.webasto_chargeconnect.const import DOMAIN
    from custom_components.webasto_chargeconnect.coordinator import ChargeConnectCoordinator
    from custom_components.webasto_chargeconnect.hub import ChargeConnectHub

    n: int = args.worker
    ChargeConnectHub.host = "127.0.0.1"
    ChargeConnectCoordinator.throttle = args.throttle

    # Process-wide, one-time costs stay out of the per-charger memory figure: the
    # platform modules and Home Assistant's entity components (loaded in any real
    # installation), and the compiled validators.
    for platform in PLATFORMS:
        importlib.import_module(f"custom_components.webasto_chargeconnect.{platform.value}")
        assert await async_setup_component(hass, platform.value, {})
    await hass.async_add_executor_job(validation.warm_up)
    await hass.async_block_till_done()
    if args.memory_profile:
        tracemalloc.start(args.memory_profile)
    gc.collect()
    rss_before = rss_bytes()
    traced_before = tracemalloc.take_snapshot() if args.memory_profile else None

    def make_entry(index: int, port: int) -> MockConfigEntry:
        ident = bench_load.identity(index)
        return MockConfigEntry(
            domain=DOMAIN,
            title=f"Webasto {ident}",
            unique_id=ident,
            data={
                "identity": ident,
                "password": bench_load.password(index),
                "port": port,
                "ssl_certfile": None,
                "ssl_keyfile": None,
            },
        )

    log(f"N={n}: setting up {n} config entries")
    started = time.perf_counter()
    first = make_entry(1, 0)
    first.add_to_hass(hass)
    assert await hass.config_entries.async_setup(first.entry_id), "first entry did not load"
    port: int = first.runtime_data.port
    entries = [first]
    rest = [make_entry(i, port) for i in range(2, n + 1)]
    for entry in rest:
        entry.add_to_hass(hass)
    for start in range(0, len(rest), 50):
        chunk = rest[start : start + 50]
        ok = await asyncio.gather(*(hass.config_entries.async_setup(e.entry_id) for e in chunk))
        assert all(ok), "an entry did not load"
        entries.extend(chunk)
    await hass.async_block_till_done()
    setup_entries_s = time.perf_counter() - started

    chargers = [e.runtime_data.charger for e in entries]
    coordinators = [e.runtime_data.coordinator for e in entries]

    log(f"N={n}: {n} entries loaded; starting {n} simulated chargers on port {port}")
    load = LoadProcess(port, n, args)
    try:
        await load.start()
        ready = await load.wait_ready()
        await _wait_for_chargers(chargers, 120)
        await hass.async_block_till_done()
        connect_s = time.perf_counter() - started - setup_entries_s
        gc.collect()
        rss_connected = rss_bytes()
        memory_text = None
        if traced_before is not None:
            memory_text = _memory_text(traced_before, tracemalloc.take_snapshot(), n)
            tracemalloc.stop()

        # The benchmark's own bookkeeping starts after the memory figure.
        entry_ids = {e.entry_id for e in entries}
        registry = er.async_get(hass)
        registered = [e for e in registry.entities.values() if e.config_entry_id in entry_ids]
        enabled = {e.entity_id for e in registered if e.disabled_by is None}
        entities = sum(1 for s in hass.states.async_all() if s.entity_id in enabled)
        # Writes per entity key (the unique id without the identity), for the report.
        key_of = {
            e.entity_id: e.unique_id.removeprefix(f"{e.unique_id.split('_', 1)[0]}_")
            for e in registered
        }
        counts = {"changed": 0, "reported": 0, "attributes_only": 0}
        writes_by_key: Counter[str] = Counter()
        unchanged_by_key: Counter[str] = Counter()
        measuring = False

        @callback
        def on_state_changed(event: Event[Any]) -> None:
            counts["changed"] += 1
            old, new = event.data["old_state"], event.data["new_state"]
            if old is not None and new is not None and old.state == new.state:
                counts["attributes_only"] += 1
            if measuring:
                writes_by_key[key_of.get(event.data["entity_id"], "other")] += 1

        @callback
        def count_reported(data: Any) -> bool:
            counts["reported"] += 1
            if measuring:
                unchanged_by_key[key_of.get(data["entity_id"], "other")] += 1
            return False  # counted; nothing to run

        @callback
        def never_called(_event: Event[Any]) -> None:
            """Needed by the bus; the filter above returns False."""

        remove_listeners = [
            hass.bus.async_listen(EVENT_STATE_CHANGED, on_state_changed),
            hass.bus.async_listen(EVENT_STATE_REPORTED, never_called, event_filter=count_reported),
        ]
        loop_meter = LoopMeter(asyncio.get_running_loop())
        gc_meter = GcMeter()

        def snapshot() -> dict[str, float]:
            return {
                "cpu": time.process_time(),
                "wall": time.perf_counter(),
                "frames": sum(c.connection.frames_in for c in chargers if c.connection is not None),
                "pushes": sum(c.pushes for c in coordinators),
                "idle": loop_meter.idle,
                "gc": gc_meter.total,
                "gc2": gc_meter.collections[2],
                "iterations": loop_meter.iterations,
                **counts,
            }

        log(
            f"N={n}: all connected and configured ({entities} entities); load for "
            f"{args.warmup:g} s warm-up + {args.seconds:g} s measurement"
        )
        profiler = cProfile.Profile() if args.profile else None
        try:
            await load.command("go")
            await asyncio.sleep(args.warmup)
            before = snapshot()
            await load.command("mark")
            loop_meter.longest = 0.0
            gc_meter.longest = 0.0
            measuring = True
            if profiler is not None:
                profiler.enable()
            await asyncio.sleep(args.seconds)
            if profiler is not None:
                profiler.disable()
            after = snapshot()
            longest_iteration = loop_meter.longest
            longest_gc = gc_meter.longest
            measuring = False
            await load.command("stop")
            rss_loaded = rss_bytes()
            client = await load.result()
        finally:
            loop_meter.close()
            gc_meter.close()
            for remove in remove_listeners:
                remove()
    finally:
        await load.close()

    delta = {k: after[k] - before[k] for k in after}
    messages = int(delta["frames"])
    wall = delta["wall"]
    writes = delta["changed"] + delta["reported"]
    result: dict[str, Any] = {
        "chargers": n,
        "throttle_s": args.throttle,
        "messages": messages,
        "window_s": round(wall, 3),
        "msgs_per_s": messages / wall,
        "p50_ms": client["p50_ms"],
        "p90_ms": client["p90_ms"],
        "p99_ms": client["p99_ms"],
        "max_ms": client["max_ms"],
        "client_messages": client["messages"],
        "call_errors": client["call_errors"],
        "server_cpu_us_per_msg": delta["cpu"] / messages * 1e6 if messages else None,
        "server_cpu_share": delta["cpu"] / wall,
        "loop_idle_share": delta["idle"] / wall,
        "loop_iterations_per_s": delta["iterations"] / wall,
        "longest_loop_iteration_ms": longest_iteration * 1000.0,
        "gc_share": delta["gc"] / wall,
        "gc_full_collections": int(delta["gc2"]),
        "longest_gc_pause_ms": longest_gc * 1000.0,
        "client_cpu_share": client["client_cpu_share"],
        "client_cpu_us_per_msg": (
            client["client_cpu_s"] / client["messages"] * 1e6 if client["messages"] else None
        ),
        "kb_per_charger": (rss_connected - rss_before) / n / 1024,
        "rss_before_mb": rss_before / 2**20,
        "rss_connected_mb": rss_connected / 2**20,
        "rss_after_load_mb": rss_loaded / 2**20,
        "state_writes": int(writes),
        "state_writes_per_msg": writes / messages if messages else None,
        "unchanged_writes": int(delta["reported"]),
        "attribute_only_changes": int(delta["attributes_only"]),
        "entity_refreshes_per_charger_s": delta["pushes"] / n / wall,
        "entities": entities,
        "registry_entities": len(registered),
        "setup_entries_s": round(setup_entries_s, 2),
        "connect_s": round(connect_s, 2),
        "client_setup_s": ready["setup_s"],
        "server_calls": client["server_calls"],
        "invalid_frame_answer": client["invalid_frame_answer"],
        "writes_per_charger_s_by_key": {
            k: round(v / n / wall, 3) for k, v in writes_by_key.most_common()
        },
        "unchanged_writes_by_key": dict(unchanged_by_key.most_common()),
    }
    if profiler is not None:
        result["profile"] = _profile_text(profiler, pstats, n)
    if memory_text is not None:
        result["memory_profile"] = memory_text
    return result


def _memory_text(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int) -> str:
    """Where the memory of N connected chargers was allocated (tracemalloc)."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    out = io.StringIO()
    total = sum(d.size_diff for d in after.compare_to(before, "filename"))
    out.write(
        f"== N={n}: Python allocations still alive with N chargers connected: "
        f"{total / n / 1024:.1f} KB per charger (tracemalloc; RSS adds allocator overhead)\n"
    )
    for group, count in (("filename", 20), ("lineno", 30)):
        out.write(f"\n-- top {count} by {group}: KB per charger, objects per charger\n")
        for diff in after.compare_to(before, group)[:count]:
            frame = diff.traceback[0]
            where = _short_path(frame.filename)
            if group == "lineno":
                where += f":{frame.lineno}"
            out.write(f"{diff.size_diff / n / 1024:8.2f} {diff.count_diff / n:8.1f}  {where}\n")
    return out.getvalue()


def _calibrate() -> float:
    """Machine speed now: µs per validation of a fixed MeterValues payload (idle process).

    Shared, virtualised cores change speed from run to run; measured just before and
    after each worker, this shows when they did.
    """
    import bench_load

    from custom_components.webasto_chargeconnect.chargeconnect.ocpp import validation

    charger = bench_load.BenchCharger(1, "ws://127.0.0.1/ocpp", bench_load.Stats())
    charger.transaction_id = 1
    payload = json.loads(charger.meter_frame())[3]
    timer = timeit.Timer(lambda: validation.validate_charger_call("MeterValues", payload))
    return min(timer.repeat(repeat=5, number=300)) / 300 * 1e6


async def _wait_for_chargers(chargers: list[Any], timeout: float) -> None:
    """Until every charger is online, configured and charging (woken by its listeners)."""
    changed = asyncio.Event()
    removers = [c.add_listener(changed.set) for c in chargers]
    try:
        async with asyncio.timeout(timeout):
            while not all(
                c.configured and c.online and c.active_transaction is not None for c in chargers
            ):
                changed.clear()
                await changed.wait()
    finally:
        for remove in removers:
            remove()


def _profile_text(profiler: Any, pstats: Any, n: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    total = stats.total_tt  # type: ignore[attr-defined]
    out.write(f"== N={n}: server profile over the measurement window, {total:.2f} s in total\n")
    out.write("\n-- own time by component (C builtins counted with their Python caller)\n")
    for category, seconds in _by_component(stats.stats).most_common():  # type: ignore[attr-defined]
        out.write(f"{100 * seconds / total:6.1f}%  {category}\n")
    for key, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        out.write(f"\n-- top 25 by {title} (percent of the profiled total)\n")
        out.write(f"{'cum %':>6} {'own %':>6} {'calls':>9}  function\n")
        rows = sorted(
            stats.stats.items(),  # type: ignore[attr-defined]
            key=lambda item: item[1][3] if key == "cumulative" else item[1][2],
            reverse=True,
        )
        for (filename, line, name), (_cc, calls, own, cum, _callers) in rows[:25]:
            where = _short_path(filename)
            out.write(
                f"{100 * cum / total:6.1f} {100 * own / total:6.1f} {calls:9d}  "
                f"{where}:{line}({name})\n"
            )
    return out.getvalue()


_COMPONENTS = (
    ("webasto_chargeconnect/chargeconnect/ocpp/validation", "integration: validation.py"),
    ("webasto_chargeconnect/chargeconnect/", "integration: library (chargeconnect/)"),
    ("webasto_chargeconnect/", "integration: Home Assistant glue (entities, coordinator)"),
    ("fastjsonschema", "fastjsonschema generated validators"),
    ("homeassistant/", "Home Assistant core and helpers"),
    ("aiohttp/", "aiohttp"),
    ("asyncio/", "asyncio event loop"),
    ("/json/", "json"),
    ("ocpp/", "ocpp package"),
)
_SYSCALLS = ("socket", "select", "epoll", "poll")


def _component(filename: str, name: str) -> str:
    if filename == "~":
        return "syscalls (socket send/recv, epoll)" if any(s in name for s in _SYSCALLS) else ""
    if filename == "<string>":
        return "fastjsonschema generated validators"
    for marker, label in _COMPONENTS:
        if marker in filename:
            return label
    return "other Python"


def _by_component(raw: dict[Any, Any]) -> Counter[str]:
    """Own time per component; a C builtin's time goes to the component that called it."""
    totals: Counter[str] = Counter()
    for (filename, _line, name), (_cc, _calls, own, _cum, callers) in raw.items():
        component = _component(filename, name)
        if component:
            totals[component] += own
            continue
        for (c_file, _c_line, c_name), caller_stats in callers.items():
            totals[_component(c_file, c_name) or "C builtins"] += caller_stats[2]
    return totals


def _short_path(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.13/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# Answers of the bare aiohttp server (``--floor``) to the load generator's setup calls.
_FLOOR_ANSWERS: dict[str, dict[str, Any]] = {
    "BootNotification": {
        "status": "Accepted",
        "currentTime": "2025-01-01T00:00:00.000Z",
        "interval": 300,
    },
    "StartTransaction": {"transactionId": 1, "idTagInfo": {"status": "Accepted"}},
}


async def _floor_one(args: argparse.Namespace) -> dict[str, Any]:
    """The same load against a bare aiohttp websocket server: parse, answer, nothing else.

    What aiohttp, asyncio and the kernel cost per message on this machine; the difference
    to the real run is what the integration and Home Assistant add.
    """
    from aiohttp import WSMsgType, web

    n: int = args.worker
    frames = 0
    sockets: set[web.WebSocketResponse] = set()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        nonlocal frames
        ws = web.WebSocketResponse(protocols=("ocpp1.6",), heartbeat=30.0)
        await ws.prepare(request)
        sockets.add(ws)
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                frames += 1
                frame = json.loads(message.data)
                if frame[0] == 2:
                    answer = _FLOOR_ANSWERS.get(frame[2], {})
                    await ws.send_str(
                        json.dumps([3, frame[1], answer], separators=(",", ":"), ensure_ascii=False)
                    )
        finally:
            sockets.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    gc.collect()
    rss_before = rss_bytes()
    load = LoadProcess(port, n, args)
    try:
        await load.start()
        await load.wait_ready()
        gc.collect()
        rss_connected = rss_bytes()
        await load.command("go")
        await asyncio.sleep(args.warmup)
        cpu0, wall0, frames0 = time.process_time(), time.perf_counter(), frames
        await load.command("mark")
        await asyncio.sleep(args.seconds)
        cpu1, wall1, frames1 = time.process_time(), time.perf_counter(), frames
        await load.command("stop")
        client = await load.result()
    finally:
        await load.close()
        for ws in list(sockets):
            await ws.close()
        await runner.cleanup()
    messages = frames1 - frames0
    wall = wall1 - wall0
    return {
        "chargers": n,
        "messages": messages,
        "msgs_per_s": messages / wall,
        "p50_ms": client["p50_ms"],
        "p99_ms": client["p99_ms"],
        "server_cpu_us_per_msg": (cpu1 - cpu0) / messages * 1e6 if messages else None,
        "server_cpu_share": (cpu1 - cpu0) / wall,
        "client_cpu_share": client["client_cpu_share"],
        "kb_per_connection": (rss_connected - rss_before) / n / 1024,
    }


async def _worker(args: argparse.Namespace) -> dict[str, Any]:
    from homeassistant import loader
    from homeassistant.helpers import frame
    from pytest_homeassistant_custom_component.common import async_test_home_assistant

    from custom_components.webasto_chargeconnect.const import DOMAIN

    loop = asyncio.get_running_loop()
    loop_errors: list[str] = []

    def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        loop_errors.append(str(context.get("exception") or context.get("message")))
        loop.default_exception_handler(context)

    loop.set_exception_handler(on_loop_error)
    budget = 240 + 0.6 * args.worker + args.warmup + args.seconds
    with tempfile.TemporaryDirectory(prefix="wcc-bench-") as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            frame.async_setup(hass)
            # What the enable_custom_integrations fixture does.
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            try:
                async with asyncio.timeout(budget):
                    result = await _bench_one(hass, args)
            finally:
                started = time.perf_counter()
                await _unload_all(hass, DOMAIN)
                unload_s = time.perf_counter() - started
                await hass.async_stop(force=True)
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    result["unload_s"] = round(unload_s, 2)
    result["leftover_tasks"] = [t.get_name() for t in leftovers][:10]
    result["loop_errors"] = loop_errors[:10]
    return result


def worker_main(args: argparse.Namespace) -> int:
    """One N in this process; prints ``RESULT {json}`` on stdout."""
    raise_fd_limit()
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in ("homeassistant", "custom_components", "aiohttp", "ocpp"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.floor_worker:
        result = asyncio.run(_floor_one(args))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    # Import before Home Assistant exists (see tests/conftest.py).
    import custom_components.webasto_chargeconnect  # noqa: F401

    result = asyncio.run(_worker(args))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# ========================================================================= orchestrator


def validation_micro() -> dict[str, float]:
    """µs per MeterValues payload: our compiled validator vs the ocpp package's."""
    import bench_load
    from ocpp.messages import get_validator

    import custom_components.webasto_chargeconnect  # noqa: F401
    from custom_components.webasto_chargeconnect.chargeconnect.ocpp import validation

    charger = bench_load.BenchCharger(1, "ws://127.0.0.1/ocpp", bench_load.Stats())
    charger.transaction_id = 1
    frame = charger.meter_frame()
    payload = json.loads(frame)[3]
    validation.warm_up()
    reference = get_validator(2, "MeterValues", "1.6")
    validation.validate_charger_call("MeterValues", payload)  # both accept it
    reference.validate(payload)

    def per_call_us(function: Callable[[], object]) -> float:
        timer = timeit.Timer(function)
        number, _ = timer.autorange()
        return min(timer.repeat(repeat=5, number=number)) / number * 1e6

    return {
        **asyncio.run(_library_micro()),
        "frame_bytes": len(frame),
        "json_loads_us": per_call_us(lambda: json.loads(frame)),
        "fastjsonschema_us": per_call_us(
            lambda: validation.validate_charger_call("MeterValues", payload)
        ),
        "ocpp_jsonschema_us": per_call_us(lambda: reference.validate(payload)),
    }


class _MemoryStore:
    """A StateStore that keeps nothing (the library path without disk or Home Assistant)."""

    async def async_load(self) -> Any:
        return None

    async def async_save(self, data: Any) -> None:
        pass

    def async_delay_save(self, data_func: Callable[[], Any], delay: float = 0) -> None:
        pass


class _Allocator:
    async def allocate(self) -> int:
        return 1


async def _library_micro() -> dict[str, float]:
    """µs per MeterValues frame through the library alone: no network, no Home Assistant."""
    import bench_load

    from custom_components.webasto_chargeconnect.chargeconnect import Charger
    from custom_components.webasto_chargeconnect.chargeconnect.ocpp import validation
    from custom_components.webasto_chargeconnect.chargeconnect.ocpp.protocol import (
        OcppConnection,
    )

    charger = Charger("BENCH-0001", password=None, store=_MemoryStore(), allocator=_Allocator())
    answers: list[str] = []

    async def send(text: str) -> None:
        answers.append(text)

    connection = OcppConnection(charger.identity, charger, send, logger=logging.getLogger("bench"))
    sim = bench_load.BenchCharger(1, "ws://127.0.0.1/ocpp", bench_load.Stats())
    start = {"connectorId": 1, "idTag": "TAG", "meterStart": 1, "timestamp": "2025-01-01T00:00:00Z"}
    await connection.handle_frame(json.dumps([2, "s1", "StartTransaction", start]))
    sim.transaction_id = json.loads(answers[-1])[2]["transactionId"]
    count = 5000
    best: dict[str, float] = {}
    for _ in range(3):
        frames = [sim.meter_frame() for _ in range(count)]
        payloads = [json.loads(f)[3] for f in frames]
        began = time.perf_counter()
        for frame in frames:
            await connection.handle_frame(frame)
        whole = (time.perf_counter() - began) / count * 1e6
        began = time.perf_counter()
        for payload in payloads:
            charger.on_meter_values(payload)
        handler = (time.perf_counter() - began) / count * 1e6
        began = time.perf_counter()
        for _payload in payloads:
            validation.validate_our_result("MeterValues", {})
            json.dumps([3, "m1", {}], separators=(",", ":"), ensure_ascii=False)
        answer = (time.perf_counter() - began) / count * 1e6
        for key, value in (("frame_us", whole), ("handler_us", handler), ("answer_us", answer)):
            best[key] = min(best.get(key, value), value)
    assert all(json.loads(a)[0] == 3 for a in answers), "the library refused a frame"
    return best


def run_worker(n: int, args: argparse.Namespace, floor: bool = False) -> dict[str, Any]:
    """Run one N in a fresh process."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(n),
        "--seconds",
        str(args.seconds),
        "--warmup",
        str(args.warmup),
        "--throttle",
        str(args.throttle),
    ]
    if floor:
        command.append("--floor-worker")
    elif args.profile:
        command.append("--profile")
    if args.memory_profile and not floor:
        command += ["--memory-profile", str(args.memory_profile)]
    timeout = 300 + 0.7 * n + args.warmup + args.seconds
    completed = subprocess.run(
        command, stdout=subprocess.PIPE, text=True, timeout=timeout, check=False
    )
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"worker for N={n} failed (exit code {completed.returncode})")


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_report(results: list[dict[str, Any]], micro: dict[str, float], args: Any) -> None:
    print()
    print(
        f"Webasto ChargeConnect benchmark: MeterValues, one frame in flight per charger; "
        f"{args.warmup:g} s warm-up, {args.seconds:g} s measured; entity refresh throttle "
        f"{args.throttle:g} s; every frame schema-validated"
    )
    if args.profile:
        print("PROFILED RUN: cProfile was on during the window, throughput is not comparable")
    if args.memory_profile:
        print("MEMORY-PROFILED RUN: tracemalloc was on during setup, KB/charger is inflated")
    print()
    header = (
        f"{'chargers':<9}{'msgs/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'server CPU µs/msg':>19}"
        f"{'KB/charger':>12}{'state writes/msg':>18}{'entities':>10}"
    )
    print(header)
    for r in results:
        print(
            f"{r['chargers']:<9}{r['msgs_per_s']:>8.0f}{_fmt(r['p50_ms'], '.2f'):>9}"
            f"{_fmt(r['p99_ms'], '.2f'):>9}{_fmt(r['server_cpu_us_per_msg'], '.0f'):>19}"
            f"{r['kb_per_charger']:>12.1f}{_fmt(r['state_writes_per_msg'], '.4f'):>18}"
            f"{r['entities']:>10}"
        )
    print()
    print(
        f"{'chargers':<9}{'server CPU':>11}{'client CPU':>11}{'client µs/msg':>14}"
        f"{'unchanged writes':>17}{'refreshes/charger/s':>20}{'CallErrors':>11}"
        f"{'setup s':>9}{'RSS MB':>8}{'calib. µs':>12}{'loop idle':>10}{'max iter ms':>12}"
        f"{'GC':>5}{'max GC ms':>10}"
    )
    for r in results:
        print(
            f"{r['chargers']:<9}{100 * r['server_cpu_share']:>10.0f}%"
            f"{_fmt(100 * (r['client_cpu_share'] or 0), '.0f'):>10}%"
            f"{_fmt(r['client_cpu_us_per_msg'], '.0f'):>14}{r['unchanged_writes']:>17}"
            f"{r['entity_refreshes_per_charger_s']:>20.2f}{r['call_errors']:>11}"
            f"{r['setup_entries_s'] + r['connect_s']:>9.1f}{r['rss_connected_mb']:>8.0f}"
            f"{'/'.join(f'{c:.0f}' for c in r['calibration_us']):>12}"
            f"{100 * r['loop_idle_share']:>9.0f}%{r['longest_loop_iteration_ms']:>12.0f}"
            f"{100 * r['gc_share']:>4.0f}%{r['longest_gc_pause_ms']:>10.0f}"
        )
    print()
    print(
        f"Validation of one MeterValues payload ({micro['frame_bytes']} bytes as a frame): "
        f"fastjsonschema (ours) {micro['fastjsonschema_us']:.1f} µs, ocpp package "
        f"Draft4Validator {micro['ocpp_jsonschema_us']:.1f} µs "
        f"({micro['ocpp_jsonschema_us'] / micro['fastjsonschema_us']:.0f}x); "
        f"json.loads of the frame {micro['json_loads_us']:.1f} µs"
    )
    rest = (
        micro["frame_us"]
        - micro["json_loads_us"]
        - micro["fastjsonschema_us"]
        - micro["handler_us"]
        - micro["answer_us"]
    )
    print(
        f"Library path of one MeterValues frame (OcppConnection.handle_frame, no network, no "
        f"Home Assistant): {micro['frame_us']:.1f} µs = json.loads {micro['json_loads_us']:.1f}"
        f" + validation {micro['fastjsonschema_us']:.1f} + Charger.on_meter_values "
        f"{micro['handler_us']:.1f} + answer validation/json.dumps {micro['answer_us']:.1f}"
        f" + routing/other {rest:.1f}"
    )
    print()
    notes = [
        "server CPU = CPU time of the Home Assistant process / wall time of the window "
        "(100% = one core); client CPU likewise for the load generator",
        "KB/charger = (RSS with N chargers connected and configured - RSS before the "
        "first entry) / N; the server, Store and one-time integration setup are included",
        "unchanged writes = state_reported events (a write whose state and attributes "
        "did not change); should be 0",
        "loop idle = share of the window the server's event loop waited in epoll; max iter "
        "= its longest stretch without looking at the sockets (every charger waits that long)",
        "GC = share of the window in Python's cyclic garbage collector; max GC = its longest pause",
        "calib. = µs per validation of a fixed payload, measured in this (idle) process "
        "just before/after each N: a higher figure means the shared cores were slower "
        "around that run",
        "latency is closed-loop: with N frames in flight, mean latency ~ N / (msgs/s) "
        "(Little's law), so p99 < 50 ms cannot hold at 1000 chargers at any rate below "
        "20,000 msgs/s",
    ]
    for note in notes:
        print(f"  * {note}")
    for r in results:
        if r["client_cpu_share"] and r["client_cpu_share"] > 0.9:
            print(
                f"  ! N={r['chargers']}: the load generator used "
                f"{100 * r['client_cpu_share']:.0f}% of its core: it may be the bottleneck"
            )
        if r["leftover_tasks"] or r["loop_errors"]:
            print(
                f"  ! N={r['chargers']}: leftover tasks {r['leftover_tasks']}, "
                f"loop errors {r['loop_errors']}"
            )
        if r["call_errors"]:
            print(f"  ! N={r['chargers']}: {r['call_errors']} CallErrors")
        if r["invalid_frame_answer"] == "accepted":
            print(f"  ! N={r['chargers']}: an invalid MeterValues frame was ACCEPTED")
        if r["unchanged_writes_by_key"]:
            print(
                f"  ! N={r['chargers']}: unchanged writes by entity: "
                + ", ".join(f"{k} {v}" for k, v in r["unchanged_writes_by_key"].items())
            )
    for r in results:
        top = list(r["writes_per_charger_s_by_key"].items())[:8]
        print(
            f"  - N={r['chargers']}: state writes per charger per second: "
            + (", ".join(f"{k} {v:.2f}" for k, v in top) or "none")
        )
    at = next((r for r in results if r["chargers"] == TARGET_AT), None)
    print()
    if at is not None:
        checks = [
            (
                f"≥ {TARGET_RATE:,.0f} MeterValues/s at {TARGET_AT}",
                at["msgs_per_s"] >= TARGET_RATE,
                f"{at['msgs_per_s']:,.0f}",
            ),
            (
                f"p99 < {TARGET_P99_MS:g} ms at {TARGET_AT}",
                at["p99_ms"] is not None and at["p99_ms"] < TARGET_P99_MS,
                f"{_fmt(at['p99_ms'], '.1f')} ms",
            ),
        ]
    else:
        checks = []
    big = max(results, key=lambda r: r["chargers"])
    checks.append(
        (
            f"≤ {TARGET_KB:g} KB per connected charger (N={big['chargers']})",
            big["kb_per_charger"] <= TARGET_KB,
            f"{big['kb_per_charger']:.1f} KB",
        )
    )
    checks.append(
        (
            "state writes only when a value changed (all N)",
            all(r["unchanged_writes"] == 0 for r in results),
            f"{sum(r['unchanged_writes'] for r in results)} unchanged writes",
        )
    )
    checks.append(
        (
            "every frame schema-validated (an invalid MeterValues after the window is refused)",
            all(r["invalid_frame_answer"] != "accepted" for r in results),
            ", ".join(sorted({str(r["invalid_frame_answer"]) for r in results})),
        )
    )
    print("Targets:")
    for label, ok, value in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {value}")


def print_floor(floors: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
    """The bare aiohttp server under the same load, next to the real run."""
    print()
    print("Transport floor: the same load against a bare aiohttp websocket server (json.loads")
    print("+ json.dumps of the answer, nothing else), next to the integration in Home Assistant:")
    print(
        f"{'chargers':<9}{'floor msgs/s':>13}{'floor p99 ms':>13}{'floor µs/msg':>13}"
        f"{'HA µs/msg':>11}{'added µs/msg':>13}{'floor KB/conn':>14}"
    )
    by_n = {r["chargers"]: r for r in results}
    for f in floors:
        real = by_n.get(f["chargers"], {})
        real_us = real.get("server_cpu_us_per_msg")
        floor_us = f["server_cpu_us_per_msg"]
        added = real_us - floor_us if real_us is not None and floor_us is not None else None
        print(
            f"{f['chargers']:<9}{f['msgs_per_s']:>13.0f}{_fmt(f['p99_ms'], '.2f'):>13}"
            f"{_fmt(floor_us, '.0f'):>13}{_fmt(real_us, '.0f'):>11}{_fmt(added, '.0f'):>13}"
            f"{f['kb_per_connection']:>14.1f}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the OCPP server inside Home Assistant under MeterValues load."
    )
    parser.add_argument(
        "--chargers", default="1,100,1000", help="comma-separated N values (default 1,100,1000)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window per N")
    parser.add_argument("--warmup", type=float, default=2.0, help="load before measuring")
    parser.add_argument(
        "--throttle",
        type=float,
        default=None,
        help="entity refresh throttle in seconds (default: the integration's, 1.0)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the server during the window; top 25 functions per N",
    )
    parser.add_argument(
        "--memory-profile",
        type=int,
        nargs="?",
        const=1,
        default=0,
        metavar="FRAMES",
        help="tracemalloc the setup of N chargers; top allocation sites per N "
        "(KB/charger then includes tracemalloc's own overhead)",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench_results/")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run the same load against a bare aiohttp websocket server per N "
        "(the transport's own cost on this machine)",
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--floor-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.throttle is None:
        from custom_components.webasto_chargeconnect.const import UPDATE_THROTTLE

        args.throttle = float(UPDATE_THROTTLE)
    return args


def main() -> int:
    args = parse_args()
    if args.worker is not None:
        return worker_main(args)
    counts = [int(x) for x in args.chargers.split(",") if x.strip()]
    log("measuring validation cost")
    micro = validation_micro()
    results: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    for n in counts:
        log(f"N={n}: starting a worker")
        calibration = _calibrate()
        try:
            results.append(run_worker(n, args))
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            log(f"N={n}: {err}")
            return 1
        r = results[-1]
        r["calibration_us"] = [round(calibration, 1), round(_calibrate(), 1)]
        log(
            f"N={n}: {r['msgs_per_s']:.0f} msgs/s, p99 {_fmt(r['p99_ms'], '.1f')} ms, "
            f"{_fmt(r['server_cpu_us_per_msg'], '.0f')} µs CPU/msg"
        )
        if args.floor:
            log(f"N={n}: the same load against a bare aiohttp server")
            try:
                floors.append(run_worker(n, args, floor=True))
            except (RuntimeError, subprocess.TimeoutExpired) as err:
                log(f"N={n} (floor): {err}")
                return 1
    print_report(results, micro, args)
    if floors:
        print_floor(floors, results)
    for r in results:
        for key in ("profile", "memory_profile"):
            if key in r:
                print()
                print(r[key])
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        name = "profile.json" if args.profile or args.memory_profile else "latest.json"
        (RESULTS / name).write_text(
            json.dumps(
                {
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "args": {k: v for k, v in vars(args).items() if k != "worker"},
                    "validation": micro,
                    "results": results,
                    "floor": floors,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"\nWritten to {(RESULTS / name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
