"""The demo behind scripts/demo: Home Assistant + this integration + a simulated charger.

Prepares demo_config/ (git-ignored), onboards Home Assistant offline with its own auth and
storage code (owner demo / demo, Amsterdam, metric, EUR), starts ``hass -c demo_config``,
adds the charger through the real config flow over the REST API, starts the simulator and
keeps everything running until Ctrl-C (or SIGTERM): simulator first, then Home Assistant.

Run it through scripts/demo, which creates the venv first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
from pathlib import Path
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "demo_config"
STORAGE_DIR = CONFIG_DIR / ".storage"
STATE_FILE = CONFIG_DIR / ".demo.json"
PID_FILE = CONFIG_DIR / ".demo.pid"
HA_LOG = CONFIG_DIR / "home-assistant.log"
HA_CONSOLE_LOG = CONFIG_DIR / "hass-console.log"
SIM_LOG = CONFIG_DIR / "simulator.log"
INTEGRATION_DIR = ROOT / "custom_components" / "webasto_chargeconnect"
DASHBOARD_YAML = ROOT / "docs" / "dashboard.yaml"

DOMAIN = "webasto_chargeconnect"
IDENTITY = "NEXT-WS123456"
USERNAME = "demo"
PASSWORD = "demo"
METER_INTERVAL = 5
MAX_CURRENT = 32
REMOTE_START_TAG = "HomeAssistant"
CORE_CONFIG: dict[str, Any] = {
    "location_name": "Webasto demo",
    "latitude": 52.3731,  # Amsterdam
    "longitude": 4.8922,
    "elevation": 0,
    "unit_system": "metric",
    "time_zone": "Europe/Amsterdam",
    "currency": "EUR",
    "country": "NL",
    "language": "en",
}
# A light set instead of default_config: the normal frontend, energy, history and logbook,
# but nothing that needs the internet, bluetooth, USB or network discovery.
CONFIGURATION_YAML = """\
# Written by scripts/demo on every run: edits here are overwritten.
# Core settings (name, location, units, currency) live in .storage and can be changed in
# the UI. A light set of integrations instead of default_config: no cloud, bluetooth,
# usb, zeroconf, ssdp, dhcp, ...
frontend:
config:
history:
logbook:
energy:
{http}logger:
  default: warning
  logs:
    custom_components.webasto_chargeconnect: info
"""
# scripts/demo --ha: 2025.4 runs in .venv (WCC_HA=2025.4), newest in .venv-demo-newest
# (WCC_HA=demo-newest); scripts/demo chooses the venv, this only names it.
HA_CHOICES = ("2025.4", "newest")
# Where the HTTP port goes: configuration.yaml on Home Assistant that reads http: from YAML
# (2025.4); newer ones keep it in .storage/http (see store_http_port).
HTTP_YAML = "http:\n  server_port: {ha_port}\n"
HTTP_STORED = "# http: the web port is in .storage/http (scripts/demo sets it before every start)\n"
# Newer Home Assistant opens its own generated Overview ("home"); the demo's dashboard is then
# a dashboard of its own, made the default one.
DEMO_DASHBOARD_URL = "webasto-charger"
DEMO_DASHBOARD_TITLE = "Charger"
START_TIMEOUT = 300.0
SIM_STOP_TIMEOUT = 20.0
HA_STOP_TIMEOUT = 120.0


class DemoError(Exception):
    """Something the user has to fix; printed without a traceback."""


class WsError(DemoError):
    """A websocket command failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


# ----------------------------------------------------------------------------- arguments
def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}")
    return port


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description=(
            "Run Home Assistant with the Webasto ChargeConnect integration and a simulated "
            "Webasto NEXT that charges. Home Assistant is onboarded for you (login demo / "
            "demo); its configuration lives in demo_config/ (git-ignored) and is reused on "
            "the next run. Ctrl-C stops everything."
        ),
    )
    parser.add_argument(
        "--ha",
        choices=HA_CHOICES,
        default=HA_CHOICES[1] if os.environ.get("WCC_HA") == "demo-newest" else HA_CHOICES[0],
        help=(
            "the Home Assistant to run (env WCC_HA): 2025.4 = Home Assistant 2025.4.4 in .venv"
            " (default), newest = Home Assistant 2026.11.0 in .venv-demo-newest; scripts/demo"
            " picks the venv from it before this starts"
        ),
    )
    parser.add_argument(
        "--ha-port",
        type=_port,
        default=os.environ.get("DEMO_HA_PORT", "8123"),
        help="Home Assistant web port (env DEMO_HA_PORT, default 8123)",
    )
    parser.add_argument(
        "--ocpp-port",
        type=_port,
        default=os.environ.get("DEMO_OCPP_PORT", "8887"),
        help="OCPP websocket port the charger connects to (env DEMO_OCPP_PORT, default 8887)",
    )
    parser.add_argument(
        "--no-simulator",
        action="store_true",
        help="do not start the simulated charger (connect a real one, or none)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="delete demo_config/ first and start from scratch"
    )
    parser.add_argument(
        "--start-timeout",
        type=_seconds,
        default=os.environ.get("DEMO_START_TIMEOUT", str(int(START_TIMEOUT))),
        help="seconds to wait for Home Assistant to start (env DEMO_START_TIMEOUT, default 300)",
    )
    return parser


