"""The app's owner features end to end: archive, costs, tags, sharing, groups, bookings, exports.

A simulated Webasto Next talks OCPP over a real websocket to the integration; the
archive is the real SQLite file under the test's config folder; exports are read
back with the csv module, openpyxl and pypdf.
"""

from __future__ import annotations

import csv
from datetime import timedelta
import io
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import openpyxl
import pypdf
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
import voluptuous as vol

from custom_components.webasto_chargeconnect.const import DOMAIN
from webasto_sim import SimulatedCharger

from ..common import IDENTITY
from .conftest import charger_device, wait_for_state, wait_until

E = "webasto_next_ws123456"


def _device_id(hass: HomeAssistant, identity: str = IDENTITY) -> str:
    device = charger_device(hass, identity)
    assert device is not None
    return device.id


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = False
) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=response
    )


def _pdf_text(path: str) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


async def _flush(entry: MockConfigEntry) -> None:
    """Wait until the recorder wrote every event and the totals were re-read."""
    owner = entry.runtime_data.owner
    await owner.recorder.flush()
    await owner.async_refresh_totals()


async def _charge(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: SimulatedCharger,
    tag: str,
    samples: int = 3,
    power_w: float = 11000.0,
) -> int:
    await sim.plug_in()
    tx = await sim.start_transaction(tag)
    for _ in range(samples):
        await sim.meter_values(power_w=power_w)
    await sim.stop_transaction()
    await sim.unplug()
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is None)
    await _flush(entry)
    return tx


async def test_session_archive_costs_and_totals(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A session is archived with its tariff, cost, power curve and plug times; totals follow."""
    device = _device_id(hass)
    await _call(hass, "set_tariff", {"device_id": device, "fixed_fee": 0.5, "price_per_kwh": 0.3})
    await _call(hass, "add_tag", {"alias": "Anna", "id_tag": "CARD-1"})
    start_wh = online_sim.register_wh

    await online_sim.plug_in()
    tx = await online_sim.start_transaction("CARD-1")
    await online_sim.meter_values(power_w=11000)
    await online_sim.meter_values(power_w=11000)
    running = await wait_for_state(
        hass, f"sensor.{E}_session_cost", lambda s: s.state not in ("unknown", "0.5")
    )
    assert running.attributes["unit_of_measurement"] == "EUR"
    live_kwh = (online_sim.register_wh - start_wh) / 1000
    assert float(running.state) == pytest.approx(0.5 + 0.3 * live_kwh, abs=0.01)

    # A new tariff applies to new sessions only.
    await _call(hass, "set_tariff", {"device_id": device, "fixed_fee": 9, "price_per_kwh": 9})
    await online_sim.meter_values(power_w=11000)
    await online_sim.stop_transaction()
    await online_sim.unplug()
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is None)
    await _flush(entry)

    energy_kwh = (online_sim.register_wh - start_wh) / 1000
    result = await _call(hass, "get_sessions", {"device_id": device}, response=True)
    assert result["total"] == 1
    session = result["sessions"][0]
    assert session["transaction_id"] == tx
    assert session["id_tag"] == "CARD-1"
    assert session["tag_alias"] == "Anna"
    assert session["energy_kwh"] == pytest.approx(energy_kwh, abs=0.001)
    assert session["cost"] == pytest.approx(0.5 + 0.3 * energy_kwh, abs=0.001)
    assert session["price_per_kwh"] == 0.3
    assert session["plug_in_time"] is not None
    assert session["plug_out_time"] is not None
    assert session["stop_reason"] == "Local"

    ledger = entry.runtime_data.owner.ledger
    curve = await ledger.samples(tx)
    assert len(curve) == 3
    assert all(s.power_w == pytest.approx(11000) for s in curve)

    assert float(hass.states.get(f"sensor.{E}_last_session_energy").state) == pytest.approx(
        energy_kwh, abs=0.01
    )
    assert float(hass.states.get(f"sensor.{E}_last_session_cost").state) == pytest.approx(
        0.5 + 0.3 * energy_kwh, abs=0.01
    )
    for window in ("today", "last_7_days", "last_30_days"):
        assert float(hass.states.get(f"sensor.{E}_energy_{window}").state) == pytest.approx(
            energy_kwh, abs=0.01
        )
    assert float(hass.states.get(f"sensor.{E}_cost_today").state) == pytest.approx(
        0.5 + 0.3 * energy_kwh, abs=0.01
    )
    assert hass.states.get(f"sensor.{E}_sessions").state == "1"
    assert hass.states.get(f"sensor.{E}_session_cost").state == "unknown"

    # The archive is a real SQLite file under the config folder.
    assert await hass.async_add_executor_job(Path(hass.config.path(DOMAIN, "sessions.db")).is_file)


async def test_session_survives_reload_mid_session(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Home Assistant restarts the entry while charging: the session is closed correctly."""
    device = _device_id(hass)
    await _call(hass, "set_tariff", {"device_id": device, "price_per_kwh": 0.25})
    start_wh = online_sim.register_wh
    await online_sim.plug_in()
    tx = await online_sim.start_transaction("CARD-9")
    await online_sim.meter_values(power_w=7000)
    await entry.runtime_data.owner.recorder.flush()

    # "Restart": unload, forget everything in memory, set up again on a new port.
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.data.pop(DOMAIN)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    online_sim.url = f"ws://127.0.0.1:{entry.runtime_data.port}/ocpp/{IDENTITY}"
    await online_sim.reconnect()
    await wait_until(hass, lambda: entry.runtime_data.charger.online)
    # The tariff of the running session is restored from the archive.
    assert entry.runtime_data.owner.recorder.tariffs[tx] is not None

    await online_sim.meter_values(power_w=7000)
    await online_sim.stop_transaction(reason="EVDisconnected")
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is None)
    await _flush(entry)
    record = await entry.runtime_data.owner.ledger.get_session(tx)
    assert record is not None
    assert record.stop_reason == "EVDisconnected"
    energy = (online_sim.register_wh - start_wh) / 1000
    assert record.energy_kwh == pytest.approx(energy, abs=0.001)
    assert record.cost == pytest.approx(0.25 * energy, abs=0.001)
    assert len(await entry.runtime_data.owner.ledger.samples(tx)) == 2


