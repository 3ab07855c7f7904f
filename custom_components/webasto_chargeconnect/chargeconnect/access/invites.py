"""The guest side of :class:`~.control.AccessControl`: personal links, acceptance, charger codes.

A mixin, so that the one writer of the access state stays one class while its module stays
small: it changes the same state, saves through the same ``_save`` and reads the same clock.
The decisions are the pure functions of :mod:`.guest`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from . import guest
from .errors import UnknownGroupError, UnknownMemberError, UnknownShareError
from .links import hash_token, new_code, new_token
from .models import Member

if TYPE_CHECKING:
    from .state import AccessState


class GuestAccess:
    """Personal links of shares and members, accepting invitations, Scan & Charge codes."""

    if TYPE_CHECKING:
        _state: AccessState

        def _now(self) -> datetime: ...

        async def _save(self) -> None: ...

    # ------------------------------------------------------------------ links

    async def issue_share_link(self, share_id: str) -> str:
        """A new personal link token for a share; the share's previous link dies at once.

        Only the token's hash is kept: the token returned here is the one chance to see it.
        """
        share = self._state.shares.get(share_id)
        if share is None:
            raise UnknownShareError(share_id)
        token = new_token()
        self._state.shares[share_id] = replace(
            share, link_hash=hash_token(token), link_issued=self._now()
        )
        await self._save()
        return token

    def _require_member(self, group_id: str, member_id: str) -> Member:
        group = self._state.groups.get(group_id)
        if group is None:
            raise UnknownGroupError(group_id)
        member = group.member(member_id)
        if member is None:
            raise UnknownMemberError(group_id, member_id)
        return member

    async def _put_member(self, group_id: str, member: Member) -> None:
        group = self._state.groups[group_id]
        members = [member if m.member_id == member.member_id else m for m in group.members]
        self._state.groups[group_id] = replace(group, members=members)
        await self._save()

    async def issue_member_link(self, group_id: str, member_id: str) -> str:
        """A new personal link token for a group member; the previous one dies at once."""
        member = self._require_member(group_id, member_id)
        token = new_token()
        updated = replace(member, link_hash=hash_token(token), link_issued=self._now())
        await self._put_member(group_id, updated)
        return token

    async def accept_invitation(self, group_id: str, member_id: str) -> Member:
        """The member accepted the group's invitation: their tags authorize from now on."""
        member = self._require_member(group_id, member_id)
        if not member.accepted:
            member = replace(member, accepted=True)
            await self._put_member(group_id, member)
        return member

    # ------------------------------------------------------------------ charger codes

    async def charger_code(self, charger: str) -> str:
        """The charger's Scan & Charge code (made, and saved, on first use)."""
        code = self._state.charger_codes.get(charger)
        if code is None:
            taken = set(self._state.charger_codes.values())
            code = new_code()
            while code in taken:  # pragma: no cover - 96 random bits
                code = new_code()
            self._state.charger_codes[charger] = code
            await self._save()
        return code

    def charger_for_code(self, code: str) -> str | None:
        """The charger a Scan & Charge code names, or None."""
        return next((c for c, known in self._state.charger_codes.items() if known == code), None)

    # ------------------------------------------------------------------ the guest's view

    def guest_person(self, token: str) -> guest.Person:
        """Whose personal link this is (raises :class:`~.guest.GuestRefusedError`)."""
        return guest.identify(self._state, token, self._now())

    def guest_code_person(self, charger: str, access_code: str) -> guest.Person:
        """Whom an access code at ``charger`` names (raises ``GuestRefusedError``)."""
        return guest.code_person(self._state, charger, access_code, self._now())

    def guest_check(self, person: guest.Person) -> None:
        """Raise ``GuestRefusedError`` once an access-code person may no longer charge."""
        guest.check_code_person(self._state, person, self._now())

    def guest_grants(self, person: guest.Person) -> list[guest.Grant]:
        """The chargers the person sees now (:func:`.guest.grants`)."""
        return guest.grants(self._state, person, self._now())

    def guests(self, charger: str) -> list[guest.Guest]:
        """Who may charge at ``charger`` by share or group, and who accepted (the owner's view)."""
        return guest.guests_of(self._state, charger, self._now())

    def guest_invitations(self, person: guest.Person) -> list[guest.Invitation]:
        """The invitation a member has still to accept."""
        return guest.invitations(self._state, person)
