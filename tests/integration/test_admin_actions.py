"""Who may call which action: administrators everything, household (non-admin) users the reads.

Real Home Assistant users (``hass.auth``) call every action with their own ``Context``. An admin
action called by a non-admin raises ``Unauthorized`` and changes nothing: not the tags, shares,
groups, tariffs or bookings (the access store), not the session archive, not the exports folder,
not the charger (its configuration and the commands it received). The cases are keyed by the
registration table of the ``services`` package, and it must cover every action in
services.yaml, so a new action cannot be left out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
import os
from pathlib import Path
from typing import Any

from homeassistant.auth.const import GROUP_ID_ADMIN, GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant, SupportsResponse
from homeassistant.exceptions import Unauthorized
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.webasto_chargeconnect import services
from custom_components.webasto_chargeconnect.chargeconnect.ledger import SessionFilter
from custom_components.webasto_chargeconnect.const import DOMAIN, EXPORT_DIR
from webasto_sim import SimulatedCharger

from ..common import IDENTITY
from .conftest import wait_for_state, wait_until

SERVICES_YAML = Path(__file__).parents[2] / "custom_components" / DOMAIN / "services.yaml"

# The registration table: one admin flag per action.
ACTIONS: dict[str, services.Service] = {service.name: service for service in services.SERVICES}
ADMIN = sorted(name for name, action in ACTIONS.items() if action.admin)
OPEN = sorted(name for name, action in ACTIONS.items() if not action.admin)

# Commands to the charger that an action sends (the local list follows the access store).
COMMANDS = {
    "ChangeConfiguration",
    "UpdateFirmware",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "CancelReservation",
}


@dataclass
class World:
    """A charger online with a tag, a spare tag, a share, a group with a member, a booking and
    one finished session in the archive."""

    hass: HomeAssistant
    entry: MockConfigEntry
    sim: SimulatedCharger
    target: dict[str, str]
    share_id: str
    group_id: str
    member_id: str
    booking_id: str
    transaction_id: int

    @property
    def access(self) -> Any:
        return self.entry.runtime_data.owner.access

    @property
    def ledger(self) -> Any:
        return self.entry.runtime_data.owner.ledger


async def _call(
    hass: HomeAssistant, name: str, data: dict[str, Any], context: Context | None = None
) -> Any:
    """Call an action, asking for its response where it has one (as a script would)."""
    return await hass.services.async_call(
        DOMAIN,
        name,
        data,
        blocking=True,
        context=context,
        return_response=ACTIONS[name].response is not SupportsResponse.NONE,
    )


@pytest.fixture
async def world(hass: HomeAssistant, entry: MockConfigEntry, online_sim: SimulatedCharger) -> World:
    """Seeded by automations' way of calling (no user), which may do everything."""
    target = {"config_entry": entry.entry_id}
    await _call(hass, "add_tag", {"alias": "Car card", "id_tag": "CARD1"})
    await _call(hass, "add_tag", {"alias": "Spare card", "id_tag": "SPARE1"})
    share = await _call(hass, "share_charger", {**target, "name": "Guest", "id_tag": "GUEST1"})
    group = await _call(hass, "create_group", {"name": "Office"})
    group_id = group["group"]["group_id"]
    member = await _call(
        hass, "add_group_member", {"group_id": group_id, "name": "Colleague", "tags": ["COLL1"]}
    )
    start = dt_util.now() + timedelta(days=1)
    booking = await _call(
        hass,
        "add_booking",
        {
            **target,
            "id_tag": "CARD1",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=2)).isoformat(),
        },
    )
    await online_sim.plug_in()
    tx = await online_sim.start_transaction("CARD1")
    await online_sim.meter_values(power_w=11000.0)
    await online_sim.stop_transaction()
    await online_sim.unplug()
    charger = entry.runtime_data.charger
    await wait_until(hass, lambda: charger.active_transaction is None)
    await entry.runtime_data.owner.recorder.flush()
    await hass.async_block_till_done()
    return World(
        hass=hass,
        entry=entry,
        sim=online_sim,
        target=target,
        share_id=share["share"]["share_id"],
        group_id=group_id,
        member_id=member["member"]["member_id"],
        booking_id=booking["booking"]["booking_id"],
        transaction_id=tx,
    )


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