async def test_late_meter_values_join_the_curve(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """MeterValues that arrive after the stop (out of order) still join the session's curve."""
    await online_sim.plug_in()
    tx = await online_sim.start_transaction("CARD-2")
    now = dt_util.utcnow()
    await online_sim.meter_values(power_w=5000, timestamp=now + timedelta(seconds=20))
    await online_sim.stop_transaction(timestamp=now + timedelta(seconds=30))
    await online_sim.meter_values(
        power_w=3000, timestamp=now + timedelta(seconds=10), transaction_id=tx
    )
    await _flush(entry)
    curve = await entry.runtime_data.owner.ledger.samples(tx)
    assert [s.power_w for s in curve] == [3000, 5000]


async def test_authorization_tags_shares_groups(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Owner tags, shares with expiry and group members decide Authorize, via OCPP."""
    device = _device_id(hass)
    # Open mode until the owner sets up access.
    assert await online_sim.present_card("ANYONE") == "Accepted"

    await _call(hass, "add_tag", {"alias": "Mine", "id_tag": "OWNER-1"})
    assert await online_sim.present_card("OWNER-1") == "Accepted"
    assert await online_sim.present_card("owner-1") == "Accepted"  # case-insensitive
    assert await online_sim.present_card("STRANGER") == "Invalid"

    expiry = dt_util.utcnow() + timedelta(hours=2)
    share = await _call(
        hass,
        "share_charger",
        {"device_id": device, "name": "Bob", "id_tag": "BOB-1", "expiry": expiry.isoformat()},
        response=True,
    )
    assert await online_sim.present_card("BOB-1") == "Accepted"
    freezer.tick(timedelta(hours=3))
    assert await online_sim.present_card("BOB-1") == "Expired"
    listed = await _call(hass, "list_shares", {"device_id": device}, response=True)
    assert listed["shares"][0]["share_id"] == share["share"]["share_id"]
    assert listed["shares"][0]["expired"] is True

    group = await _call(
        hass, "create_group", {"device_id": device, "name": "Office"}, response=True
    )
    group_id = group["group"]["group_id"]
    member = await _call(
        hass,
        "add_group_member",
        {"group_id": group_id, "name": "Carol", "tags": ["CAROL-1"]},
        response=True,
    )
    # A new member's tags authorize once the member accepted the invitation.
    assert member["member"]["accepted"] is False
    assert await online_sim.present_card("CAROL-1") == "Invalid"
    await entry.runtime_data.owner.access.accept_invitation(group_id, member["member"]["member_id"])
    assert await online_sim.present_card("CAROL-1") == "Accepted"
    await _call(
        hass,
        "remove_group_member",
        {"group_id": group_id, "member_id": member["member"]["member_id"]},
    )
    assert await online_sim.present_card("CAROL-1") == "Invalid"


async def test_card_event_and_learn_mode(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """learn_tag arms the charger; the next unknown card is added; the event entity fires."""
    device = _device_id(hass)
    await _call(hass, "add_tag", {"alias": "Mine", "id_tag": "OWNER-1"})
    assert await online_sim.present_card("NEWCARD") == "Invalid"
    state = await wait_for_state(
        hass, f"event.{E}_card", lambda s: s.attributes.get("event_type") == "invalid"
    )
    assert state.attributes["id_tag"] == "NEWCARD"

    await _call(hass, "learn_tag", {"device_id": device, "alias": "Garage card"})
    assert await online_sim.present_card("NEWCARD") == "Accepted"
    state = await wait_for_state(
        hass, f"event.{E}_card", lambda s: s.attributes.get("event_type") == "learned"
    )
    assert state.attributes["alias"] == "Garage card"
    tags = await _call(hass, "list_tags", {"device_id": device}, response=True)
    learned = {t["id_tag"]: t for t in tags["tags"]}
    assert learned["NEWCARD"]["alias"] == "Garage card"
    assert learned["NEWCARD"]["kind"] == "rfid"
    # Learning ended with that card.
    assert await online_sim.present_card("OTHERCARD") == "Invalid"


async def test_local_list_follows_access(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Known tags reach the charger's local list; offline, the charger still knows them."""
    await _call(hass, "add_tag", {"alias": "Mine", "id_tag": "OWNER-1"})
    await wait_until(hass, lambda: "OWNER-1" in online_sim.local_list, timeout=5)
    call = await online_sim.wait_for_call("SendLocalList")
    assert call.payload["updateType"] == "Full"
    charger = entry.runtime_data.charger
    access = entry.runtime_data.owner.access
    assert online_sim.local_list_version == access.local_list_version(IDENTITY)
    assert charger.local_list_version == online_sim.local_list_version
    await _call(hass, "remove_tag", {"id_tag": "OWNER-1"})
    await _call(hass, "add_tag", {"alias": "Other", "id_tag": "OTHER-1"})
    await wait_until(hass, lambda: "OTHER-1" in online_sim.local_list, timeout=5)
    assert "OWNER-1" not in online_sim.local_list

    online_sim.go_offline()
    assert await online_sim.present_card("OTHER-1") == "Accepted"
    assert await online_sim.present_card("OWNER-1") == "Invalid"


async def test_bookings_reserve_and_enforce(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A booking reserves the charger at its start; only its tag may charge then."""
    device = _device_id(hass)
    await _call(hass, "add_tag", {"alias": "Mine", "id_tag": "OWNER-1"})
    await _call(hass, "add_tag", {"alias": "Guest", "id_tag": "GUEST-1"})
    start = dt_util.utcnow() + timedelta(hours=1)
    end = start + timedelta(hours=2)
    booking = await _call(
        hass,
        "add_booking",
        {
            "device_id": device,
            "id_tag": "GUEST-1",
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
        response=True,
    )
    booking_id = booking["booking"]["booking_id"]
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "add_booking",
            {
                "device_id": device,
                "id_tag": "OWNER-1",
                "start": (start + timedelta(minutes=30)).isoformat(),
                "end": (end + timedelta(hours=1)).isoformat(),
            },
        )
    assert err.value.translation_key == "booking_overlap"

    calendar = hass.states.get(f"calendar.{E}_bookings")
    assert calendar.attributes["message"] == "Guest"

    # Before the window anybody known may charge.
    assert await online_sim.present_card("OWNER-1") == "Accepted"
    freezer.move_to(start + timedelta(seconds=1))
    async_fire_time_changed(hass, start + timedelta(seconds=1))
    reserve = await online_sim.wait_for_call("ReserveNow")
    assert reserve.payload["idTag"] == "GUEST-1"
    assert await online_sim.present_card("OWNER-1") != "Accepted"
    assert await online_sim.present_card("GUEST-1") == "Accepted"
    await wait_for_state(hass, f"calendar.{E}_bookings", "on")

    await _call(hass, "cancel_booking", {"booking_id": booking_id})
    await online_sim.wait_for_call("CancelReservation")
    assert await online_sim.present_card("OWNER-1") == "Accepted"


async def test_start_charging_with_drivers_log_and_exports(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """start_charging stores odometer and vehicle; every export format carries the values."""
    device = _device_id(hass)
    await _call(hass, "set_tariff", {"device_id": device, "fixed_fee": 1, "price_per_kwh": 0.4})
    await _call(
        hass,
        "add_tag",
        {"alias": "Car key", "id_tag": "FAV-1", "favourite": True, "device_id": device},
    )
    await _call(
        hass,
        "start_charging",
        {"device_id": device, "odometer": 12345.6, "vehicle_id": "AB-123-C"},
    )
    remote = await online_sim.wait_for_call("RemoteStartTransaction")
    assert remote.payload["idTag"] == "FAV-1"
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is not None)
    for _ in range(4):
        await online_sim.meter_values(power_w=11000)
    await online_sim.stop_transaction()
    await wait_until(hass, lambda: entry.runtime_data.charger.active_transaction is None)
    await _flush(entry)

    sessions = await _call(hass, "get_sessions", {"device_id": device}, response=True)
    session = sessions["sessions"][0]
    assert session["odometer_km"] == 12345.6
    assert session["vehicle_id"] == "AB-123-C"
    assert session["tag_alias"] == "Car key"
    energy = session["energy_kwh"]
    cost = session["cost"]
    assert cost == pytest.approx(1 + 0.4 * energy, abs=0.001)

    # CSV in the Dutch/German Excel dialect.
    out = await _call(
        hass,
        "export_sessions",
        {"device_id": device, "format": "csv", "locale": "nl"},
        response=True,
    )
    path = Path(out["path"])
    assert path.parent == Path(hass.config.path(DOMAIN, "exports"))
    raw = await hass.async_add_executor_job(path.read_bytes)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, first = rows[0], rows[1]
    row = dict(zip(header, first, strict=False))
    energy_col = next(
        h for h in header if "kWh" in h and "rice" not in h.lower() and "rijs" not in h.lower()
    )
    assert float(row[energy_col].replace(",", ".")) == pytest.approx(energy, abs=0.001)
    assert "AB-123-C" in first
    assert any(cell.replace(",", ".") == f"{12345.6}" for cell in first)

    # XLSX with typed cells.
    out = await _call(
        hass, "export_sessions", {"device_id": device, "format": "xlsx"}, response=True
    )
    book = await hass.async_add_executor_job(openpyxl.load_workbook, out["path"])
    sheet = book.active
    headers = [c.value for c in sheet[1]]
    values = [c.value for c in sheet[2]]
    by_header = dict(zip(headers, values, strict=False))
    cost_col = next(h for h in headers if h and h.lower().startswith("cost"))
    assert by_header[cost_col] == pytest.approx(cost, abs=0.001)
    assert any(isinstance(v, type(dt_util.utcnow().replace(tzinfo=None))) for v in values)

    # PDF of the single session, with its power curve.
    out = await _call(
        hass,
        "export_sessions",
        {"device_id": device, "format": "pdf", "transaction_id": session["transaction_id"]},
        response=True,
    )
    text = await hass.async_add_executor_job(_pdf_text, out["path"])
    assert "AB-123-C" in text
    assert f"{energy:.2f}" in text


async def test_export_sent_through_notify(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """An export can be sent through a notify action that takes attachments."""
    sent: list[ServiceCall] = []

    async def capture(call: ServiceCall) -> None:
        sent.append(call)

    hass.services.async_register("notify", "mail", capture)
    await _charge(hass, entry, online_sim, "CARD-1")
    out = await _call(
        hass,
        "export_sessions",
        {"format": "csv", "notify_service": "notify.mail"},
        response=True,
    )
    assert len(sent) == 1
    assert sent[0].data["data"]["images"] == [out["path"]]
    assert await hass.async_add_executor_job(Path(out["path"]).is_file)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "export_sessions", {"format": "csv", "notify_service": "notify.nope"})
    assert err.value.translation_key == "notify_not_found"


async def test_action_validation(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Bad arguments get translated ServiceValidationErrors that say what to fix."""
    device = _device_id(hass)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("learn_tag", {"alias": "x"}, "charger_required"),
        ("remove_tag", {"id_tag": "NOPE"}, "unknown_tag"),
        ("set_favourite_tag", {"device_id": device, "id_tag": "NOPE"}, "favourite_unknown_tag"),
        ("set_tariff", {"price_per_kwh": 0.3}, "tariff_target_required"),
        ("delete_group", {"group_id": "nope"}, "unknown_group"),
        ("cancel_booking", {"booking_id": "nope"}, "unknown_booking"),
        ("update_session", {"transaction_id": 999}, "session_not_found"),
        (
            "get_sessions",
            {"start": "2026-01-02T00:00:00", "end": "2026-01-01T00:00:00"},
            "end_before_start",
        ),
        ("learn_tag", {"device_id": "not-a-device", "alias": "x"}, "device_not_found"),
    ]
    for service, data, key in cases:
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, service, data, response=service == "get_sessions")
        assert err.value.translation_key == key, service
        assert str(err.value), service
    await _call(hass, "add_tag", {"alias": "A", "id_tag": "DUP-1"})
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "add_tag", {"alias": "B", "id_tag": "dup-1"})
    assert err.value.translation_key == "duplicate_tag"


