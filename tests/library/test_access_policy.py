"""Library tests of chargeconnect.access.policy: the decisions as pure functions of a state
and a moment (no store, no clock), and the stored form of the state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custom_components.webasto_chargeconnect.chargeconnect.access import (
    LOCAL_LIST_VERSION_MAX,
    LOCAL_LIST_VERSION_MIN,
    Booking,
    Group,
    LearnMode,
    Member,
    Share,
    Tag,
    policy,
)
from custom_components.webasto_chargeconnect.chargeconnect.access.state import AccessState

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
A, B = "NEXT-WS000001", "NEXT-WS000002"


def installation() -> AccessState:
    """An owner tag, a share at A until T0+2h, a group (A) with Alice, a booking at A
    from T0+3h to T0+4h, and A learning cards until T0+1h."""
    owner = Tag("04A1B2C3", "Owner", "rfid", T0)
    share = Share("s1", A, "Guest", "", "GUEST1", T0 + 2 * H, T0)
    alice = Member("m1", "Alice", "", ["ALICE1"])
    return AccessState(
        tags={"04a1b2c3": owner},
        learning={A: LearnMode(A, "New card", T0 + H)},
        shares={"s1": share},
        groups={"g1": Group("g1", "Home", chargers=[A], members=[alice])},
        bookings={"b1": Booking("b1", A, "BOOKER", T0 + 3 * H, T0 + 4 * H)},
    )


def test_authorize_is_a_function_of_state_and_moment() -> None:
    state = installation()
    stored = state.to_dict()
    assert policy.authorize(state, A, "guest1", T0).reason == "share"
    assert policy.authorize(state, A, "GUEST1", T0 + 2 * H).status == "Expired"
    assert policy.authorize(state, A, "ALICE1", T0).reason == "group"
    assert policy.authorize(state, B, "ALICE1", T0).status == "Invalid"
    assert policy.authorize(state, A, "ALICE1", T0 + 3 * H).status == "Blocked"
    booked = policy.authorize(state, A, "booker", T0 + 3 * H)
    assert (booked.reason, booked.expiry) == ("booking", T0 + 4 * H)
    # Learn mode: the decision names the tag to add, the state is left as it was.
    learned = policy.authorize(state, A, "NEWCARD", T0)
    assert learned.reason == "learned"
    assert learned.learned_tag == Tag("NEWCARD", "New card", "rfid", T0)
    assert policy.authorize(state, A, "NEWCARD", T0 + H).status == "Invalid"
    assert state.to_dict() == stored


def test_open_mode_and_remote_start() -> None:
    empty = AccessState()
    assert policy.is_open(empty)
    assert policy.authorize(empty, A, "ANYONE", T0).reason == "open"
    assert policy.local_list(empty, A, T0) == []
    state = installation()
    assert not policy.is_open(state)
    decision = policy.authorize(state, B, "ha-remote", T0, remote_start_tag="HA-REMOTE")
    assert decision.reason == "remote_start"


def test_local_list_and_its_version_follow_the_moment() -> None:
    state = installation()
    now = policy.local_list(state, A, T0)
    assert [entry["idTag"] for entry in now] == ["04A1B2C3", "ALICE1", "GUEST1"]
    assert now[2]["idTagInfo"] == {"status": "Accepted", "expiryDate": "2026-05-01T12:00:00.000Z"}
    during_booking = policy.local_list(state, A, T0 + 3 * H)
    assert during_booking == [
        {
            "idTag": "BOOKER",
            "idTagInfo": {"status": "Accepted", "expiryDate": "2026-05-01T14:00:00.000Z"},
        }
    ]
    assert [entry["idTag"] for entry in policy.local_list(state, B, T0)] == ["04A1B2C3"]

    version = policy.local_list_version(state, A, T0)
    assert LOCAL_LIST_VERSION_MIN <= version <= LOCAL_LIST_VERSION_MAX
    assert version == policy.list_version(now)
    assert version == policy.local_list_version(installation(), A, T0 + H)  # same content
    assert version != policy.local_list_version(state, A, T0 + 2 * H)  # the share ended


def test_next_transition_after_a_given_moment() -> None:
    state = installation()
    assert policy.next_transition(state, T0) == T0 + H  # learn mode ends
    assert policy.next_transition(state, T0 + H) == T0 + 2 * H  # the share expires
    assert policy.next_transition(state, T0 + 2 * H, A) == T0 + 3 * H
    assert policy.next_transition(state, T0 + 3 * H, A) == T0 + 4 * H
    assert policy.next_transition(state, T0 + 4 * H) is None
    assert policy.next_transition(state, T0, B) is None


def test_state_round_trip_and_prune() -> None:
    state = installation()
    state.favourites[A] = "04a1b2c3"
    restored = AccessState.from_dict(state.to_dict())
    assert restored == state
    restored.prune(T0 + 4 * H + timedelta(days=31), timedelta(days=30))
    assert restored.bookings == {}
    assert restored.learning == {}
    assert restored.tags == state.tags
