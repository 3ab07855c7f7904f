"""Command line: connect simulated chargers to any OCPP 1.6J URL and charge forever."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
import logging
import random
import signal
import ssl
import sys

import aiohttp
from ocpp.exceptions import OCPPError

from .charger import SimulatedCharger
from .profiles import PROFILES, with_phases
from .webui import BackendSettings, SimulatedWebUi, charger_url

_ERRORS = (ConnectionError, TimeoutError, OCPPError, aiohttp.ClientError, OSError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m webasto_sim",
        description=(
            "Simulate Webasto chargers (OCPP 1.6J over websocket): boot, plug a car in, "
            "start a transaction and send MeterValues forever. Ctrl-C stops cleanly."
        ),
    )
    parser.add_argument("url", help="central system URL, e.g. ws://127.0.0.1:8887/ocpp")
    parser.add_argument("--identity", default="WS123456", help="charge point identity")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="next")
    parser.add_argument("--password", help="HTTP Basic password (OCPP security profile 1/2)")
    parser.add_argument(
        "--meter-interval", type=int, help="seconds between MeterValues (default: profile)"
    )
    parser.add_argument("--no-charge", action="store_true", help="boot and idle, no car")
    parser.add_argument("--phases", type=int, choices=(1, 2, 3), default=3)
    parser.add_argument("--max-current", type=float, default=16.0, help="amps the car draws")
    parser.add_argument("--count", type=int, default=1, help="run N chargers: IDENTITY-1..N")
    parser.add_argument("--id-tag", default="DEMO-TAG", help="idTag for the transaction")
    parser.add_argument("--insecure", action="store_true", help="wss: skip TLS verification")
    parser.add_argument(
        "--webui-port",
        type=int,
        help="also serve the charger's web-UI API (HTTPS, self-signed) on this port "
        "(first charger; unite profile: Unite API, else Next API)",
    )
    parser.add_argument("--webui-host", default="127.0.0.1", help="address of the web UI")
    parser.add_argument("--webui-password", default="admin", help="web UI password (user admin)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every OCPP frame")
    return parser


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds`; True as soon as `stop` is set."""
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        return False
    return True


async def _bring_up(sim: SimulatedCharger, args: argparse.Namespace, stop: asyncio.Event) -> bool:
    """Connect (with back-off) and boot until accepted; False if stopped meanwhile."""
    delay = 1.0
    while not stop.is_set():
        try:
            if not sim.online:
                await sim.connect()
            reply = await sim.boot()
            if reply.get("status") == "Accepted":
                await sim.status("Available")
                if not args.no_charge:
                    await _start_charging(sim, args)
                return True
            delay = float(reply.get("interval") or 10)
        except _ERRORS as err:
            sim.log.warning("cannot bring the charger up: %s", err)
            delay = min(delay * 2, 60.0)
        if await _stopped_within(stop, delay):
            break
    return False


async def _start_charging(sim: SimulatedCharger, args: argparse.Namespace) -> None:
    await sim.plug_in()
    await sim.start_transaction(args.id_tag)
    await sim.meter_values(energy_wh=sim.register_wh, context="Transaction.Begin")


async def drive(sim: SimulatedCharger, args: argparse.Namespace, stop: asyncio.Event) -> None:
    """Run one charger until `stop` is set."""
    loop = asyncio.get_running_loop()
    try:
        if not await _bring_up(sim, args, stop):
            return
        sim.auto_reconnect = True
        next_heartbeat = loop.time() + sim.heartbeat_interval
        while not await _stopped_within(stop, sim.meter_interval):
            try:
                if sim.transaction_id is not None:
                    # Meter values are queued while offline and replayed on reconnect.
                    await sim.meter_values(sim.nominal_power_w() * random.uniform(0.98, 1.02))
                elif (
                    sim.online
                    and not args.no_charge
                    and sim.available
                    and sim.last_stop_reason in ("SoftReset", "HardReset")
                ):
                    await _start_charging(sim, args)  # the car is still there after a reboot
                if sim.online and loop.time() >= next_heartbeat:
                    await sim.heartbeat()
                    next_heartbeat = loop.time() + sim.heartbeat_interval
            except _ERRORS as err:
                sim.log.warning("%s", err)
    finally:
        if sim.online and sim.transaction_id is not None:
            try:
                async with asyncio.timeout(5):
                    await sim.stop_transaction("Local")
            except _ERRORS as err:
                sim.log.warning("could not stop the transaction: %s", err)
        await sim.disconnect()
        sim.log.info("stopped")


async def _start_webui(sim: SimulatedCharger, args: argparse.Namespace) -> SimulatedWebUi:
    """The charger's web UI; writing the backend and restarting reconnects the charger."""

    async def reconnect(settings: BackendSettings) -> None:
        sim.url = charger_url(settings.url, sim.identity)
        if settings.password is not None:
            sim.password = settings.password or None
        sim.log.info("web UI restart: connecting to %s", sim.url)
        try:
            await sim.reconnect(boot=True)
        except _ERRORS as err:
            sim.log.warning("reconnect after the web UI restart failed: %s", err)

    webui = SimulatedWebUi(
        "unite" if sim.profile.name == "unite" else "next",
        args.webui_password,
        identity=sim.identity,
        backend_url=args.url,
        host=args.webui_host,
        port=args.webui_port,
        on_reconnect=reconnect,
    )
    await webui.start()
    sim.log.info("web UI: %s/api (user admin)", webui.url)
    return webui


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.insecure:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def run(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except NotImplementedError:  # Windows
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    profile = replace(
        with_phases(PROFILES[args.profile], args.phases), max_current_a=args.max_current
    )
    if args.count > 1:
        identities = [f"{args.identity}-{n}" for n in range(1, args.count + 1)]
    else:
        identities = [args.identity]
    sims = [
        SimulatedCharger(args.url, identity, profile, args.password, _ssl_context(args))
        for identity in identities
    ]
    for sim in sims:
        if args.meter_interval:
            sim.configuration["MeterValueSampleInterval"] = str(args.meter_interval)
    webui = await _start_webui(sims[0], args) if args.webui_port is not None else None
    drives = [asyncio.create_task(drive(sim, args, stop)) for sim in sims]
    await stop.wait()
    if webui is not None:
        await webui.stop()
    # Give every charger a moment to stop its transaction; cancel whatever hangs (e.g. a
    # connect attempt to an unresponsive host). `drive` still closes the websocket then.
    _, hanging = await asyncio.wait(drives, timeout=10)
    for task in hanging:
        task.cancel()
    await asyncio.gather(*drives, return_exceptions=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    logging.getLogger("webasto_sim.frames").setLevel(
        logging.INFO if args.verbose else logging.WARNING
    )
    return asyncio.run(run(args))
