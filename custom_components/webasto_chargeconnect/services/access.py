"""Actions on who may charge and what it costs: tags, shares, groups, tariffs, bookings.

Tags and groups are installation-wide: their actions take a charger optionally.
"""

from __future__ import annotations

from datetime import timedelta

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ..chargeconnect.models import Tariff
from ..compat import vol
from ..const import DOMAIN
from ..coordinator import device_name
from ..owner import ChargerOwner
from .common import (
    ATTR_ID_TAG,
    ATTR_NOTIFY,
    NOTIFY,
    OPTIONAL_TEXT,
    TAG,
    TARGET,
    TEXT,
    aware,
    get_access,
    invalid,
    optional_owner,
    resolve_owner,
)
from .guest import async_invite_member, member_link, share_link
from .notify import async_notify, async_texts, language

ATTR_ALIAS = "alias"
ATTR_FAVOURITE = "favourite"
ATTR_DURATION = "duration"
ATTR_NAME = "name"
ATTR_EMAIL = "email"
ATTR_EXPIRY = "expiry"
ATTR_SHARE_ID = "share_id"
ATTR_GROUP_ID = "group_id"
ATTR_ADDRESS = "address"
ATTR_MEMBER_ID = "member_id"
ATTR_TAGS = "tags"
ATTR_CURRENCY = "currency"
ATTR_FIXED_FEE = "fixed_fee"
ATTR_PRICE = "price_per_kwh"
ATTR_START = "start"
ATTR_END = "end"
ATTR_NOTE = "note"
ATTR_BOOKING_ID = "booking_id"

_MONEY = vol.All(vol.Coerce(float), vol.Range(min=0, max=10000))
_EMAIL = vol.Any("", vol.Email())
_ID_TAG = vol.Schema({**TARGET, vol.Required(ATTR_ID_TAG): TAG})
_GROUP = vol.Schema({**TARGET, vol.Required(ATTR_GROUP_ID): cv.string})
LIST_SCHEMA = vol.Schema(TARGET)

# ---------------------------------------------------------------------------- tags
ADD_TAG_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Required(ATTR_ALIAS): TEXT,
        vol.Optional(ATTR_ID_TAG): TAG,
        vol.Optional(ATTR_FAVOURITE, default=False): cv.boolean,
    }
)
LEARN_TAG_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Required(ATTR_ALIAS): TEXT,
        vol.Optional(ATTR_DURATION, default=60): vol.All(
            vol.Coerce(int), vol.Range(min=10, max=600)
        ),
    }
)
UPDATE_TAG_SCHEMA = vol.Schema(
    {**TARGET, vol.Required(ATTR_ID_TAG): TAG, vol.Required(ATTR_ALIAS): TEXT}
)
REMOVE_TAG_SCHEMA = SET_FAVOURITE_SCHEMA = _ID_TAG


async def add_tag(call: ServiceCall) -> ServiceResponse:
    """Add an RFID tag (with its id) or a virtual one (without)."""
    owner = optional_owner(call)
    access = get_access(call.hass)
    id_tag = call.data.get(ATTR_ID_TAG)
    tag = await access.add_tag(
        call.data[ATTR_ALIAS], id_tag=id_tag, kind="rfid" if id_tag else "virtual"
    )
    if call.data[ATTR_FAVOURITE]:
        if owner is None:
            raise invalid("charger_required")
        await access.set_favourite(owner.charger.identity, tag.id_tag)
    return {"tag": tag.to_dict()}


async def learn_tag(call: ServiceCall) -> ServiceResponse:
    """Add the next unknown tag presented at the charger."""
    owner = resolve_owner(call)
    duration = timedelta(seconds=call.data[ATTR_DURATION])
    await owner.access.arm_learning(owner.charger.identity, call.data[ATTR_ALIAS], duration)
    return {"until": (dt_util.utcnow() + duration).isoformat()}


async def update_tag(call: ServiceCall) -> ServiceResponse:
    """Rename a tag."""
    tag = await get_access(call.hass).update_tag(call.data[ATTR_ID_TAG], call.data[ATTR_ALIAS])
    return {"tag": tag.to_dict()}


async def remove_tag(call: ServiceCall) -> ServiceResponse:
    """Remove a tag."""
    await get_access(call.hass).remove_tag(call.data[ATTR_ID_TAG])
    return None


async def set_favourite(call: ServiceCall) -> ServiceResponse:
    """Make a tag the one remote starts and the charging switch use at this charger."""
    owner = resolve_owner(call)
    await owner.access.set_favourite(owner.charger.identity, call.data[ATTR_ID_TAG])
    return None


