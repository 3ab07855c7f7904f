"""The charger's web-UI API client against the simulated web UI (HTTPS, real sockets)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
import json
from pathlib import Path
import socket
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.webasto_chargeconnect.chargeconnect import (
    CentralSystem,
    Charger,
    InvalidArgumentError,
    MemoryStore,
    PersistentIdAllocator,
)
from custom_components.webasto_chargeconnect.chargeconnect.webui import (
    ChargerWebInfo,
    WebUiAuthError,
    WebUiClient,
    WebUiConnectionError,
    WebUiError,
    WebUiNotSupportedError,
    WebUiSettings,
)
from webasto_sim import SimulatedCharger
from webasto_sim.webui import (
    BackendSettings,
    SimulatedWebUi,
    charger_url,
    make_self_signed_certificate,
    server_ssl_context,
)

from ..upstream_backend import tolerate_refused_tls_handshakes

PASSWORD = "web-ui-Passw0rd"
NEXT_ID = "NEXT-WS123456"
UNITE_ID = "UNITE-0042"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    session = aiohttp.ClientSession()
    yield session
    await session.close()


WebUiFactory = Callable[..., Awaitable[SimulatedWebUi]]


@pytest.fixture
async def make_webui(socket_enabled: None) -> AsyncIterator[WebUiFactory]:
    started: list[SimulatedWebUi] = []

    async def factory(model: str = "next", **kwargs: Any) -> SimulatedWebUi:
        kwargs.setdefault("identity", NEXT_ID if model == "next" else UNITE_ID)
        ui = SimulatedWebUi(model, PASSWORD, **kwargs)
        await ui.start()
        started.append(ui)
        return ui

    yield factory
    for ui in started:
        await ui.stop()


def client_for(
    ui: SimulatedWebUi, http: aiohttp.ClientSession, password: str = PASSWORD, **kwargs: Any
) -> WebUiClient:
    return WebUiClient("127.0.0.1", password, http, port=ui.port, **kwargs)


# ------------------------------------------------------------------------- login
async def test_login_and_info_next(make_webui: WebUiFactory, http: aiohttp.ClientSession) -> None:
    """A Next: login once, the model is detected, info read from the sections."""
    ui = await make_webui("next", backend_url="wss://cloud.example/ocpp")
    client = client_for(ui, http)
    await client.login()
    assert ui.logins == 1
    info = await client.get_info()
    assert info == ChargerWebInfo(
        model="next",
        serial="WS123456",
        charge_box_identity=NEXT_ID,
        firmware="3.1.37",
        backend_url="wss://cloud.example/ocpp",
        backend_type="ocpp",
    )
    assert client.model == "next"
    assert ui.logins == 1  # the token was reused
    assert ("GET", "/api/configuration-structure") in ui.requests
    assert info.to_dict()["charge_box_identity"] == NEXT_ID


async def test_login_and_info_unite(make_webui: WebUiFactory, http: aiohttp.ClientSession) -> None:
    """A Unite: the flat configuration fields and the system information."""
    ui = await make_webui("unite", serial="SN-77", firmware="3.187.0")
    client = client_for(ui, http)
    info = await client.get_info()  # logs in by itself
    assert info.model == "unite"
    assert info.serial == "SN-77"
    assert info.charge_box_identity == UNITE_ID
    assert info.firmware == "3.187.0"
    assert info.backend_url == ui.backend_url
    assert ui.logins == 1
    # The Next's sections were probed first and are not there on a Unite.
    assert ("GET", "/api/configuration-structure") in ui.requests


async def test_wrong_password(make_webui: WebUiFactory, http: aiohttp.ClientSession) -> None:
    """401 on login: WebUiAuthError with its translation key."""
    ui = await make_webui()
    client = client_for(ui, http, password="not-it")
    with pytest.raises(WebUiAuthError) as err:
        await client.login()
    assert err.value.translation_key == "webui_auth_failed"
    assert err.value.placeholders["host"] == "127.0.0.1"
    assert ui.failed_logins == 1
    with pytest.raises(WebUiAuthError):
        await client.get_info()
    assert ui.logins == 0


async def test_unreachable_and_silent_hosts(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """A closed port and a host that never answers: WebUiConnectionError."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = WebUiClient("127.0.0.1", PASSWORD, http, port=closed_port)
    with pytest.raises(WebUiConnectionError) as err:
        await client.login()
    assert err.value.translation_key == "webui_cannot_connect"
    assert err.value.placeholders["host"] == "127.0.0.1"

    accepted = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        silent = WebUiClient("127.0.0.1", PASSWORD, http, port=port, timeout=0.3)
        with pytest.raises(WebUiConnectionError) as err:
            await silent.login()
        assert err.value.placeholders["reason"] == "no answer in time"
        assert accepted.is_set()
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def tolerate_refused_handshakes() -> AsyncIterator[None]:
    """A refused TLS handshake is reported by the server side; expected here."""
    with tolerate_refused_tls_handshakes():
        yield