async def test_charging_switch_uses_favourite_tag(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """The charging switch starts with the favourite tag."""
    await _call(
        hass,
        "add_tag",
        {"alias": "Fav", "id_tag": "FAV-9", "favourite": True, "device_id": _device_id(hass)},
    )
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: f"switch.{E}_charging"}, blocking=True
    )
    remote = await online_sim.wait_for_call("RemoteStartTransaction")
    assert remote.payload["idTag"] == "FAV-9"


async def test_interrupted_session_is_closed(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """A charger that starts again without stopping: the lost session is closed in the archive."""
    await online_sim.plug_in()
    first = await online_sim.start_transaction("CARD-1")
    await online_sim.meter_values(power_w=7000)
    # The charger rebooted and forgot its transaction: a new start on the same connector.
    online_sim.transaction_id = None
    second = await online_sim.start_transaction("CARD-1")
    await _flush(entry)
    ledger = entry.runtime_data.owner.ledger
    lost = await ledger.get_session(first)
    assert lost is not None
    assert lost.stop_reason == "Other"
    assert lost.stop_time is not None
    assert lost.energy_kwh > 0
    running = await ledger.open_sessions(IDENTITY)
    assert [record.transaction_id for record in running] == [second]


async def test_share_invitation_through_notify(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """share_charger can send the invitation through a notify action."""
    sent: list[ServiceCall] = []

    async def capture(call: ServiceCall) -> None:
        sent.append(call)

    hass.services.async_register("notify", "bob", capture)
    expiry = dt_util.utcnow() + timedelta(days=3)
    await _call(
        hass,
        "share_charger",
        {
            "device_id": _device_id(hass),
            "name": "Bob",
            "email": "bob@example.com",
            "id_tag": "BOB-7",
            "expiry": expiry.isoformat(),
            "notify_service": "notify.bob",
        },
    )
    assert len(sent) == 1
    message = sent[0].data["message"]
    assert "Bob" in message
    assert "BOB-7" in message
    assert dt_util.as_local(expiry).strftime("%Y-%m-%d") in message
    # The action's schema refuses a malformed address before anything is stored.
    with pytest.raises(vol.Invalid):
        await _call(
            hass,
            "share_charger",
            {"device_id": _device_id(hass), "name": "Eve", "email": "not-an-email", "id_tag": "E"},
        )
    assert [share.name for share in entry.runtime_data.owner.access.shares()] == ["Bob"]


async def test_bookings_calendar(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    hass_ws_client: Any,
) -> None:
    """The calendar lists bookings by the tag's name; deleting its event cancels the booking."""
    device = _device_id(hass)
    await _call(hass, "add_tag", {"alias": "Guest", "id_tag": "GUEST-1"})
    start = dt_util.utcnow() + timedelta(days=1)
    booking = await _call(
        hass,
        "add_booking",
        {
            "device_id": device,
            "id_tag": "GUEST-1",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=3)).isoformat(),
            "note": "Visit",
        },
        response=True,
    )
    entity_id = f"calendar.{E}_bookings"
    events = await hass.services.async_call(
        "calendar",
        "get_events",
        {
            ATTR_ENTITY_ID: entity_id,
            "start_date_time": dt_util.now().isoformat(),
            "end_date_time": (dt_util.now() + timedelta(days=7)).isoformat(),
        },
        blocking=True,
        return_response=True,
    )
    listed = events[entity_id]["events"]
    assert [(e["summary"], e["description"]) for e in listed] == [("Guest", "Visit")]

    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "calendar/event/delete",
            "entity_id": entity_id,
            "uid": booking["booking"]["booking_id"],
        }
    )
    result = await client.receive_json()
    assert result["success"], result
    assert entry.runtime_data.owner.access.bookings(IDENTITY) == []


