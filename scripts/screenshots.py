"""The script behind scripts/screenshots: photographs the real Home Assistant frontend.

Starts ``scripts/demo --reset`` on free ports (its own process group), waits until the
simulated Webasto NEXT charges and the demo wrote docs/dashboard.yaml as its Overview, sets
the current limit through Home Assistant (so the power graph shows a step and the slider
sits mid-way), then drives headless Chromium over the Chrome DevTools Protocol (a websocket,
with aiohttp; no selenium or playwright) to save

    docs/screenshots/dashboard.png   the dashboard from docs/dashboard.yaml
    docs/screenshots/device.png      the charger's device page

Chromium gets the demo user's tokens in localStorage (``hassTokens``, what the frontend
stores after a login), so no login form is filled in. Each page is photographed once it has
rendered: the expected texts are present, no spinner is visible, no card shows an error, and
the text has stopped changing. At the end Chromium is closed and the demo gets SIGINT (it
stops the simulator, then Home Assistant).

Run it through scripts/screenshots, which creates the venv first.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo  # scripts/demo.py: the API client, names, the dashboard

ROOT = demo.ROOT
OUT_DIR = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
INSTALL_COMMAND = ["apt-get", "install", "-y", "chromium"]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-device-scale-factor=1",
    "--lang=en-US",
    "--remote-debugging-port=0",  # Chromium picks a port and writes it to DevToolsActivePort
]
MAX_PNG_BYTES = 300_000
DEMO_STOP_TIMEOUT = 180.0


class ScreenshotError(Exception):
    """Something went wrong; printed without a traceback."""


def say(message: str = "") -> None:
    print(message, flush=True)


def shown(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# ----------------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/screenshots",
        description=(
            "Take docs/screenshots/dashboard.png and device.png from the real Home Assistant "
            "frontend: runs scripts/demo --reset (this deletes demo_config/) on free ports, "
            "waits until the simulated charger charges and photographs the pages with "
            f"headless Chromium ({CHROMIUM})."
        ),
    )
    parser.add_argument(
        "--ha",
        choices=demo.HA_CHOICES,
        default=demo.build_parser().get_default("ha"),
        help="the Home Assistant the demo runs (as scripts/demo --ha; env WCC_HA; default 2025.4)",
    )
    parser.add_argument(
        "--install",
        action="store_true",
        help=f"install Chromium if it is missing ({' '.join(INSTALL_COMMAND)})",
    )
    parser.add_argument(
        "--chromium", default=CHROMIUM, help=f"the Chromium binary (default {CHROMIUM})"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT_DIR,
        help="where to save the PNGs (default docs/screenshots)",
    )
    parser.add_argument("--width", type=int, default=1280, help="viewport width (default 1280)")
    parser.add_argument(
        "--height", type=int, default=900, help="viewport height of the device page (default 900)"
    )
    parser.add_argument(
        "--max-height",
        type=int,
        default=1400,
        help="the dashboard's viewport grows up to this to show all cards (default 1400)",
    )
    parser.add_argument(
        "--charge-seconds",
        type=float,
        default=60,
        help="let the charger charge this long before and after the limit change (default 60)",
    )
    parser.add_argument(
        "--current-limit",
        type=float,
        default=12,
        help="the current limit (A) to set before the photos; 0 leaves it alone (default 12)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds to wait for the demo to charge (first runs install things; default 600)",
    )
    return parser


# ------------------------------------------------------------------------------ Chromium
def ensure_chromium(path: str, install: bool) -> str:
    """The Chromium binary; installs it with apt-get only when --install was given."""
    if os.access(path, os.X_OK):
        return path
    command = INSTALL_COMMAND if os.geteuid() == 0 else ["sudo", *INSTALL_COMMAND]
    if not install:
        raise ScreenshotError(
            f"{path} is missing. Install Chromium with:\n    {' '.join(command)}\n"
            "or run scripts/screenshots --install to have it run that command."
        )
    say(f"Chromium is missing; installing it: {' '.join(command)}")
    if subprocess.run(command, check=False).returncode != 0 or not os.access(path, os.X_OK):
        raise ScreenshotError(
            f"installing Chromium failed ({' '.join(command)}; apt-get update first?)"
        )
    return path


class Cdp:
    """A minimal Chrome DevTools Protocol client for one page target."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is None or future.done():
                continue  # an event: not needed
            if "error" in data:
                future.set_exception(ScreenshotError(f"CDP error: {data['error']}"))
            else:
                future.set_result(data.get("result", {}))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ScreenshotError("Chromium closed the DevTools connection"))

    async def send(self, method: str, timeout: float = 30, **params: Any) -> Any:
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        await self.ws.send_json({"id": self._next_id, "method": method, "params": params})
        async with asyncio.timeout(timeout):
            return await future

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise ScreenshotError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.ws.close()