async def test_certificate_is_self_signed(
    tolerate_refused_handshakes: None, make_webui: WebUiFactory, http: aiohttp.ClientSession
) -> None:
    """verify_ssl=True refuses the charger's self-signed certificate."""
    ui = await make_webui()
    client = client_for(ui, http, verify_ssl=True)
    with pytest.raises(WebUiConnectionError) as err:
        await client.login()
    assert "certificate" in err.value.placeholders["reason"]
    assert ui.logins == 0


async def test_expired_token_logs_in_again(
    make_webui: WebUiFactory, http: aiohttp.ClientSession
) -> None:
    """401 on a call: one new login and the call succeeds; a second 401 is an auth error."""
    ui = await make_webui(token_lifetime=600)
    client = client_for(ui, http)
    await client.get_settings()
    assert ui.logins == 1

    ui.clock_offset = 3600  # the charger now considers the token expired
    settings = await client.get_settings()
    assert settings.led_brightness == 10
    assert ui.logins == 2

    ui.revoke_tokens()  # e.g. the charger rebooted
    await client.set_led_brightness(20)
    assert ui.led_brightness == 20
    assert ui.logins == 3

    # The password was changed on the charger: re-login fails once, then an error.
    ui.password = "changed"
    ui.revoke_tokens()
    with pytest.raises(WebUiAuthError):
        await client.get_settings()
    assert ui.logins == 3
    assert ui.failed_logins == 1


# ------------------------------------------------------------------------ settings
async def test_next_settings(make_webui: WebUiFactory, http: aiohttp.ClientSession) -> None:
    """Free charging and LED brightness on the Next, written with the right update types."""
    ui = await make_webui("next")
    client = client_for(ui, http, model="next")
    settings = await client.get_settings()
    assert settings == WebUiSettings(
        model="next", free_charging=False, free_charging_tag="FREE-TAG", led_brightness=10
    )
    # Diagnostics show what the Next has, by name (no Unite dimming level).
    assert settings.to_dict() == {
        "free_charging": False,
        "free_charging_tag": "FREE-TAG",
        "led_brightness": 10,
    }
    await client.set_free_charging(True)
    await client.set_led_brightness(55)
    assert ui.free_charging is True
    assert ui.led_brightness == 55
    assert ui.updates[0] == [
        {
            "fieldKey": "free-charging",
            "value": True,
            "configurationFieldUpdateType": "boolean-configuration-field-update",
        }
    ]
    assert ui.updates[1][0]["configurationFieldUpdateType"] == "number-configuration-field-update"
    settings = await client.get_settings()
    assert settings.free_charging is True
    assert settings.led_brightness == 55
    with pytest.raises(InvalidArgumentError):
        await client.set_led_brightness(101)
    assert ui.led_brightness == 55
    # Known model given: no detection request.
    assert ("GET", "/api/configuration-structure") not in ui.requests


async def test_unite_settings(make_webui: WebUiFactory, http: aiohttp.ClientSession) -> None:
    """The Unite's flat fields: TRUE/FALSE strings; no 0-100 LED brightness."""
    ui = await make_webui("unite")
    client = client_for(ui, http)
    settings = await client.get_settings()
    assert settings == WebUiSettings(
        model="unite", free_charging=False, free_charging_tag="FREE-TAG", led_dimming_level="mid"
    )
    assert settings.to_dict() == {
        "free_charging": False,
        "free_charging_tag": "FREE-TAG",
        "led_dimming_level": "mid",
    }
    await client.set_free_charging(True)
    assert ui.free_charging is True
    assert ui.updates == [[{"fieldKey": "ocppConfigurations.freeModeActive", "value": "TRUE"}]]
    with pytest.raises(WebUiNotSupportedError) as err:
        await client.set_led_brightness(50)
    assert err.value.translation_key == "webui_not_supported"
    assert (await client.get_settings()).free_charging is True


