"""A simulated charger web UI: the JSON API behind ``https://<charger>/api``.

Plays what the community reported about the Webasto Next (sections API) and the
Webasto / Ampure Unite (flat ``configuration-fields``): JWT-like bearer tokens that
expire, ``admin`` + password login, a self-signed certificate generated at start, the
backend settings writable, and a restart action that calls ``on_reconnect`` so a test
can make a :class:`~webasto_sim.SimulatedCharger` connect to the newly written URL.
See docs/webasto.md ("Web-UI API as implemented") for the source of every endpoint.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import datetime as dt
import hashlib
import hmac
import inspect
import ipaddress
import json
import logging
from pathlib import Path
import secrets
import ssl
import tempfile
import time
from typing import Any

from aiohttp import web

_LOGGER = logging.getLogger("webasto_sim.webui")

DEFAULT_BACKEND = "wss://ocpp.webasto-charging.com/ocpp"  # a placeholder, not a known URL
LED_DIMMING_LEVELS = ("veryLow", "low", "mid", "high", "timeBased")
# The settings a configuration update may change (restored when a request is refused).
_SETTINGS = (
    "connection_type",
    "backend_url",
    "backend_password",
    "free_charging",
    "free_charging_tag",
    "led_brightness",
    "led_dimming_level",
    "current_limit_a",
)


@dataclass(frozen=True)
class BackendSettings:
    """What the charger uses after a restart: backend URL, its password, its identity."""

    url: str
    password: str | None
    identity: str


ReconnectCallback = Callable[[BackendSettings], Awaitable[None] | None]


def make_self_signed_certificate(
    directory: Path, common_name: str = "webasto-sim"
) -> tuple[Path, Path]:
    """Write a self-signed certificate (localhost, 127.0.0.1) and its key; blocking."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_ssl_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """A TLS server context for the certificate; blocking (reads the files)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _problem(status: int, detail: str) -> web.Response:
    body = {"type": "about:blank", "status": status, "detail": detail}
    return web.json_response(body, status=status, content_type="application/problem+json")


