"""Turn library errors into translated Home Assistant errors; register actions."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, NamedTuple, cast

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .chargeconnect import ChargeConnectError, InvalidArgumentError, NotSupportedByChargerError
from .chargeconnect.access import AccessError
from .compat import register_admin_service, vol
from .const import DOMAIN


def to_ha_error(err: ChargeConnectError) -> HomeAssistantError:
    """The translated Home Assistant error for a library error."""
    cls: type[HomeAssistantError] = HomeAssistantError
    if isinstance(err, (InvalidArgumentError, NotSupportedByChargerError, AccessError)):
        cls = ServiceValidationError
    return cls(
        str(err),
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders={"error": str(err), **err.placeholders},
    )


def handle_errors[F: Callable[..., Coroutine[Any, Any, Any]]](func: F) -> F:
    """Decorate an entity action so library errors reach the user translated."""

    @wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await func(*args, **kwargs)
        except ChargeConnectError as err:
            raise to_ha_error(err) from err

    return cast(F, wrapper)


type ActionHandler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]


class Action(NamedTuple):
    """One row of an action table: the handler, whether it returns data, who may call it.

    ``admin=True``: only administrators may call it (and automations and scripts, which run
    without a user); a household user gets ``Unauthorized``. ``admin=False``: every user.
    """

    handler: ActionHandler
    response: SupportsResponse
    admin: bool


def async_register_action(
    hass: HomeAssistant, name: str, action: Action, schema: vol.Schema
) -> None:
    """Register one of this integration's actions as its table row says."""
    if action.admin:
        register_admin_service(
            hass, DOMAIN, name, action.handler, schema=schema, supports_response=action.response
        )
    else:
        hass.services.async_register(
            DOMAIN, name, action.handler, schema=schema, supports_response=action.response
        )
