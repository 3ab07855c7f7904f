"""Library tests of chargeconnect.access: tags, shares, groups, tariffs, bookings, decisions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.webasto_chargeconnect.chargeconnect import (
    ChargeConnectError,
    InvalidArgumentError,
    JsonFileStore,
    MemoryStore,
)
from custom_components.webasto_chargeconnect.chargeconnect.access import (
    LOCAL_LIST_VERSION_MAX,
    LOCAL_LIST_VERSION_MIN,
    AccessControl,
    BookingOverlapError,
    Decision,
    DuplicateTagError,
    FavouriteTagUnknownError,
    InvalidBookingWindowError,
    InvalidTagIdError,
    ShareExpiryInPastError,
    UnknownBookingError,
    UnknownGroupError,
    UnknownMemberError,
    UnknownShareError,
    UnknownTagError,
)
from custom_components.webasto_chargeconnect.chargeconnect.models import Tariff

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
A, B, C = "NEXT-WS000001", "NEXT-WS000002", "UNITE-000003"


class Clock:
    """A settable clock injected into AccessControl."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def access(store: MemoryStore, clock: Clock) -> AccessControl:
    control = AccessControl(store, clock=clock)
    await control.load()
    return control


async def build_installation(access: AccessControl) -> dict[str, Any]:
    """Owner card, shares at A (live, soon expired) and B, groups Home (A) and Office (C),
    a booking at A from T0+3h to T0+4h."""
    owner = await access.add_tag("Owner card", "04A1B2C3", kind="rfid")
    guest = await access.share(A, "Guest", "guest@example.com", "GUEST1", T0 + timedelta(hours=2))
    old = await access.share(A, "Old guest", "", "OLDGUEST", T0 + timedelta(minutes=10))
    b_guest = await access.share(B, "B guest", "", "BGUEST", None)
    home = await access.create_group("Home", "Main street 1")
    await access.assign_charger(A, home.group_id)
    alice = await access.add_member(home.group_id, "Alice", "alice@example.com", ["ALICE1"])
    alice = await access.accept_invitation(home.group_id, alice.member_id)
    office = await access.create_group("Office")
    await access.assign_charger(C, office.group_id)
    bob = await access.add_member(office.group_id, "Bob", "", ["BOB1"])
    await access.accept_invitation(office.group_id, bob.member_id)
    booking = await access.add_booking(
        A, "BOOKER", T0 + timedelta(hours=3), T0 + timedelta(hours=4), "dentist"
    )
    return {
        "owner": owner,
        "guest": guest,
        "old": old,
        "b_guest": b_guest,
        "home": home,
        "office": office,
        "alice": alice,
        "booking": booking,
    }


H = timedelta(hours=1)
M = timedelta(minutes=1)

# (minutes after T0, charger, presented tag, remote-start tag, status, reason, expiry)
MATRIX: list[tuple[int, str, str, str | None, str, str, datetime | None]] = [
    (30, A, "04a1b2c3", None, "Accepted", "owner_tag", None),
    (30, B, "04A1B2C3", None, "Accepted", "owner_tag", None),
    (30, C, "04A1b2c3", None, "Accepted", "owner_tag", None),
    (30, A, "GUEST1", None, "Accepted", "share", T0 + 2 * H),
    (30, A, "guest1", None, "Accepted", "share", T0 + 2 * H),
    (30, B, "GUEST1", None, "Invalid", "unknown", None),
    (30, A, "OLDGUEST", None, "Expired", "share_expired", T0 + 10 * M),
    (30, B, "BGUEST", None, "Accepted", "share", None),
    (30, A, "BGUEST", None, "Invalid", "unknown", None),
    (30, A, "ALICE1", None, "Accepted", "group", None),
    (30, B, "ALICE1", None, "Invalid", "unknown", None),
    (30, C, "ALICE1", None, "Invalid", "unknown", None),
    (30, C, "BOB1", None, "Accepted", "group", None),
    (30, A, "BOB1", None, "Invalid", "unknown", None),
    (30, A, "BOOKER", None, "Invalid", "unknown", None),
    (30, A, "HA-REMOTE", "ha-remote", "Accepted", "remote_start", None),
    (30, A, "HA-REMOTE", None, "Invalid", "unknown", None),
    (30, A, "STRANGER", "HA-REMOTE", "Invalid", "unknown", None),
    # The booking at A runs from T0+3h (inclusive) to T0+4h (exclusive).
    (179, A, "BOOKER", None, "Invalid", "unknown", None),
    (180, A, "BOOKER", None, "Accepted", "booking", T0 + 4 * H),
    (210, A, "booker", None, "Accepted", "booking", T0 + 4 * H),
    (210, A, "04A1B2C3", None, "Blocked", "booking_other", None),
    (210, A, "ALICE1", None, "Blocked", "booking_other", None),
    (210, A, "GUEST1", None, "Blocked", "booking_other", None),
    (210, A, "HA-REMOTE", "HA-REMOTE", "Blocked", "booking_other", None),
    (210, A, "STRANGER", None, "Blocked", "booking_other", None),
    (210, B, "04A1B2C3", None, "Accepted", "owner_tag", None),
    (210, B, "BOOKER", None, "Invalid", "unknown", None),
    (240, A, "BOOKER", None, "Invalid", "unknown", None),
    (240, A, "04A1B2C3", None, "Accepted", "owner_tag", None),
    # The guest's share ended at T0+2h.
    (300, A, "GUEST1", None, "Expired", "share_expired", T0 + 2 * H),
    (300, A, "ALICE1", None, "Accepted", "group", None),
    (300, B, "BGUEST", None, "Accepted", "share", None),
]