async def list_tags(call: ServiceCall) -> ServiceResponse:
    """The tags, each marked whether it is the named charger's favourite."""
    owner = optional_owner(call)
    access = get_access(call.hass)
    favourite = access.favourite(owner.charger.identity) if owner is not None else None
    return {
        "tags": [
            {
                **tag.to_dict(),
                "favourite": favourite is not None and favourite.id_tag == tag.id_tag,
            }
            for tag in access.tags()
        ]
    }


# -------------------------------------------------------------------------- sharing
SHARE_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Required(ATTR_NAME): TEXT,
        vol.Optional(ATTR_EMAIL, default=""): _EMAIL,
        vol.Required(ATTR_ID_TAG): TAG,
        vol.Optional(ATTR_EXPIRY): cv.datetime,
        vol.Optional(ATTR_NOTIFY): NOTIFY,
    }
)
REVOKE_SHARE_SCHEMA = vol.Schema({**TARGET, vol.Required(ATTR_SHARE_ID): cv.string})


async def share(call: ServiceCall) -> ServiceResponse:
    """Let someone charge here with a tag, until an expiry; invite them if asked."""
    owner = resolve_owner(call)
    expiry = aware(call.data.get(ATTR_EXPIRY))
    shared = await owner.access.share(
        owner.charger.identity,
        call.data[ATTR_NAME],
        call.data[ATTR_EMAIL],
        call.data[ATTR_ID_TAG],
        expiry,
    )
    link = await share_link(call.hass, shared)
    if notify := call.data.get(ATTR_NOTIFY):
        text = await async_texts(call.hass, language(call.hass))
        until = (
            text["until"].format(time=dt_util.as_local(expiry).strftime("%Y-%m-%d %H:%M"))
            if expiry
            else ""
        )
        await async_notify(
            call.hass,
            notify,
            title=text["share_title"],
            message=text["share"].format(
                name=shared.name,
                charger=device_name(owner.charger.identity),
                tag=shared.id_tag,
                until=until,
                link=link,
            ),
        )
    return {"share": shared.to_dict(), "link": link}


async def revoke_share(call: ServiceCall) -> ServiceResponse:
    """End a share."""
    await get_access(call.hass).revoke_share(call.data[ATTR_SHARE_ID])
    return None


async def list_shares(call: ServiceCall) -> ServiceResponse:
    """The shares (of the named charger, or all)."""
    owner = optional_owner(call)
    access = get_access(call.hass)
    identity = owner.charger.identity if owner is not None else None
    return {"shares": [item.to_dict() for item in access.shares(identity)]}


# ------------------------------------------------------------------- groups, tariffs
CREATE_GROUP_SCHEMA = vol.Schema(
    {**TARGET, vol.Required(ATTR_NAME): TEXT, vol.Optional(ATTR_ADDRESS, default=""): OPTIONAL_TEXT}
)
UPDATE_GROUP_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Required(ATTR_GROUP_ID): cv.string,
        vol.Optional(ATTR_NAME): TEXT,
        vol.Optional(ATTR_ADDRESS): OPTIONAL_TEXT,
    }
)
DELETE_GROUP_SCHEMA = _GROUP
ADD_MEMBER_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Required(ATTR_GROUP_ID): cv.string,
        vol.Required(ATTR_NAME): TEXT,
        vol.Optional(ATTR_EMAIL, default=""): _EMAIL,
        vol.Optional(ATTR_TAGS, default=[]): vol.All(cv.ensure_list, [TAG]),
        vol.Optional(ATTR_NOTIFY): NOTIFY,
    }
)
REMOVE_MEMBER_SCHEMA = vol.Schema(
    {**TARGET, vol.Required(ATTR_GROUP_ID): cv.string, vol.Required(ATTR_MEMBER_ID): cv.string}
)
SET_TARIFF_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Optional(ATTR_GROUP_ID): cv.string,
        vol.Optional(ATTR_CURRENCY): vol.All(cv.string, vol.Upper, vol.Match(r"^[A-Z]{3}$")),
        vol.Optional(ATTR_FIXED_FEE, default=0.0): _MONEY,
        vol.Required(ATTR_PRICE): _MONEY,
    }
)
SET_CHARGER_GROUP_SCHEMA = vol.Schema({**TARGET, vol.Optional(ATTR_GROUP_ID): cv.string})


async def create_group(call: ServiceCall) -> ServiceResponse:
    """Create a group (and put the named charger in it)."""
    owner = optional_owner(call)
    access = get_access(call.hass)
    group = await access.create_group(call.data[ATTR_NAME], call.data[ATTR_ADDRESS])
    if owner is not None:
        await access.assign_charger(owner.charger.identity, group.group_id)
        group = access.group_of(owner.charger.identity) or group
    return {"group": group.to_dict()}