# ------------------------------------------------------------ backend and reconnect
@pytest.fixture
async def central(socket_enabled: None) -> AsyncIterator[CentralSystem]:
    server = CentralSystem("127.0.0.1", 0, boot_wait=0.5)
    await server.start()
    yield server
    await server.stop()


def add_charger(central: CentralSystem, identity: str, password: str | None) -> Charger:
    charger = Charger(
        identity,
        password=password,
        store=MemoryStore(),
        allocator=PersistentIdAllocator(MemoryStore()),
    )
    central.add_charger(charger)
    return charger


async def wait_online(charger: Charger, timeout: float = 10.0) -> None:
    changed = asyncio.Event()
    remove = charger.add_listener(changed.set)
    try:
        async with asyncio.timeout(timeout):
            while not (charger.online and charger.info.vendor):
                changed.clear()
                await changed.wait()
    finally:
        remove()


class Reconnector:
    """The charger behind the web UI: after a restart it connects where it was told."""

    def __init__(self, profile: str) -> None:
        self.profile = profile
        self.sims: list[SimulatedCharger] = []
        self.settings: list[BackendSettings] = []

    async def __call__(self, settings: BackendSettings) -> None:
        self.settings.append(settings)
        sim = SimulatedCharger(
            settings.url, settings.identity, self.profile, password=settings.password
        )
        self.sims.append(sim)
        await sim.connect()
        await sim.boot()

    async def close(self) -> None:
        for sim in self.sims:
            await sim.disconnect()


async def test_unite_backend_written_then_charger_connects(
    make_webui: WebUiFactory, http: aiohttp.ClientSession, central: CentralSystem
) -> None:
    """Write our URL and password, restart: the charger connects to us with that password."""
    charger = add_charger(central, UNITE_ID, "ocpp-S3cret")
    reconnector = Reconnector("unite")
    ui = await make_webui("unite", on_reconnect=reconnector)
    client = client_for(ui, http)
    try:
        url = f"ws://127.0.0.1:{central.port}/ocpp"
        await client.set_backend(url, "ocpp-S3cret")
        assert ui.backend_url == url
        assert ui.backend_password == "ocpp-S3cret"
        assert ui.updates[-1] == [
            {"fieldKey": "ocppSettings.centralSystemAddress", "value": url},
            {"fieldKey": "ocppConfigurations.authorizationKey", "value": "ocpp-S3cret"},
        ]
        assert (await client.get_info()).backend_url == url
        await client.reconnect()
        await ui.wait_restarts()
        assert ("POST", "/api/custom-actions/soft-reset") in ui.requests
        await wait_online(charger)
        assert charger.info.model == "Unite"
        assert reconnector.sims[0].url == f"{url}/{UNITE_ID}"
        # The restart ended the web UI's tokens; the client logs in again by itself.
        logins = ui.logins
        await client.get_settings()
        assert ui.logins == logins + 1
    finally:
        await reconnector.close()


async def test_next_backend_written_then_charger_connects(
    make_webui: WebUiFactory, http: aiohttp.ClientSession, central: CentralSystem
) -> None:
    """The Next: connection type set to OCPP, URL written; no documented password field."""
    charger = add_charger(central, NEXT_ID, None)
    reconnector = Reconnector("next")
    ui = await make_webui("next", on_reconnect=reconnector)
    ui.connection_type = "no-backend"
    client = client_for(ui, http)
    try:
        url = f"ws://127.0.0.1:{central.port}/ocpp"
        with pytest.raises(WebUiNotSupportedError) as err:
            await client.set_backend(url, "ocpp-S3cret")
        assert "password" in str(err.value)
        assert ui.backend_url != url  # nothing written
        await client.set_backend(url, None)
        assert (ui.connection_type, ui.backend_url) == ("ocpp", url)
        info = await client.get_info()
        assert (info.backend_type, info.backend_url) == ("ocpp", url)
        await client.reconnect()
        await ui.wait_restarts()
        assert ("POST", "/api/custom-actions/restart-system") in ui.requests
        await wait_online(charger)
        assert reconnector.settings == [BackendSettings(url, None, NEXT_ID)]
    finally:
        await reconnector.close()