@pytest.mark.parametrize(
    ("minutes", "charger", "id_tag", "remote", "status", "reason", "expiry"), MATRIX
)
async def test_authorization_matrix(
    access: AccessControl,
    clock: Clock,
    minutes: int,
    charger: str,
    id_tag: str,
    remote: str | None,
    status: str,
    reason: str,
    expiry: datetime | None,
) -> None:
    await build_installation(access)
    clock.now = T0 + timedelta(minutes=minutes)
    decision = access.authorize(charger, id_tag, remote_start_tag=remote)
    assert (decision.status, decision.reason, decision.expiry) == (status, reason, expiry)
    assert decision.accepted is (status == "Accepted")
    assert decision.learned_tag is None
    info = decision.id_tag_info()
    assert info["status"] == status
    if expiry is None:
        assert "expiryDate" not in info
    else:
        assert info["expiryDate"] == expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_decision_serialisation(access: AccessControl) -> None:
    await build_installation(access)
    decision = access.authorize(A, "GUEST1")
    assert decision.id_tag_info() == {
        "status": "Accepted",
        "expiryDate": "2026-05-01T12:00:00.000Z",
    }
    assert decision.to_dict() == {
        "status": "Accepted",
        "reason": "share",
        "expiry": "2026-05-01T12:00:00+00:00",
        "learned_tag": None,
    }
    assert json.loads(json.dumps(decision.to_dict())) == decision.to_dict()


async def test_expired_share_does_not_hide_group_membership(
    access: AccessControl, clock: Clock
) -> None:
    await build_installation(access)
    home = access.group_of(A)
    assert home is not None
    await access.share(A, "Alice", "", "ALICE1", T0 + 5 * M)
    assert access.authorize(A, "ALICE1").reason == "share"
    clock.advance(minutes=10)
    assert access.authorize(A, "ALICE1").reason == "group"


async def test_best_of_several_shares_wins(access: AccessControl, clock: Clock) -> None:
    await access.share(A, "Short", "", "TWICE", T0 + H)
    await access.share(A, "Long", "", "twice", T0 + 3 * H)
    assert access.authorize(A, "TWICE").expiry == T0 + 3 * H
    await access.share(A, "Forever", "", "TWICE", None)
    assert access.authorize(A, "TWICE").expiry is None
    clock.advance(hours=5)
    assert access.authorize(A, "TWICE").status == "Accepted"


async def test_removals_take_effect_at_once(access: AccessControl) -> None:
    parts = await build_installation(access)
    assert access.authorize(A, "ALICE1").accepted
    await access.remove_member(parts["home"].group_id, parts["alice"].member_id)
    assert access.authorize(A, "ALICE1") == Decision("Invalid", None, "unknown")

    assert access.authorize(A, "GUEST1").accepted
    await access.revoke_share(parts["guest"].share_id)
    assert access.authorize(A, "GUEST1").status == "Invalid"

    assert access.authorize(B, "04a1b2c3").accepted
    await access.remove_tag("04a1b2c3")
    assert access.authorize(B, "04A1B2C3").status == "Invalid"

    await access.assign_charger(C, None)
    assert access.authorize(C, "BOB1").status == "Invalid"


async def test_open_mode_until_access_is_set_up(access: AccessControl) -> None:
    assert access.is_open
    assert access.authorize(A, "ANYONE") == Decision("Accepted", None, "open")
    assert access.local_list(A) == []

    group = await access.create_group("Empty")
    await access.assign_charger(A, group.group_id)
    await access.set_charger_tariff(A, Tariff("EUR", 0.5, 0.3))
    assert access.authorize(A, "ANYONE").reason == "open"

    member = await access.add_member(group.group_id, "Carol", "", ["CAROL"])
    assert not access.is_open
    assert access.authorize(A, "ANYONE").status == "Invalid"
    # Not before Carol accepted the group's invitation.
    assert access.authorize(A, "CAROL") == Decision("Invalid", None, "unknown")
    await access.accept_invitation(group.group_id, member.member_id)
    assert access.authorize(A, "CAROL").reason == "group"
    await access.remove_member(group.group_id, member.member_id)
    assert access.authorize(A, "ANYONE").reason == "open"

    booking = await access.add_booking(B, "BOOKER", T0 + H, T0 + 2 * H)
    assert access.authorize(A, "ANYONE").status == "Invalid"
    await access.cancel_booking(booking.booking_id)

    share = await access.share(B, "Dan", "", "DAN", None)
    assert access.authorize(A, "ANYONE").status == "Invalid"
    await access.revoke_share(share.share_id)

    tag = await access.add_tag("Phone")
    assert access.authorize(A, "ANYONE").status == "Invalid"
    await access.remove_tag(tag.id_tag)
    assert access.is_open