# What the page shows, through every shadow root: the visible text, visible spinners, cards
# that failed, and the height the dashboard needs.
PAGE_PROBE_JS = r"""
(() => {
  const texts = [];
  const spinners = [];
  const errors = [];
  let charts = 0;
  let drawnCharts = 0;
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  // A text's own box: its parent may have none (a <slot>'s fallback text, display: contents).
  const textVisible = (textNode) => {
    const range = document.createRange();
    range.selectNodeContents(textNode);
    const box = range.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const walk = (node) => {
    if (!node) return;
    if (node.nodeType === Node.TEXT_NODE) {
      const text = node.nodeValue.trim();
      if (text && textVisible(node)) texts.push(text);
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE && node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) {
      return;
    }
    if (node.nodeType === Node.ELEMENT_NODE) {
      const tag = node.tagName.toLowerCase();
      if (["style", "script", "template"].includes(tag)) return;
      if (["ha-spinner", "ha-circular-progress", "ha-spinner-loader"].includes(tag)
          && visible(node)) spinners.push(tag);
      if (tag === "hui-error-card" || tag === "hui-warning") errors.push(node);
      if (tag === "ha-chart-base") {
        charts += 1;
        const root = node.shadowRoot;
        if (root && root.querySelector("canvas, svg")) drawnCharts += 1;
      }
      if (node.shadowRoot) walk(node.shadowRoot);
    }
    for (const child of node.childNodes) walk(child);
  };
  walk(document.documentElement);
  const errorTexts = errors.map((el) => {
    const parts = [];
    const collect = (n) => {
      if (n.nodeType === Node.TEXT_NODE && n.nodeValue.trim()) parts.push(n.nodeValue.trim());
      if (n.shadowRoot) collect(n.shadowRoot);
      for (const c of n.childNodes) collect(c);
    };
    collect(el);
    return parts.join(" ");
  });
  // The dashboard's content height (the view scrolls inside the page, not the document).
  let contentHeight = 0;
  const find = (node, tag) => {
    if (!node) return null;
    if (node.nodeType === Node.ELEMENT_NODE && node.tagName.toLowerCase() === tag) return node;
    const kids = [...(node.shadowRoot ? [node.shadowRoot] : []), ...node.childNodes];
    for (const kid of kids) {
      const hit = find(kid, tag);
      if (hit) return hit;
    }
    return null;
  };
  const view = find(document.documentElement, "hui-sections-view");
  if (view) contentHeight = Math.ceil(view.getBoundingClientRect().bottom + window.scrollY);
  return {
    text: texts.join(" | "),
    spinners: spinners.length,
    errors: errorTexts,
    charts,
    drawnCharts,
    contentHeight,
    url: location.pathname,
  };
})()
"""


class Browser:
    """Headless Chromium, driven over the DevTools Protocol."""

    def __init__(self, binary: str, workdir: Path, session: aiohttp.ClientSession) -> None:
        self.binary = binary
        self.profile = workdir / "chromium-profile"
        self.log_path = workdir / "chromium.log"
        self.session = session
        self.process: asyncio.subprocess.Process | None = None
        self.cdp: Cdp | None = None

    async def start(self, width: int, height: int) -> Cdp:
        self.profile.mkdir()
        with self.log_path.open("w") as log:
            self.process = await asyncio.create_subprocess_exec(
                self.binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=demo._pdeathsig_setter(),
            )
        port_file = self.profile / "DevToolsActivePort"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not port_file.is_file() or len(port_file.read_text().splitlines()) < 2:
            if self.process.returncode is not None or loop.time() > deadline:
                raise ScreenshotError(
                    f"Chromium did not start (code {self.process.returncode}):\n"
                    + demo.tail(self.log_path, 20)
                )
            await asyncio.sleep(0.2)
        port = int(port_file.read_text().splitlines()[0])
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(target for target in targets if target.get("type") == "page")
        ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self.cdp = cdp = Cdp(ws)
        await cdp.send("Page.enable")
        await cdp.send("Runtime.enable")
        await cdp.send(
            "Emulation.setEmulatedMedia",
            features=[
                {"name": "prefers-reduced-motion", "value": "reduce"},
                {"name": "prefers-color-scheme", "value": "light"},
            ],
        )
        return cdp

    async def stop(self) -> None:
        if self.cdp is not None:
            with contextlib.suppress(Exception):
                await self.cdp.send("Browser.close", timeout=5)
            with contextlib.suppress(Exception):
                await self.cdp.close()
        if self.process is not None and self.process.returncode is None:
            try:
                async with asyncio.timeout(10):
                    await self.process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                await self.process.wait()


