"""The integration's actions: one table, one row per action, one registration loop.

Each row says the action's name, schema, handler, whether it returns data and who may call it.
The handlers live in ``charger`` (the charger's configuration, firmware, starting a session),
``access`` (tags, shares, groups, tariffs, bookings) and ``sessions`` (the archive); they name
their charger through ``common.resolve_entry``, and every library error they raise reaches the
user translated, through ``_translated``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)

from ..chargeconnect import ChargeConnectError
from ..compat import register_admin_service, vol
from ..const import DOMAIN
from ..helpers import to_ha_error
from . import access, charger, guest, sessions

type ActionHandler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]

_NONE = SupportsResponse.NONE
_OPTIONAL = SupportsResponse.OPTIONAL
_ONLY = SupportsResponse.ONLY


@dataclass(frozen=True, slots=True)
class Service:
    """One action.

    ``admin=True``: only administrators may call it (and automations and scripts, which run
    without a user); a household user gets ``Unauthorized``. ``admin=False``: every user.
    """

    name: str
    schema: vol.Schema
    handler: ActionHandler
    response: SupportsResponse
    admin: bool


# Who may call which action. Administrators only (admin=True): everything that decides who may
# charge (tags, learn mode, shares, groups and their members, bookings), what they pay (tariffs,
# a charger's group), what the charger does (its OCPP configuration, firmware) or what the
# archive says (a session's driver's log). Every user (admin=False): the reads (list_*,
# get_configuration without the OCPP password, get_sessions, export_sessions, which writes a
# report of the archive into the exports folder) and starting a session, as the charging switch
# does. Automations and scripts run without a user and may call all of them.
SERVICES: tuple[Service, ...] = (
    # ------------------------------------------------------------------- the charger
    Service(
        "get_configuration",
        charger.GET_CONFIGURATION_SCHEMA,
        charger.get_configuration,
        _ONLY,
        admin=False,
    ),
    Service(
        "change_configuration",
        charger.CHANGE_CONFIGURATION_SCHEMA,
        charger.change_configuration,
        _OPTIONAL,
        admin=True,
    ),
    Service(
        "update_firmware",
        charger.UPDATE_FIRMWARE_SCHEMA,
        charger.update_firmware,
        _NONE,
        admin=True,
    ),
    # starting (and stopping, with the charging switch) stays with the household
    Service(
        "start_charging",
        charger.START_CHARGING_SCHEMA,
        charger.start_charging,
        _NONE,
        admin=False,
    ),
    # -------------------------------------------------------------------------- tags
    Service("add_tag", access.ADD_TAG_SCHEMA, access.add_tag, _OPTIONAL, admin=True),
    Service("learn_tag", access.LEARN_TAG_SCHEMA, access.learn_tag, _OPTIONAL, admin=True),
    Service("update_tag", access.UPDATE_TAG_SCHEMA, access.update_tag, _OPTIONAL, admin=True),
    Service("remove_tag", access.REMOVE_TAG_SCHEMA, access.remove_tag, _NONE, admin=True),
    # the favourite is the tag remote starts and the charging switch use
    Service(
        "set_favourite_tag", access.SET_FAVOURITE_SCHEMA, access.set_favourite, _NONE, admin=True
    ),
    Service("list_tags", access.LIST_SCHEMA, access.list_tags, _ONLY, admin=False),
    # ----------------------------------------------------------------------- sharing
    Service("share_charger", access.SHARE_SCHEMA, access.share, _OPTIONAL, admin=True),
    Service("revoke_share", access.REVOKE_SHARE_SCHEMA, access.revoke_share, _NONE, admin=True),
    Service("list_shares", access.LIST_SCHEMA, access.list_shares, _ONLY, admin=False),
    # --------------------------------------------------------------- groups, tariffs
    Service("create_group", access.CREATE_GROUP_SCHEMA, access.create_group, _OPTIONAL, admin=True),
    Service("update_group", access.UPDATE_GROUP_SCHEMA, access.update_group, _OPTIONAL, admin=True),
    Service("delete_group", access.DELETE_GROUP_SCHEMA, access.delete_group, _NONE, admin=True),
    Service("list_groups", access.LIST_SCHEMA, access.list_groups, _ONLY, admin=False),
    Service("add_group_member", access.ADD_MEMBER_SCHEMA, access.add_member, _OPTIONAL, admin=True),
    Service(
        "remove_group_member",
        access.REMOVE_MEMBER_SCHEMA,
        access.remove_member,
        _NONE,
        admin=True,
    ),
    Service("set_tariff", access.SET_TARIFF_SCHEMA, access.set_tariff, _OPTIONAL, admin=True),
    # the group decides the tariff and who may charge here
    Service(
        "set_charger_group",
        access.SET_CHARGER_GROUP_SCHEMA,
        access.set_charger_group,
        _NONE,
        admin=True,
    ),
    # ----------------------------------------------------------- the guest page
    # a new link decides who may charge (the old one stops working)
    Service(
        "renew_guest_link",
        guest.RENEW_LINK_SCHEMA,
        guest.renew_guest_link,
        _OPTIONAL,
        admin=True,
    ),
    # the charger's Scan & Charge link: on a sticker anyone at the charger can read
    Service("get_charger_qr", guest.CHARGER_QR_SCHEMA, guest.get_charger_qr, _ONLY, admin=False),
    # ---------------------------------------------------------------------- bookings
    Service("add_booking", access.ADD_BOOKING_SCHEMA, access.add_booking, _OPTIONAL, admin=True),
    Service(
        "cancel_booking", access.CANCEL_BOOKING_SCHEMA, access.cancel_booking, _NONE, admin=True
    ),
    # ----------------------------------------------------------------- the archive
    # rewrites the archive that exports and reimbursements are made from
    Service(
        "update_session",
        sessions.UPDATE_SESSION_SCHEMA,
        sessions.update_session,
        _OPTIONAL,
        admin=True,
    ),
    Service(
        "get_sessions", sessions.GET_SESSIONS_SCHEMA, sessions.get_sessions, _ONLY, admin=False
    ),
    Service(
        "export_sessions",
        sessions.EXPORT_SESSIONS_SCHEMA,
        sessions.export_sessions,
        _OPTIONAL,
        admin=False,
    ),
)


def _translated(handler: ActionHandler) -> ActionHandler:
    """The handler, with the library's errors turned into translated Home Assistant errors."""

    async def run(call: ServiceCall) -> ServiceResponse:
        try:
            return await handler(call)
        except ChargeConnectError as err:
            raise to_ha_error(err) from err

    return run


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, from async_setup), each as its row in SERVICES says."""
    for service in SERVICES:
        handler = _translated(service.handler)
        if service.admin:
            register_admin_service(
                hass,
                DOMAIN,
                service.name,
                handler,
                schema=service.schema,
                supports_response=service.response,
            )
        else:
            hass.services.async_register(
                DOMAIN,
                service.name,
                handler,
                schema=service.schema,
                supports_response=service.response,
            )
