"""Constants of the Webasto ChargeConnect integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "webasto_chargeconnect"
LOGGER = logging.getLogger(__package__)

CONF_IDENTITY: Final = "identity"
CONF_SSL_CERTFILE: Final = "ssl_certfile"
CONF_SSL_KEYFILE: Final = "ssl_keyfile"
CONF_METER_INTERVAL: Final = "meter_sample_interval"
CONF_MAX_CURRENT: Final = "max_current"
CONF_REMOTE_START_TAG: Final = "remote_start_tag"

DEFAULT_PORT: Final = 8887
DEFAULT_MAX_CURRENT: Final = 32
DEFAULT_REMOTE_START_TAG: Final = "HomeAssistant"
DEFAULT_METER_INTERVAL: Final = 0  # 0: leave the charger's own setting

# The session archive, under <config>/webasto_chargeconnect/ (exports go next to it).
LEDGER_FILE: Final = "sessions.db"
EXPORT_DIR: Final = "exports"
# The card-presented event entity's event types.
CARD_EVENT_TYPES: Final = ["accepted", "blocked", "expired", "invalid", "learned"]

# How long the config flow waits for the charger to connect.
CLAIM_TIMEOUT: Final = 300.0
# Entities are written at most this often per charger (a trailing write follows).
UPDATE_THROTTLE: Final = 1.0

STATUS_OPTIONS: Final = [
    "available",
    "preparing",
    "charging",
    "suspended_evse",
    "suspended_ev",
    "finishing",
    "reserved",
    "unavailable",
    "faulted",
    "unknown",
    "offline",
]
ERROR_CODE_OPTIONS: Final = [
    "no_error",
    "connector_lock_failure",
    "ev_communication_error",
    "ground_failure",
    "high_temperature",
    "internal_error",
    "local_list_conflict",
    "other_error",
    "over_current_failure",
    "over_voltage",
    "power_meter_failure",
    "power_switch_failure",
    "reader_failure",
    "reset_failure",
    "under_voltage",
    "weak_signal",
]
FIRMWARE_STATUS_OPTIONS: Final = [
    "idle",
    "downloading",
    "downloaded",
    "download_failed",
    "installing",
    "installed",
    "installation_failed",
]

# Forwarding to the charger's original backend (issue 5).
CONF_UPSTREAM_URL: Final = "upstream_url"
CONF_UPSTREAM_USERNAME: Final = "upstream_username"
CONF_UPSTREAM_PASSWORD: Final = "upstream_password"
CONF_ALLOW_APP_CONTROL: Final = "allow_app_control"
DEFAULT_ALLOW_APP_CONTROL: Final = True
# A repair issue appears when the backend stays unreachable this long.
UPSTREAM_ISSUE_AFTER: Final = timedelta(minutes=30)
# The charger's own web UI (the Next's LED brightness and free charging).
CONF_WEBUI_HOST: Final = "webui_host"
CONF_WEBUI_PASSWORD: Final = "webui_password"
CONF_WEBUI_PORT: Final = "webui_port"
# The web UI's kind ("next" or "unite"), as the config flow found it.
CONF_WEBUI_MODEL: Final = "webui_model"
DEFAULT_WEBUI_PORT: Final = 443
CONF_HA_HOST: Final = "ha_host"
WEBUI_SCAN_INTERVAL: Final = 120  # the Next can take over 10 s per section
