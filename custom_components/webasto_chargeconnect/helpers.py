"""Turn library errors into translated Home Assistant errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import update_wrapper
from typing import Any, Concatenate

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .chargeconnect import ChargeConnectError, InvalidArgumentError, NotSupportedByChargerError
from .const import DOMAIN


def to_ha_error(err: ChargeConnectError) -> HomeAssistantError:
    """The translated Home Assistant error for a library error."""
    cls: type[HomeAssistantError] = HomeAssistantError
    if isinstance(err, (InvalidArgumentError, NotSupportedByChargerError)):
        cls = ServiceValidationError
    return cls(
        str(err),
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders={"error": str(err), **err.placeholders},
    )


def handle_errors[T, **P](
    func: Callable[Concatenate[T, P], Coroutine[Any, Any, Any]],
) -> Callable[Concatenate[T, P], Coroutine[Any, Any, None]]:
    """Decorate an entity action so library errors reach the user translated."""

    async def wrapper(self: T, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await func(self, *args, **kwargs)
        except ChargeConnectError as err:
            raise to_ha_error(err) from err

    update_wrapper(wrapper, func)
    return wrapper
