"""Actions of the guest page: personal links (renewal), invitations, Scan & Charge QR codes.

A personal link is shown once, when it is made (``share_charger``, ``add_group_member``,
``renew_guest_link``): only its hash is stored, so it cannot be shown again.
"""

from __future__ import annotations

import base64
import os
import re

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.helpers import config_validation as cv

from ..chargeconnect.access import Group, Member, Share
from ..compat import vol
from ..const import DOMAIN, EXPORT_DIR
from ..guest import charger_link, personal_link
from ..guest.view_model import charger_refs
from .common import TARGET, get_access, invalid, resolve_owner
from .notify import async_notify, async_texts, language

ATTR_SHARE_ID = "share_id"
ATTR_GROUP_ID = "group_id"
ATTR_MEMBER_ID = "member_id"

RENEW_LINK_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Optional(ATTR_SHARE_ID): cv.string,
        vol.Optional(ATTR_GROUP_ID): cv.string,
        vol.Optional(ATTR_MEMBER_ID): cv.string,
    }
)
CHARGER_QR_SCHEMA = vol.Schema(TARGET)


async def share_link(hass: HomeAssistant, share: Share) -> str:
    """A new personal link for a share (the old one, if any, stops working)."""
    token = await get_access(hass).issue_share_link(share.share_id)
    return personal_link(hass, token)


async def member_link(hass: HomeAssistant, group: Group, member: Member) -> str:
    """A new personal link for a group member (the old one, if any, stops working)."""
    token = await get_access(hass).issue_member_link(group.group_id, member.member_id)
    return personal_link(hass, token)


async def async_invite_member(
    hass: HomeAssistant, service: str, group: Group, member: Member, link: str
) -> None:
    """Send a member the group's invitation, with the link to accept it."""
    text = await async_texts(hass, language(hass))
    await async_notify(
        hass,
        service,
        title=text["group_title"].format(group=group.name),
        message=text["group"].format(name=member.name, group=group.name, link=link),
    )


async def renew_guest_link(call: ServiceCall) -> ServiceResponse:
    """A new personal link for a share or a member; the old link stops working at once."""
    access = get_access(call.hass)
    if share_id := call.data.get(ATTR_SHARE_ID):
        token = await access.issue_share_link(share_id)
        return {"share_id": share_id, "link": personal_link(call.hass, token)}
    group_id = call.data.get(ATTR_GROUP_ID)
    member_id = call.data.get(ATTR_MEMBER_ID)
    if not group_id or not member_id:
        raise invalid("link_target_required")
    token = await access.issue_member_link(group_id, member_id)
    return {
        "group_id": group_id,
        "member_id": member_id,
        "link": personal_link(call.hass, token),
    }


async def get_charger_qr(call: ServiceCall) -> ServiceResponse:
    """The charger's Scan & Charge link as a QR code: SVG, PNG and a printable A6 sticker."""
    # segno only here: nothing else of the integration needs it loaded.
    from ..chargeconnect.sticker import make_qr, write_sticker

    owner = resolve_owner(call)
    identity = owner.charger.identity
    code = await owner.access.charger_code(identity)
    link = charger_link(call.hass, code)
    ref = charger_refs(call.hass).get(identity)
    name = ref.name if ref is not None else identity
    caption = (await async_texts(call.hass, language(call.hass)))["sticker_caption"]
    qr = await call.hass.async_add_executor_job(make_qr, link)
    scope = re.sub(r"[^A-Za-z0-9_-]+", "_", identity)
    path = call.hass.config.path(DOMAIN, EXPORT_DIR, f"qr_{scope}.pdf")
    written = await call.hass.async_add_executor_job(write_sticker, path, name, qr, caption)
    return {
        "link": link,
        "code": code,
        "svg": qr.svg,
        "png": base64.b64encode(qr.png).decode("ascii"),
        "pdf": os.fspath(written),
    }