async def test_expired_share_leaves_the_local_list(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    freezer: FrozenDateTimeFactory,
) -> None:
    """When a share expires the charger's local list loses its tag, without a restart."""
    await _call(hass, "add_tag", {"alias": "Mine", "id_tag": "OWNER-1"})
    expiry = dt_util.utcnow() + timedelta(hours=1)
    await _call(
        hass,
        "share_charger",
        {
            "device_id": _device_id(hass),
            "name": "Bob",
            "id_tag": "BOB-1",
            "expiry": expiry.isoformat(),
        },
    )
    # The clock is frozen: move it past the one-second pause before the list is sent.
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await wait_until(hass, lambda: "BOB-1" in online_sim.local_list, timeout=5)
    assert online_sim.local_list["BOB-1"]["expiryDate"].startswith(
        expiry.strftime("%Y-%m-%dT%H:%M")
    )
    later = expiry + timedelta(minutes=1)
    freezer.move_to(later)
    # The share's expiry fires, and then the (zero-delay) local-list timer it set.
    async_fire_time_changed(hass, later)
    await hass.async_block_till_done()
    async_fire_time_changed(hass, later)
    await wait_until(hass, lambda: "BOB-1" not in online_sim.local_list, timeout=5)
    assert "OWNER-1" in online_sim.local_list
    assert await online_sim.present_card("BOB-1") == "Expired"