# ------------------------------------------------------------------------------- helpers
def say(message: str = "") -> None:
    print(message, flush=True)


def port_busy(port: int) -> bool:
    """True if something listens on the port (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except OSError:
            return True
    return False


def lan_address() -> str:
    """This computer's address on the LAN (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))
            address = str(sock.getsockname()[0])
        except OSError:
            return "<this-computer's-IP>"
    return "<this-computer's-IP>" if address.startswith("127.") else address


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def shown_python() -> str:
    """This venv's python, relative to the repository when it is inside it."""
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        return str(python.parent.resolve().relative_to(ROOT) / python.name)
    return str(python)


def versions() -> str:
    """E.g. 'Home Assistant 2026.11.0 on Python 3.14.8'."""
    return f"Home Assistant {ha_version()} on Python {sys.version.split()[0]}"


class _Run:
    """When this run started Home Assistant (older log files are from earlier runs)."""

    ha_started = 0.0


def ha_failure_details() -> str:
    """The end of Home Assistant's log (or its console output if it never got that far)."""
    for path in (HA_LOG, HA_CONSOLE_LOG):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < _Run.ha_started:
                continue
        if text := tail(path).strip():
            rel = path.relative_to(ROOT)
            return f"\n--- last lines of {rel} ---\n{text}\n--- end of {rel} ---"
    return "\n(Home Assistant has not logged anything yet.)"


def load_state() -> dict[str, Any]:
    try:
        data = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(state: dict[str, Any]) -> None:
    STATE_FILE.write_text(json.dumps(state, indent=2) + "\n")
    STATE_FILE.chmod(0o600)


def running_demo_pid() -> int | None:
    """The pid of another demo that uses demo_config/, if one runs."""
    try:
        pid = int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid  # no /proc: assume it is ours
    return pid if b"demo.py" in cmdline else None


# ------------------------------------------------------------------------- preparation
def prepare_config(ha_port: int) -> None:
    """demo_config/: configuration.yaml and the custom_components symlink."""
    CONFIG_DIR.mkdir(exist_ok=True)
    http = HTTP_STORED if http_settings_stored() else HTTP_YAML.format(ha_port=ha_port)
    (CONFIG_DIR / "configuration.yaml").write_text(CONFIGURATION_YAML.format(http=http))
    custom = CONFIG_DIR / "custom_components"
    custom.mkdir(exist_ok=True)
    link = custom / "webasto_chargeconnect"
    target = Path("..") / ".." / "custom_components" / "webasto_chargeconnect"
    if link.is_symlink():
        if link.resolve() == INTEGRATION_DIR.resolve():
            return
        link.unlink()
    elif link.exists():
        raise DemoError(f"{link.relative_to(ROOT)} exists and is not a symlink; use --reset")
    link.symlink_to(target, target_is_directory=True)


def ha_version() -> str:
    """The Home Assistant in this venv, e.g. '2026.11.0'."""
    from homeassistant.const import __version__

    return __version__


def check_config_version() -> None:
    """Refuse a demo_config/ that a newer Home Assistant has used: its storage (registries,
    auth, HTTP settings) and database are in formats an older one cannot read."""
    from packaging.version import InvalidVersion, Version

    last = load_state().get("ha_version")
    if not isinstance(last, str):
        return
    with contextlib.suppress(InvalidVersion):
        if Version(last) > Version(ha_version()):
            raise DemoError(
                f"{CONFIG_DIR.relative_to(ROOT)}/ was last used by Home Assistant {last}, which is"
                f" newer than this one ({ha_version()}) and stores its data in formats this one"
                " cannot read. Start over with --reset (deletes it), or use the same --ha."
            )


def http_settings_stored() -> bool:
    """True when Home Assistant keeps its HTTP settings in .storage/http (2026.x).

    Such a Home Assistant reads http: from configuration.yaml only once, as a trial that it
    reverts (restarting on port 8123) unless confirmed within 5 minutes in the UI, and
    ignores it afterwards with a repair issue; so the demo stores the port itself.
    """
    try:
        from homeassistant.components.http.config import HTTPConfigStore
    except ImportError:
        return False
    return hasattr(HTTPConfigStore, "async_migrate_yaml")


async def store_http_port(ha_port: int) -> None:
    """Make the HTTP port the confirmed (stable) one in .storage/http, with Home Assistant's own
    store, while it is stopped; the rest of the stored HTTP settings stays as it is."""
    from homeassistant.components.http.config import HTTP_STORAGE_SCHEMA, HTTPConfigStore
    from homeassistant.core import HomeAssistant

    hass = HomeAssistant(str(CONFIG_DIR))
    try:
        store = HTTPConfigStore(hass)
        await store.async_load()
        settings = {
            key: value
            for key, value in store.stable.items()
            if key not in ("created_at", "error", "error_message")
        }
        if settings.get("server_port") != ha_port or store.pending is not None:
            await store.async_set_pending(HTTP_STORAGE_SCHEMA({**settings, "server_port": ha_port}))
            if store.pending is not None:
                await store.async_promote_pending()
        if not store.yaml_migration_done:
            await store.async_mark_yaml_migration_done()
    finally:
        await hass.async_stop(force=True)