async def set_viewport(cdp: Cdp, width: int, height: int) -> None:
    await cdp.send(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=False,
    )


async def probe_page(cdp: Cdp) -> dict[str, Any]:
    """PAGE_PROBE_JS's findings ({} while the page is between two documents)."""
    try:
        return await cdp.evaluate(PAGE_PROBE_JS) or {}
    except ScreenshotError:
        return {}


async def wait_for_page(
    cdp: Cdp, name: str, expected: list[str], charts: int, timeout: float = 90
) -> dict[str, Any]:
    """Poll until the page shows every expected text and its charts, then until it is still."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    probe: dict[str, Any] = {}
    missing: list[str] = expected
    while loop.time() < deadline:
        probe = await probe_page(cdp)
        if probe.get("errors"):
            raise ScreenshotError(f"the {name} shows an error card: {probe['errors']}")
        missing = [text for text in expected if text not in probe.get("text", "")]
        if (
            not missing
            and not probe.get("spinners")
            and probe.get("drawnCharts", 0) >= charts
            and probe.get("charts", 0) == probe.get("drawnCharts")
        ):
            break
        await asyncio.sleep(0.5)
    else:
        failed = (
            Path(tempfile.gettempdir()) / f"wcc-screenshots-{name.replace(' ', '-')}-failed.png"
        )
        with contextlib.suppress(Exception):
            await screenshot(cdp, failed)
        raise ScreenshotError(
            f"the {name} did not render within {timeout:.0f} s (what it showed: {failed};"
            f" missing: {missing},"
            f" spinners: {probe.get('spinners')}, charts drawn:"
            f" {probe.get('drawnCharts')}/{probe.get('charts')}, at {probe.get('url')})"
        )
    # Rendered: now wait (at most 15 s) until nothing changes for 1.5 s, then a moment for the
    # charts to finish drawing (they animate a little even with reduced motion).
    last, still_since = probe.get("text"), loop.time()
    settle_deadline = loop.time() + 15
    while loop.time() - still_since < 1.5 and loop.time() < settle_deadline:
        await asyncio.sleep(0.5)
        probe = await probe_page(cdp)
        if probe.get("text") != last:
            last, still_since = probe.get("text"), loop.time()
    await asyncio.sleep(1)
    return probe


async def screenshot(cdp: Cdp, path: Path) -> int:
    """Save the viewport as an optimised PNG; returns its size in bytes."""
    result = await cdp.send("Page.captureScreenshot", format="png", fromSurface=True)
    return save_png(base64.b64decode(result["data"]), path)


def save_png(data: bytes, path: Path) -> int:
    """Re-encode with Pillow (optimised; a 256-colour palette if it is still too big)."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    if buffer.tell() > MAX_PNG_BYTES:
        # The frontend is mostly flat colours: a palette about halves the size.
        buffer = io.BytesIO()
        palette = image.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        palette.save(buffer, "PNG", optimize=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.tell()


# ------------------------------------------------------------------------------ the demo
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DemoProcess:
    """scripts/demo --reset in its own process group, its output echoed with a prefix."""

    def __init__(self, ha: str, ha_port: int, ocpp_port: int) -> None:
        self.ha = ha
        self.ha_port = ha_port
        self.ocpp_port = ocpp_port
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            str(ROOT / "scripts" / "demo"),
            "--ha",
            self.ha,
            "--reset",
            "--ha-port",
            str(self.ha_port),
            "--ocpp-port",
            str(self.ocpp_port),
            stdin=subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=demo._pdeathsig_setter(),
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._pump = asyncio.create_task(self._echo())

    async def _echo(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            self.lines.append(text)
            say(f"  demo | {text}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def check(self) -> None:
        if self.process is not None and self.process.returncode is not None:
            raise ScreenshotError(
                f"scripts/demo exited (code {self.process.returncode}) before the screenshots;"
                " its output is above"
            )

    async def stop(self) -> None:
        """SIGINT to the demo's group (what Ctrl-C would do); SIGKILL if it hangs."""
        if self.process is None:
            return
        if self.running:
            say("Stopping the demo (SIGINT) ...")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            try:
                async with asyncio.timeout(DEMO_STOP_TIMEOUT):
                    await self.process.wait()
            except TimeoutError:
                say(f"the demo did not stop within {DEMO_STOP_TIMEOUT:.0f} s: killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                await self.process.wait()
        if self._pump is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._pump, 5)


async def states(api: demo.HomeAssistantApi) -> dict[str, dict[str, Any]]:
    return {state["entity_id"]: state for state in await api.get("/api/states")}


def number(state: dict[str, Any] | None) -> float | None:
    try:
        return float((state or {}).get("state", ""))
    except ValueError:
        return None


async def wait_until_charging(
    api: demo.HomeAssistantApi, process: DemoProcess, timeout: float
) -> dict[str, str]:
    """Log in as demo / demo once Home Assistant answers, then poll the REST API until the
    charger charges and the demo has written docs/dashboard.yaml as the Overview."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    wanted = demo.dashboard()
    logged_in = False
    while True:
        process.check()
        if loop.time() > deadline:
            raise ScreenshotError(f"the demo did not start charging within {timeout:.0f} s")
        try:
            if not logged_in:
                await api.login(demo.USERNAME, demo.PASSWORD)
                logged_in = True
            ids = await demo.entity_ids(api)
            current = await states(api)
            status = current.get(ids.get("sensor.status", ""), {}).get("state")
            power = number(current.get(ids.get("sensor.power", "")))
            url_path = await demo.dashboard_url_path(api)
            where = {"url_path": url_path} if url_path else {}
            (dashboard,) = await api.ws({"type": "lovelace/config", "force": False, **where})
            if status == "charging" and (power or 0) > 0 and dashboard == wanted:
                return ids
        except (aiohttp.ClientError, OSError, demo.DemoError):
            pass  # not up yet, or the dashboard is not there yet
        await asyncio.sleep(2)


async def set_current_limit(
    api: demo.HomeAssistantApi, ids: dict[str, str], amps: float, timeout: float = 60
) -> None:
    """number.set_value through Home Assistant, then wait until the charger draws less."""
    entity = ids["number.current_limit"]
    power_entity = ids["sensor.power"]
    before = number(await api.get(f"/api/states/{power_entity}")) or 0
    say(f"Setting the current limit to {amps:g} A ({entity})")
    await api.post("/api/services/number/set_value", {"entity_id": entity, "value": amps})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        power = number(await api.get(f"/api/states/{power_entity}"))
        if power is not None and 0 < power < before * 0.95:
            say(f"The charger now draws {power:g} (was {before:g})")
            return
        await asyncio.sleep(1)
    say("warning: the power did not drop after the limit change")


def check_dashboard_entities(current: dict[str, dict[str, Any]]) -> None:
    """Every entity docs/dashboard.yaml names exists and has a value."""
    named = demo.dashboard_entities(demo.dashboard())
    if missing := sorted(entity for entity in named if entity not in current):
        raise ScreenshotError(f"docs/dashboard.yaml names entities that do not exist: {missing}")
    if unavailable := sorted(
        entity for entity in named if current[entity]["state"] == "unavailable"
    ):
        say(f"warning: unavailable on the dashboard: {', '.join(unavailable)}")


def hass_tokens(api: demo.HomeAssistantApi) -> dict[str, Any]:
    """What the frontend keeps in localStorage.hassTokens after a login."""
    lifetime = 1800
    return {
        "hassUrl": api.base,
        "clientId": api.client_id,
        "access_token": api.access_token,
        "refresh_token": api.refresh_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "expires": int(time.time() * 1000) + (lifetime - 120) * 1000,
    }


# --------------------------------------------------------------------------------- main
async def run(args: argparse.Namespace, chromium: str, workdir: Path) -> None:
    ha_port = free_port()
    ocpp_port = free_port()
    while ocpp_port == ha_port:
        ocpp_port = free_port()
    process = DemoProcess(args.ha, ha_port, ocpp_port)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        api = demo.HomeAssistantApi(session, ha_port)
        browser_login = demo.HomeAssistantApi(session, ha_port)
        browser = Browser(chromium, workdir, session)
        try:
            say(
                f"Starting scripts/demo --ha {args.ha} --reset"
                f" (Home Assistant on {ha_port}, OCPP {ocpp_port})"
            )
            await process.start()
            ids = await wait_until_charging(api, process, args.timeout)
            say(f"The charger charges; letting it charge for {args.charge_seconds:g} s")
            await asyncio.sleep(args.charge_seconds)
            if args.current_limit > 0:
                await set_current_limit(api, ids, args.current_limit)
                await asyncio.sleep(args.charge_seconds)
            process.check()
            current = await states(api)
            check_dashboard_entities(current)
            (registry,) = await api.ws({"type": "config/entity_registry/list"})
            device_id = next(
                entry["device_id"]
                for entry in registry
                if entry["entity_id"] == ids["sensor.status"]
            )

            await browser_login.login(demo.USERNAME, demo.PASSWORD)
            tokens = json.dumps(hass_tokens(browser_login))
            cdp = await browser.start(args.width, args.height)
            origin = browser_login.base
            await cdp.send(
                "Page.addScriptToEvaluateOnNewDocument",
                source=(
                    f"if (location.origin === {json.dumps(origin)}) {{"
                    f" localStorage.setItem('hassTokens', {json.dumps(tokens)});"
                    # The sidebar collapsed to icons: room for the dashboard's three columns.
                    """ localStorage.setItem('dockedSidebar', '"auto"'); }"""
                ),
            )
            power_unit = current[ids["sensor.power"]]["attributes"].get("unit_of_measurement", "")

            # The dashboard: grow the viewport to show every card (up to --max-height).
            await set_viewport(cdp, args.width, args.height)
            url_path = await demo.dashboard_url_path(api) or "lovelace"
            await cdp.send("Page.navigate", url=f"{origin}/{url_path}/charger")
            dashboard_texts = [
                "Charging power",
                "Session energy",
                "Lifetime energy",
                "Current limit",
                "Charging",
                power_unit,
                "firmware",
            ]
            probe = await wait_for_page(cdp, "dashboard", dashboard_texts, charts=2)
            height = min(max(args.height, probe.get("contentHeight", 0) + 16), args.max_height)
            if height != args.height:
                await set_viewport(cdp, args.width, height)
                await wait_for_page(cdp, "dashboard", dashboard_texts, charts=2)
            path = args.out / "dashboard.png"
            size = await screenshot(cdp, path)
            say(f"Saved {shown(path)} ({args.width}x{height}, {size / 1000:.0f} kB)")

            # The device page.
            await set_viewport(cdp, args.width, args.height)
            await cdp.send("Page.navigate", url=f"{origin}/config/devices/device/{device_id}")
            await wait_for_page(
                cdp,
                "device page",
                [demo.IDENTITY, "Webasto", "Charging", "Firmware", power_unit],
                charts=0,
            )
            path = args.out / "device.png"
            size = await screenshot(cdp, path)
            say(f"Saved {shown(path)} ({args.width}x{args.height}, {size / 1000:.0f} kB)")
        finally:
            await browser.stop()
            if process.running:
                for client in (browser_login, api):
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(5):
                            await client.revoke()
            await process.stop()


class Interrupted(Exception):
    """SIGINT or SIGTERM: everything was stopped."""


async def run_until_signal(args: argparse.Namespace, chromium: str, workdir: Path) -> None:
    """run(), cancelled by the first SIGINT or SIGTERM (its cleanup still runs)."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        if not received:
            say(f"\n{signal.Signals(signum).name}: stopping Chromium and the demo ...")
            task.cancel()
        received.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await run(args, chromium, workdir)
    except asyncio.CancelledError:
        if received:
            raise Interrupted from None
        raise


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.out = args.out.resolve()
    try:
        chromium = ensure_chromium(args.chromium, args.install)
    except ScreenshotError as err:
        say(f"error: {err}")
        return 1
    say("Note: this runs scripts/demo --reset, which deletes demo_config/ and starts afresh.")
    workdir = Path(tempfile.mkdtemp(prefix="wcc-screenshots-"))
    try:
        asyncio.run(run_until_signal(args, chromium, workdir))
    except (ScreenshotError, demo.DemoError) as err:
        say(f"error: {err}")
        return 1
    except (Interrupted, KeyboardInterrupt):
        say("Interrupted.")
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    say("Done.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
