"""The guest page's API end to end: Home Assistant's HTTP server, a simulated charger.

A guest opens their link, starts and stops; a member accepts, then starts; nobody sees or
stops anything of anyone else.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import Event, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from webasto_sim import SimulatedCharger

from .conftest import setup_entry, wait_for_state, wait_until
from .guest_client import Phone, call, setup_http, token_of

E = "webasto_next_ws123456"


@pytest.fixture
async def entry(hass: HomeAssistant, socket_enabled: None) -> MockConfigEntry:
    """The charger entry, on an HTTP server that trusts the test client as a proxy."""
    await setup_http(hass)
    return await setup_entry(hass)


@pytest.fixture
async def phone(hass_client_no_auth: Any) -> Phone:
    return Phone(await hass_client_no_auth())


async def share_link(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> str:
    result = await call(
        hass,
        "share_charger",
        {"config_entry": entry.entry_id, "name": "Anna", "id_tag": "ANNA-1", **data},
    )
    link: str = result["link"]
    return link


async def test_guest_logs_in_starts_and_stops(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger, phone: Phone
) -> None:
    actions: list[Event] = []
    hass.bus.async_listen("webasto_chargeconnect_guest_action", actions.append)
    token = token_of(await share_link(hass, entry))
    assert (await phone.me(401))["error"] == "invalid_link"
    response = await phone.login(token)
    assert response.status == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/webasto_chargeconnect/guest" in cookie
    assert "Max-Age=31536000" in cookie

    me = await phone.me()
    assert me["person"] == {"name": "Anna", "kind": "share"}
    [garage] = me["chargers"]
    assert garage["name"] == "Webasto NEXT-WS123456"
    assert (garage["online"], garage["status"], garage["via"]) == (True, "available", "share")
    assert (garage["can_start"], garage["why_not"], garage["busy"]) == (True, None, False)
    assert garage["session"] is None
    assert me["invitations"] == []
    assert me["sessions"] == []

    await phone.action("start", {"charger": garage["code"], "odometer": 12345, "vehicle": "AB-1"})
    remote = await online_sim.wait_for_call("RemoteStartTransaction")
    assert remote.payload["idTag"] == "ANNA-1"
    charger = entry.runtime_data.charger
    await wait_until(hass, lambda: charger.active_transaction is not None)
    assert charger.active_transaction.id_tag == "ANNA-1"
    card = await wait_for_state(
        hass, f"event.{E}_card", lambda s: s.attributes.get("message") == "guest_page"
    )
    assert (card.attributes["event_type"], card.attributes["id_tag"]) == ("accepted", "ANNA-1")
    assert card.attributes["reason"] == "guest_start"

    await online_sim.meter_values(power_w=7360.0, energy_wh=1500.0)
    await wait_until(hass, lambda: charger.measurements.power_w == 7360.0)
    [running] = (await phone.me())["chargers"]
    assert running["session"]["mine"] is True
    assert running["session"]["power_w"] == 7360.0
    assert running["session"]["energy_kwh"] >= 0
    assert (running["can_start"], running["why_not_code"]) == (False, "running")

    await phone.action("stop", {"charger": garage["code"]})
    await online_sim.wait_for_call("RemoteStopTransaction")
    await wait_until(hass, lambda: charger.active_transaction is None)
    await entry.runtime_data.owner.recorder.flush()
    [past] = (await phone.me())["sessions"]
    assert past["charger"] == "Webasto NEXT-WS123456"
    assert past["ended"] is not None
    record = (await call(hass, "get_sessions", {"config_entry": entry.entry_id}))["sessions"][0]
    assert (record["odometer_km"], record["vehicle_id"]) == (12345.0, "AB-1")
    await hass.async_block_till_done()
    assert [(e.data["action"], e.data["name"], e.data["charger"]) for e in actions] == [
        ("start", "Anna", "Webasto NEXT-WS123456"),
        ("stop", "Anna", "Webasto NEXT-WS123456"),
    ]
    assert actions[0].data["entity_id"] == f"event.{E}_card"


async def test_member_accepts_then_starts(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    phone: Phone,
) -> None:
    group = (await call(hass, "create_group", {"config_entry": entry.entry_id, "name": "Family"}))[
        "group"
    ]
    added = await call(
        hass,
        "add_group_member",
        {"group_id": group["group_id"], "name": "Carol", "tags": ["CAROL-1"]},
    )
    assert added["member"]["accepted"] is False
    assert (await phone.login(token_of(added["link"]))).status == 200
    me = await phone.me()
    assert me["person"] == {"name": "Carol", "kind": "member"}
    assert me["invitations"] == [
        {"group_id": group["group_id"], "group": "Family", "chargers": ["Webasto NEXT-WS123456"]}
    ]
    [garage] = me["chargers"]
    assert (garage["via"], garage["can_start"], garage["why_not_code"]) == (
        "group",
        False,
        "not_accepted",
    )
    assert garage["why_not"] == "Accept the group invitation to charge here."
    refused = await phone.action("start", {"charger": garage["code"]}, status=403)
    assert refused["error"] == "not_accepted"
    assert await online_sim.present_card("CAROL-1") == "Invalid"

    guests = f"sensor.{E}_guests"
    state = await wait_for_state(hass, guests, "0")
    assert state.attributes["people"] == [
        {"name": "Carol", "via": "group", "accepted": False, "until": None, "link_issued": True}
    ]
    await phone.action("accept", {"group_id": "someone-else"}, status=403)
    await phone.action("accept", {"group_id": group["group_id"]})
    state = await wait_for_state(hass, guests, "1")
    assert state.attributes["people"][0]["accepted"] is True
    groups = (await call(hass, "list_groups", {}))["groups"]
    assert groups[0]["members"][0]["accepted"] is True
    assert groups[0]["members"][0]["link_issued"] is not None
    assert "link_hash" not in json.dumps(groups)
    me = await phone.me()
    assert me["invitations"] == []
    assert me["chargers"][0]["can_start"] is True
    await phone.action("start", {"charger": garage["code"]})
    remote = await online_sim.wait_for_call("RemoteStartTransaction")
    assert remote.payload["idTag"] == "CAROL-1"


async def test_no_stopping_someone_elses_session(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger, phone: Phone
) -> None:
    await call(hass, "add_tag", {"alias": "Owner card", "id_tag": "OWNER-1"}, response=False)
    await phone.login(token_of(await share_link(hass, entry)))
    await online_sim.plug_in()
    await online_sim.start_transaction("OWNER-1")
    charger = entry.runtime_data.charger
    await wait_until(hass, lambda: charger.active_transaction is not None)
    await online_sim.meter_values(power_w=11000.0)
    me = await phone.me()
    [garage] = me["chargers"]
    assert (garage["busy"], garage["session"], garage["why_not_code"]) == (True, None, "busy")
    assert "11000" not in json.dumps(me)
    refused = await phone.action("stop", {"charger": garage["code"]}, status=403)
    assert refused["error"] == "not_yours"
    assert (await phone.action("start", {"charger": garage["code"]}, status=409))["error"] == "busy"
    assert charger.active_transaction is not None
    assert not [c for c in online_sim.received if c.action == "RemoteStopTransaction"]


async def test_me_holds_nothing_of_other_people(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger, phone: Phone
) -> None:
    target = {"config_entry": entry.entry_id}
    await call(hass, "add_tag", {"alias": "Owner secret card", "id_tag": "OWNERSECRET"})
    await call(hass, "share_charger", {**target, "name": "Zoe Other", "id_tag": "ZOETAG"})
    group = (await call(hass, "create_group", {**target, "name": "Secret club"}))["group"]
    await call(
        hass,
        "add_group_member",
        {"group_id": group["group_id"], "name": "Mallory", "email": "m@x.org", "tags": ["MALTAG"]},
    )
    await call(
        hass,
        "set_tariff",
        {"group_id": group["group_id"], "price_per_kwh": 0.777, "currency": "EUR"},
    )
    # Someone else's finished session at the same charger.
    await online_sim.plug_in()
    await online_sim.start_transaction("ZOETAG")
    await online_sim.meter_values(power_w=3000.0, energy_wh=4321.0)
    await online_sim.stop_transaction()
    charger = entry.runtime_data.charger
    await wait_until(hass, lambda: charger.active_transaction is None)
    await entry.runtime_data.owner.recorder.flush()

    await phone.login(token_of(await share_link(hass, entry, email="anna@example.com")))
    me = await phone.me()
    text = json.dumps(me)
    for secret in ("OWNERSECRET", "Owner secret", "ZOETAG", "Zoe", "MALTAG", "Mallory", "m@x.org"):
        assert secret not in text, secret
    for secret in ("Secret club", "0.777", "4.321", "ANNA-1", "anna@example.com"):
        assert secret not in text, secret
    assert set(me) == {
        "person",
        "language",
        "csrf",
        "currency",
        "chargers",
        "invitations",
        "sessions",
    }
    assert me["sessions"] == []
    assert set(me["chargers"][0]) == {
        "code",
        "name",
        "online",
        "status",
        "via",
        "until",
        "can_start",
        "why_not",
        "why_not_code",
        "busy",
        "session",
    }
    # The charger code is not the OCPP identity.
    assert "NEXT-WS123456" not in me["chargers"][0]["code"]