def install_missing_requirements() -> None:
    """Install what Home Assistant would pip-install on its first start (the frontend)."""
    from homeassistant.bootstrap import CORE_INTEGRATIONS, DEFAULT_INTEGRATIONS
    import homeassistant.components
    from homeassistant.util.package import is_installed

    components = Path(homeassistant.components.__file__).parent
    todo = [*CORE_INTEGRATIONS, *DEFAULT_INTEGRATIONS]
    todo += [line.rstrip(":") for line in CONFIGURATION_YAML.splitlines() if line[:1].isalpha()]
    seen: set[str] = set()
    missing: list[str] = []
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest_path = components / domain / "manifest.json"
        if not manifest_path.is_file():
            continue
        manifest = json.loads(manifest_path.read_text())
        todo.extend(manifest.get("dependencies", []))
        missing += [req for req in manifest.get("requirements", []) if not is_installed(req)]
    # The login's default second-factor module (TOTP, configured even when unused) has
    # requirements of its own, which Home Assistant would otherwise install while it boots.
    from homeassistant.auth.mfa_modules import totp

    missing += [req for req in getattr(totp, "REQUIREMENTS", []) if not is_installed(req)]
    if not missing:
        return
    say(f"Installing what Home Assistant needs for the demo (once): {', '.join(missing)}")
    constraints = Path(homeassistant.components.__file__).parent.parent / (
        "package_constraints.txt"
    )
    command = [sys.executable, "-m", "pip", "install", "--quiet", *missing]
    if constraints.is_file():
        command += ["--constraint", str(constraints)]
    if subprocess.run(command, check=False).returncode != 0:
        raise DemoError(f"could not install {', '.join(missing)} (is PyPI reachable?)")


def is_onboarded() -> bool:
    try:
        onboarding = json.loads((STORAGE_DIR / "onboarding").read_text())
        users = json.loads((STORAGE_DIR / "auth_provider.homeassistant").read_text())
    except (OSError, ValueError):
        return False
    from homeassistant.components.onboarding.const import STEPS

    done = set(onboarding.get("data", {}).get("done", []))
    names = {user.get("username") for user in users.get("data", {}).get("users", [])}
    return done >= set(STEPS) and USERNAME in names


async def onboard_offline() -> None:
    """What the onboarding wizard does, with Home Assistant's own code, while it is stopped.

    Creates the owner (demo / demo, administrator), stores the core config (name,
    Amsterdam, metric, Europe/Amsterdam, EUR, NL) and marks every onboarding step done.
    The onboarding HTTP API is not used because finishing its core_config step also adds
    Met.no, Google Translate, Radio Browser and Shopping list, which need the internet.
    """
    from homeassistant import auth as ha_auth
    from homeassistant.auth.const import GROUP_ID_ADMIN
    from homeassistant.auth.providers.homeassistant import HassAuthProvider
    from homeassistant.components.onboarding import (
        STORAGE_KEY,
        STORAGE_VERSION,
        OnboardingStorage,
    )
    from homeassistant.components.onboarding.const import STEPS
    from homeassistant.config_entries import ConfigEntries
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers import device_registry as dr, entity_registry as er

    hass = HomeAssistant(str(CONFIG_DIR))
    try:
        await hass.config.async_load()
        # The auth store looks up the device and entity registries (permissions), so they
        # are loaded first, as `hass --script auth` does. Newer Home Assistant (2026.10 and
        # 2026.11 at least) needs the device registry set up explicitly, and its load waits
        # for the config entries; 2025.4 creates it on first use.
        if hasattr(dr, "async_setup"):
            hass.config_entries = ConfigEntries(hass, {})
            await hass.config_entries.async_initialize()
            dr.async_setup(hass)
        await asyncio.gather(dr.async_load(hass), er.async_load(hass))
        hass.auth = await ha_auth.auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
        provider = hass.auth.auth_providers[0]
        assert isinstance(provider, HassAuthProvider)
        await provider.async_initialize()
        if not any(user["username"] == USERNAME for user in provider.data.users):
            user = await hass.auth.async_create_user("Demo", group_ids=[GROUP_ID_ADMIN])
            await provider.async_add_auth(USERNAME, PASSWORD)
            credentials = await provider.async_get_or_create_credentials({"username": USERNAME})
            await hass.auth.async_link_user(user, credentials)
        await hass.config.async_update(**CORE_CONFIG)
        store = OnboardingStorage(
            hass, STORAGE_VERSION, STORAGE_KEY, private=True, atomic_writes=True
        )
        await store.async_save({"done": list(STEPS)})
    finally:
        # Writes the delayed saves (auth) and stops the executor.
        await hass.async_stop(force=True)