async def test_tags(access: AccessControl, clock: Clock) -> None:
    generated = [await access.add_tag(f"Phone {n}") for n in range(50)]
    ids = {tag.id_tag for tag in generated}
    assert len(ids) == 50
    for tag in generated:
        assert tag.kind == "virtual"
        assert tag.id_tag.startswith("HA")
        assert len(tag.id_tag) <= 20
        assert tag.id_tag.isalnum() and tag.id_tag.isascii()
        assert tag.created == T0

    card = await access.add_tag("  Blue card ", "04ab12cd", kind="rfid")
    assert card.alias == "Blue card"
    assert access.tag("04AB12CD") == card
    with pytest.raises(DuplicateTagError) as err:
        await access.add_tag("Again", "04AB12CD")
    assert err.value.placeholders == {"id_tag": "04AB12CD"}

    clock.advance(minutes=1)
    renamed = await access.update_tag("04AB12cd", "Red card")
    assert renamed.alias == "Red card"
    assert renamed.created == T0
    assert access.tag("04ab12cd") == renamed
    nameless = await access.add_tag("   ", "NAMELESS")
    assert nameless.alias == "NAMELESS"

    assert [t.alias for t in access.tags()][:3] == ["NAMELESS", "Phone 0", "Phone 1"]
    assert access.tags()[-1].alias == "Red card"

    removed = await access.remove_tag("04AB12CD")
    assert removed.id_tag == "04ab12cd"
    assert access.tag("04ab12cd") is None
    with pytest.raises(UnknownTagError):
        await access.remove_tag("04ab12cd")
    with pytest.raises(UnknownTagError) as unknown:
        await access.update_tag("NOPE", "x")
    assert unknown.value.placeholders == {"id_tag": "NOPE"}
    with pytest.raises(InvalidArgumentError):
        await access.add_tag("Odd", "ODD", kind="magnetic")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "   ", "A" * 21, "TAB\tTAG", "NUL\x00", "CAFÉ"])
async def test_invalid_tag_ids_are_refused_everywhere(access: AccessControl, bad: str) -> None:
    with pytest.raises(InvalidTagIdError) as err:
        await access.add_tag("Bad", bad)
    assert err.value.placeholders == {"id_tag": bad, "max_length": "20"}
    with pytest.raises(InvalidTagIdError):
        await access.share(A, "Guest", "", bad, None)
    group = await access.create_group("G")
    with pytest.raises(InvalidTagIdError):
        await access.add_member(group.group_id, "M", "", ["GOOD", bad])
    with pytest.raises(InvalidTagIdError):
        await access.add_booking(A, bad, T0 + H, T0 + 2 * H)
    assert access.tags() == []
    assert access.shares() == []
    assert access.bookings() == []
    assert access.groups()[0].members == []


async def test_twenty_characters_are_fine(access: AccessControl) -> None:
    tag = await access.add_tag("Long", " " + "B" * 20 + " ")
    assert tag.id_tag == "B" * 20


async def test_favourites(access: AccessControl) -> None:
    with pytest.raises(FavouriteTagUnknownError) as err:
        await access.set_favourite(A, "NOPE")
    assert err.value.translation_key == "favourite_unknown_tag"
    assert err.value.placeholders == {"charger": A, "id_tag": "NOPE"}
    card = await access.add_tag("Card", "CARD1", kind="rfid")
    other = await access.add_tag("Other", "CARD2", kind="rfid")
    assert await access.set_favourite(A, "card1") == card
    await access.set_favourite(B, "CARD2")
    assert access.favourite(A) == card
    assert access.favourite(C) is None
    await access.remove_tag("CARD1")
    assert access.favourite(A) is None
    assert access.favourite(B) == other
    assert await access.set_favourite(B, None) is None
    assert access.favourite(B) is None


