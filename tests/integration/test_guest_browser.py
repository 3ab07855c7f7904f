"""The guest page in a real browser: Debian's headless Chromium on a phone-sized viewport.

Home Assistant's own HTTP server (the test harness's aiohttp server on 127.0.0.1) serves the
page and its API; the charger is the simulator over a real websocket. A guest opens their
personal link, starts (with the driver's log), sees the power rise as the simulator charges,
and stops; someone with only the QR sticker's charger link logs in with an access code; a
revoked share is told so at once. The page is driven by what it shows (its own texts, from
i18n.json), through tests/browser.py, which scripts/screenshots_guest uses for the README's
pictures (``test_screenshots``, which writes them where ``WCC_GUEST_SCREENSHOTS`` says).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
import os
from pathlib import Path
import shutil
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from PIL import Image
from playwright.async_api import expect
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.webasto_chargeconnect.const import DOMAIN
from webasto_sim import SimulatedCharger

from .browser import PHONE, GuestPhone, chromium, phone
from .conftest import charger_device, wait_until

GUEST_PATH = "/webasto_chargeconnect/guest"
CHARGER_NAME = "Webasto NEXT-WS123456"


@dataclass
class Site:
    """Home Assistant's HTTP server as a phone reaches it."""

    hass: HomeAssistant
    entry: MockConfigEntry
    sim: SimulatedCharger
    origin: str  # http://127.0.0.1:<port>

    def url(self, link: str) -> str:
        """A link the integration made, pointed at this test's server (path and fragment kept)."""
        parts = urlsplit(link)
        origin = urlsplit(self.origin)
        return urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, parts.fragment))

    @property
    def charger(self) -> Any:
        return self.entry.runtime_data.charger

    def transaction(self) -> Any:
        return self.charger.active_transaction


