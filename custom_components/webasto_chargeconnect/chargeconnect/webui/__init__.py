"""Client for the JSON API behind the charger's own web UI (``https://<charger>/api``).

What is known comes from community reverse engineering (see docs/webasto.md, section
"Web-UI API as implemented"): a JWT login with the web UI's ``admin`` account and a
self-signed certificate on both models, then two different surfaces:

- Webasto Next: configuration grouped in sections (``GET /api/sections/{key}``), each
  field ``{fieldKey, value, configurationFieldType, permission, ...}``, written with
  ``POST /api/configuration-updates`` and a per-type ``configurationFieldUpdateType``.
- Webasto / Ampure Unite (Vestel EVC04 inside): one flat list of
  ``{fieldKey: "<table>.<column>", value}`` at ``GET /api/configuration-fields/``,
  written with the same update endpoint but without an update type.

A small adapter per model hides the difference. Nothing is written to a field the
charger did not list: an assumed field name that is wrong fails with
:class:`WebUiNotSupportedError` instead of a blind write.
"""

from .client import WebUiClient
from .models import (
    MODEL_NEXT,
    MODEL_UNITE,
    ChargerWebInfo,
    WebUiAuthError,
    WebUiConnectionError,
    WebUiError,
    WebUiNotSupportedError,
    WebUiSettings,
    parse_bool,
)

__all__ = [
    "MODEL_NEXT",
    "MODEL_UNITE",
    "ChargerWebInfo",
    "WebUiAuthError",
    "WebUiClient",
    "WebUiConnectionError",
    "WebUiError",
    "WebUiNotSupportedError",
    "WebUiSettings",
    "parse_bool",
]