async def test_learn_mode(access: AccessControl, clock: Clock, store: MemoryStore) -> None:
    await access.add_tag("Phone", "PHONE")
    await access.share(B, "Guest", "", "GUESTB", None)
    changes: list[int] = []
    access.add_listener(lambda: changes.append(1))

    with pytest.raises(InvalidArgumentError):
        await access.arm_learning(A, "Nope", timedelta(0))
    mode = await access.arm_learning(A, " Blue card ", timedelta(minutes=2))
    assert mode.until == T0 + 2 * M
    assert mode.alias == "Blue card"
    assert access.learning(A) == mode
    assert access.learning(B) is None

    # Not armed at B; a tag known anywhere (a share at B) is not learned at A.
    assert access.authorize(B, "NEWCARD").status == "Invalid"
    assert access.authorize(A, "GUESTB") == Decision("Invalid", None, "unknown")
    assert access.learning(A) == mode

    before = len(changes)
    clock.advance(seconds=30)
    decision = access.authorize(A, "04c0ffee")
    assert decision.status == "Accepted"
    assert decision.reason == "learned"
    learned = decision.learned_tag
    assert learned is not None
    assert (learned.id_tag, learned.alias, learned.kind) == ("04c0ffee", "Blue card", "rfid")
    assert learned.created == T0 + timedelta(seconds=30)
    assert decision.to_dict()["learned_tag"]["alias"] == "Blue card"
    assert access.tag("04C0FFEE") == learned
    assert access.learning(A) is None
    assert len(changes) == before + 1
    saved = store.data
    assert {t["id_tag"] for t in saved["tags"]} == {"PHONE", "04c0ffee"}
    assert saved["learning"] == []

    # Learnt: the card is an owner tag now; the next unknown card is not learned.
    assert access.authorize(B, "04C0FFEE").reason == "owner_tag"
    assert access.authorize(A, "OTHERCARD").status == "Invalid"

    # Learn mode ends by the clock, and can be cancelled.
    await access.arm_learning(A, "Late", timedelta(minutes=1))
    clock.advance(minutes=1)
    assert access.learning(A) is None
    assert access.authorize(A, "LATECARD").status == "Invalid"
    await access.arm_learning(A, "Cancelled", timedelta(minutes=5))
    await access.cancel_learning(A)
    assert access.authorize(A, "CANCELCARD").status == "Invalid"
    assert access.tag("LATECARD") is None
    assert access.tag("CANCELCARD") is None


async def test_learn_mode_ends_cleanly(
    access: AccessControl, clock: Clock, store: MemoryStore
) -> None:
    await access.add_tag("Phone", "PHONE")
    await access.arm_learning(A, "Card", timedelta(minutes=1))
    # An id no OCPP charger could send (too long) is not learned; learning stays armed.
    assert access.authorize(A, "X" * 21).status == "Invalid"
    assert access.learning(A) is not None
    assert store.data["learning"][0]["charger"] == A
    clock.advance(minutes=2)
    await access.add_tag("Tablet")
    assert store.data["learning"] == []


async def test_learn_mode_in_a_new_installation(access: AccessControl) -> None:
    await access.arm_learning(A, "First card", timedelta(minutes=5))
    decision = access.authorize(A, "FIRST")
    assert decision.reason == "learned"
    assert not access.is_open
    assert access.authorize(A, "SECOND").status == "Invalid"