async def call(hass: HomeAssistant, name: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(DOMAIN, name, data, blocking=True, return_response=True)


async def call_none(hass: HomeAssistant, name: str, data: dict[str, Any]) -> None:
    await hass.services.async_call(DOMAIN, name, data, blocking=True)


def find_link(response: Any, marker: str = f"{GUEST_PATH}#") -> str:
    """The personal (or charger) link somewhere in an action's response."""
    if isinstance(response, str):
        return response if marker in response else ""
    values = response.values() if isinstance(response, dict) else response
    if isinstance(response, dict | list | tuple):
        for value in values:
            if found := find_link(value, marker):
                return found
    return ""


@pytest.fixture
async def site(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
) -> Site:
    """The integration with a charger online, served on a real port of 127.0.0.1."""
    assert await async_setup_component(hass, "http", {})
    client = await hass_client_no_auth()
    origin = str(client.make_url("/")).rstrip("/")
    await hass.config.async_update(internal_url=origin)
    return Site(hass, entry, online_sim, origin)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as chromium_browser:
        yield chromium_browser


async def share(site: Site, name: str, id_tag: str) -> str:
    """share_charger to a person; their personal link."""
    response = await call(
        site.hass,
        "share_charger",
        {"config_entry": site.entry.entry_id, "name": name, "id_tag": id_tag},
    )
    link = find_link(response)
    assert link, response
    return site.url(link)


async def charger_link(site: Site) -> str:
    """The QR sticker's link of the charger (get_charger_qr)."""
    response = await call(site.hass, "get_charger_qr", {"config_entry": site.entry.entry_id})
    link = find_link(response, f"{GUEST_PATH}/c/")
    assert link, response
    return site.url(link)


async def charge_and_watch(site: Site, guest: GuestPhone, id_tag: str) -> None:
    """Start on the page, see the simulator's power rise on it, stop on the page."""
    await guest.start(CHARGER_NAME, odometer=12345, vehicle="AB-12-CD")
    # RemoteStartTransaction with the person's own tag reached the simulator.
    await wait_until(site.hass, lambda: site.transaction() is not None, timeout=20)
    assert site.transaction().id_tag == id_tag
    await guest.wait_session(CHARGER_NAME)
    await site.sim.meter_values(power_w=3680.0)
    first = await guest.wait_power_above(CHARGER_NAME, 3000)
    await site.sim.meter_values(power_w=7360.0)
    second = await guest.wait_power_above(CHARGER_NAME, 7000)
    assert 3000 < first < second
    await expect(guest.field(CHARGER_NAME, "energy")).not_to_have_text(guest.t("kwh", n="0.00"))
    await guest.stop(CHARGER_NAME)
    await wait_until(site.hass, lambda: site.transaction() is None, timeout=20)
    await guest.wait_startable(CHARGER_NAME)
    await expect(guest.page.locator("ul.sessions li")).to_have_count(1)


async def test_personal_link_start_see_power_stop(site: Site, browser: Any) -> None:
    """Open the link, start, watch the power rise, stop: the session is listed as theirs."""
    link = await share(site, "Anna", "ANNA1")
    async with phone(browser, "en-GB") as guest:
        await guest.open(link)
        await guest.wait_chargers(CHARGER_NAME)
        # The token left the address bar at once; the page speaks the phone's language.
        assert "#" not in guest.page.url
        assert await guest.page.evaluate("location.hash") == ""
        assert await guest.page.evaluate("document.documentElement.lang") == "en"
        await expect(guest.page.get_by_text(guest.t("hello", name="Anna"))).to_be_visible()
        await expect(guest.field(CHARGER_NAME, "status")).to_have_text(guest.t("status_available"))
        await charge_and_watch(site, guest, "ANNA1")
        assert guest.errors == []
        # Nothing but the page and its API was asked for (no CDN, no Home Assistant API).
        for url in guest.requests:
            assert url.startswith(f"{site.origin}{GUEST_PATH}"), url


async def test_scan_and_charge_with_access_code(site: Site, browser: Any) -> None:
    """The sticker's link asks for an access code; a wrong one is refused, the tag id works."""
    await share(site, "Ben", "BEN42")
    sticker = await charger_link(site)
    async with phone(browser, "nl-NL", color_scheme="dark") as guest:
        await guest.open(sticker)
        await guest.wait_screen("code")
        assert await guest.page.evaluate("document.documentElement.lang") == "nl"
        await guest.enter_code("WRONG1")
        await expect(guest.page.get_by_role("alert")).to_have_text(guest.t("code_wrong"))
        await guest.enter_code("BEN42")
        await guest.wait_chargers(CHARGER_NAME)
        await expect(guest.card(CHARGER_NAME)).to_have_class("card charger focused")
        await charge_and_watch(site, guest, "BEN42")
        assert guest.errors == []


async def test_sticker_after_personal_link_and_revoked_share(site: Site, browser: Any) -> None:
    """A phone that opened its link goes straight to the charger; a revoked share is told so."""
    link = await share(site, "Carla", "CARLA7")
    sticker = await charger_link(site)
    async with phone(browser, "de-DE") as guest:
        await guest.open(link)
        await guest.wait_chargers(CHARGER_NAME)
        await guest.open(sticker)
        await guest.wait_chargers(CHARGER_NAME)
        await expect(guest.page.locator("#access-code")).to_have_count(0)
        await expect(guest.card(CHARGER_NAME)).to_have_class("card charger focused")
        shares = await call(site.hass, "list_shares", {"config_entry": site.entry.entry_id})
        (share_id,) = [s["share_id"] for s in shares["shares"] if s["name"] == "Carla"]
        await site.hass.services.async_call(
            DOMAIN, "revoke_share", {"share_id": share_id}, blocking=True
        )
        # The page's next poll is refused, and it says why in plain words.
        await guest.wait_screen("error-revoked")
        await expect(guest.page.locator("#screen-title")).to_have_text(guest.t("err_revoked_title"))
        assert guest.errors == []


async def test_member_accepts_then_charges(site: Site, browser: Any) -> None:
    """A group member's link shows the invitation; after Accept on the page their tag starts."""
    hass = site.hass
    group = await call(
        hass, "create_group", {"config_entry": site.entry.entry_id, "name": "Family"}
    )
    group_id = group["group"]["group_id"]
    added = await call(
        hass, "add_group_member", {"group_id": group_id, "name": "Dana", "tags": ["DANA-1"]}
    )
    link = site.url(find_link(added))
    async with phone(browser, "de-DE") as guest:
        await guest.open(link)
        await guest.wait_chargers(CHARGER_NAME)
        invitation = guest.page.locator(".invitation")
        await expect(invitation).to_contain_text("Family")
        await expect(
            guest.card(CHARGER_NAME).get_by_role("button", name=guest.t("start"))
        ).to_have_count(0)
        await guest.accept()
        await expect(guest.page.get_by_text(guest.t("accepted"))).to_be_visible()
        await expect(invitation).to_have_count(0)
        await guest.wait_startable(CHARGER_NAME)
        groups = await call(hass, "list_groups", {})
        (member,) = [m for g in groups["groups"] if g["group_id"] == group_id for m in g["members"]]
        assert member["accepted"] is True
        await charge_and_watch(site, guest, "DANA-1")
        assert guest.errors == []


async def test_screenshots(site: Site, browser: Any, tmp_path: Path) -> None:
    """The README's pictures (scripts/screenshots_guest): the list and a running session in
    English and Dutch, and the QR sticker's PDF. Without WCC_GUEST_SCREENSHOTS they go to a
    temporary folder; either way each is checked."""
    out = Path(os.environ.get("WCC_GUEST_SCREENSHOTS") or tmp_path)
    hass, sim = site.hass, site.sim
    device = charger_device(hass)
    dr.async_get(hass).async_update_device(device.id, name_by_user="Garage")
    await call_none(
        hass,
        "set_tariff",
        {"config_entry": site.entry.entry_id, "currency": "EUR", "price_per_kwh": 0.3},
    )
    link = await share(site, "Anna", "ANNA1")
    # One finished session of hers, for the list of past sessions.
    await sim.plug_in()
    await sim.start_transaction("ANNA1")
    await sim.meter_values(power_w=7360.0, energy_wh=sim.register_wh + 10_200)
    await sim.stop_transaction()
    await sim.unplug()
    await wait_until(hass, lambda: site.transaction() is None)
    await sim.status("Available")
    shots: list[Path] = []
    for lang, locale in (("en", "en-GB"), ("nl", "nl-NL")):
        async with phone(browser, locale, scale=2) as guest:
            await guest.open(link)
            await guest.wait_chargers("Garage")
            await expect(guest.page.locator("ul.sessions li")).not_to_have_count(0)
            shots.append(await guest.screenshot(out / f"guest-{lang}-chargers.png"))
            await guest.start("Garage")
            await wait_until(hass, lambda: site.transaction() is not None, timeout=20)
            await sim.status("Charging")
            for _ in range(5):
                await sim.meter_values(power_w=7360.0)
            await guest.wait_power_above("Garage", 7000)
            assert await guest.wait_above("Garage", "energy", 0.2) > 0.2
            assert await guest.wait_above("Garage", "cost", 0.05) > 0.05
            shots.append(await guest.screenshot(out / f"guest-{lang}-session.png"))
            await guest.stop("Garage")
            await wait_until(hass, lambda: site.transaction() is None, timeout=20)
            await sim.unplug()
            await sim.status("Available")
            await guest.wait_startable("Garage")
            assert guest.errors == []
    # The sticker as an owner's would read: their Home Assistant's external URL.
    await hass.config.async_update(external_url="https://home.example.com")
    qr = await call(hass, "get_charger_qr", {"config_entry": site.entry.entry_id})
    assert qr["link"].startswith(f"https://home.example.com{GUEST_PATH}/c/")
    assert base64.b64decode(qr["png"])[:8] == b"\x89PNG\r\n\x1a\n"
    await hass.async_add_executor_job(check_and_keep, shots, Path(qr["pdf"]), out)


def check_and_keep(shots: list[Path], sticker: Path, out: Path) -> None:
    """Phone-sized PNGs (at twice the pixels), and the sticker's PDF kept beside them."""
    for shot in shots:
        with Image.open(shot) as image:
            assert image.format == "PNG"
            assert image.width == 2 * PHONE["width"]
    assert sticker.read_bytes()[:5] == b"%PDF-"
    shutil.copyfile(sticker, out / "guest-qr-sticker.pdf")


STATIC = Path(__file__).parent.parent.parent / "custom_components" / DOMAIN / "guest" / "static"


def test_page_strings_complete() -> None:
    """en, nl and de have every string, with the same placeholders, and the page uses no key
    that i18n.json lacks (keys built from API codes included)."""
    import json
    import re

    table = json.loads((STATIC / "i18n.json").read_text("utf-8"))
    assert set(table) == {"en", "nl", "de"}
    keys = set(table["en"])
    placeholders = re.compile(r"\{(\w+)\}")
    for lang, strings in table.items():
        assert set(strings) == keys, (lang, keys ^ set(strings))
        for key, text in strings.items():
            assert text.strip(), (lang, key)
            assert set(placeholders.findall(text)) == set(placeholders.findall(table["en"][key]))
    used: set[str] = set()
    for script in STATIC.glob("*.js"):
        source = script.read_text("utf-8")
        used |= set(re.findall(r"""\b(?:t|has)\(\s*"(\w+)"\s*[,)]""", source))
        pattern = r'messageView\(\s*[\w.]+,\s*"(\w+)",\s*"(\w+)"'
        for pair in re.findall(pattern, source):
            used |= set(pair)
    assert used, "no string keys found in the scripts"
    assert used <= keys, used - keys
    # Every error code of the API and every charger status has its sentence.
    for code in ("invalid_link", "expired", "revoked", "removed", "ended", "rate_limited"):
        assert {f"err_{code}", f"err_{code}_title"} <= keys, code
    for code in ("not_accepted", "not_yours", "offline", "busy", "bad_request", "csrf"):
        assert f"err_{code}" in keys, code
    statuses = ("available", "preparing", "charging", "suspended", "finishing", "reserved")
    for status in (*statuses, "faulted", "unavailable", "offline"):
        assert f"status_{status}" in keys, status
    for via in ("share", "group", "booking"):
        assert f"via_{via}" in keys, via


def test_page_keeps_to_its_csp() -> None:
    """No inline script or style (the views' Content-Security-Policy forbids them), nothing
    from another site, no HTML built from strings."""
    import re

    html = (STATIC / "index.html").read_text("utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son\w+=", html), "inline event handler"
    for source in [html, *(p.read_text("utf-8") for p in STATIC.glob("*.[jc]s*"))]:
        assert not re.search(r"https?://", source), "a resource from elsewhere"
    for script in STATIC.glob("*.js"):
        source = script.read_text("utf-8")
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", ".style."):
            assert forbidden not in source, (script.name, forbidden)
