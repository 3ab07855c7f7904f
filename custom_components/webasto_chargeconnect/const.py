"""Constants of the Webasto ChargeConnect integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

from .chargeconnect.models import ConnectorStatus

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

# What the charger reports -> the enum sensors' (translated) states; the options follow.
CONNECTOR_STATUS_TO_HA: Final[dict[ConnectorStatus, str]] = {
    ConnectorStatus.AVAILABLE: "available",
    ConnectorStatus.PREPARING: "preparing",
    ConnectorStatus.CHARGING: "charging",
    ConnectorStatus.SUSPENDED_EVSE: "suspended_evse",
    ConnectorStatus.SUSPENDED_EV: "suspended_ev",
    ConnectorStatus.FINISHING: "finishing",
    ConnectorStatus.RESERVED: "reserved",
    ConnectorStatus.UNAVAILABLE: "unavailable",
    ConnectorStatus.FAULTED: "faulted",
    ConnectorStatus.UNKNOWN: "unknown",
}
STATUS_OFFLINE: Final = "offline"  # the charger is not connected
STATUS_OPTIONS: Final = [*CONNECTOR_STATUS_TO_HA.values(), STATUS_OFFLINE]
# OCPP 1.6 ChargePointErrorCode; a code outside the standard shows as other_error.
ERROR_CODE_TO_HA: Final[dict[str, str]] = {
    "NoError": "no_error",
    "ConnectorLockFailure": "connector_lock_failure",
    "EVCommunicationError": "ev_communication_error",
    "GroundFailure": "ground_failure",
    "HighTemperature": "high_temperature",
    "InternalError": "internal_error",
    "LocalListConflict": "local_list_conflict",
    "OtherError": "other_error",
    "OverCurrentFailure": "over_current_failure",
    "OverVoltage": "over_voltage",
    "PowerMeterFailure": "power_meter_failure",
    "PowerSwitchFailure": "power_switch_failure",
    "ReaderFailure": "reader_failure",
    "ResetFailure": "reset_failure",
    "UnderVoltage": "under_voltage",
    "WeakSignal": "weak_signal",
}
ERROR_CODE_OTHER: Final = "other_error"
ERROR_CODE_OPTIONS: Final = list(ERROR_CODE_TO_HA.values())
# OCPP 1.6 FirmwareStatus; another value shows as unknown.
FIRMWARE_STATUS_TO_HA: Final[dict[str, str]] = {
    "Idle": "idle",
    "Downloading": "downloading",
    "Downloaded": "downloaded",
    "DownloadFailed": "download_failed",
    "Installing": "installing",
    "Installed": "installed",
    "InstallationFailed": "installation_failed",
}
FIRMWARE_STATUS_OPTIONS: Final = list(FIRMWARE_STATUS_TO_HA.values())
# The Unite's LedDimmingLevel -> the LED select's (translated) options.
LED_DIMMING_TO_HA: Final[dict[str, str]] = {
    "veryLow": "very_low",
    "low": "low",
    "mid": "mid",
    "high": "high",
    "timeBased": "time_based",
}

# Forwarding to the charger's original backend.
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
WEBUI_SCAN_INTERVAL: Final = timedelta(minutes=2)  # the Next can take over 10 s per section