async def test_learned_tag_reaches_a_json_file(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "access.json"
    store = JsonFileStore(path)
    access = AccessControl(store, clock=clock)
    await access.load()
    await access.add_tag("Phone", "PHONE")
    await access.arm_learning(A, "Blue card", timedelta(minutes=2))
    assert access.authorize(A, "04C0FFEE").reason == "learned"
    await store.flush()
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert [t["id_tag"] for t in saved["tags"]] == ["PHONE", "04C0FFEE"]
    assert saved["tags"][1]["kind"] == "rfid"
    reloaded = AccessControl(JsonFileStore(path), clock=clock)
    await reloaded.load()
    assert reloaded.authorize(B, "04c0ffee").reason == "owner_tag"


async def test_shares(access: AccessControl, clock: Clock) -> None:
    owner = await access.add_tag("Owner", "OWNERCARD")
    generated = await access.share(A, " Eve ", " eve@example.com ", None, T0 + H)
    assert generated.id_tag.startswith("HA")
    assert (generated.name, generated.email, generated.created) == ("Eve", "eve@example.com", T0)
    assert access.authorize(A, generated.id_tag).reason == "share"

    reuse = await access.share(B, "Owner again", "", "ownercard", None)
    assert reuse.id_tag == owner.id_tag  # the known tag's spelling

    naive = await access.share(A, "Naive", "", "NAIVE", datetime(2026, 5, 1, 12, 0))
    assert naive.expiry == T0 + 2 * H

    with pytest.raises(ShareExpiryInPastError) as err:
        await access.share(A, "Late", "", "LATE", T0)
    assert err.value.translation_key == "share_expiry_in_past"
    assert err.value.placeholders == {"expiry": "2026-05-01 10:00 UTC"}
    with pytest.raises(ShareExpiryInPastError):
        await access.share(A, "Later", "", "LATER", T0 - H)

    assert [s.share_id for s in access.shares(A)] == [generated.share_id, naive.share_id]
    assert [s.share_id for s in access.shares()] == [
        generated.share_id,
        reuse.share_id,
        naive.share_id,
    ]
    clock.advance(hours=1)
    assert access.shares(A)[0].to_dict(clock.now)["expired"] is True
    assert access.shares(A)[1].to_dict(clock.now)["expired"] is False
    assert access.shares(A)[0].is_expired(clock.now)
    as_dict = generated.to_dict(T0)
    assert as_dict == {
        "share_id": generated.share_id,
        "charger": A,
        "name": "Eve",
        "email": "eve@example.com",
        "id_tag": generated.id_tag,
        "expiry": "2026-05-01T11:00:00+00:00",
        "created": "2026-05-01T10:00:00+00:00",
        "expired": False,
        "link_issued": None,
    }
    assert reuse.to_dict()["expired"] is False  # judged at the real time: no expiry

    revoked = await access.revoke_share(generated.share_id)
    assert revoked == generated
    assert access.shares(A) == [naive]
    with pytest.raises(UnknownShareError) as unknown:
        await access.revoke_share(generated.share_id)
    assert unknown.value.placeholders == {"share_id": generated.share_id}


async def test_groups(access: AccessControl) -> None:
    home = await access.create_group(" Home ", " Main street 1 ")
    assert (home.name, home.address, home.chargers, home.members) == (
        "Home",
        "Main street 1",
        [],
        [],
    )
    office = await access.create_group("Office")
    assert [g.name for g in access.groups()] == ["Home", "Office"]

    renamed = await access.update_group(home.group_id, name="Apartment")
    assert (renamed.name, renamed.address) == ("Apartment", "Main street 1")
    moved = await access.update_group(home.group_id, address="Side street 2")
    assert (moved.name, moved.address) == ("Apartment", "Side street 2")

    member = await access.add_member(
        home.group_id, " Alice ", "alice@example.com", ["ALICE1", "alice1", " ALICE2 "]
    )
    assert member.tags == ["ALICE1", "ALICE2"]
    assert member.name == "Alice"
    updated = await access.update_member(home.group_id, member.member_id, tags=["ALICE3"])
    assert (updated.name, updated.email, updated.tags) == (
        "Alice",
        "alice@example.com",
        ["ALICE3"],
    )
    updated = await access.update_member(home.group_id, member.member_id, name="Alicia")
    assert (updated.name, updated.tags) == ("Alicia", ["ALICE3"])

    await access.assign_charger(A, home.group_id)
    await access.assign_charger(B, home.group_id)
    await access.assign_charger(A, home.group_id)  # idempotent
    assert access.group_of(A) == access.group(home.group_id)
    assert access.group(home.group_id).chargers == [A, B]  # type: ignore[union-attr]
    assert access.authorize(A, "ALICE3").reason == "unknown"  # not accepted yet
    await access.accept_invitation(home.group_id, member.member_id)
    assert access.authorize(A, "ALICE3").reason == "group"

    # A charger is in one group at most: assigning moves it.
    moved_to = await access.assign_charger(A, office.group_id)
    assert moved_to is not None and moved_to.chargers == [A]
    assert access.group(home.group_id).chargers == [B]  # type: ignore[union-attr]
    assert access.authorize(A, "ALICE3").status == "Invalid"
    assert await access.assign_charger(A, None) is None
    assert access.group_of(A) is None

    # Returned groups are copies.
    copy_ = access.group(home.group_id)
    assert copy_ is not None
    copy_.chargers.append("INTRUDER")
    copy_.members[0].tags.append("INTRUDER")
    assert access.group(home.group_id).chargers == [B]  # type: ignore[union-attr]
    assert access.authorize(B, "INTRUDER").status == "Invalid"

    removed = await access.remove_member(home.group_id, member.member_id)
    assert removed.member_id == member.member_id
    deleted = await access.delete_group(home.group_id)
    assert deleted.group_id == home.group_id
    assert access.group_of(B) is None
    assert access.group(home.group_id) is None
    assert [g.group_id for g in access.groups()] == [office.group_id]
    assert access.group(office.group_id).to_dict() == {  # type: ignore[union-attr]
        "group_id": office.group_id,
        "name": "Office",
        "address": "",
        "chargers": [],
        "members": [],
        "tariff": None,
    }


async def test_group_and_member_errors(access: AccessControl) -> None:
    group = await access.create_group("G")
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: access.update_group("nope", name="x"),
        lambda: access.delete_group("nope"),
        lambda: access.add_member("nope", "M"),
        lambda: access.update_member("nope", "m"),
        lambda: access.remove_member("nope", "m"),
        lambda: access.set_group_tariff("nope", None),
        lambda: access.assign_charger(A, "nope"),
    ]
    for attempt in calls:
        with pytest.raises(UnknownGroupError) as err:
            await attempt()
        assert err.value.placeholders == {"group_id": "nope"}
    with pytest.raises(UnknownMemberError) as member_err:
        await access.remove_member(group.group_id, "ghost")
    assert member_err.value.placeholders == {"group_id": group.group_id, "member_id": "ghost"}
    with pytest.raises(UnknownMemberError):
        await access.update_member(group.group_id, "ghost", name="x")


