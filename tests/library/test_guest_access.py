"""Library tests of guest access: links, invitations, charger codes, grants, guessing limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path

import pytest

from custom_components.webasto_chargeconnect.chargeconnect import JsonFileStore, MemoryStore
from custom_components.webasto_chargeconnect.chargeconnect.access import (
    AccessControl,
    AttemptLimiter,
    GuestRefusedError,
    UnknownGroupError,
    UnknownMemberError,
    UnknownShareError,
)
from custom_components.webasto_chargeconnect.chargeconnect.access.guest import may_stop
from custom_components.webasto_chargeconnect.chargeconnect.access.links import (
    find_hash,
    hash_token,
    new_token,
)

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
A, B, C = "NEXT-WS000001", "NEXT-WS000002", "UNITE-000003"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def access(clock: Clock) -> AccessControl:
    control = AccessControl(MemoryStore(), clock=clock)
    await control.load()
    return control


def refused(access: AccessControl, token: str) -> str:
    with pytest.raises(GuestRefusedError) as err:
        access.guest_person(token)
    return err.value.code


def test_tokens_are_random_and_only_hashes_match() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    token = next(iter(tokens))
    assert len(token) >= 43  # 32 bytes, URL-safe base64
    digest = hash_token(token)
    assert len(digest) == 64
    assert token not in digest
    assert find_hash(token, [None, "0" * 64, digest]) == digest
    assert find_hash(token[:-1] + ("A" if token[-1] != "A" else "B"), [digest]) is None
    # Not even hashed: not the shape of a token.
    assert find_hash("", [digest]) is None
    assert find_hash("x" * 500, [digest]) is None
    assert find_hash("../../etc", [digest]) is None


async def test_share_link_renewal_revocation_expiry(access: AccessControl, clock: Clock) -> None:
    share = await access.share(A, "Anna", "anna@example.com", "ANNA1", T0 + 2 * H)
    with pytest.raises(GuestRefusedError):
        access.guest_person("")
    token = await access.issue_share_link(share.share_id)
    person = access.guest_person(token)
    assert (person.kind, person.name, person.tags, person.share_id) == (
        "share",
        "Anna",
        ("ANNA1",),
        share.share_id,
    )
    # Stored: the hash, never the token.
    stored = json.dumps(access.to_dict())
    assert token not in stored
    assert hash_token(token) in stored
    assert access.shares()[0].to_dict()["link_issued"] == T0.isoformat()
    assert "link_hash" not in access.shares()[0].to_dict()

    renewed = await access.issue_share_link(share.share_id)
    assert renewed != token
    assert refused(access, token) == "invalid_link"
    assert access.guest_person(renewed).share_id == share.share_id

    grants = access.guest_grants(access.guest_person(renewed))
    assert [(g.charger, g.via, g.until, g.id_tag, g.may_start) for g in grants] == [
        (A, "share", T0 + 2 * H, "ANNA1", True)
    ]
    clock.now = T0 + 2 * H
    assert refused(access, renewed) == "expired"

    other = await access.share(B, "Ben", "", "BEN1", None)
    ben = await access.issue_share_link(other.share_id)
    await access.revoke_share(other.share_id)
    assert refused(access, ben) == "revoked"
    with pytest.raises(UnknownShareError):
        await access.issue_share_link(other.share_id)
    assert refused(access, new_token()) == "invalid_link"


async def test_member_invitation_acceptance_and_removal(access: AccessControl) -> None:
    group = await access.create_group("Family")
    await access.assign_charger(A, group.group_id)
    await access.assign_charger(B, group.group_id)
    await access.add_tag("Owner", "OWNER1")
    carol = await access.add_member(group.group_id, "Carol", "c@example.com", ["CAROL1"])
    assert (carol.accepted, carol.joined) == (False, T0)
    token = await access.issue_member_link(group.group_id, carol.member_id)
    person = access.guest_person(token)
    assert (person.kind, person.group_id, person.accepted) == ("member", group.group_id, False)
    # Before accepting: sees the chargers, may start none, the tag does not authorize.
    assert [(g.charger, g.why_not) for g in access.guest_grants(person)] == [
        (A, "not_accepted"),
        (B, "not_accepted"),
    ]
    assert [i.group for i in access.guest_invitations(person)] == ["Family"]
    assert access.authorize(A, "CAROL1").status == "Invalid"
    assert not any(e["idTag"] == "CAROL1" for e in access.local_list(A))
    with pytest.raises(GuestRefusedError) as err:
        access.guest_code_person(A, "carol1")
    assert err.value.code == "not_accepted"

    await access.accept_invitation(group.group_id, carol.member_id)
    person = access.guest_person(token)
    assert person.accepted
    assert access.guest_invitations(person) == []
    assert [(g.charger, g.may_start, g.id_tag) for g in access.guest_grants(person)] == [
        (A, True, "CAROL1"),
        (B, True, "CAROL1"),
    ]
    assert access.authorize(A, "CAROL1").reason == "group"
    assert any(e["idTag"] == "CAROL1" for e in access.local_list(A))
    assert access.guest_code_person(A, "carol1").tags == ("CAROL1",)

    # A member without a tag sees the chargers but cannot start.
    dave = await access.add_member(group.group_id, "Dave")
    await access.accept_invitation(group.group_id, dave.member_id)
    dave_token = await access.issue_member_link(group.group_id, dave.member_id)
    assert {g.why_not for g in access.guest_grants(access.guest_person(dave_token))} == {"no_tag"}

    await access.remove_member(group.group_id, carol.member_id)
    assert refused(access, token) == "removed"
    with pytest.raises(UnknownMemberError):
        await access.accept_invitation(group.group_id, carol.member_id)
    await access.delete_group(group.group_id)
    assert refused(access, dave_token) == "removed"
    with pytest.raises(UnknownGroupError):
        await access.issue_member_link(group.group_id, dave.member_id)


async def test_bookings_in_grants_and_code_sessions(access: AccessControl, clock: Clock) -> None:
    share = await access.share(A, "Anna", "", "ANNA1", None)
    token = await access.issue_share_link(share.share_id)
    await access.add_booking(B, "ANNA1", T0 + H, T0 + 2 * H)
    await access.add_booking(A, "SOMEONE", T0 + 3 * H, T0 + 4 * H)
    anna = access.guest_person(token)
    assert [g.charger for g in access.guest_grants(anna)] == [A]
    clock.now = T0 + H
    assert [(g.charger, g.via, g.until) for g in access.guest_grants(anna)] == [
        (A, "share", None),
        (B, "booking", T0 + 2 * H),
    ]
    # A code session on the booking ends with the booking.
    at_b = access.guest_code_person(B, "anna1")
    assert (at_b.kind, at_b.charger, at_b.name) == ("tag", B, "Anna")
    assert [(g.charger, g.via) for g in access.guest_grants(at_b)] == [(B, "tag")]
    clock.now = T0 + 2 * H
    assert [g.charger for g in access.guest_grants(anna)] == [A]
    with pytest.raises(GuestRefusedError) as err:
        access.guest_check(at_b)
    assert err.value.code == "ended"
    # Someone else's booking: seen, not startable.
    clock.now = T0 + 3 * H
    assert [(g.charger, g.why_not) for g in access.guest_grants(anna)] == [(A, "booked")]
    assert may_stop(anna, "anna1")
    assert not may_stop(anna, "SOMEONE")
    assert not may_stop(anna, None)


async def test_access_codes(access: AccessControl) -> None:
    # Open mode: no code logs in (nobody is known).
    with pytest.raises(GuestRefusedError) as err:
        access.guest_code_person(A, "ANYTHING")
    assert err.value.code == "invalid_code"
    await access.add_tag("Garage card", "04AABB", kind="rfid")
    assert access.guest_code_person(A, " 04aabb ").name == "Garage card"
    with pytest.raises(GuestRefusedError):
        access.guest_code_person(A, "HomeAssistant")  # the remote-start tag is no code
    share = await access.share(A, "Eve", "", "EVE1", T0 + H)
    eve = access.guest_code_person(A, "EVE1")
    access.guest_check(eve)
    await access.revoke_share(share.share_id)
    with pytest.raises(GuestRefusedError) as err:
        access.guest_check(eve)
    assert err.value.code == "invalid_code"


async def test_charger_codes(access: AccessControl, tmp_path: Path) -> None:
    code = await access.charger_code(A)
    assert await access.charger_code(A) == code
    other = await access.charger_code(B)
    assert code != other
    assert A not in code
    assert len(code) >= 16
    assert access.charger_for_code(code) == A
    assert access.charger_for_code("nope") is None
    await access.forget_charger(A)
    assert access.charger_for_code(code) is None


async def test_store_migration_from_version_1(tmp_path: Path, clock: Clock) -> None:
    """Members stored before invitations existed stay accepted; the file becomes version 2."""
    path = tmp_path / "access.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "tags": [],
                "shares": [
                    {
                        "share_id": "s1",
                        "charger": A,
                        "name": "Old share",
                        "email": "",
                        "id_tag": "OLD1",
                        "expiry": None,
                        "created": T0.isoformat(),
                    }
                ],
                "groups": [
                    {
                        "group_id": "g1",
                        "name": "Home",
                        "chargers": [A],
                        "members": [
                            {"member_id": "m1", "name": "Alice", "email": "", "tags": ["ALICE1"]}
                        ],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    store = JsonFileStore(path)
    access = AccessControl(store, clock=clock)
    await access.load()
    alice = access.groups()[0].members[0]
    assert (alice.accepted, alice.link_hash, alice.joined) == (True, None, None)
    assert access.authorize(A, "ALICE1").reason == "group"
    assert access.shares()[0].link_hash is None
    token = await access.issue_member_link("g1", "m1")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["version"] == 2
    assert saved["groups"][0]["members"][0]["accepted"] is True
    assert saved["groups"][0]["members"][0]["link_hash"] == hash_token(token)
    restored = AccessControl(JsonFileStore(path), clock=clock)
    await restored.load()
    assert restored.to_dict() == access.to_dict()
    assert restored.guest_person(token).name == "Alice"


async def test_retired_links_survive_a_restart_and_age_out(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "access.json"
    access = AccessControl(JsonFileStore(path), clock=clock)
    share = await access.share(A, "Anna", "", "ANNA1", None)
    token = await access.issue_share_link(share.share_id)
    await access.revoke_share(share.share_id)
    restored = AccessControl(JsonFileStore(path), clock=clock)
    await restored.load()
    assert refused(restored, token) == "revoked"
    clock.now = T0 + timedelta(days=400)
    await restored.add_tag("Touch", "TOUCH")  # any save prunes
    assert refused(restored, token) == "invalid_link"


def test_attempt_limiter() -> None:
    now = [1000.0]
    limiter = AttemptLimiter(limit=5, window=60.0, clock=lambda: now[0], max_keys=3)
    for _ in range(4):
        limiter.failed(("ip", "1.2.3.4"), ("charger", "A"))
        now[0] += 1
    assert limiter.retry_after(("ip", "1.2.3.4")) is None
    limiter.failed(("ip", "1.2.3.4"), ("charger", "A"))
    # Fifth failure at t=1004; the first (t=1000) leaves the window at 1060.
    assert limiter.retry_after(("ip", "1.2.3.4")) == 56
    # Another address at the same charger is limited too (per charger).
    assert limiter.retry_after(("ip", "5.6.7.8"), ("charger", "A")) == 56
    assert limiter.retry_after(("ip", "5.6.7.8"), ("charger", "B")) is None
    now[0] = 1060.5
    assert limiter.retry_after(("ip", "1.2.3.4")) is None
    # Bounded memory: the least recently failed keys go first.
    for key in ("k1", "k2", "k3", "k4"):
        limiter.failed(key)
    assert limiter.retry_after("k1") is None
    assert len(limiter._failures) == 3