# --------------------------------------------------------------------------- processes
def _pdeathsig_setter() -> Any:
    """A preexec_fn: the child gets SIGTERM if the demo dies without cleaning up (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM))

    return preexec


class Child:
    """A child process in its own process group (the terminal's Ctrl-C does not reach it)."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.pid = process.pid  # also the process group id

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    async def stop(self, signum: int, timeout: float) -> int | None:
        """Signal the group, wait for the process; SIGKILL the group if it hangs."""
        if self.running:
            self.signal_group(signum)
            try:
                async with asyncio.timeout(timeout):
                    await self.process.wait()
            except TimeoutError:
                say(f"{self.name} did not stop within {timeout:.0f} s: killing it")
                self.signal_group(signal.SIGKILL)
                await self.process.wait()
        self.signal_group(signal.SIGKILL)  # anything it left behind in its group
        return self.process.returncode


async def spawn(name: str, *command: str, **kwargs: Any) -> Child:
    process = await asyncio.create_subprocess_exec(
        *command,
        start_new_session=True,
        preexec_fn=_pdeathsig_setter(),
        stdin=subprocess.DEVNULL,
        **kwargs,
    )
    return Child(name, process)


async def pump_output(child: Child, log_path: Path, prefix: str) -> None:
    """Show the simulator's log lines with a prefix and keep them in a file."""
    assert child.process.stdout is not None
    with log_path.open("a", encoding="utf-8") as log:
        while line := await child.process.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            log.write(text + "\n")
            log.flush()
            say(f"{prefix}{text}")


# ------------------------------------------------------------------------- the HA API
class HomeAssistantApi:
    """REST and websocket calls as the demo user."""

    def __init__(self, session: aiohttp.ClientSession, port: int) -> None:
        self.session = session
        self.base = f"http://127.0.0.1:{port}"
        self.client_id = f"{self.base}/"
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self._expires = 0.0

    # ---- auth
    async def login(self, username: str, password: str) -> None:
        """The login flow the frontend uses, then the auth code for tokens."""
        flow = await self._json(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.client_id}?auth_callback=1",
            },
            auth=False,
        )
        result = await self._json(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": username, "password": password},
            auth=False,
        )
        if result.get("type") != "create_entry":
            raise DemoError(f"cannot log in as {username}: {result.get('errors') or result}")
        await self._token(
            {"grant_type": "authorization_code", "code": result["result"]},
        )

    async def _token(self, data: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        async with self.session.post(
            f"{self.base}/auth/token", data={**data, "client_id": self.client_id}
        ) as response:
            if response.status != 200:
                raise DemoError(f"token request failed: {response.status} {await response.text()}")
            tokens = await response.json()
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens.get("refresh_token", self.refresh_token)
        self._expires = loop.time() + float(tokens.get("expires_in", 1800)) - 120

    async def _fresh_token(self) -> str:
        if self.access_token is None:
            raise DemoError("not logged in")
        if asyncio.get_running_loop().time() > self._expires and self.refresh_token:
            await self._token({"grant_type": "refresh_token", "refresh_token": self.refresh_token})
        return self.access_token

    async def revoke(self) -> None:
        """Forget the demo's refresh token (it is created anew on every run)."""
        if self.refresh_token:
            async with self.session.post(
                f"{self.base}/auth/revoke", data={"token": self.refresh_token}
            ):
                pass
            self.refresh_token = self.access_token = None

    # ---- REST
    async def _json(self, method: str, path: str, payload: Any = None, *, auth: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {await self._fresh_token()}"} if auth else {}
        async with self.session.request(
            method, f"{self.base}{path}", json=payload, headers=headers
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise DemoError(f"{method} {path}: HTTP {response.status}: {text.strip()}")
            return json.loads(text) if text else None

    async def get(self, path: str) -> Any:
        return await self._json("GET", path)

    async def post(self, path: str, payload: Any = None) -> Any:
        return await self._json("POST", path, payload)

    # ---- websocket
    async def ws(self, *commands: dict[str, Any]) -> list[Any]:
        """Run websocket commands one after the other; the results in order."""
        url = self.base.replace("http", "ws", 1) + "/api/websocket"
        results: list[Any] = []
        async with self.session.ws_connect(url) as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": await self._fresh_token()})
            reply = await ws.receive_json()
            if reply.get("type") != "auth_ok":
                raise DemoError(f"websocket login failed: {reply}")
            for number, command in enumerate(commands, start=1):
                await ws.send_json({"id": number, **command})
                while True:
                    message = await ws.receive_json()
                    if message.get("id") == number and message.get("type") == "result":
                        break
                if not message.get("success"):
                    error = message.get("error") or {}
                    raise WsError(str(error.get("code")), str(error.get("message")))
                results.append(message.get("result"))
        return results


# ---------------------------------------------------------------------------- steps
async def wait_for_home_assistant(api: HomeAssistantApi, hass_child: Child, timeout: float) -> None:
    """Poll until Home Assistant answers /api/ with our token and has fully started."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    next_note = start + 15
    stage = "http"
    while True:
        if not hass_child.running:
            raise DemoError(
                f"Home Assistant exited (code {hass_child.process.returncode}) while starting."
                + ha_failure_details()
            )
        now = loop.time()
        if now - start > timeout:
            raise DemoError(
                f"Home Assistant did not start within {timeout:.0f} s (waiting for: {stage})."
                f" Raise --start-timeout, or see {HA_LOG.relative_to(ROOT)}." + ha_failure_details()
            )
        if now >= next_note:
            say(f"  ... still starting ({now - start:.0f} s, waiting for {stage})")
            next_note = now + 15
        try:
            if stage == "http":
                # Unauthenticated; answers as soon as the HTTP server runs.
                async with api.session.get(f"{api.base}/auth/providers") as response:
                    if response.status == 200:
                        stage = "login"
            if stage == "login":
                await api.login(USERNAME, PASSWORD)
                stage = "api"
            if stage == "api":
                reply = await api.get("/api/")
                if reply.get("message") == "API running.":
                    stage = "startup"
            if stage == "startup":
                config = await api.get("/api/config")
                if config.get("state") == "RUNNING":
                    return
        except (aiohttp.ClientError, OSError):
            pass  # not listening yet
        except DemoError as err:
            if stage == "login" and "cannot log in" in str(err):
                raise
        await asyncio.sleep(1)


async def charger_entry(api: HomeAssistantApi) -> dict[str, Any] | None:
    entries = await api.get(f"/api/config/config_entries/entry?domain={DOMAIN}")
    for entry in entries:
        if entry.get("unique_id", IDENTITY) == IDENTITY and entry["title"].endswith(IDENTITY):
            return dict(entry)
    return None


def _flow_check(result: dict[str, Any], step_id: str) -> None:
    if result.get("type") in ("form", "menu") and result.get("step_id") == step_id:
        if result.get("errors"):
            raise DemoError(f"the config flow step {step_id!r} refused: {result['errors']}")
        return
    raise DemoError(f"unexpected config flow result (wanted step {step_id!r}): {result}")


async def add_charger(api: HomeAssistantApi, password: str, ocpp_port: int) -> dict[str, Any]:
    """The config flow a user walks through in Settings > Devices & services > Add."""
    flow = "/api/config/config_entries/flow"
    result = await api.post(flow, {"handler": DOMAIN, "show_advanced_options": False})
    _flow_check(result, "user")
    flow_id = result["flow_id"]
    # The first step is a menu: enter the charger by hand, or "Set it up for me".
    result = await api.post(f"{flow}/{flow_id}", {"next_step_id": "manual"})
    _flow_check(result, "manual")
    result = await api.post(
        f"{flow}/{flow_id}",
        {
            "identity": IDENTITY,
            "password": password,
            "port": ocpp_port,
            "ssl_certfile": "",
            "ssl_keyfile": "",
        },
    )
    if result.get("type") == "form" and result.get("errors"):
        raise DemoError(
            f"the config flow refused the charger: {result['errors']} (is port {ocpp_port} free?)"
        )
    _flow_check(result, "connect")
    result = await api.post(f"{flow}/{flow_id}", {"next_step_id": "finish"})
    if result.get("type") != "create_entry":
        raise DemoError(f"the config flow did not create the entry: {result}")
    entry: dict[str, Any] = result["result"]
    # Options: the same meter interval as the simulator.
    options = "/api/config/config_entries/options/flow"
    result = await api.post(options, {"handler": entry["entry_id"]})
    _flow_check(result, "init")
    result = await api.post(
        f"{options}/{result['flow_id']}",
        {
            "meter_sample_interval": METER_INTERVAL,
            "max_current": MAX_CURRENT,
            "remote_start_tag": REMOTE_START_TAG,
        },
    )
    if result.get("type") != "create_entry":
        raise DemoError(f"the options flow failed: {result}")
    return entry


async def reconfigure_charger(
    api: HomeAssistantApi, entry_id: str, password: str, ocpp_port: int
) -> None:
    """The reconfigure flow: a new port and/or password for the existing entry."""
    flow = "/api/config/config_entries/flow"
    result = await api.post(flow, {"handler": DOMAIN, "entry_id": entry_id})
    _flow_check(result, "reconfigure")
    result = await api.post(
        f"{flow}/{result['flow_id']}",
        {"password": password, "port": ocpp_port, "ssl_certfile": "", "ssl_keyfile": ""},
    )
    if result.get("type") != "abort" or result.get("reason") != "reconfigure_successful":
        raise DemoError(f"the reconfigure flow failed: {result}")


async def wait_for_entry_loaded(api: HomeAssistantApi, timeout: float = 60) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        entry = await charger_entry(api)
        if entry is None:
            raise DemoError("the charger's config entry disappeared")
        if entry["state"] == "loaded":
            return entry
        if loop.time() > deadline:
            raise DemoError(
                f"the charger's config entry is {entry['state']!r}: {entry.get('reason')}"
                + ha_failure_details()
            )
        await asyncio.sleep(1)


async def entity_ids(api: HomeAssistantApi) -> dict[str, str]:
    """'<platform>.<description key>' -> entity id, from the entity registry."""
    (entries,) = await api.ws({"type": "config/entity_registry/list"})
    prefix = f"{IDENTITY}_"
    ids: dict[str, str] = {}
    for entry in entries:
        unique_id = str(entry.get("unique_id") or "")
        if entry.get("platform") == DOMAIN and unique_id.startswith(prefix):
            platform = entry["entity_id"].split(".", 1)[0]
            ids[f"{platform}.{unique_id[len(prefix) :]}"] = entry["entity_id"]
    return ids


def dashboard() -> dict[str, Any]:
    """The demo's Overview: docs/dashboard.yaml (storage mode; the user may edit it afterwards)."""
    try:
        config = yaml.safe_load(DASHBOARD_YAML.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise DemoError(f"cannot read {DASHBOARD_YAML.relative_to(ROOT)}: {err}") from None
    if not isinstance(config, dict) or not isinstance(config.get("views"), list):
        raise DemoError(f"{DASHBOARD_YAML.relative_to(ROOT)} is not a dashboard (no views)")
    return config


def dashboard_entities(config: Any) -> set[str]:
    """The entity ids the dashboard names (entity:, entity_id: and entities: lists)."""
    found: set[str] = set()
    if isinstance(config, dict):
        for key, value in config.items():
            if key in ("entity", "entity_id") and isinstance(value, str):
                found.add(value)
            else:
                found |= dashboard_entities(value)
    elif isinstance(config, list):
        for item in config:
            if isinstance(item, str) and "." in item and " " not in item:
                found.add(item)
            else:
                found |= dashboard_entities(item)
    return found


async def dashboard_url_path(api: HomeAssistantApi) -> str | None:
    """Where the demo's dashboard lives: None is the default dashboard, the Overview, on a Home
    Assistant that opens it first (2025.4); DEMO_DASHBOARD_URL on newer ones (2026.11), whose
    Overview is a generated dashboard of their own (the "home" panel) and whose frontend only
    shows the old default dashboard once Home Assistant has migrated it to a dashboard entry."""
    (panels,) = await api.ws({"type": "get_panels"})
    return DEMO_DASHBOARD_URL if "home" in panels else None


async def create_dashboard(api: HomeAssistantApi, url_path: str) -> None:
    """The demo's own dashboard (once), and the one Home Assistant opens first unless
    another default was chosen."""
    (dashboards,) = await api.ws({"type": "lovelace/dashboards/list"})
    if not any(item.get("url_path") == url_path for item in dashboards):
        await api.ws(
            {
                "type": "lovelace/dashboards/create",
                "url_path": url_path,
                "title": DEMO_DASHBOARD_TITLE,
                "icon": "mdi:ev-station",
                "show_in_sidebar": True,
                "require_admin": False,
            }
        )
    (core,) = await api.ws({"type": "frontend/get_system_data", "key": "core"})
    settings = (core or {}).get("value") or {}
    if settings.get("default_panel") is None:
        await api.ws(
            {
                "type": "frontend/set_system_data",
                "key": "core",
                "value": {**settings, "default_panel": url_path},
            }
        )


async def set_up_dashboard(api: HomeAssistantApi, state: dict[str, Any]) -> None:
    """Write the demo's dashboard unless the user edited the one the demo wrote before."""
    ids = await entity_ids(api)
    wanted = dashboard()
    known = set(ids.values())
    if missing := sorted(
        entity
        for entity in dashboard_entities(wanted)
        if ".webasto_" in entity and entity not in known
    ):
        say(
            f"warning: {DASHBOARD_YAML.relative_to(ROOT)} names entities the charger does not"
            f" have: {', '.join(missing)}"
        )
    url_path = await dashboard_url_path(api)
    where = {"url_path": url_path} if url_path else {}
    if url_path:
        await create_dashboard(api, url_path)
    try:
        (current,) = await api.ws({"type": "lovelace/config", "force": False, **where})
    except WsError as err:
        if err.code != "config_not_found":
            raise
        current = None
    if current is None or current == state.get("dashboard"):
        if current != wanted:
            await api.ws({"type": "lovelace/config/save", "config": wanted, **where})
        state["dashboard"] = wanted
        save_state(state)
    # The Energy dashboard: the charger as an individual device.
    try:
        await api.ws({"type": "energy/get_prefs"})
    except WsError as err:
        if err.code != "not_found" or "sensor.energy" not in ids:
            raise
        await api.ws(
            {
                "type": "energy/save_prefs",
                "energy_sources": [],
                "device_consumption": [{"stat_consumption": ids["sensor.energy"]}],
            }
        )


async def finish_onboarding_online(api: HomeAssistantApi) -> None:
    """The parts of onboarding that need a running HA: the owner's person, analytics off."""
    user, people, analytics = await api.ws(
        {"type": "auth/current_user"}, {"type": "person/list"}, {"type": "analytics"}
    )
    if not any(person.get("user_id") == user["id"] for person in people.get("storage", [])):
        await api.ws(
            {"type": "person/create", "name": user["name"], "user_id": user["id"]},
        )
    if not analytics.get("onboarded"):
        await api.ws({"type": "analytics/preferences", "preferences": {"base": False}})


async def charger_snapshot(
    api: HomeAssistantApi, ids: dict[str, str]
) -> dict[str, tuple[str, str]]:
    """'sensor.status' etc. -> (state, unit) as Home Assistant shows them."""
    snapshot: dict[str, tuple[str, str]] = {}
    for key in ("sensor.status", "sensor.power", "sensor.session_energy"):
        if key in ids:
            with contextlib.suppress(DemoError):
                state = await api.get(f"/api/states/{ids[key]}")
                unit = state["attributes"].get("unit_of_measurement") or ""
                snapshot[key] = (state["state"], unit)
    return snapshot


def power_kw(snapshot: dict[str, tuple[str, str]]) -> float | None:
    """The charging power in kW (the sensor may show W or kW)."""
    value, unit = snapshot.get("sensor.power", ("", ""))
    try:
        power = float(value)
    except ValueError:
        return None
    return {"W": power / 1000, "kW": power, "MW": power * 1000}.get(unit)


def describe(snapshot: dict[str, tuple[str, str]], *, with_power: bool = True) -> str:
    """E.g. 'charger charging, 11.0 kW, session 0.25 kWh'."""
    text = f"charger {snapshot.get('sensor.status', ('unknown', ''))[0]}"
    # (Right after a status change the power is that of the last meter values.)
    if with_power and (power := power_kw(snapshot)) is not None:
        text += f", {power:.1f} kW"
    value, unit = snapshot.get("sensor.session_energy", ("", ""))
    with contextlib.suppress(ValueError):
        text += f", session {float(value):.2f} {unit}"
    return text


# ------------------------------------------------------------------------------ the demo
class Demo:
    def __init__(self, args: argparse.Namespace, session: aiohttp.ClientSession) -> None:
        self.args = args
        self.session = session
        self.hass: Child | None = None
        self.sim: Child | None = None
        self.api: HomeAssistantApi | None = None
        self.pump: asyncio.Task[None] | None = None

    async def run(self) -> None:
        args = self.args
        state = load_state()
        # Before Home Assistant's code writes anything (check_config_version() on the next run).
        state["ha_version"] = ha_version()
        save_state(state)
        onboarded = is_onboarded()
        if not onboarded:
            say("Onboarding Home Assistant (owner demo / demo, Amsterdam, metric, EUR)")
            await onboard_offline()
        if http_settings_stored():
            await store_http_port(args.ha_port)
        password = state.get("charger_password") or secrets.token_urlsafe(12)
        hass_bin = Path(sys.executable).parent / "hass"
        if not hass_bin.exists():
            raise DemoError(f"{hass_bin} is missing: is homeassistant installed in the venv?")
        say(f"Starting {versions()} on port {args.ha_port} (log: {HA_LOG.relative_to(ROOT)})")
        _Run.ha_started = time.time()
        with HA_CONSOLE_LOG.open("w") as console:
            self.hass = await spawn(
                "Home Assistant",
                str(hass_bin),
                "-c",
                str(CONFIG_DIR),
                stdout=console,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        self.api = api = HomeAssistantApi(self.session, args.ha_port)
        await wait_for_home_assistant(api, self.hass, args.start_timeout)
        say("Home Assistant is running")
        await finish_onboarding_online(api)

        entry = await charger_entry(api)
        if entry is None:
            say(f"Adding the charger {IDENTITY} through the config flow")
            entry = await add_charger(api, password, args.ocpp_port)
        elif state.get("charger_password") != password or state.get("ocpp_port") != args.ocpp_port:
            say(f"Reconfiguring the charger {IDENTITY} (OCPP port {args.ocpp_port})")
            await reconfigure_charger(api, entry["entry_id"], password, args.ocpp_port)
        else:
            say(f"Reusing the charger {IDENTITY} from the last run")
        state.update(charger_password=password, ocpp_port=args.ocpp_port)
        save_state(state)
        loaded = await wait_for_entry_loaded(api)
        # A tariff, so the dashboard's cost cards have something to show (EUR 0.50 per
        # session + 0.32 per kWh). No tags: the installation stays open, any card charges.
        await api.post(
            "/api/services/webasto_chargeconnect/set_tariff",
            {"config_entry": loaded["entry_id"], "fixed_fee": 0.5, "price_per_kwh": 0.32},
        )

        ocpp_url = f"ws://127.0.0.1:{args.ocpp_port}/ocpp"
        if not args.no_simulator:
            say("Starting the simulated Webasto NEXT")
            self.sim = await spawn(
                "the simulator",
                sys.executable,
                "-m",
                "webasto_sim",
                ocpp_url,
                "--identity",
                IDENTITY,
                # One argument: a generated password may start with "-".
                f"--password={password}",
                "--profile",
                "next",
                "--meter-interval",
                str(METER_INTERVAL),
                stdout=asyncio.subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            self.pump = asyncio.create_task(pump_output(self.sim, SIM_LOG, "[simulator] "))
            ids = await self._wait_until_charging(api)
        else:
            ids = await entity_ids(api)
        await set_up_dashboard(api, state)
        self._banner(password)
        await self._watch(api, ids)

    async def _wait_until_charging(self, api: HomeAssistantApi) -> dict[str, str]:
        """Up to 60 s for the simulator to connect and charge (the number needs a boot)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            ids = await entity_ids(api)
            snapshot = await charger_snapshot(api, ids)
            if (
                snapshot.get("sensor.status", ("",))[0] == "charging"
                and (power_kw(snapshot) or 0) > 0
                and "number.current_limit" in ids
            ):
                say(f"The simulator connected: {describe(snapshot)}")
                return ids
            if loop.time() > deadline:
                say(f"warning: the simulator has not started charging yet ({describe(snapshot)})")
                return ids
            await asyncio.sleep(1)

    def _banner(self, password: str) -> None:
        args = self.args
        rule = "=" * 72
        say()
        say(rule)
        say(f"  Home Assistant:  http://127.0.0.1:{args.ha_port}")
        say(f"  Log in with:     {USERNAME} / {PASSWORD}")
        say()
        say("  A real charger would use (OCPP 1.6J, in its web UI):")
        say(f"    backend URL    ws://{lan_address()}:{args.ocpp_port}/")
        say(f"    charge box ID  {IDENTITY}")
        say(f"    password       {password}   (HTTP Basic auth)")
        if args.no_simulator:
            say()
            say("  No simulator: the charger shows 'offline'. Simulate one with:")
            say(
                f"    {shown_python()} -m webasto_sim ws://127.0.0.1:{args.ocpp_port}/ocpp"
                f" --identity {IDENTITY} --password={password}"
            )
        say()
        say(f"  Config and logs: {CONFIG_DIR.relative_to(ROOT)}/ (--reset starts over)")
        say("  Ctrl-C stops everything.")
        say(rule)
        say()

    async def _watch(self, api: HomeAssistantApi, ids: dict[str, str]) -> None:
        """Report status changes; fail if Home Assistant dies."""
        last = ""
        sim_reported = False
        while True:
            assert self.hass is not None
            if not self.hass.running:
                raise DemoError(
                    f"Home Assistant exited unexpectedly (code {self.hass.process.returncode})."
                    + ha_failure_details()
                )
            if self.sim is not None and not self.sim.running and not sim_reported:
                sim_reported = True
                say(
                    f"warning: the simulator exited (code {self.sim.process.returncode});"
                    f" see {SIM_LOG.relative_to(ROOT)}. Home Assistant keeps running."
                )
            with contextlib.suppress(aiohttp.ClientError, OSError, DemoError):
                snapshot = await charger_snapshot(api, ids)
                status = snapshot.get("sensor.status", ("",))[0]
                if status and status != last:
                    if last:
                        say(f"Status: {describe(snapshot, with_power=False)}")
                    last = status
            await asyncio.sleep(2)

    async def shutdown(self) -> None:
        """Simulator first (it stops its transaction), then Home Assistant."""
        if self.sim is not None and self.sim.running:
            say("Stopping the simulator ...")
            await self.sim.stop(signal.SIGINT, SIM_STOP_TIMEOUT)
        elif self.sim is not None:
            await self.sim.stop(signal.SIGINT, 0)
        if self.pump is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self.pump, 5)
        if self.api is not None and self.hass is not None and self.hass.running:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.api.revoke()
        if self.hass is not None:
            if self.hass.running:
                say("Stopping Home Assistant ...")
            code = await self.hass.stop(signal.SIGTERM, HA_STOP_TIMEOUT)
            if code not in (0, None, -signal.SIGTERM):
                say(f"Home Assistant exited with code {code}")


async def main_async(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = 0

    def on_signal(signum: int) -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            say(f"\n{signal.Signals(signum).name}: stopping everything ...")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)

    code = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        demo = Demo(args, session)
        work = asyncio.create_task(demo.run())
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                work.result()  # run() only returns by raising
            else:
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
        except DemoError as err:
            say(f"error: {err}")
            code = 1
        except (aiohttp.ClientError, OSError) as err:
            say(f"error: lost the connection to Home Assistant: {err!r}")
            code = 1
        finally:
            stopper.cancel()
            await demo.shutdown()
    say("Stopped.")
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.ha_port == args.ocpp_port:
        say("error: --ha-port and --ocpp-port must differ")
        return 2
    if pid := running_demo_pid():
        say(
            f"error: another demo (pid {pid}) is using {CONFIG_DIR.relative_to(ROOT)}/;"
            " stop it first (Ctrl-C in its terminal)"
        )
        return 1
    for port, option, env in (
        (args.ha_port, "--ha-port", "DEMO_HA_PORT"),
        (args.ocpp_port, "--ocpp-port", "DEMO_OCPP_PORT"),
    ):
        if port_busy(port):
            say(f"error: port {port} is already in use; choose another with {option} or {env}")
            return 1
    try:
        if args.reset and CONFIG_DIR.exists():
            say(f"--reset: deleting {CONFIG_DIR.relative_to(ROOT)}/")
            shutil.rmtree(CONFIG_DIR)
        check_config_version()
        prepare_config(args.ha_port)
        install_missing_requirements()
    except DemoError as err:
        say(f"error: {err}")
        return 1
    except KeyboardInterrupt:  # nothing runs yet
        say("\nInterrupted.")
        return 130
    PID_FILE.write_text(f"{os.getpid()}\n")
    try:
        return asyncio.run(main_async(args))
    finally:
        with contextlib.suppress(OSError):
            if PID_FILE.read_text().strip() == str(os.getpid()):
                PID_FILE.unlink()


if __name__ == "__main__":
    sys.exit(main())