async def test_tariffs(access: AccessControl) -> None:
    own = Tariff("EUR", 0.0, 0.25)
    shared = Tariff("EUR", 1.0, 0.35)
    assert access.tariff_for(A) is None
    await access.set_charger_tariff(A, own)
    assert access.tariff_for(A) == own
    assert access.charger_tariff(A) == own
    group = await access.create_group("Company")
    await access.assign_charger(A, group.group_id)
    assert access.tariff_for(A) == own  # the group has none
    with_tariff = await access.set_group_tariff(group.group_id, shared)
    assert with_tariff.tariff == shared
    assert access.tariff_for(A) == shared
    assert access.tariff_for(B) is None
    await access.set_group_tariff(group.group_id, None)
    assert access.tariff_for(A) == own
    await access.set_charger_tariff(A, None)
    assert access.tariff_for(A) is None


async def test_bookings(access: AccessControl, clock: Clock) -> None:
    first = await access.add_booking(A, " BOOKER ", T0 + H, T0 + 2 * H, " dentist ")
    assert (first.id_tag, first.note) == ("BOOKER", "dentist")
    # Back to back is fine, as is the same time at another charger.
    second = await access.add_booking(A, "OTHER", T0 + 2 * H, T0 + 3 * H)
    elsewhere = await access.add_booking(B, "OTHER", T0 + H, T0 + 2 * H)
    just_now = await access.add_booking(C, "NOW", T0 - timedelta(seconds=30), T0 + H)

    with pytest.raises(BookingOverlapError) as err:
        await access.add_booking(A, "LATE", T0 + 90 * M, T0 + 150 * M)
    assert err.value.translation_key == "booking_overlap"
    assert err.value.other == first
    assert err.value.placeholders == {
        "start": "2026-05-01 11:00 UTC",
        "end": "2026-05-01 12:00 UTC",
        "booking_id": first.booking_id,
    }
    with pytest.raises(BookingOverlapError) as inside:
        await access.add_booking(A, "INSIDE", T0 + 130 * M, T0 + 140 * M)
    assert inside.value.other == second

    with pytest.raises(InvalidBookingWindowError) as window:
        await access.add_booking(A, "X", T0 + 5 * H, T0 + 5 * H)
    assert window.value.reason == "end_not_after_start"
    assert window.value.placeholders == {
        "start": "2026-05-01 15:00 UTC",
        "end": "2026-05-01 15:00 UTC",
    }
    with pytest.raises(InvalidBookingWindowError):
        await access.add_booking(A, "X", T0 + 6 * H, T0 + 5 * H)
    with pytest.raises(InvalidBookingWindowError) as past:
        await access.add_booking(A, "X", T0 - 2 * M, T0 + 5 * H)
    assert past.value.reason == "start_in_past"

    assert access.bookings(A) == [first, second]
    assert access.bookings() == [just_now, first, elsewhere, second]
    assert access.bookings(A, start=T0 + 2 * H) == [second]
    assert access.bookings(A, end=T0 + 2 * H) == [first]
    assert access.bookings(start=T0 + 90 * M, end=T0 + 100 * M) == [first, elsewhere]
    assert access.booking(second.booking_id) == second
    assert access.active_booking(A) is None
    assert access.active_booking(A, T0 + H) == first
    assert access.active_booking(A, T0 + 2 * H) == second
    assert access.active_booking(A, T0 + 3 * H) is None
    clock.now = T0 + 150 * M
    assert access.active_booking(A) == second

    cancelled = await access.cancel_booking(second.booking_id)
    assert cancelled == second
    assert access.active_booking(A) is None
    with pytest.raises(UnknownBookingError) as unknown:
        await access.cancel_booking(second.booking_id)
    assert unknown.value.placeholders == {"booking_id": second.booking_id}
    assert first.to_dict() == {
        "booking_id": first.booking_id,
        "charger": A,
        "id_tag": "BOOKER",
        "start": "2026-05-01T11:00:00+00:00",
        "end": "2026-05-01T12:00:00+00:00",
        "note": "dentist",
    }


async def test_old_bookings_are_pruned(
    access: AccessControl, clock: Clock, store: MemoryStore
) -> None:
    old = await access.add_booking(A, "OLD", T0, T0 + H)
    clock.now = T0 + H + timedelta(days=29)
    await access.add_tag("Phone")
    assert access.bookings() == [old]
    clock.now = T0 + H + timedelta(days=30, minutes=1)
    await access.add_tag("Tablet")
    assert access.bookings() == []
    assert store.data["bookings"] == []


async def test_local_list_content(access: AccessControl, clock: Clock) -> None:
    await build_installation(access)
    await access.add_tag("Alice's card too", "alice1")  # also a member tag: listed once
    await access.share(A, "Owner share", "", "04a1b2c3", T0 + H)  # the owner tag wins
    clock.advance(minutes=30)
    assert access.local_list(A) == [
        {"idTag": "04A1B2C3", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "alice1", "idTagInfo": {"status": "Accepted"}},
        {
            "idTag": "GUEST1",
            "idTagInfo": {"status": "Accepted", "expiryDate": "2026-05-01T12:00:00.000Z"},
        },
    ]
    assert access.local_list(B) == [
        {"idTag": "04A1B2C3", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "alice1", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "BGUEST", "idTagInfo": {"status": "Accepted"}},
    ]
    assert [e["idTag"] for e in access.local_list(C)] == ["04A1B2C3", "alice1", "BOB1"]

    # During the booking only the booking's tag may charge at A, until the booking ends.
    clock.now = T0 + 3 * H
    assert access.local_list(A) == [
        {
            "idTag": "BOOKER",
            "idTagInfo": {"status": "Accepted", "expiryDate": "2026-05-01T14:00:00.000Z"},
        }
    ]
    clock.now = T0 + 4 * H
    assert [e["idTag"] for e in access.local_list(A)] == ["04A1B2C3", "alice1"]