async def test_next_with_a_password_field(
    make_webui: WebUiFactory, http: aiohttp.ClientSession
) -> None:
    """Firmware that lists a writable password field in the backend section gets it."""
    ui = await make_webui("next", ocpp_password_field=True)
    client = client_for(ui, http)
    await client.set_backend("wss://ha.example:8887/ocpp", "pw-1")
    assert ui.backend_password == "pw-1"
    assert ui.updates[-1][-1]["configurationFieldUpdateType"] == (
        "password-configuration-field-update"
    )


async def test_backend_url_must_be_a_websocket(
    make_webui: WebUiFactory, http: aiohttp.ClientSession
) -> None:
    ui = await make_webui("unite")
    client = client_for(ui, http)
    with pytest.raises(InvalidArgumentError):
        await client.set_backend("https://ha.example/ocpp", None)
    assert ui.updates == []


# ------------------------------------------------------------- odd web UIs
OddHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def odd_webui(
    socket_enabled: None, tmp_path: Path
) -> AsyncIterator[Callable[[OddHandler], Awaitable[int]]]:
    """An HTTPS server answering every request with ``handler``."""
    runners: list[web.AppRunner] = []
    loop = asyncio.get_running_loop()
    cert, key = await loop.run_in_executor(None, make_self_signed_certificate, tmp_path)
    context = await loop.run_in_executor(None, server_ssl_context, cert, key)

    async def start(handler: OddHandler) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        runners.append(runner)
        return int(runner.addresses[0][1])

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_unexpected_answers(
    odd_webui: Callable[[OddHandler], Awaitable[int]], http: aiohttp.ClientSession
) -> None:
    """Login without a token, broken JSON, server errors, an unknown API: WebUiError."""

    async def no_token(request: web.Request) -> web.StreamResponse:
        return web.json_response({"token_type": "bearer"})

    client = WebUiClient("127.0.0.1", PASSWORD, http, port=await odd_webui(no_token))
    with pytest.raises(WebUiError) as err:
        await client.login()
    assert err.value.translation_key == "webui_error"
    assert "access_token" in str(err.value)

    async def not_json(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>hello</html>")

    client = WebUiClient("127.0.0.1", PASSWORD, http, port=await odd_webui(not_json))
    with pytest.raises(WebUiError, match="not JSON"):
        await client.login()

    async def busy(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, text="starting")

    client = WebUiClient("127.0.0.1", PASSWORD, http, port=await odd_webui(busy))
    with pytest.raises(WebUiError, match="HTTP 503"):
        await client.login()

    async def login_only(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/login":
            return web.json_response({"access_token": "not-a-jwt", "token_type": "bearer"})
        if request.path == "/api/sections/system":
            return web.json_response({"unexpected": "object"})
        if request.path == "/api/sections/auth":
            return web.Response(status=500, text="internal error")
        return web.json_response({"detail": "nope"}, status=404)

    port = await odd_webui(login_only)
    client = WebUiClient("127.0.0.1", PASSWORD, http, port=port)
    with pytest.raises(WebUiError, match="neither the Next nor the Unite"):
        await client.get_info()
    next_client = WebUiClient("127.0.0.1", PASSWORD, http, port=port, model="next")
    with pytest.raises(WebUiError, match="not a list"):
        await next_client.get_info()
    with pytest.raises(WebUiError, match="HTTP 500"):
        await next_client.set_free_charging(True)
    assert next_client.logins == 1  # a token without claims is kept (1 h assumed)


def test_charger_url() -> None:
    """The simulator appends the identity like the forwarder does."""
    assert charger_url("ws://h/ocpp/", "ID") == "ws://h/ocpp/ID"
    assert charger_url("ws://h/ocpp/ID", "ID") == "ws://h/ocpp/ID"


def jwt(claims: Any) -> str:
    """An unsigned token with these claims (the client never checks signatures)."""

    def part(data: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


async def test_odd_next_firmware(
    odd_webui: Callable[[OddHandler], Awaitable[int]], http: aiohttp.ClientSession
) -> None:
    """Read-only fields are not written; types follow the values; refused updates raise."""
    posted: list[Any] = []
    sections: dict[str, list[dict[str, Any]]] = {
        "auth": [
            {"fieldKey": "free-charging", "value": "on", "permission": {"permissionLevel": "READ"}}
        ],
        "system": [{"fieldKey": "led-brightness", "value": "bright"}],
        "backend": [
            {
                "fieldKey": "connection-uri",
                "value": "wss://x",
                "permission": {"permissionLevel": "READ"},
            }
        ],
    }

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/login":
            return web.json_response({"access_token": jwt([1, 2])})
        if request.path.startswith("/api/sections/"):
            return web.json_response(sections[request.match_info["tail"].rsplit("/", 1)[-1]])
        if request.path == "/api/configuration-updates":
            posted.append(await request.json())
            return web.json_response({"success": False})
        if request.path == "/api/custom-actions/restart-system":
            assert request.transport is not None
            request.transport.close()  # the charger goes down before answering
        return web.json_response({}, status=404)

    client = WebUiClient("127.0.0.1", PASSWORD, http, port=await odd_webui(handler), model="next")
    settings = await client.get_settings()
    assert settings == WebUiSettings(
        model="next", free_charging=True, free_charging_tag=None, led_brightness=None
    )
    with pytest.raises(WebUiNotSupportedError, match="free charging"):
        await client.set_free_charging(False)
    with pytest.raises(WebUiNotSupportedError, match="backend URL"):
        await client.set_backend("wss://ha.example/ocpp", None)
    with pytest.raises(WebUiError, match="refused the update"):
        await client.set_led_brightness(30)
    assert posted == [
        [
            {
                "fieldKey": "led-brightness",
                "value": 30,
                "configurationFieldUpdateType": "number-configuration-field-update",
            }
        ]
    ]
    sections["backend"] = [
        {"fieldKey": "connection-type", "value": "no-backend", "permission": {}},
        {"fieldKey": "connection-uri", "value": "", "configurationFieldType": "x"},
    ]
    with pytest.raises(WebUiError, match="refused the update"):
        await client.set_backend("wss://ha.example/ocpp", None)
    assert posted[-1][0]["configurationFieldUpdateType"] == (
        "simple-string-configuration-field-update"
    )
    sections["backend"][0]["permission"] = {"permissionLevel": "READ"}
    with pytest.raises(WebUiNotSupportedError, match="switching"):
        await client.set_backend("wss://ha.example/ocpp", None)
    sections["system"] = []
    with pytest.raises(WebUiNotSupportedError, match="LED brightness"):
        await client.set_led_brightness(30)
    # A restart that drops the connection counts as done.
    await client.reconnect()
    assert client.logins == 1


async def test_odd_unite_firmware(
    odd_webui: Callable[[OddHandler], Awaitable[int]], http: aiohttp.ClientSession
) -> None:
    """Missing fields are not written; a missing system-information still gives info."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/login":
            return web.json_response({"access_token": jwt({"iat": 100, "exp": 50})})
        if request.path == "/api/configuration-fields/":
            return web.json_response(
                [{"fieldKey": "ocppSettings.centralSystemAddress", "value": " wss://c/ocpp "}]
            )
        if request.path == "/api/custom-actions/soft-reset":
            return web.Response(status=200)  # an empty answer
        return web.json_response({}, status=404)

    client = WebUiClient("127.0.0.1", PASSWORD, http, port=await odd_webui(handler), model="unite")
    info = await client.get_info()
    assert info == ChargerWebInfo(model="unite", backend_url="wss://c/ocpp", backend_type="ocpp")
    with pytest.raises(WebUiNotSupportedError, match="authorizationKey"):
        await client.set_backend("wss://ha.example/ocpp", "pw")
    await client.reconnect()
    with pytest.raises(WebUiNotSupportedError):
        WebUiClient("127.0.0.1", PASSWORD, http, model="live")


def test_parse_bool() -> None:
    from custom_components.webasto_chargeconnect.chargeconnect.webui import parse_bool

    assert [parse_bool(v) for v in (True, "TRUE", "off", 1, 0, None, "maybe")] == [
        True,
        True,
        False,
        True,
        False,
        None,
        None,
    ]
