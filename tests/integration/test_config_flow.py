"""Config flow: claim a charger (and let go of the claim), errors, duplicates, reconfigure,
options, TLS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import ipaddress
from pathlib import Path
import socket
import ssl
from unittest.mock import patch

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect import config_flow
from custom_components.webasto_chargeconnect.const import DOMAIN
from custom_components.webasto_chargeconnect.flow_forms import entry_data
from custom_components.webasto_chargeconnect.hub import async_get_hub
from webasto_sim import SimulatedCharger

from ..common import IDENTITY, PASSWORD, connect_and_boot
from .conftest import setup_entry, wait_configured, wait_until

USER_INPUT = {
    "identity": IDENTITY,
    CONF_PASSWORD: PASSWORD,
    CONF_PORT: 0,
    "ssl_certfile": "",
    "ssl_keyfile": "",
}


def free_port() -> int:
    """A port nothing listens on right now (the flow's form does not take 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _start(hass: HomeAssistant, **changes: object) -> dict:
    changes.setdefault(CONF_PORT, free_port())
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "manual"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "manual"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {**USER_INPUT, **changes}
    )


@pytest.mark.usefixtures("socket_enabled")
async def test_claim_waits_for_the_charger(hass: HomeAssistant) -> None:
    """The flow shows the URL, waits for the charger to connect, then creates the entry."""
    result = await _start(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "connect"
    url = result["description_placeholders"]["full_url"]
    assert url.startswith("ws://") and url.endswith(f"/{IDENTITY}")
    port = int(url.split(":")[2].split("/")[0])
    assert port > 0

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "wait"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "wait_for_charger"

    sim = SimulatedCharger(f"ws://127.0.0.1:{port}/ocpp", IDENTITY, "next", password=PASSWORD)
    try:
        await sim.connect()
        await sim.boot()
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == f"Webasto {IDENTITY}"
        assert result["data"]["identity"] == IDENTITY
        assert result["data"][CONF_PASSWORD] == PASSWORD
        assert result["data"][CONF_PORT] == port
        await hass.async_block_till_done()
        entry = result["result"]
        # The connection made during the claim is the entry's connection.
        assert entry.runtime_data.charger.online
        assert (await sim.heartbeat())["currentTime"]
        await wait_configured(hass, entry)
    finally:
        await sim.disconnect()


@pytest.mark.usefixtures("socket_enabled")
async def test_finish_without_waiting(hass: HomeAssistant) -> None:
    """The owner may finish at once; the charger shows offline until it connects."""
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "finish"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.states.get("sensor.webasto_next_ws123456_status").state == "offline"
    assert hass.states.get("binary_sensor.webasto_next_ws123456_online").state == "off"


@pytest.mark.usefixtures("socket_enabled")
async def test_wait_times_out(hass: HomeAssistant) -> None:
    """Nothing connects: the owner may wait again or finish."""
    result = await _start(hass)
    with patch.object(config_flow, "CLAIM_TIMEOUT", 0.05):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "wait"}
        )
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "not_connected"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "finish"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("socket_enabled")
async def test_abandoned_flow_releases_the_port(hass: HomeAssistant) -> None:
    """Closing the dialog stops the server the flow started."""
    result = await _start(hass)
    port = int(result["description_placeholders"]["full_url"].split(":")[2].split("/")[0])
    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.ws_connect(f"ws://127.0.0.1:{port}/{IDENTITY}")


@pytest.mark.usefixtures("socket_enabled")
async def test_invalid_identity(hass: HomeAssistant) -> None:
    """An identity with spaces or slashes is refused."""
    result = await _start(hass, identity="NEXT WS/1")
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"identity": "invalid_identity"}