async def _state(world: World) -> dict[str, Any]:
    """Everything an action could change."""
    await world.hass.async_block_till_done()
    records, _total = await world.ledger.query(SessionFilter(), offset=0, limit=500)
    exports = Path(world.hass.config.path(DOMAIN, EXPORT_DIR))
    return {
        "access": world.access.to_dict(),
        "sessions": [record.to_dict() for record in records],
        "configuration": dict(world.sim.configuration),
        "commands": [c.action for c in world.sim.received if c.action in COMMANDS],
        "exports": await world.hass.async_add_executor_job(_listing, exports),
        "active_transaction": world.entry.runtime_data.charger.active_transaction,
    }


Check = Callable[[World, Any], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    """How to call an action in the seeded world, and what shows that it worked."""

    data: Callable[[World], dict[str, Any]]
    check: Check


def _soon(days: int, hours: int = 1) -> dict[str, str]:
    start = dt_util.now() + timedelta(days=days)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


async def _configuration_read(w: World, r: Any) -> None:
    value = r["configuration"]["HeartbeatInterval"]["value"]
    assert value == w.sim.configuration["HeartbeatInterval"]


async def _configuration_changed(w: World, r: Any) -> None:
    assert r == {"status": "Accepted", "reboot_required": False}
    assert w.sim.configuration["HeartbeatInterval"] == "77"


async def _firmware_requested(w: World, r: Any) -> None:
    call = await w.sim.wait_for_call("UpdateFirmware")
    assert call.payload["location"] == "https://example.com/fw.bin"
    await wait_for_state(w.hass, "sensor.webasto_next_ws123456_firmware_status", "installed")


async def _tag_added(w: World, r: Any) -> None:
    assert r["tag"]["id_tag"] == "NEW1"
    assert w.access.tag("NEW1") is not None


async def _learning(w: World, r: Any) -> None:
    assert "until" in r
    assert w.access.learning(IDENTITY) is not None


async def _tag_renamed(w: World, r: Any) -> None:
    assert r["tag"]["alias"] == "Renamed"
    assert w.access.tag("CARD1").alias == "Renamed"


async def _tag_removed(w: World, r: Any) -> None:
    assert w.access.tag("SPARE1") is None


async def _favourite_set(w: World, r: Any) -> None:
    assert w.access.favourite(IDENTITY).id_tag == "SPARE1"


async def _tags_listed(w: World, r: Any) -> None:
    assert {"CARD1", "SPARE1"} <= {tag["id_tag"] for tag in r["tags"]}


async def _shared(w: World, r: Any) -> None:
    assert r["share"]["id_tag"] == "NEIGH1"
    assert "NEIGH1" in {share.id_tag for share in w.access.shares()}


async def _share_revoked(w: World, r: Any) -> None:
    assert w.share_id not in {share.share_id for share in w.access.shares()}


async def _shares_listed(w: World, r: Any) -> None:
    assert [share["share_id"] for share in r["shares"]] == [w.share_id]


async def _group_created(w: World, r: Any) -> None:
    assert w.access.group(r["group"]["group_id"]).name == "Depot"


async def _group_updated(w: World, r: Any) -> None:
    assert r["group"]["name"] == "HQ"
    assert w.access.group(w.group_id).name == "HQ"


async def _group_deleted(w: World, r: Any) -> None:
    assert w.access.group(w.group_id) is None


async def _groups_listed(w: World, r: Any) -> None:
    assert [group["group_id"] for group in r["groups"]] == [w.group_id]


async def _member_added(w: World, r: Any) -> None:
    assert w.access.group(w.group_id).member(r["member"]["member_id"]).name == "Another"


async def _member_removed(w: World, r: Any) -> None:
    assert w.access.group(w.group_id).member(w.member_id) is None


async def _tariff_set(w: World, r: Any) -> None:
    assert r["tariff"]["price_per_kwh"] == 0.3
    assert w.access.charger_tariff(IDENTITY).price_per_kwh == 0.3


async def _charger_grouped(w: World, r: Any) -> None:
    assert w.access.group_of(IDENTITY).group_id == w.group_id


async def _booked(w: World, r: Any) -> None:
    assert w.access.booking(r["booking"]["booking_id"]) is not None


async def _booking_cancelled(w: World, r: Any) -> None:
    assert w.access.booking(w.booking_id) is None


async def _charging(w: World, r: Any) -> None:
    remote = await w.sim.wait_for_call("RemoteStartTransaction")
    assert remote.payload["idTag"] == "CARD1"
    charger = w.entry.runtime_data.charger
    await wait_until(w.hass, lambda: charger.active_transaction is not None)


async def _session_updated(w: World, r: Any) -> None:
    assert r["session"]["odometer_km"] == 12345.0
    record = await w.ledger.get_session(w.transaction_id)
    assert record.odometer_km == 12345.0


async def _sessions_read(w: World, r: Any) -> None:
    assert r["total"] == 1
    assert r["sessions"][0]["transaction_id"] == w.transaction_id


async def _link_renewed(w: World, r: Any) -> None:
    assert r["share_id"] == w.share_id
    token = r["link"].partition("#")[2]
    assert w.access.guest_person(token).share_id == w.share_id


async def _qr_made(w: World, r: Any) -> None:
    assert r["link"].endswith(f"/c/{r['code']}")
    assert w.access.charger_for_code(r["code"]) == IDENTITY
    assert await w.hass.async_add_executor_job(os.path.isfile, r["pdf"])


async def _exported(w: World, r: Any) -> None:
    assert r["sessions"] == 1
    assert await w.hass.async_add_executor_job(os.path.isfile, r["path"])


CASES: dict[str, Case] = {
    "get_configuration": Case(
        lambda w: {"config_entry": w.entry.entry_id, "keys": ["HeartbeatInterval"]},
        _configuration_read,
    ),
    "change_configuration": Case(
        lambda w: {"config_entry": w.entry.entry_id, "key": "HeartbeatInterval", "value": "77"},
        _configuration_changed,
    ),
    "update_firmware": Case(
        lambda w: {"config_entry": w.entry.entry_id, "location": "https://example.com/fw.bin"},
        _firmware_requested,
    ),
    "add_tag": Case(lambda w: {"alias": "New card", "id_tag": "NEW1"}, _tag_added),
    "learn_tag": Case(lambda w: {**w.target, "alias": "Learned"}, _learning),
    "update_tag": Case(lambda w: {"id_tag": "CARD1", "alias": "Renamed"}, _tag_renamed),
    "remove_tag": Case(lambda w: {"id_tag": "SPARE1"}, _tag_removed),
    "set_favourite_tag": Case(lambda w: {**w.target, "id_tag": "SPARE1"}, _favourite_set),
    "list_tags": Case(lambda w: {**w.target}, _tags_listed),
    "share_charger": Case(lambda w: {**w.target, "name": "Neighbour", "id_tag": "NEIGH1"}, _shared),
    "revoke_share": Case(lambda w: {"share_id": w.share_id}, _share_revoked),
    "list_shares": Case(lambda w: {**w.target}, _shares_listed),
    "create_group": Case(lambda w: {"name": "Depot"}, _group_created),
    "update_group": Case(lambda w: {"group_id": w.group_id, "name": "HQ"}, _group_updated),
    "delete_group": Case(lambda w: {"group_id": w.group_id}, _group_deleted),
    "list_groups": Case(lambda w: {}, _groups_listed),
    "add_group_member": Case(
        lambda w: {"group_id": w.group_id, "name": "Another", "tags": ["ANOTHER1"]},
        _member_added,
    ),
    "remove_group_member": Case(
        lambda w: {"group_id": w.group_id, "member_id": w.member_id}, _member_removed
    ),
    "set_tariff": Case(lambda w: {**w.target, "price_per_kwh": 0.3}, _tariff_set),
    "set_charger_group": Case(lambda w: {**w.target, "group_id": w.group_id}, _charger_grouped),
    "add_booking": Case(lambda w: {**w.target, "id_tag": "CARD1", **_soon(days=3)}, _booked),
    "cancel_booking": Case(lambda w: {"booking_id": w.booking_id}, _booking_cancelled),
    "start_charging": Case(lambda w: {**w.target, "id_tag": "CARD1"}, _charging),
    "update_session": Case(
        lambda w: {"transaction_id": w.transaction_id, "odometer": 12345}, _session_updated
    ),
    "get_sessions": Case(lambda w: {}, _sessions_read),
    "export_sessions": Case(lambda w: {"format": "csv"}, _exported),
    "renew_guest_link": Case(lambda w: {"share_id": w.share_id}, _link_renewed),
    "get_charger_qr": Case(lambda w: {**w.target}, _qr_made),
}


@dataclass
class People:
    """An administrator (not the owner) and a household member, as Settings > People makes them."""

    admin: User
    household: User


@pytest.fixture
async def people(hass: HomeAssistant) -> People:
    """The first user made is the owner (as onboarding makes it); then the two that matter."""
    owner = await hass.auth.async_create_user("Owner", group_ids=[GROUP_ID_ADMIN])
    admin = await hass.auth.async_create_user("Admin", group_ids=[GROUP_ID_ADMIN])
    household = await hass.auth.async_create_user("Household", group_ids=[GROUP_ID_USER])
    assert owner.is_owner
    assert not admin.is_owner
    assert admin.is_admin
    assert not household.is_admin
    return People(admin=admin, household=household)


def test_every_action_has_a_permission_and_a_case() -> None:
    """services.yaml, the registration table and the cases here name the same actions."""
    documented = set(load_yaml_dict(str(SERVICES_YAML)))
    assert set(ACTIONS) == documented
    assert set(CASES) == documented
    assert len(ACTIONS) == len(services.SERVICES)  # one row per action
    assert all(isinstance(action.admin, bool) for action in ACTIONS.values())


async def test_registered_actions_are_the_table(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """What Home Assistant registered is exactly the table, with each action's response kind."""
    registered = hass.services.async_services_for_domain(DOMAIN)
    assert set(registered) == set(ACTIONS)
    for name, action in ACTIONS.items():
        assert hass.services.supports_response(DOMAIN, name) is action.response, name


@pytest.mark.parametrize("name", ADMIN)
async def test_admin_action_refused_to_household_user(
    world: World, people: People, name: str
) -> None:
    """A non-admin user gets Unauthorized and nothing changes; an admin user's call works."""
    hass = world.hass
    case = CASES[name]
    household = people.household
    before = await _state(world)
    with pytest.raises(Unauthorized) as err:
        await _call(hass, name, case.data(world), Context(user_id=household.id))
    assert err.value.user_id == household.id
    assert await _state(world) == before

    response = await _call(hass, name, case.data(world), Context(user_id=people.admin.id))
    await case.check(world, response)
    assert await _state(world) != before


@pytest.mark.parametrize("name", OPEN)
async def test_open_action_works_for_household_user(
    world: World, people: People, name: str
) -> None:
    """Reads and starting a session work for a non-admin user, with their response."""
    context = Context(user_id=people.household.id)
    response = await _call(world.hass, name, CASES[name].data(world), context)
    await CASES[name].check(world, response)


async def test_unknown_user_is_refused(world: World) -> None:
    """A context naming a user that does not exist (removed meanwhile) is refused too."""
    before = await _state(world)
    with pytest.raises(Unauthorized):
        await _call(
            world.hass, "add_tag", CASES["add_tag"].data(world), Context(user_id="no-such-user")
        )
    assert await _state(world) == before


async def test_configuration_read_hides_the_ocpp_password(world: World, people: People) -> None:
    """A firmware that reports AuthorizationKey does not show it to a household user."""
    world.sim.configuration["AuthorizationKey"] = "0123456789abcdef"
    response = await _call(
        world.hass,
        "get_configuration",
        {"config_entry": world.entry.entry_id, "keys": ["AuthorizationKey", "HeartbeatInterval"]},
        Context(user_id=people.household.id),
    )
    assert response["configuration"]["AuthorizationKey"]["value"] == "**REDACTED**"
    assert "0123456789abcdef" not in repr(response)
    heartbeat = response["configuration"]["HeartbeatInterval"]["value"]
    assert heartbeat == world.sim.configuration["HeartbeatInterval"]
