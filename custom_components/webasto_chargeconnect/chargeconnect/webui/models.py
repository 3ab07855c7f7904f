"""What the charger's web-UI client returns and raises."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..exceptions import ChargeConnectError

MODEL_NEXT = "next"
MODEL_UNITE = "unite"


class WebUiError(ChargeConnectError):
    """The charger's web UI gave an answer we cannot use."""

    translation_key = "webui_error"

    def __init__(self, message: str, **placeholders: str) -> None:
        super().__init__(message, **{"error": message, **placeholders})


class WebUiAuthError(WebUiError):
    """The web UI refused the user name or password."""

    translation_key = "webui_auth_failed"

    def __init__(self, host: str) -> None:
        super().__init__(f"The web UI of {host} refused the user name or password", host=host)


class WebUiConnectionError(WebUiError):
    """The web UI cannot be reached (or did not answer in time)."""

    translation_key = "webui_cannot_connect"

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"Cannot reach the web UI of {host}: {reason}", host=host, reason=reason)


class WebUiNotSupportedError(WebUiError):
    """This charger's web UI has no such setting or action."""

    translation_key = "webui_not_supported"

    def __init__(self, feature: str, model: str) -> None:
        super().__init__(
            f"The {model} web UI does not offer {feature}", feature=feature, model=model
        )


@dataclass
class ChargerWebInfo:
    """What the web UI tells about the charger."""

    model: str
    serial: str | None = None
    charge_box_identity: str | None = None
    firmware: str | None = None
    backend_url: str | None = None
    backend_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialise."""
        return asdict(self)


# The settings each model's web UI has (the others stay None).
_MODEL_SETTINGS = {
    MODEL_NEXT: ("free_charging", "free_charging_tag", "led_brightness"),
    MODEL_UNITE: ("free_charging", "free_charging_tag", "led_dimming_level"),
}


@dataclass(frozen=True, kw_only=True)
class WebUiSettings:
    """The settings read from the charger's web UI (None: not offered, or not readable)."""

    model: str  # the web UI they were read from: ``next`` or ``unite``
    free_charging: bool | None = None
    free_charging_tag: str | None = None
    led_brightness: int | None = None  # the Next, 0-100 %
    led_dimming_level: str | None = None  # the Unite, its own level name

    def to_dict(self) -> dict[str, Any]:
        """The settings this model's web UI has, by name (for diagnostics)."""
        return {name: getattr(self, name) for name in _MODEL_SETTINGS[self.model]}


def parse_bool(value: Any) -> bool | None:
    """Web-UI booleans: JSON true/false, "true"/"TRUE", "on"/"off", 1/0."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("true", "1", "on", "yes", "enabled"):
        return True
    if text in ("false", "0", "off", "no", "disabled"):
        return False
    return None