@pytest.mark.usefixtures("socket_enabled")
async def test_port_in_use(hass: HomeAssistant) -> None:
    """A port another program listens on is a clear error."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = await _start(hass, port=port)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_listen"}


@pytest.mark.usefixtures("socket_enabled")
async def test_duplicate_refused(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """A second entry for the same charger is refused."""
    result = await _start(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("socket_enabled")
async def test_tls_errors(hass: HomeAssistant, tmp_path: Path) -> None:
    """Both TLS files or neither; they must exist."""
    result = await _start(hass, ssl_certfile=str(tmp_path / "cert.pem"))
    assert result["errors"] == {"base": "tls_incomplete"}
    result = await _start(
        hass, ssl_certfile=str(tmp_path / "cert.pem"), ssl_keyfile=str(tmp_path / "key.pem")
    )
    assert result["errors"] == {"base": "tls_file_missing"}


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.usefixtures("socket_enabled")
async def test_tls_security_profile_2(hass: HomeAssistant, tmp_path: Path) -> None:
    """With a certificate and key, chargers connect over wss:// with basic auth."""
    cert, key = _self_signed(tmp_path)
    result = await _start(hass, ssl_certfile=str(cert), ssl_keyfile=str(key))
    assert result["type"] is FlowResultType.MENU
    url = result["description_placeholders"]["full_url"]
    assert url.startswith("wss://")
    port = int(url.split(":")[2].split("/")[0])
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "finish"}
    )
    entry = result["result"]
    await hass.async_block_till_done()
    context = ssl.create_default_context(cafile=str(cert))
    sim = SimulatedCharger(
        f"wss://127.0.0.1:{port}/ocpp", IDENTITY, "next", password=PASSWORD, ssl=context
    )
    try:
        await sim.connect()
        await sim.boot()
        await wait_until(hass, lambda: entry.runtime_data.charger.online)
    finally:
        await sim.disconnect()


@pytest.mark.usefixtures("socket_enabled")
async def test_reconfigure_password(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """A new password takes effect after reconfigure; the old one is refused."""
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_PASSWORD: "new-password",
            CONF_PORT: free_port(),
            "ssl_certfile": "",
            "ssl_keyfile": "",
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_PASSWORD] == "new-password"
    old = make_sim(entry)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await old.connect()
    assert err.value.status == 401
    new = make_sim(entry, password="new-password")
    await new.connect()
    await new.boot()
    await wait_until(hass, lambda: entry.runtime_data.charger.online)


@pytest.mark.usefixtures("socket_enabled")
async def test_reconfigure_tls_error(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Reconfigure checks the TLS files too."""
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_PASSWORD: PASSWORD,
            CONF_PORT: free_port(),
            "ssl_certfile": "/nope.pem",
            "ssl_keyfile": "",
        },
    )
    assert result["errors"] == {"base": "tls_incomplete"}


async def test_options(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Options: meter interval is written to the charger, max current bounds the limit."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"meter_sample_interval": 30, "max_current": 16, "remote_start_tag": " "},
    )
    assert result["errors"] == {"remote_start_tag": "invalid_tag"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"meter_sample_interval": 30, "max_current": 16, "remote_start_tag": "MY-CARD"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    call = await online_sim.wait_for_call("ChangeConfiguration")
    assert call.payload == {"key": "MeterValueSampleInterval", "value": "30"}
    assert online_sim.meter_interval == 30
    state = hass.states.get("number.webasto_next_ws123456_charging_current_limit")
    assert state.attributes["max"] == 16
    charger = entry.runtime_data.charger
    assert charger.options.remote_start_tag == "MY-CARD"
    await charger.remote_start()
    assert (await online_sim.wait_for_call("RemoteStartTransaction")).payload["idTag"] == "MY-CARD"


async def test_meter_interval_applied_on_connect(
    hass: HomeAssistant, socket_enabled: None, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """The chosen meter interval is written whenever the charger connects."""
    config_entry = await setup_entry(hass, meter_sample_interval=15)
    sim = await connect_and_boot(make_sim(config_entry))
    call = await sim.wait_for_call("ChangeConfiguration")
    assert call.payload == {"key": "MeterValueSampleInterval", "value": "15"}


@pytest.mark.usefixtures("socket_enabled")
async def test_discovery_of_configured_charger_aborts(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """A discovery for a charger that is already set up goes nowhere."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": "integration_discovery"},
        data={"identity": IDENTITY, "remote": "127.0.0.1", "port": 8887},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": "integration_discovery"},
        data={"identity": "bad id/1", "remote": "127.0.0.1", "port": 8887},
    )
    assert result["reason"] == "invalid_identity"