async def test_free_charging_bypasses_authorization(
    hass: HomeAssistant, entry: MockConfigEntry, make_sim: Any
) -> None:
    """With free charging on (Unite: FreeModeActive) every card charges."""
    sim = make_sim(entry, profile="unite")
    await sim.connect()
    await sim.boot()
    await sim.status("Available")
    await wait_until(hass, lambda: entry.runtime_data.charger.configured)
    await _call(hass, "add_tag", {"alias": "Mine", "id_tag": "OWNER-1"})
    assert await sim.present_card("STRANGER") == "Invalid"
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: f"switch.{E}_free_charging"}, blocking=True
    )
    await wait_for_state(hass, f"switch.{E}_free_charging", "on")
    assert await sim.present_card("STRANGER") == "Accepted"
    await sim.plug_in()
    await sim.start_transaction("STRANGER")
    assert sim.id_tag_status == "Accepted"


async def test_removing_a_charger_forgets_its_shares(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """Deleting the charger drops its shares and bookings; installation-wide tags stay."""
    device = _device_id(hass)
    await _call(hass, "add_tag", {"alias": "Mine", "id_tag": "OWNER-1"})
    await _call(hass, "share_charger", {"device_id": device, "name": "Bob", "id_tag": "BOB-1"})
    access = entry.runtime_data.owner.access
    assert len(access.shares(IDENTITY)) == 1
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert access.shares(IDENTITY) == []
    assert [tag.id_tag for tag in access.tags()] == ["OWNER-1"]


async def test_invitation_in_home_assistants_language(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger
) -> None:
    """The invitation is written in Home Assistant's language (here Dutch)."""
    sent: list[ServiceCall] = []

    async def capture(call: ServiceCall) -> None:
        sent.append(call)

    hass.services.async_register("notify", "bob", capture)
    hass.config.language = "nl"
    await _call(
        hass,
        "share_charger",
        {
            "device_id": _device_id(hass),
            "name": "Bob",
            "id_tag": "BOB-7",
            "notify_service": "notify.bob",
        },
    )
    assert sent[0].data["title"] == "Laadpaal met je gedeeld"
    assert sent[0].data["message"].startswith("Hallo Bob, je mag laden bij ")
    assert "BOB-7" in sent[0].data["message"]


@pytest.mark.parametrize(
    ("language", "title", "until"),
    [
        ("de-CH", "Ladestation mit dir geteilt", " bis "),  # a region: its language
        ("fr", "Charger shared with you", " until "),  # none of ours: English
    ],
)
async def test_invitation_language_fallback(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    language: str,
    title: str,
    until: str,
) -> None:
    """The invitation's texts come from translations: by language, English when we have none."""
    sent: list[ServiceCall] = []

    async def capture(call: ServiceCall) -> None:
        sent.append(call)

    hass.services.async_register("notify", "bob", capture)
    hass.config.language = language
    await _call(
        hass,
        "share_charger",
        {
            "device_id": _device_id(hass),
            "name": "Bob",
            "id_tag": "BOB-7",
            "expiry": (dt_util.now() + timedelta(days=2)).isoformat(),
            "notify_service": "notify.bob",
        },
    )
    assert sent[0].data["title"] == title
    assert until in sent[0].data["message"]
    assert "{" not in sent[0].data["message"]
