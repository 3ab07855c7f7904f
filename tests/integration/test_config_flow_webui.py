"""'Set it up for me' through the charger's web UI, reauthentication, and web-UI entities.

Unexpected errors are made by patching the web-UI client (the one fault the simulator cannot
produce on purpose); everything else is the real thing.

Real Home Assistant and central system, webasto_sim's SimulatedWebUi (HTTPS, self-signed)
playing the charger's web UI; its restart makes a SimulatedCharger connect to whatever
backend URL and password were written, as the real charger would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import json
import logging
from pathlib import Path
import socket
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect import config_flow, flow_forms
from custom_components.webasto_chargeconnect.const import DOMAIN
from custom_components.webasto_chargeconnect.hub import async_get_hub
from webasto_sim import SimulatedCharger
from webasto_sim.webui import BackendSettings, SimulatedWebUi

from ..common import IDENTITY
from .conftest import wait_configured, wait_for_state

WEBUI_PASSWORD = "admin-Passw0rd"
OLD_BACKEND = "wss://ocpp.example-cloud.test/ocpp"
LED = "number.webasto_next_ws123456_led_brightness"
FREE = "switch.webasto_next_ws123456_free_charging"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Rig:
    """A simulated web UI whose restart connects a simulated charger to the written URL."""

    def __init__(self, **kwargs: Any) -> None:
        self.webui = SimulatedWebUi(
            "next",
            WEBUI_PASSWORD,
            identity=IDENTITY,
            backend_url=OLD_BACKEND,
            on_reconnect=self.on_reconnect,
            **kwargs,
        )
        self.sims: list[SimulatedCharger] = []
        self.settings: list[BackendSettings] = []

    async def on_reconnect(self, settings: BackendSettings) -> None:
        self.settings.append(settings)
        if not settings.url.startswith("ws://127.0.0.1:"):
            return  # still the old backend: nothing to connect to here
        sim = SimulatedCharger(settings.url, settings.identity, "next", password=settings.password)
        self.sims.append(sim)
        await sim.connect()
        await sim.boot()

    async def close(self) -> None:
        for sim in self.sims:
            await sim.disconnect()
        await self.webui.stop()


@pytest.fixture
async def make_rig(socket_enabled: None) -> AsyncIterator[Callable[..., Any]]:
    rigs: list[Rig] = []

    async def factory(**kwargs: Any) -> Rig:
        rig = Rig(**kwargs)
        await rig.webui.start()
        rigs.append(rig)
        return rig

    yield factory
    for rig in rigs:
        await rig.close()


async def _webui_form(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["manual", "webui"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "webui"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "webui"
    return result


def _input(rig: Rig, port: int, **changes: Any) -> dict[str, Any]:
    return {
        "webui_host": f"127.0.0.1:{rig.webui.port}",
        "webui_password": WEBUI_PASSWORD,
        CONF_PORT: port,
        "ha_host": "127.0.0.1",
        **changes,
    }


@pytest.mark.parametrize("password_field", [False, True])
async def test_set_it_up_for_me(
    hass: HomeAssistant, make_rig: Callable[..., Any], password_field: bool
) -> None:
    """Login errors, then backend written, charger restarted, connects, entry created."""
    rig: Rig = await make_rig(ocpp_password_field=password_field)
    port = free_port()
    result = await _webui_form(hass)

    # Wrong password.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _input(rig, port, webui_password="wrong")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert rig.webui.failed_logins == 1
    # Nothing listens there.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _input(rig, port, webui_host=f"127.0.0.1:{free_port()}")
    )
    assert result["errors"] == {"base": "cannot_connect"}
    assert rig.webui.backend_url == OLD_BACKEND  # nothing written so far

    # Right: the backend settings are written, the charger restarts and connects.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(rig, port))
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    expected_action = "webui_wait_for_charger" if password_field else "webui_wait_no_password"
    assert result["progress_action"] == expected_action
    assert result["description_placeholders"]["previous"] == OLD_BACKEND
    await rig.webui.wait_restarts()
    assert rig.webui.backend_url == f"ws://127.0.0.1:{port}/"
    assert rig.settings[-1].url == f"ws://127.0.0.1:{port}/"
    if password_field:
        assert rig.webui.backend_password and len(rig.webui.backend_password) >= 20
    else:
        assert rig.webui.backend_password is None
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert data["identity"] == IDENTITY
    assert data["upstream_url"] == OLD_BACKEND
    assert data["webui_host"] == "127.0.0.1"
    assert data["webui_port"] == rig.webui.port
    assert data["webui_password"] == WEBUI_PASSWORD
    assert data["webui_model"] == "next"
    assert data[CONF_PASSWORD] == rig.webui.backend_password
    assert data[CONF_PORT] == port
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.unique_id == IDENTITY
    assert entry.runtime_data.charger.online
    await wait_configured(hass, entry)
    # Forwarding to the old backend is set up (it is not reachable in this test).
    assert entry.runtime_data.forwarding is not None
    assert entry.runtime_data.forwarding.link.url == f"{OLD_BACKEND}/{IDENTITY}"

    # The same charger again: already configured.
    result = await _webui_form(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(rig, port))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_backend_already_home_assistant(
    hass: HomeAssistant, make_rig: Callable[..., Any]
) -> None:
    """A charger already pointing at this Home Assistant gets no forwarding to itself."""
    port = free_port()
    rig: Rig = await make_rig()
    rig.webui.backend_url = f"ws://127.0.0.1:{port}/"
    result = await _webui_form(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(rig, port))
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await rig.webui.wait_restarts()
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "upstream_url" not in result["data"]
    await hass.async_block_till_done()
    assert result["result"].runtime_data.forwarding is None


async def _webui_entry(hass: HomeAssistant, rig: Rig, **data: Any) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Webasto {IDENTITY}",
        unique_id=IDENTITY,
        data={
            "identity": IDENTITY,
            CONF_PASSWORD: None,
            CONF_PORT: 0,
            "ssl_certfile": None,
            "ssl_keyfile": None,
            "webui_host": "127.0.0.1",
            "webui_port": rig.webui.port,
            "webui_password": WEBUI_PASSWORD,
            "webui_model": "next",
            **data,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_reauth(hass: HomeAssistant, make_rig: Callable[..., Any]) -> None:
    """The web UI password changed: reauth, a wrong try, then the new one is stored."""
    rig: Rig = await make_rig()
    rig.webui.password = "changed-Passw0rd"
    entry = await _webui_entry(hass, rig)
    # The first web UI poll runs as a background task of the entry: wait for it to end.
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = [f for f in hass.config_entries.flow.async_progress() if f["handler"] == DOMAIN]
    assert len(flows) == 1  # the refused password started the reauth flow by itself
    assert flows[0]["context"]["source"] == "reauth"
    flow_id = flows[0]["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {"webui_password": "nope"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"webui_password": "changed-Passw0rd"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["webui_password"] == "changed-Passw0rd"
    assert entry.state is ConfigEntryState.LOADED
    await wait_for_state(hass, LED, "10.0")


async def test_next_web_ui_entities(
    hass: HomeAssistant,
    make_rig: Callable[..., Any],
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """LED brightness and free charging through the web UI; unavailable when it is down."""
    rig: Rig = await make_rig()
    entry = await _webui_entry(hass, rig)
    await wait_for_state(hass, LED, "10.0")
    assert hass.states.get(FREE).state == "off"
    assert entity_registry.async_get(LED).unique_id == f"{IDENTITY}_webui_led_brightness"
    assert entity_registry.async_get(FREE).unique_id == f"{IDENTITY}_webui_free_charging"
    # Both are there while the charger is offline over OCPP: a separate connection.
    assert not entry.runtime_data.charger.online

    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: LED, "value": 55}, blocking=True
    )
    assert rig.webui.led_brightness == 55
    await wait_for_state(hass, LED, "55.0")
    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: FREE}, blocking=True)
    assert rig.webui.free_charging is True
    # A change made in the web UI itself shows after the next poll.
    rig.webui.led_brightness = 80
    await entry.runtime_data.webui.async_refresh()
    await wait_for_state(hass, LED, "80.0")

    # The web UI goes away: unavailable, one log line, not one per poll.
    await rig.webui.stop()
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            await entry.runtime_data.webui.async_refresh()
        await hass.async_block_till_done()
    assert hass.states.get(LED).state == "unavailable"
    assert hass.states.get(FREE).state == "unavailable"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) <= 1
    assert "Traceback" not in caplog.text


def _unexpected(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        and r.exc_info
        and r.getMessage().startswith("Unexpected error from the web UI")
    ]


async def test_unexpected_error_reading_the_web_ui(
    hass: HomeAssistant, make_rig: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """An error nobody foresaw: 'unknown' on the form, logged with its traceback, nothing held."""
    rig: Rig = await make_rig()
    port = free_port()
    result = await _webui_form(hass)
    with patch.object(config_flow.WebUiClient, "get_info", side_effect=RuntimeError("surprise")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _input(rig, port)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    assert len(_unexpected(caplog)) == 1
    assert rig.webui.backend_url == OLD_BACKEND
    assert not async_get_hub(hass)._servers
    # The same form again, and this time it works.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(rig, port))
    assert result["type"] is FlowResultType.SHOW_PROGRESS


async def test_failure_after_the_claim_then_another_port(
    hass: HomeAssistant, make_rig: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The restart fails unexpectedly: 'unknown'. A new try on another port lets go of the first."""
    rig: Rig = await make_rig(ocpp_password_field=True)
    first, second = free_port(), free_port()
    result = await _webui_form(hass)
    with patch.object(config_flow.WebUiClient, "reconnect", side_effect=RuntimeError("surprise")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _input(rig, first)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    assert len(_unexpected(caplog)) == 1
    hub = async_get_hub(hass)
    assert hub.server(first) is not None  # still claimed: the owner may try again
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(rig, second))
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert hub.server(first) is None
    assert set(hub._servers) == {second}
    await rig.webui.wait_restarts()
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PORT] == second
    assert result["data"][CONF_PASSWORD] == rig.webui.backend_password
    await hass.async_block_till_done()
    assert result["result"].runtime_data.charger.online