async def test_local_list_keeps_the_longest_share(access: AccessControl) -> None:
    await access.share(A, "One", "", "TWICE", T0 + H)
    await access.share(A, "Two", "", "twice", T0 + 2 * H)
    await access.share(A, "Three", "", "TWICE", T0 + 90 * M)
    assert access.local_list(A) == [
        {
            "idTag": "TWICE",
            "idTagInfo": {"status": "Accepted", "expiryDate": "2026-05-01T12:00:00.000Z"},
        }
    ]


async def test_local_list_version(access: AccessControl, clock: Clock, store: MemoryStore) -> None:
    open_version = access.local_list_version(A)
    assert LOCAL_LIST_VERSION_MIN <= open_version <= LOCAL_LIST_VERSION_MAX
    parts = await build_installation(access)
    versions = {charger: access.local_list_version(charger) for charger in (A, B, C)}
    assert len(set(versions.values())) == 3
    assert open_version not in versions.values()
    assert all(LOCAL_LIST_VERSION_MIN <= v <= LOCAL_LIST_VERSION_MAX for v in versions.values())

    # Changes that do not touch A's list leave A's version alone.
    await access.share(B, "Another", "", "ANOTHER", None)
    await access.set_charger_tariff(A, Tariff("EUR", 0, 0.3))
    await access.add_booking(B, "BOOKERB", T0 + 6 * H, T0 + 7 * H)
    await access.update_tag("04A1B2C3", "New alias")
    assert access.local_list_version(A) == versions[A]
    assert access.local_list_version(B) != versions[B]

    # Stable across a restart from the same store.
    reloaded = AccessControl(store, clock=clock)
    await reloaded.load()
    assert reloaded.local_list(A) == access.local_list(A)
    assert reloaded.local_list_version(A) == versions[A]

    # A new tag changes every list; removing it again restores the version.
    await access.add_tag("Phone", "PHONE")
    changed = access.local_list_version(A)
    assert changed != versions[A]
    await access.remove_tag("PHONE")
    assert access.local_list_version(A) == versions[A]

    # The clock alone changes it when a share expires (GUEST1 at T0+2h).
    clock.now = T0 + 2 * H
    assert access.local_list_version(A) != versions[A]
    await access.revoke_share(parts["guest"].share_id)
    clock.now = T0 + 30 * M
    assert [e["idTag"] for e in access.local_list(A)] == ["04A1B2C3", "ALICE1"]