class SimulatedWebUi:
    """The charger's web-UI API over HTTPS, for the ``next`` or the ``unite`` model."""

    def __init__(
        self,
        model: str = "next",
        password: str = "admin-password",
        *,
        identity: str = "NEXT-WS123456",
        serial: str | None = None,
        firmware: str | None = None,
        backend_url: str = DEFAULT_BACKEND,
        token_lifetime: float = 3600.0,
        host: str = "127.0.0.1",
        port: int = 0,
        on_reconnect: ReconnectCallback | None = None,
        ocpp_password_field: bool = False,
    ) -> None:
        if model not in ("next", "unite"):
            raise ValueError(f"model must be next or unite, not {model!r}")
        self.model = model
        self.username = "admin"
        self.password = password
        self.identity = identity
        self.serial = serial or identity.split("-", 1)[-1]
        self.firmware = firmware or ("3.1.37" if model == "next" else "3.187.0")
        self.token_lifetime = token_lifetime
        self.host = host
        self.port = port
        self.on_reconnect = on_reconnect
        # Next only: a backend password field (not documented; some firmware may have it).
        self.ocpp_password_field = ocpp_password_field

        # Settings.
        self.connection_type = "ocpp"
        self.backend_url = backend_url
        self.backend_password: str | None = None
        self.free_charging = False
        self.free_charging_tag = "FREE-TAG"
        self.led_brightness = 10
        self.led_dimming_level = "mid"
        self.current_limit_a = 16

        # What happened, for tests.
        self.logins = 0
        self.failed_logins = 0
        self.restarts = 0
        self.requests: list[tuple[str, str]] = []
        self.updates: list[Any] = []
        # Seconds added to the clock the server checks tokens against (token expiry).
        self.clock_offset = 0.0

        self._secret = secrets.token_bytes(32)
        self._token_ids = 0
        self._runner: web.AppRunner | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self.cert_path: Path | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._restarted = asyncio.Condition()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """The web UI's base URL."""
        return f"https://{self.host}:{self.port}"

    async def start(self) -> int:
        """Generate the certificate, listen, and return the port."""
        loop = asyncio.get_running_loop()
        self._tempdir = tempfile.TemporaryDirectory(prefix="webasto-sim-webui-")
        directory = Path(self._tempdir.name)
        cert, key = await loop.run_in_executor(None, make_self_signed_certificate, directory)
        self.cert_path = cert
        context = await loop.run_in_executor(None, server_ssl_context, cert, key)
        app = web.Application()
        app.router.add_post("/api/login", self._login)
        app.router.add_post("/api/refresh-token", self._refresh)
        app.router.add_post("/api/configuration-updates", self._configuration_updates)
        if self.model == "next":
            app.router.add_get("/api/configuration-structure", self._structure)
            app.router.add_get("/api/sections/{key}", self._section)
            app.router.add_post("/api/custom-actions/restart-system", self._restart)
        else:
            app.router.add_get("/api/system-information", self._system_information)
            app.router.add_get("/api/configuration-fields", self._configuration_fields)
            app.router.add_get("/api/configuration-fields/", self._configuration_fields)
            app.router.add_post("/api/custom-actions/soft-reset", self._restart)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=context, reuse_address=True)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        _LOGGER.info("web UI (%s) listening on %s", self.model, self.url)
        return self.port

    async def stop(self) -> None:
        """Stop listening and finish the restart callbacks."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tempdir is not None:
            tempdir, self._tempdir = self._tempdir, None
            await asyncio.get_running_loop().run_in_executor(None, tempdir.cleanup)

    async def __aenter__(self) -> SimulatedWebUi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def wait_restarts(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` restarts happened and their callbacks finished."""
        async with asyncio.timeout(timeout), self._restarted:
            await self._restarted.wait_for(lambda: self.restarts >= count)

    # ------------------------------------------------------------------ tokens
    def _now(self) -> float:
        return time.time() + self.clock_offset

    def issue_token(self) -> str:
        """A signed JWT (HS256) for the admin user."""
        self._token_ids += 1
        now = self._now()
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "sub": self.username,
            "iat": now,
            "exp": now + self.token_lifetime,
            "jti": self._token_ids,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def revoke_tokens(self) -> None:
        """Every token issued so far becomes invalid (as after a reboot)."""
        self._secret = secrets.token_bytes(32)

    def _token_valid(self, token: str) -> bool:
        try:
            header, claims_part, signature = token.split(".")
            expected = hmac.new(
                self._secret, f"{header}.{claims_part}".encode(), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                return False
            claims = json.loads(_unb64(claims_part))
        except ValueError:
            return False
        return isinstance(claims, dict) and float(claims.get("exp", 0)) > self._now()

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self._token_valid(token.strip())

    # ------------------------------------------------------------------ handlers
    async def _json(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    async def _login(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        body = await self._json(request)
        if (
            not isinstance(body, dict)
            or body.get("username") != self.username
            or not hmac.compare_digest(str(body.get("password", "")), self.password)
        ):
            self.failed_logins += 1
            return _problem(401, "Invalid credentials")
        self.logins += 1
        return web.json_response({"access_token": self.issue_token(), "token_type": "bearer"})

    async def _refresh(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return _problem(401, "Token expired or invalid")
        return web.json_response({"access_token": self.issue_token(), "token_type": "bearer"})

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        return _problem(404, "The requested URL was not found on the server.")

    # Next ------------------------------------------------------------------------
    def _next_fields(self) -> dict[str, list[dict[str, Any]]]:
        def field(
            key: str, group: str, kind: str, value: Any, *, write: bool = True, **extra: Any
        ) -> dict[str, Any]:
            return {
                "fieldKey": key,
                "fieldLabel": key.replace("-", " ").capitalize(),
                "groupKey": group,
                "configurationFieldType": f"{kind}-configuration-field",
                "value": value,
                "permission": {"permissionLevel": "WRITE" if write else "READ"},
                **extra,
            }

        backend = [
            field(
                "connection-type",
                "connection",
                "select",
                self.connection_type,
                options=["no-backend", "ocpp"],
            ),
            field("connection-uri", "connection", "simple-string", self.backend_url),
        ]
        if self.ocpp_password_field:
            backend.append(field("ocpp-password", "ocpp", "password", ""))
        return {
            "auth": [
                field("free-charging", "free-charging", "boolean", self.free_charging),
                field(
                    "free-charging-alais", "free-charging", "simple-string", self.free_charging_tag
                ),
            ],
            "backend": backend,
            "power": [
                field(
                    "operator-current-limit",
                    "installation",
                    "number",
                    self.current_limit_a,
                    validation={"min": 6, "max": 32},
                ),
            ],
            "system": [
                field(
                    "led-brightness",
                    "general",
                    "number",
                    self.led_brightness,
                    validation={"min": 0, "max": 100},
                ),
                field(
                    "comboard-sw-version",
                    "system-information",
                    "readonly",
                    self.firmware,
                    write=False,
                ),
                field(
                    "manufacturer-serial-number",
                    "system-information",
                    "readonly",
                    self.serial,
                    write=False,
                ),
                field(
                    "ocpp-charge-box-identity-charge-point-id",
                    "system-status",
                    "readonly",
                    self.identity,
                    write=False,
                ),
            ],
        }

    async def _structure(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return _problem(401, "Token expired or invalid")
        sections = [{"key": key, "label": key.upper(), "groups": []} for key in self._next_fields()]
        return web.json_response({"sections": sections})

    async def _section(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return _problem(401, "Token expired or invalid")
        fields = self._next_fields().get(request.match_info["key"])
        if fields is None:
            return _problem(404, "Unknown section")
        return web.json_response(fields)

    def _apply_next(self, update: Any) -> str | None:
        """Apply one Next update; returns an error text or None."""
        if not isinstance(update, dict) or set(update) != {
            "fieldKey",
            "value",
            "configurationFieldUpdateType",
        }:
            return "an update is {fieldKey, value, configurationFieldUpdateType}"
        fields = {f["fieldKey"]: f for fs in self._next_fields().values() for f in fs}
        key, value = update["fieldKey"], update["value"]
        field = fields.get(key)
        if field is None:
            return f"unknown field {key}"
        if field["permission"]["permissionLevel"] != "WRITE":
            return f"{key} is read-only"
        if update["configurationFieldUpdateType"] != f"{field['configurationFieldType']}-update":
            return f"wrong update type for {key}"
        kind = field["configurationFieldType"]
        if kind == "boolean-configuration-field":
            if not isinstance(value, bool):
                return f"{key} takes a boolean"
        elif kind == "number-configuration-field":
            limits = field.get("validation", {})
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{key} takes an integer"
            if not limits.get("min", value) <= value <= limits.get("max", value):
                return f"{key} out of range"
        elif kind == "select-configuration-field":
            if value not in field["options"]:
                return f"{key} takes one of {field['options']}"
        elif not isinstance(value, str):
            return f"{key} takes a string"
        setters: dict[str, Callable[[Any], None]] = {
            "free-charging": lambda v: setattr(self, "free_charging", v),
            "free-charging-alais": lambda v: setattr(self, "free_charging_tag", v),
            "connection-type": lambda v: setattr(self, "connection_type", v),
            "connection-uri": lambda v: setattr(self, "backend_url", v),
            "ocpp-password": lambda v: setattr(self, "backend_password", v),
            "operator-current-limit": lambda v: setattr(self, "current_limit_a", v),
            "led-brightness": lambda v: setattr(self, "led_brightness", v),
        }
        setters[key](value)
        return None

    # Unite -----------------------------------------------------------------------
    def _unite_fields(self) -> list[dict[str, Any]]:
        values: dict[str, Any] = {
            "wifiSettings.ssid": "home",
            "ocppSettings.centralSystemAddress": self.backend_url,
            "ocppSettings.chargePointId": self.identity,
            "ocppSettings.ocppVersion": "1.6",
            "ocppConfigurations.authorizationKey": "",  # write-only
            "ocppConfigurations.freeModeActive": "TRUE" if self.free_charging else "FALSE",
            "ocppConfigurations.freeModeRfid": self.free_charging_tag,
            "generalSettings.ledDimmingLevel": self.led_dimming_level,
            "generalSettings.randomisedDelayMaximumDuration": 0,
            "installationSettings.currentLimiterValue": self.current_limit_a,
            "installationSettings.currentLimiterPhase": 1,
        }
        return [{"fieldKey": key, "value": value} for key, value in values.items()]

    async def _system_information(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return _problem(401, "Token expired or invalid")
        return web.json_response(
            {
                "apiVersion": "1.0",
                "hmiVersion": self.firmware,
                "identifier": self.serial,
                "model": "Webasto Unite AC22",
            }
        )

    async def _configuration_fields(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return _problem(401, "Token expired or invalid")
        return web.json_response(self._unite_fields())

    def _apply_unite(self, update: Any) -> str | None:
        if not isinstance(update, dict) or set(update) != {"fieldKey", "value"}:
            return "an update is exactly {fieldKey, value}"
        key, value = update["fieldKey"], update["value"]
        if not isinstance(value, str):
            return f"{key} takes a string"
        if key == "ocppSettings.centralSystemAddress":
            self.backend_url = value
        elif key == "ocppConfigurations.authorizationKey":
            self.backend_password = value
        elif key == "ocppConfigurations.freeModeActive":
            if value not in ("TRUE", "FALSE"):
                return f"{key} takes TRUE or FALSE"
            self.free_charging = value == "TRUE"
        elif key == "ocppConfigurations.freeModeRfid":
            self.free_charging_tag = value
        elif key == "generalSettings.ledDimmingLevel":
            if value not in LED_DIMMING_LEVELS:
                return f"{key} takes one of {LED_DIMMING_LEVELS}"
            self.led_dimming_level = value
        else:
            return f"{key} cannot be written"
        return None

    # Both ------------------------------------------------------------------------
    async def _configuration_updates(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return _problem(401, "Token expired or invalid")
        body = await self._json(request)
        if not isinstance(body, list) or not body:
            return _problem(400, "Expected a list of updates")
        apply = self._apply_next if self.model == "next" else self._apply_unite
        # Validate everything first: a refused request changes nothing.
        snapshot = dict(vars(self))
        for update in body:
            error = apply(update)
            if error is not None:
                for name in (
                    "connection_type",
                    "backend_url",
                    "backend_password",
                    "free_charging",
                    "free_charging_tag",
                    "led_brightness",
                    "led_dimming_level",
                    "current_limit_a",
                ):
                    setattr(self, name, snapshot[name])
                return _problem(400, error)
        self.updates.append(body)
        return web.json_response({"success": True, "updatedFields": [u["fieldKey"] for u in body]})

    async def _restart(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._authorized(request):
            return _problem(401, "Token expired or invalid")
        task = asyncio.get_running_loop().create_task(self._reboot())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({"success": True})

    async def _reboot(self) -> None:
        """After the answer: tokens die, the charger reconnects to its backend."""
        self.revoke_tokens()
        settings = BackendSettings(self.backend_url, self.backend_password, self.identity)
        try:
            if self.on_reconnect is not None:
                result = self.on_reconnect(settings)
                if inspect.isawaitable(result):
                    await result
        except Exception:
            _LOGGER.exception("the reconnect callback failed")
        finally:
            async with self._restarted:
                self.restarts += 1
                self._restarted.notify_all()


def charger_url(url: str, identity: str) -> str:
    """The URL a charger connects to: the backend URL with the identity appended."""
    base = url.rstrip("/")
    return base if base.endswith(f"/{identity}") else f"{base}/{identity}"