async def test_reauth_unexpected_error(
    hass: HomeAssistant, make_rig: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Reauth with an error nobody foresaw: 'unknown', logged; the right password still works."""
    rig: Rig = await make_rig()
    entry = await _webui_entry(hass, rig)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    with patch.object(config_flow.WebUiClient, "login", side_effect=RuntimeError("surprise")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"webui_password": WEBUI_PASSWORD}
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    assert len(_unexpected(caplog)) == 1
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"webui_password": WEBUI_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    # The entry reloads in the background: wait until it is loaded again.
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" charger.local ", ("charger.local", 443)),
        ("192.168.1.20:8443", ("192.168.1.20", 8443)),
        ("192.168.1.20:web", ("192.168.1.20:web", 443)),
        ("[fd00::20]:8443", ("fd00::20", 8443)),
        ("[fd00::20]", ("fd00::20", 443)),
        ("fd00::20", ("fd00::20", 443)),
    ],
)
def test_split_host(text: str, expected: tuple[str, int]) -> None:
    """The web UI address the owner typed: host, host:port, IPv6 with or without brackets."""
    assert flow_forms.split_host(text) == expected


def test_webui_error_keys() -> None:
    """Each web-UI failure has its own form error (all translated)."""
    errors = {
        "invalid_auth": flow_forms.WebUiAuthError("h"),
        "cannot_connect": flow_forms.WebUiConnectionError("h", "refused"),
        "not_supported": flow_forms.WebUiNotSupportedError("backend URL", "next"),
        "webui_error": flow_forms.WebUiError("odd answer"),
    }
    en = json.loads((Path(flow_forms.__file__).parent / "translations" / "en.json").read_text())
    for key, err in errors.items():
        assert flow_forms.webui_error(err) == key
        assert key in en["config"]["error"]
    assert "unknown" in en["config"]["error"]