async def test_persistence_roundtrip_json_file(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "sub" / "access.json"
    access = AccessControl(JsonFileStore(path), clock=clock)
    await access.load()
    assert access.is_open
    parts = await build_installation(access)
    await access.set_favourite(A, "04a1b2c3")
    await access.set_group_tariff(parts["home"].group_id, Tariff("EUR", 0.5, 0.31))
    await access.set_charger_tariff(B, Tariff("CHF", 0.0, 0.4))
    await access.arm_learning(C, "Spare card", timedelta(minutes=10))

    saved = json.loads(path.read_text(encoding="utf-8"))  # read back independently
    assert saved["version"] == 2
    assert saved["tags"] == [
        {
            "id_tag": "04A1B2C3",
            "alias": "Owner card",
            "kind": "rfid",
            "created": "2026-05-01T10:00:00+00:00",
        }
    ]
    assert saved["favourites"] == {A: "04A1B2C3"}
    assert saved["charger_tariffs"] == {
        B: {"currency": "CHF", "fixed_fee": 0.0, "price_per_kwh": 0.4}
    }
    assert {s["id_tag"] for s in saved["shares"]} == {"GUEST1", "OLDGUEST", "BGUEST"}
    assert all("expired" not in s for s in saved["shares"])
    assert [g["name"] for g in saved["groups"]] == ["Home", "Office"]
    assert saved["groups"][0]["members"][0]["tags"] == ["ALICE1"]
    assert saved["groups"][0]["tariff"] == {
        "currency": "EUR",
        "fixed_fee": 0.5,
        "price_per_kwh": 0.31,
    }
    assert saved["bookings"][0]["note"] == "dentist"
    assert saved["learning"] == [
        {"charger": C, "alias": "Spare card", "until": "2026-05-01T10:10:00+00:00"}
    ]

    restored = AccessControl(JsonFileStore(path), clock=clock)
    await restored.load()
    assert restored.to_dict() == access.to_dict()
    assert restored.tags() == access.tags()
    assert restored.shares() == access.shares()
    assert restored.groups() == access.groups()
    assert restored.bookings() == access.bookings()
    assert restored.favourite(A) == parts["owner"]
    assert restored.tariff_for(A) == Tariff("EUR", 0.5, 0.31)
    assert restored.tariff_for(B) == Tariff("CHF", 0.0, 0.4)
    assert restored.learning(C) == access.learning(C)
    for charger in (A, B, C):
        assert restored.local_list_version(charger) == access.local_list_version(charger)
    for minutes, charger, id_tag, remote, *_ in MATRIX:
        clock.now = T0 + timedelta(minutes=minutes)
        assert restored.authorize(charger, id_tag, remote_start_tag=remote) == access.authorize(
            charger, id_tag, remote_start_tag=remote
        )


async def test_load_drops_unreadable_records(store: MemoryStore, clock: Clock) -> None:
    store.data = {
        "version": 1,
        "tags": [
            {"id_tag": "GOOD", "alias": "Good", "kind": "rfid", "created": "2026-05-01T09:00:00"},
            {"alias": "no id"},
            {"id_tag": "BADTIME", "created": "yesterday"},
        ],
        "favourites": {A: "good", B: "missing"},
        "shares": "not a list",
        "groups": [{"group_id": "g1", "name": "G", "tariff": {"price_per_kwh": "0.2"}}],
        "charger_tariffs": {A: {"price_per_kwh": 0.3}, B: "junk"},
        "bookings": [{"booking_id": "b1"}],
    }
    access = AccessControl(store, clock=clock)
    await access.load()
    assert [t.id_tag for t in access.tags()] == ["GOOD"]
    assert access.tags()[0].created == datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert access.favourite(A) is not None
    assert access.favourite(B) is None
    assert access.shares() == []
    assert access.bookings() == []
    assert access.tariff_for(A) == Tariff("EUR", 0.0, 0.3)
    assert access.tariff_for(B) is None
    group = access.group("g1")
    assert group is not None and group.tariff == Tariff("EUR", 0.0, 0.2)


async def test_listeners_and_saves(access: AccessControl, store: MemoryStore) -> None:
    calls: list[str] = []
    remove = access.add_listener(lambda: calls.append("a"))

    def broken() -> None:
        raise RuntimeError("listener bug")

    access.add_listener(broken)
    await access.add_tag("Phone", "PHONE")
    assert calls == ["a"]
    assert [t["id_tag"] for t in store.data["tags"]] == ["PHONE"]
    group = await access.create_group("G")
    assert [g["group_id"] for g in store.data["groups"]] == [group.group_id]
    assert calls == ["a", "a"]
    remove()
    remove()  # twice is harmless
    await access.delete_group(group.group_id)
    assert calls == ["a", "a"]
    assert store.data["groups"] == []


async def test_next_transition(access: AccessControl, clock: Clock) -> None:
    assert access.next_transition() is None
    await build_installation(access)
    await access.arm_learning(B, "Card", timedelta(minutes=5))
    assert access.next_transition() == T0 + 5 * M
    assert access.next_transition(A) == T0 + 10 * M  # OLDGUEST's share
    assert access.next_transition(C) is None
    clock.now = T0 + 10 * M
    assert access.next_transition(A) == T0 + 2 * H
    clock.now = T0 + 2 * H
    assert access.next_transition(A) == T0 + 3 * H
    clock.now = T0 + 3 * H
    assert access.next_transition(A) == T0 + 4 * H
    clock.now = T0 + 4 * H
    assert access.next_transition(A) is None


async def test_labels_and_forgetting_a_charger(access: AccessControl) -> None:
    parts = await build_installation(access)
    assert access.label("04a1b2c3") == "Owner card"
    assert access.label("guest1") == "Guest"
    assert access.label("GUEST1", B) is None
    assert access.label("ALICE1") == "Alice"
    assert access.label("NOBODY") is None

    await access.set_favourite(A, "04A1B2C3")
    await access.set_charger_tariff(A, Tariff())
    await access.arm_learning(A, "Card", timedelta(minutes=5))
    await access.forget_charger(A)
    assert access.favourite(A) is None
    assert access.learning(A) is None
    assert access.charger_tariff(A) is None
    assert access.shares(A) == []
    assert access.bookings(A) == []
    assert access.group_of(A) is None
    assert access.group(parts["home"].group_id) is not None
    assert [s.id_tag for s in access.shares()] == ["BGUEST"]


def test_every_error_has_its_own_translation_key() -> None:
    from custom_components.webasto_chargeconnect.chargeconnect.access import errors

    classes = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, ChargeConnectError)
        and cls is not errors.AccessError
        and cls is not ChargeConnectError
    ]
    keys = [cls.translation_key for cls in classes]
    assert len(classes) == 11
    assert len(set(keys)) == len(keys)
    assert "unknown_error" not in keys
    assert all(issubclass(cls, errors.AccessError) for cls in classes)
    assert errors.format_moment(datetime(2026, 5, 1, 10, 0)) == "2026-05-01 10:00 UTC"
