"""The guest page's defences: dead links die at once, guessing is limited, CSRF, headers."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from webasto_sim import SimulatedCharger

from .conftest import setup_entry
from .guest_client import BASE, Phone, call, setup_http, token_of

HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@pytest.fixture
async def entry(hass: HomeAssistant, socket_enabled: None) -> MockConfigEntry:
    await setup_http(hass)
    return await setup_entry(hass)


@pytest.fixture
async def new_phone(hass_client_no_auth: Any) -> Any:
    async def make(address: str = "192.0.2.10", lang: str = "en") -> Phone:
        return Phone(await hass_client_no_auth(), address, lang)

    return make


async def test_expired_share_and_removed_member_are_refused_at_once(
    hass: HomeAssistant, entry: MockConfigEntry, new_phone: Any, freezer: FrozenDateTimeFactory
) -> None:
    expiry = dt_util.utcnow() + timedelta(hours=2)
    share = await call(
        hass,
        "share_charger",
        {"config_entry": entry.entry_id, "name": "Anna", "id_tag": "ANNA-1", "expiry": expiry},
    )
    anna = await new_phone(lang="nl-NL,nl;q=0.9,en;q=0.5")
    assert (await anna.login(token_of(share["link"]))).status == 200
    assert (await anna.me())["language"] == "nl"
    freezer.tick(timedelta(hours=2, seconds=1))
    refused = await anna.me(401)
    assert refused == {"error": "expired", "message": "Je toegang tot deze laadpaal is verlopen."}
    assert (await anna.login(token_of(share["link"]))).status == 401

    group = (await call(hass, "create_group", {"config_entry": entry.entry_id, "name": "Home"}))[
        "group"
    ]
    added = await call(
        hass, "add_group_member", {"group_id": group["group_id"], "name": "Bo", "tags": ["BO-1"]}
    )
    bo = await new_phone(address="192.0.2.11", lang="de")
    await bo.login(token_of(added["link"]))
    await bo.me()
    await call(
        hass,
        "remove_group_member",
        {"group_id": group["group_id"], "member_id": added["member"]["member_id"]},
        response=False,
    )
    refused = await bo.me(401)
    assert refused == {"error": "removed", "message": "Du bist nicht mehr Mitglied dieser Gruppe."}


async def test_revoked_and_renewed_links(
    hass: HomeAssistant, entry: MockConfigEntry, new_phone: Any
) -> None:
    target = {"config_entry": entry.entry_id}
    share = await call(hass, "share_charger", {**target, "name": "Anna", "id_tag": "ANNA-1"})
    phone = await new_phone()
    await phone.login(token_of(share["link"]))
    await phone.me()
    listed = (await call(hass, "list_shares", target))["shares"][0]
    assert listed["link_issued"] is not None
    assert "link" not in listed
    renewed = await call(hass, "renew_guest_link", {"share_id": share["share"]["share_id"]})
    assert renewed["link"] != share["link"]
    # The old link and the cookie made from it are dead at once.
    assert (await phone.me(401))["error"] == "invalid_link"
    assert (await phone.login(token_of(share["link"]))).status == 401
    await phone.login(token_of(renewed["link"]))
    await phone.me()
    await call(hass, "revoke_share", {"share_id": share["share"]["share_id"]}, response=False)
    assert (await phone.me(401))["error"] == "revoked"

    with pytest.raises(Exception, match="share") as err:
        await call(hass, "renew_guest_link", {})
    assert getattr(err.value, "translation_key", None) == "link_target_required"


async def test_token_guessing_is_rate_limited(
    hass: HomeAssistant, entry: MockConfigEntry, new_phone: Any
) -> None:
    share = await call(
        hass, "share_charger", {"config_entry": entry.entry_id, "name": "A", "id_tag": "A-1"}
    )
    guesser = await new_phone(address="198.51.100.7")
    for attempt in range(5):
        response = await guesser.login(f"guess{attempt}")
        assert response.status == 401
    response = await guesser.login(token_of(share["link"]))  # even the right one, now
    data = await response.json()
    assert response.status == 429
    assert data["error"] == "rate_limited"
    assert 0 < data["retry_after"] <= 60
    assert response.headers["Retry-After"] == str(data["retry_after"])
    # Another address is not held up.
    other = await new_phone(address="198.51.100.8")
    assert (await other.login(token_of(share["link"]))).status == 200


async def test_access_code_guessing_is_limited_per_client_and_charger(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger, new_phone: Any
) -> None:
    await call(
        hass, "share_charger", {"config_entry": entry.entry_id, "name": "Eve", "id_tag": "EVE-1"}
    )
    qr = await call(hass, "get_charger_qr", {"config_entry": entry.entry_id})
    code = qr["code"]
    assert qr["link"] == f"https://ha.example.org{BASE}/c/{code}"
    scanner = await new_phone(address="203.0.113.1")
    name = await (await scanner.get(f"/api/charger/{code}")).json()
    assert name == {"name": "Webasto NEXT-WS123456"}
    # Five wrong codes from five addresses: the charger is closed to guesses for a minute.
    for n in range(5):
        guesser = await new_phone(address=f"203.0.113.{10 + n}")
        response = await guesser.post("/api/code", {"charger": code, "access_code": f"NO{n}"})
        assert response.status == 401
        assert (await response.json())["error"] == "invalid_code"
    response = await scanner.post("/api/code", {"charger": code, "access_code": "EVE-1"})
    assert response.status == 429
    assert (await response.json())["error"] == "rate_limited"


async def test_scan_and_charge_with_an_access_code(
    hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger, new_phone: Any
) -> None:
    await call(
        hass, "share_charger", {"config_entry": entry.entry_id, "name": "Eve", "id_tag": "EVE-1"}
    )
    code = (await call(hass, "get_charger_qr", {"config_entry": entry.entry_id}))["code"]
    page = await (await new_phone()).get(f"/c/{code}")
    assert page.status == 200
    assert "text/html" in page.headers["Content-Type"]
    phone = await new_phone(address="203.0.113.50")
    response = await phone.post("/api/code", {"charger": code, "access_code": "eve-1"})
    assert response.status == 200
    me = await phone.me()
    assert me["person"] == {"name": "Eve", "kind": "tag"}
    assert [(c["code"], c["via"], c["can_start"]) for c in me["chargers"]] == [(code, "tag", True)]
    await phone.action("start", {"charger": code})
    assert (await online_sim.wait_for_call("RemoteStartTransaction")).payload["idTag"] == "EVE-1"
    unknown = await phone.post("/api/code", {"charger": "nope", "access_code": "EVE-1"})
    assert (unknown.status, (await unknown.json())["error"]) == (401, "invalid_link")

    # A forged code cookie gives nothing; the real one dies with the share.
    [jar_cookie] = list(phone.client.session.cookie_jar)
    payload, _, _signature = jar_cookie.value[2:].partition(".")
    forger = await new_phone(address="203.0.113.60")
    forged = await forger.get("/api/me", Cookie=f"wcc_guest=c.{payload}.{'0' * 64}")
    assert (forged.status, (await forged.json())["error"]) == (401, "invalid_link")
    share_id = (await call(hass, "list_shares", {}))["shares"][0]["share_id"]
    await call(hass, "revoke_share", {"share_id": share_id}, response=False)
    assert (await phone.me(401))["error"] == "revoked"


async def test_csrf_and_origin(hass: HomeAssistant, entry: MockConfigEntry, new_phone: Any) -> None:
    share = await call(
        hass, "share_charger", {"config_entry": entry.entry_id, "name": "A", "id_tag": "A-1"}
    )
    phone = await new_phone()
    await phone.login(token_of(share["link"]))
    me = await phone.me()
    code = me["chargers"][0]["code"]
    phone.csrf = None
    response = await phone.post("/api/stop", {"charger": code})
    assert (response.status, (await response.json())["error"]) == (403, "csrf")
    phone.csrf = "0" * 64
    response = await phone.post("/api/stop", {"charger": code})
    assert (response.status, (await response.json())["error"]) == (403, "csrf")
    phone.csrf = me["csrf"]
    response = await phone.post("/api/stop", {"charger": code}, Origin="https://evil.example")
    assert (response.status, (await response.json())["error"]) == (403, "csrf")
    response = await phone.post("/api/login", {"token": "x"}, Origin="https://evil.example")
    assert response.status == 403
    # With both right: the charger is offline (no simulator here), nothing runs.
    response = await phone.post("/api/stop", {"charger": code})
    assert (response.status, (await response.json())["error"]) == (409, "not_running")
    response = await phone.post("/api/start", {"charger": code})
    assert (response.status, (await response.json())["error"]) == (409, "offline")
    response = await phone.post("/api/start", ["not", "an", "object"])
    assert response.status == 400
    response = await phone.post("/api/start", {"charger": code, "odometer": "far"})
    assert response.status == 400
    assert (await phone.post("/api/logout", {})).status == 200
    assert (await phone.me(401))["error"] == "invalid_link"


async def test_security_headers_and_static_files(
    hass: HomeAssistant, entry: MockConfigEntry, new_phone: Any
) -> None:
    phone = await new_phone()
    responses = [
        await phone.get(""),
        await phone.get("/static/app.js"),
        await phone.get("/static/i18n.json"),
        await phone.get("/static/nope.js"),
        await phone.get("/static/.hidden"),
        await phone.get("/api/me"),
        await phone.post("/api/login", {"token": "wrong"}),
    ]
    assert [r.status for r in responses] == [200, 200, 200, 404, 404, 401, 401]
    # Out of the folder: refused (by Home Assistant's own filter already).
    escape = await phone.get("/static/..%2F__init__.py")
    assert escape.status in (400, 404)
    assert "async_setup_guest" not in await escape.text()
    for response in responses:
        for header, value in HEADERS.items():
            assert response.headers.get(header) == value, (response.url, header)
    assert "javascript" in responses[1].headers["Content-Type"]


async def test_nothing_without_a_loaded_entry(
    hass: HomeAssistant, entry: MockConfigEntry, new_phone: Any
) -> None:
    share = await call(
        hass, "share_charger", {"config_entry": entry.entry_id, "name": "A", "id_tag": "A-1"}
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    phone = await new_phone()
    assert (await phone.get("")).status == 404
    assert (await phone.get("/static/app.js")).status == 404
    response = await phone.login(token_of(share["link"]))
    assert response.status == 404
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_no_secret_in_any_log_line(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    online_sim: SimulatedCharger,
    new_phone: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    share = await call(
        hass, "share_charger", {"config_entry": entry.entry_id, "name": "A", "id_tag": "SECRET-7"}
    )
    token = token_of(share["link"])
    code = (await call(hass, "get_charger_qr", {"config_entry": entry.entry_id}))["code"]
    phone = await new_phone()
    response = await phone.login(token)
    cookie = response.cookies["wcc_guest"].value
    await phone.me()
    await phone.login("wrong-token")
    scanner = await new_phone(address="192.0.2.99")
    await scanner.post("/api/code", {"charger": code, "access_code": "SECRET-7"})
    await scanner.post("/api/code", {"charger": code, "access_code": "WRONG-9"})
    await scanner.me()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (token, cookie, "WRONG-9", "wrong-token"):
        assert secret not in logged
