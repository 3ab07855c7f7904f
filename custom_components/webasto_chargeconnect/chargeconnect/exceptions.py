"""Errors raised by the ChargeConnect library.

The integration maps each of these to a translated Home Assistant error; the
``translation_key`` attribute names the translation to use.
"""

from __future__ import annotations


class ChargeConnectError(Exception):
    """Base class for every error of the library."""

    translation_key = "unknown_error"

    def __init__(self, message: str, **placeholders: str) -> None:
        super().__init__(message)
        self.placeholders: dict[str, str] = placeholders


class ChargerOfflineError(ChargeConnectError):
    """The charger is not connected, so the command cannot be sent."""

    translation_key = "charger_offline"


class CallRejectedError(ChargeConnectError):
    """The charger answered the command with a refusal (Rejected, NotSupported, ...)."""

    translation_key = "call_rejected"

    def __init__(self, action: str, status: str) -> None:
        super().__init__(
            f"The charger answered {action} with {status}", action=action, status=status
        )
        self.action = action
        self.status = status


class CallTimeoutError(ChargeConnectError):
    """The charger did not answer the command in time."""

    translation_key = "call_timeout"

    def __init__(self, action: str, timeout: float) -> None:
        super().__init__(
            f"The charger did not answer {action} within {timeout:g} s",
            action=action,
            timeout=f"{timeout:g}",
        )
        self.action = action


class CallErrorResponse(ChargeConnectError):
    """The charger answered the command with an OCPP CallError."""

    translation_key = "call_error"

    def __init__(self, action: str, code: str, description: str) -> None:
        super().__init__(
            f"The charger answered {action} with CallError {code}: {description}",
            action=action,
            code=code,
            description=description,
        )
        self.action = action
        self.code = code


class NotSupportedByChargerError(ChargeConnectError):
    """The charger's model or configuration has no such feature."""

    translation_key = "not_supported"

    def __init__(self, feature: str) -> None:
        super().__init__(f"The charger does not support {feature}", feature=feature)


class InvalidArgumentError(ChargeConnectError):
    """A command argument is out of range or malformed."""

    translation_key = "invalid_argument"

    def __init__(self, message: str, **placeholders: str) -> None:
        super().__init__(message, **placeholders)
        self.detail = message


class ServerStartError(ChargeConnectError):
    """The OCPP server could not listen on the requested address."""

    translation_key = "server_start_failed"
