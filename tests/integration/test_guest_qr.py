"""Scan & Charge stickers read back independently; the guest page's logbook entries; invitations."""

from __future__ import annotations

import base64
from datetime import timedelta
import io
from pathlib import Path
from typing import Any
from unittest.mock import patch
from xml.etree import ElementTree

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from PIL import Image
import pypdf
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from webasto_sim import SimulatedCharger

from .conftest import charger_device, setup_entry
from .guest_client import BASE, Phone, call, setup_http, token_of


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """As conftest's, but a test with the recorder gets it before ``hass`` (as it must)."""
    if "recorder_mock" in request.fixturenames:
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")


@pytest.fixture(autouse=True)
def isolated_config_dir(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """As conftest's (after the recorder, see above)."""
    if "hass" in request.fixturenames:
        hass: HomeAssistant = request.getfixturevalue("hass")
        hass.config.config_dir = str(tmp_path)


@pytest.fixture
async def entry(hass: HomeAssistant, socket_enabled: None) -> MockConfigEntry:
    await setup_http(hass)
    return await setup_entry(hass)


async def test_charger_qr_svg_png_and_sticker(
    hass: HomeAssistant, entry: MockConfigEntry, tmp_path: Path
) -> None:
    from homeassistant.helpers import device_registry as dr

    device = charger_device(hass)
    dr.async_get(hass).async_update_device(device.id, name_by_user="Garage Müller")
    result = await call(hass, "get_charger_qr", {"device_id": device.id})
    assert result["link"] == f"https://ha.example.org{BASE}/c/{result['code']}"
    # The same code every time (the sticker stays valid).
    again = await call(hass, "get_charger_qr", {"config_entry": entry.entry_id})
    assert again["code"] == result["code"]

    svg = ElementTree.fromstring(result["svg"].encode())
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert int(svg.attrib["width"]) >= 200

    png = base64.b64decode(result["png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    assert width == height >= 200

    pdf_path = Path(result["pdf"])
    assert pdf_path.parent == Path(hass.config.path("webasto_chargeconnect", "exports"))
    reader = pypdf.PdfReader(pdf_path)
    [page] = reader.pages
    text = page.extract_text()
    assert "Garage Müller" in text
    assert result["link"] in text.replace("\n", "")
    # A6: 105 x 148 mm in points.
    assert round(float(page.mediabox.width)) == 298
    assert round(float(page.mediabox.height)) == 420
    assert page.images  # the code itself


async def test_invitations_carry_the_link(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    sent: list[dict[str, Any]] = []

    async def notify(call_: ServiceCall) -> None:
        sent.append(dict(call_.data))

    hass.services.async_register("notify", "guests", notify)
    share = await call(
        hass,
        "share_charger",
        {
            "config_entry": entry.entry_id,
            "name": "Anna",
            "id_tag": "ANNA-1",
            "notify_service": "notify.guests",
        },
    )
    assert share["link"] in sent[0]["message"]
    assert sent[0]["message"].startswith("Hello Anna, you may charge at Webasto NEXT-WS123456")
    group = (await call(hass, "create_group", {"name": "Family"}))["group"]
    member = await call(
        hass,
        "add_group_member",
        {
            "group_id": group["group_id"],
            "name": "Carol",
            "tags": ["C-1"],
            "notify_service": "notify.guests",
        },
    )
    assert sent[1]["title"] == "Invitation to the group Family"
    assert sent[1]["message"] == (
        "Hello Carol, you are invited to charge at the chargers of Family. "
        f"Accept the invitation here: {member['link']}"
    )
    renewed = await call(
        hass,
        "renew_guest_link",
        {"group_id": group["group_id"], "member_id": member["member"]["member_id"]},
    )
    assert renewed["link"] != member["link"]
    assert renewed["member_id"] == member["member"]["member_id"]


async def test_logbook_entries_name_who_did_it(
    recorder_mock: Any,
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    hass_client: Any,
    hass_client_no_auth: Any,
) -> None:
    # The logbook without the frontend (not installed in the test stack).
    hass.config.components.add("frontend")
    with patch("homeassistant.components.frontend.async_register_built_in_panel"):
        assert await async_setup_component(hass, "logbook", {})
    start = dt_util.utcnow() - timedelta(seconds=1)
    share = await call(
        hass, "share_charger", {"config_entry": entry.entry_id, "name": "Anna", "id_tag": "A-1"}
    )
    phone = Phone(await hass_client_no_auth())
    await phone.login(token_of(share["link"]))
    code = (await phone.me())["chargers"][0]["code"]
    await phone.action("start", {"charger": code})
    await online_sim.wait_for_call("RemoteStartTransaction")
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    client = await hass_client()
    response = await client.get(f"/api/logbook/{start.isoformat()}")
    assert response.status == 200
    entries = [e for e in await response.json() if e.get("domain") == "webasto_chargeconnect"]
    assert [(e["name"], e["message"]) for e in entries] == [
        ("Anna", "started charging at Webasto NEXT-WS123456 on the guest page (guest)")
    ]
    assert entries[0]["entity_id"] == "event.webasto_next_ws123456_card"
