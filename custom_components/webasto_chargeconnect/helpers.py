"""Turn library errors into translated Home Assistant errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, cast

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .chargeconnect import ChargeConnectError, InvalidArgumentError, NotSupportedByChargerError
from .chargeconnect.access import AccessError
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