async def test_options_refused_by_charger(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A charger that refuses the interval keeps working; the owner finds it in the log."""
    online_sim.reply_to["ChangeConfiguration"] = "Rejected"
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"meter_sample_interval": 45, "max_current": 20, "remote_start_tag": "HomeAssistant"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert "could not set the meter interval" in caplog.text
    assert entry.runtime_data.charger.options.max_current_a == 20


def _port_of(result: dict) -> int:
    return int(result["description_placeholders"]["full_url"].split(":")[2].split("/")[0])


async def _refused(port: int) -> None:
    """Nothing listens on the port any more."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.ws_connect(f"ws://127.0.0.1:{port}/{IDENTITY}")


@pytest.mark.usefixtures("socket_enabled")
async def test_finish_hands_the_claim_to_the_entry(hass: HomeAssistant) -> None:
    """Once the entry exists the flow lets go of its claim: the entry alone holds them."""
    result = await _start(hass)
    port = _port_of(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "finish"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    hub = async_get_hub(hass)
    assert hub._chargers[IDENTITY].users == {entry.entry_id}
    assert hub._servers[port].users == {entry.entry_id}


@pytest.mark.usefixtures("socket_enabled")
async def test_timed_out_wait_keeps_the_claim_until_the_flow_ends(hass: HomeAssistant) -> None:
    """After a timeout the charger may still connect; closing the dialog then lets go of it."""
    result = await _start(hass)
    port = _port_of(result)
    with patch.object(config_flow, "CLAIM_TIMEOUT", 0.05):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "wait"}
        )
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["step_id"] == "not_connected"
    sim = SimulatedCharger(f"ws://127.0.0.1:{port}/ocpp", IDENTITY, "next", password=PASSWORD)
    try:
        await sim.connect()
        assert (await sim.boot())["status"] == "Accepted"
        hass.config_entries.flow.async_abort(result["flow_id"])
        await hass.async_block_till_done()
        hub = async_get_hub(hass)
        assert hub.server(port) is None
        assert not hub._chargers
        await _refused(port)
    finally:
        await sim.disconnect()


@pytest.mark.usefixtures("socket_enabled")
async def test_closing_the_dialog_while_waiting_releases_the_claim(hass: HomeAssistant) -> None:
    """Aborted in the progress step: the wait ends and port and charger are let go of."""
    result = await _start(hass)
    port = _port_of(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "wait"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    flow = hass.config_entries.flow._progress[result["flow_id"]]
    waiting = flow._wait_task
    assert waiting is not None and not waiting.done()
    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    assert waiting.cancelled()
    hub = async_get_hub(hass)
    assert not hub._servers
    assert not hub._chargers
    await _refused(port)


@pytest.mark.usefixtures("socket_enabled")
async def test_second_flow_for_the_same_charger_takes_it_over(hass: HomeAssistant) -> None:
    """A second dialog for the identity is not refused: it claims the charger on its own port,
    and closing the first one does not disturb it."""
    first = await _start(hass)
    second = await _start(hass)
    assert first["step_id"] == second["step_id"] == "connect"
    first_port, second_port = _port_of(first), _port_of(second)
    assert first_port != second_port
    hass.config_entries.flow.async_abort(first["flow_id"])
    await hass.async_block_till_done()
    await _refused(first_port)
    result = await hass.config_entries.flow.async_configure(
        second["flow_id"], {"next_step_id": "wait"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    sim = SimulatedCharger(
        f"ws://127.0.0.1:{second_port}/ocpp", IDENTITY, "next", password=PASSWORD
    )
    try:
        await sim.connect()
        await sim.boot()
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_PORT] == second_port
        await hass.async_block_till_done()
        assert result["result"].runtime_data.charger.online
    finally:
        await sim.disconnect()


def test_entry_data_builder() -> None:
    """Blanks become None and the port a number; only what a step passes is in its data."""
    assert entry_data(
        identity="X",
        connection={CONF_PASSWORD: " ", CONF_PORT: "8888", "ssl_certfile": " /c.pem "},
    ) == {
        "identity": "X",
        CONF_PASSWORD: None,
        CONF_PORT: 8888,
        "ssl_certfile": "/c.pem",
        "ssl_keyfile": None,
    }
    assert entry_data(webui_password="pw") == {"webui_password": "pw"}
    assert entry_data(webui_host="h", webui_port=443, webui_model="next", upstream_url=None) == {
        "webui_host": "h",
        "webui_port": 443,
        "webui_model": "next",
    }
