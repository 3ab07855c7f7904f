"""The OCPP server's edges: bad frames, passwords, unknown chargers, dead connections, and
messages off the happy path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import json
from unittest.mock import patch

import aiohttp
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.const import ATTR_ENTITY_ID, CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect.chargeconnect import (
    CallErrorResponse,
    CentralSystem,
    ChargerOfflineError,
)
from custom_components.webasto_chargeconnect.const import DOMAIN
from custom_components.webasto_chargeconnect.hub import ChargeConnectHub
from webasto_sim import SimulatedCharger, basic_auth, iso_utc

from ..common import IDENTITY, PASSWORD, connect_and_boot
from .conftest import setup_entry, url_of, wait_configured, wait_for_state, wait_until

E = "webasto_next_ws123456"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "FormationViolation"),
        ('{"an": "object"}', "FormationViolation"),
        ('[2, "bad-1", "Heartbeat"]', "FormationViolation"),
        ('[2, "bad-2", "Heartbeat", []]', "FormationViolation"),
        ('[9, "bad-3", "Heartbeat", {}]', "FormationViolation"),
        (
            '[2, "bad-4", "MeterValues", {"connectorId": "one", "meterValue": []}]',
            "TypeConstraintViolation",
        ),
        # OCPP-J 1.6 spells it with one "r" (the ocpp package's errata note).
        ('[2, "bad-5", "StartTransaction", {"connectorId": 1}]', "OccurenceConstraintViolation"),
        (
            '[2, "bad-6", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", '
            '"status": "Sleeping"}]',
            "PropertyConstraintViolation",
        ),
        ('[2, "bad-7", "FlyToTheMoon", {}]', "NotImplemented"),
        ('[2, "bad-8", "SignCertificate", {"csr": "x"}]', "NotSupported"),
    ],
)
async def test_bad_frames_get_call_errors(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger, frame: str, code: str
) -> None:
    """A malformed frame gets the right CallError and the connection stays up."""
    await online_sim.send_raw(frame)
    reply = await online_sim.next_raw_reply()
    assert reply[0] == 4
    assert reply[2] == code
    if '"bad-' in frame:
        assert reply[1] == json.loads(frame.replace("{not json", "[]"))[1] or reply[1]
    # Still connected, still answering.
    assert entry.runtime_data.charger.online
    answer = await online_sim.heartbeat()
    assert answer["currentTime"].endswith("Z")


async def test_oversized_frame(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A frame over the size limit is refused with a CallError, not parsed."""
    huge = json.dumps([2, "big-1", "DataTransfer", {"vendorId": "X", "data": "A" * 300_000}])
    await online_sim.send_raw(huge)
    reply = await online_sim.next_raw_reply()
    assert reply[:3] == [4, "big-1", "FormationViolation"]
    assert "exceeds" in reply[3]
    assert (await online_sim.heartbeat())["currentTime"]
    assert entry.runtime_data.charger.online