async def update_group(call: ServiceCall) -> ServiceResponse:
    """Rename a group or change its address."""
    changes = {k: call.data[k] for k in (ATTR_NAME, ATTR_ADDRESS) if k in call.data}
    group = await get_access(call.hass).update_group(call.data[ATTR_GROUP_ID], **changes)
    return {"group": group.to_dict()}


async def delete_group(call: ServiceCall) -> ServiceResponse:
    """Delete a group."""
    await get_access(call.hass).delete_group(call.data[ATTR_GROUP_ID])
    return None


async def list_groups(call: ServiceCall) -> ServiceResponse:
    """The groups."""
    return {"groups": [group.to_dict() for group in get_access(call.hass).groups()]}


async def add_member(call: ServiceCall) -> ServiceResponse:
    """Add a member, with their tags, to a group; invite them if asked (their tags charge once
    they accepted, with the link)."""
    access = get_access(call.hass)
    member = await access.add_member(
        call.data[ATTR_GROUP_ID], call.data[ATTR_NAME], call.data[ATTR_EMAIL], call.data[ATTR_TAGS]
    )
    group = access.group(call.data[ATTR_GROUP_ID])
    assert group is not None
    link = await member_link(call.hass, group, member)
    if notify := call.data.get(ATTR_NOTIFY):
        await async_invite_member(call.hass, notify, group, member, link)
    stored = access.group(group.group_id)
    current = None if stored is None else stored.member(member.member_id)
    return {"member": (current or member).to_dict(), "link": link}


async def remove_member(call: ServiceCall) -> ServiceResponse:
    """Remove a member from a group."""
    await get_access(call.hass).remove_member(call.data[ATTR_GROUP_ID], call.data[ATTR_MEMBER_ID])
    return None


async def set_tariff(call: ServiceCall) -> ServiceResponse:
    """Set the tariff of a group or of the named charger."""
    owner = optional_owner(call)
    access = get_access(call.hass)
    tariff = Tariff(
        currency=call.data.get(ATTR_CURRENCY) or str(call.hass.config.currency),
        fixed_fee=call.data[ATTR_FIXED_FEE],
        price_per_kwh=call.data[ATTR_PRICE],
    )
    if group_id := call.data.get(ATTR_GROUP_ID):
        await access.set_group_tariff(group_id, tariff)
    elif owner is not None:
        await access.set_charger_tariff(owner.charger.identity, tariff)
    else:
        raise invalid("tariff_target_required")
    return {"tariff": tariff.to_dict()}


async def set_charger_group(call: ServiceCall) -> ServiceResponse:
    """Put the named charger in a group (or in none)."""
    owner = resolve_owner(call)
    await owner.access.assign_charger(owner.charger.identity, call.data.get(ATTR_GROUP_ID) or None)
    return None


# ------------------------------------------------------------------------- bookings
ADD_BOOKING_SCHEMA = vol.Schema(
    {
        **TARGET,
        vol.Required(ATTR_ID_TAG): TAG,
        vol.Required(ATTR_START): cv.datetime,
        vol.Required(ATTR_END): cv.datetime,
        vol.Optional(ATTR_NOTE, default=""): OPTIONAL_TEXT,
    }
)
CANCEL_BOOKING_SCHEMA = vol.Schema({**TARGET, vol.Required(ATTR_BOOKING_ID): cv.string})


async def add_booking(call: ServiceCall) -> ServiceResponse:
    """Book the named charger for a tag."""
    owner = resolve_owner(call)
    start = aware(call.data[ATTR_START])
    end = aware(call.data[ATTR_END])
    assert start is not None
    assert end is not None
    booking = await owner.access.add_booking(
        owner.charger.identity, call.data[ATTR_ID_TAG], start, end, call.data[ATTR_NOTE]
    )
    return {"booking": booking.to_dict()}


async def cancel_booking(call: ServiceCall) -> ServiceResponse:
    """Cancel a booking, and the reservation on its charger."""
    access = get_access(call.hass)
    booking_id: str = call.data[ATTR_BOOKING_ID]
    booking = next((b for b in access.bookings() if b.booking_id == booking_id), None)
    await access.cancel_booking(booking_id)
    if booking is not None:
        for entry in call.hass.config_entries.async_loaded_entries(DOMAIN):
            owner: ChargerOwner = entry.runtime_data.owner
            if owner.charger.identity == booking.charger:
                await owner.async_cancel_reservation(booking_id)
    return None