async def test_data_transfer_recorded(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """DataTransfer is accepted and kept for diagnostics."""
    await online_sim.send_raw(
        json.dumps([2, "dt-1", "DataTransfer", {"vendorId": "Webasto", "data": "hello"}])
    )
    assert await online_sim.next_raw_reply() == [3, "dt-1", {"status": "Accepted"}]
    assert entry.runtime_data.charger.data_transfers[-1]["data"] == "hello"


async def test_wrong_password_refused_and_rate_limited(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    make_sim: Callable[..., SimulatedCharger],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wrong password gets 401, logged once; past a burst, guesses are slowed, then refused."""

    async def attempt(password: str | None = "wrong") -> int:
        sim = make_sim(entry, password=password)
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await sim.connect()
        return err.value.status

    with patch.object(CentralSystem, "auth_slowdown", 0.2):
        for _ in range(5):
            assert await attempt() == 401
        assert caplog.text.count("wrong password") == 1
        # Past the burst, guesses wait their turn one at a time; more at once get 429.
        statuses = await asyncio.gather(*(attempt() for _ in range(8)))
        assert 429 in statuses
        assert set(statuses) <= {401, 429}
        assert caplog.text.count("wrong password") == 1
        assert await attempt(None) == 401
        assert not entry.runtime_data.charger.online
        # The right password still gets in.
        good = make_sim(entry)
        await good.connect()
        await wait_until(hass, lambda: entry.runtime_data.charger.online)


async def test_right_password_after_a_wrong_one(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """The right password works; the username must be the identity."""
    sim = make_sim(entry, password="wrong")
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await sim.connect()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(
                f"{url_of(entry)}/{IDENTITY}",
                protocols=("ocpp1.6",),
                headers={"Authorization": basic_auth("someone-else", PASSWORD)},
            )
        assert err.value.status == 401
    good = make_sim(entry)
    await good.connect()
    await good.boot()
    await wait_until(hass, lambda: entry.runtime_data.charger.online)


async def test_only_ocpp16_subprotocol(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A client asking only for another protocol is refused with a clear log line."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(
                f"{url_of(entry)}/{IDENTITY}",
                protocols=("ocpp2.0.1",),
                headers={"Authorization": basic_auth(IDENTITY, PASSWORD)},
            )
        assert err.value.status == 400
        assert "only ocpp1.6 is supported" in caplog.text
        ws = await session.ws_connect(
            f"{url_of(entry)}/{IDENTITY}",
            protocols=("ocpp2.0.1", "ocpp1.6"),
            headers={"Authorization": basic_auth(IDENTITY, PASSWORD)},
        )
        assert ws.protocol == "ocpp1.6"
        await ws.close()


async def test_any_prefix_path(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """The identity is the last path segment, whatever comes before it."""
    sim = make_sim(entry)
    sim.url = (
        f"ws://127.0.0.1:{entry.runtime_data.port}/steve/websocket/CentralSystemService/{IDENTITY}"
    )
    await sim.connect()
    await sim.boot()
    await wait_until(hass, lambda: entry.runtime_data.charger.online)


async def test_unknown_charger_is_offered_not_accepted(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """An unknown identity is refused and shows up as a discovered charger."""
    stranger = make_sim(entry, identity="UNITE-0042", profile="unite", password=None)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await stranger.connect()
    assert err.value.status == 404
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    flow = flows[0]
    assert flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    assert flow["context"]["unique_id"] == "UNITE-0042"
    # A second attempt does not open a second flow.
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await stranger.connect()
    await hass.async_block_till_done()
    assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 1

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_PASSWORD: "new-pass"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["identity"] == "UNITE-0042"
    await hass.async_block_till_done()
    new_entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "UNITE-0042")
    assert new_entry is not None
    # It now connects, on the same shared server, with the password the owner chose.
    assert new_entry.runtime_data.port == entry.runtime_data.port
    stranger.password = "new-pass"
    await stranger.connect()
    await stranger.boot()
    await wait_until(hass, lambda: new_entry.runtime_data.charger.online)


async def test_reconnect_replaces_old_connection(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    make_sim: Callable[..., SimulatedCharger],
) -> None:
    """A charger that reconnects replaces its old connection cleanly."""
    charger = entry.runtime_data.charger
    first = charger.connection
    second = make_sim(entry)
    await second.connect()
    await second.boot()
    await wait_until(hass, lambda: charger.connection is not first and charger.online)
    code = await online_sim.wait_closed()
    assert code == 1000
    assert first.closed
    assert charger.online  # the old connection closing does not mark the charger offline
    assert (await second.heartbeat())["currentTime"]


async def test_dead_connection_detected(
    hass: HomeAssistant, socket_enabled: None, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """A charger that stops answering pings goes offline."""
    with patch.object(ChargeConnectHub, "ping_interval", 0.2):
        config_entry = await setup_entry(hass)
        sim = await connect_and_boot(make_sim(config_entry))
        charger = config_entry.runtime_data.charger
        await wait_until(hass, lambda: charger.online)
        sim.answer_pings = False
        await wait_until(hass, lambda: not charger.online)
        await wait_for_state(hass, f"binary_sensor.{E}_online", "off")
        await wait_for_state(hass, f"sensor.{E}_power", "unavailable")


async def test_command_timeout_and_offline(
    hass: HomeAssistant, socket_enabled: None, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """A command the charger does not answer in time, or an offline charger, is a clear error."""
    with patch.object(ChargeConnectHub, "call_timeout", 0.3):
        config_entry = await setup_entry(hass)
        sim = await connect_and_boot(make_sim(config_entry))
        await wait_configured(hass, config_entry)
        sim.response_delay = 5
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(
                "button", SERVICE_PRESS, {ATTR_ENTITY_ID: f"button.{E}_restart"}, blocking=True
            )
        assert err.value.translation_key == "call_timeout"
        assert err.value.translation_placeholders["action"] == "Reset"
        sim.response_delay = 0
        await sim.disconnect()
        charger = config_entry.runtime_data.charger
        await wait_until(hass, lambda: not charger.online)
        with pytest.raises(ChargerOfflineError) as offline:
            await charger.reset()
        assert offline.value.translation_key == "charger_offline"


async def test_no_password_charger_accepted(
    hass: HomeAssistant, socket_enabled: None, make_sim: Callable[..., SimulatedCharger]
) -> None:
    """A charger set up without a password connects without credentials."""
    config_entry = await setup_entry(hass, password=None)
    await connect_and_boot(make_sim(config_entry, password=None))
    await wait_until(hass, lambda: config_entry.runtime_data.charger.online)


async def test_call_error_from_charger(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A CallError answer reaches the user."""
    charger = entry.runtime_data.charger
    # Were the charger's GetConfigurationMaxKeys unknown, 60 keys would go in one call.
    charger.features.get_configuration_max_keys = None
    with pytest.raises(CallErrorResponse) as err:
        await charger.get_configuration([f"Key{i}" for i in range(60)])
    assert err.value.code in ("OccurenceConstraintViolation", "OccurrenceConstraintViolation")
    assert err.value.translation_key == "call_error"


async def _raw(sim: SimulatedCharger, action: str, payload: dict, uid: str = "x-1") -> list:
    await sim.send_raw(json.dumps([2, uid, action, payload]))
    return await sim.next_raw_reply()


async def test_unusual_messages(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Authorize, diagnostics status, odd timestamps, late statuses, odd measurands."""
    charger = entry.runtime_data.charger
    assert await _raw(online_sim, "Authorize", {"idTag": "CARD"}) == [
        3,
        "x-1",
        {"idTagInfo": {"status": "Accepted"}},
    ]
    await _raw(online_sim, "DiagnosticsStatusNotification", {"status": "Uploaded"}, "x-2")
    assert charger.diagnostics_status == "Uploaded"

    # A status older than the one we have does not overrule it.
    old = iso_utc(datetime.now(UTC) - timedelta(hours=1))
    await _raw(
        online_sim,
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Faulted", "timestamp": old},
        "x-3",
    )
    assert charger.connector.status.value == "Available"
    # An unreadable timestamp is taken as now.
    await _raw(
        online_sim,
        "StatusNotification",
        {"connectorId": 0, "errorCode": "GroundFailure", "status": "Faulted", "timestamp": "?"},
        "x-4",
    )
    assert charger.status.value == "Faulted"
    assert charger.error_code == "GroundFailure"
    await wait_for_state(hass, f"sensor.{E}_error", "ground_failure")
    await wait_for_state(hass, f"sensor.{E}_status", "faulted")

    now = datetime.now(UTC)
    sampled = [
        {"value": "1000", "measurand": "Power.Active.Import", "unit": "W", "phase": "L1"},
        {"value": "2000", "measurand": "Power.Active.Import", "unit": "W", "phase": "L2"},
        {"value": "11", "measurand": "Power.Offered", "unit": "kW"},
        {"value": "55", "measurand": "SoC", "unit": "Percent"},
        {"value": "104", "measurand": "Temperature", "unit": "Fahrenheit"},
        {"value": "50.01", "measurand": "Frequency"},
        {"value": "231", "measurand": "Voltage", "phase": "L1-L2"},
        {"value": "16", "measurand": "Current.Import"},
    ]
    # A value that is not a number refuses the frame (the charger is told), nothing of it
    # is taken.
    unreadable = [*sampled[:2], {"value": "not-a-number", "measurand": "Voltage"}, *sampled[2:]]
    refused = await _raw(
        online_sim,
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": iso_utc(now), "sampledValue": unreadable}]},
        "x-5a",
    )
    assert refused[:3] == [4, "x-5a", "PropertyConstraintViolation"]
    assert charger.measurements.soc is None
    await _raw(
        online_sim,
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": iso_utc(now), "sampledValue": sampled}]},
        "x-5",
    )
    m = charger.measurements
    assert m.power_w == 3000
    assert m.power_offered_w == 11000
    assert m.soc == 55
    assert m.temperature_c == pytest.approx(40)
    assert m.frequency_hz == pytest.approx(50.01)
    assert m.current_a["L1"] == 16
    # An older sample does not overwrite the live values.
    await _raw(
        online_sim,
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": iso_utc(now - timedelta(minutes=5)),
                    "sampledValue": [
                        {"value": "9", "measurand": "Current.Import", "phase": "L1"},
                        {"value": "500", "measurand": "Power.Active.Import"},
                    ],
                }
            ],
        },
        "x-6",
    )
    assert m.current_a["L1"] == 16
    assert m.power_w == 3000
