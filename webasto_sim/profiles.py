"""Charger profiles: identity, OCPP configuration and firmware quirks of each model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Profile:
    """Static description of a charger model as the simulator plays it."""

    name: str
    vendor: str
    model: str
    firmware: str
    configuration: Mapping[str, str]
    readonly_keys: frozenset[str]
    # Keys that can be written but whose value is never reported (Vestel AuthorizationKey).
    write_only_keys: frozenset[str] = frozenset()
    # Keys restricted to an enumeration; other keys are validated by the shape of their
    # default value ("true"/"false" style booleans, unsigned integers, free text).
    allowed_values: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    hardware: str = ""  # OEM platform the product is built on (informational only)
    energy_unit: str = "Wh"  # "Wh" or "kWh"
    power_unit: str = "W"  # "W" or "kW"
    lifetime_register: bool = True  # False: the energy register restarts at 0 every transaction
    initial_register_wh: float = 0.0
    boot_on_reconnect: bool = True  # False: stays silent after a reconnect until triggered
    requires_fractional_time: bool = False  # drops the link if currentTime lacks fractions
    phases: int = 3
    max_current_a: float = 16.0
    # Pretty-print CallResults and BootNotification over several lines, as Vestel
    # firmware does (the other frames it sends are compact).
    pretty_frames: bool = False
    # DataTransfer payloads the charger sends by itself right after an accepted boot.
    boot_data_transfers: tuple[Mapping[str, Any], ...] = ()


_NEXT_FEATURES = (
    "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"
)
# Reported for a Vestel EVC04 (the Unite's platform) in a configuration dump kept by a
# third-party OCPP simulator (Electric-Miles/ocpp-virtual-charge-point, vendorConfig.ts),
# and the same in the GetConfiguration of an EVC04 on firmware v3.118.0 posted in evcc
# issue 15726 (the source of the values marked "EVC04 v3.118" below).
_VESTEL_FEATURES = (
    "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"
)
# EVC04 v3.118: right after its BootNotification is accepted, the charger tells which
# meter it has (JSON text in ``data``), unprompted.
VESTEL_METER_CONFIGURATION: Mapping[str, Any] = MappingProxyType(
    {
        "vendorId": "generalConfiguration",
        "messageId": "setMeterConfiguration",
        "data": (
            '{"data":{"meters":[{"connectorId":1,"meterSerial":"","publicKey":"","type":"NONE"}]}}'
        ),
    }
)
_COMMON_READONLY = frozenset(
    {
        "GetConfigurationMaxKeys",
        "NumberOfConnectors",
        "ChargeProfileMaxStackLevel",
        "ChargingScheduleAllowedChargingRateUnit",
        "ChargingScheduleMaxPeriods",
        "MaxChargingProfilesInstalled",
        "SupportedFeatureProfiles",
        "LocalAuthListMaxLength",
        "SendLocalListMaxLength",
        "ReserveConnectorZeroSupported",
    }
)

NEXT = Profile(
    name="next",
    vendor="Webasto",
    model="Webasto Next",
    firmware="3.1.37",
    hardware="NEXT_3P22KW",
    configuration=MappingProxyType(
        {
            "HeartbeatInterval": "300",
            "MeterValueSampleInterval": "60",
            "MeterValuesSampledData": (
                "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"
            ),
            "ChargeProfileMaxStackLevel": "8",
            "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
            "MaxChargingProfilesInstalled": "10",
            "GetConfigurationMaxKeys": "50",
            "NumberOfConnectors": "1",
            "AuthorizeRemoteTxRequests": "false",
            "LocalAuthListEnabled": "true",
            # Required with LocalAuthListManagement / Reservation; the values are assumed.
            "LocalAuthListMaxLength": "100",
            "SendLocalListMaxLength": "50",
            "ReserveConnectorZeroSupported": "false",
            "StopTransactionOnInvalidId": "true",
            "StopTransactionOnEVSideDisconnect": "true",
            "ConnectionTimeOut": "60",
            "SupportedFeatureProfiles": _NEXT_FEATURES,
        }
    ),
    readonly_keys=_COMMON_READONLY,
    initial_register_wh=1_234_567.0,
    boot_on_reconnect=False,
    requires_fractional_time=True,
)

UNITE = Profile(
    name="unite",
    vendor="Webasto",
    model="Unite",
    firmware="3.187.0",
    hardware="EVC04",
    configuration=MappingProxyType(
        {
            "GetConfigurationMaxKeys": "1",
            "FreeModeActive": "FALSE",
            "FreeModeRFID": "ABCDEF01",
            "LedDimmingLevel": "mid",
            "LightIntensity": "100",
            "CurrentLimiterValue": "32",
            # EVC04 v3.118: a word, "threePhase" or "singlePhase" (never a digit).
            "CurrentLimiterPhase": "threePhase",
            "ChargingScheduleAllowedChargingRateUnit": "Current",
            "ChargeProfileMaxStackLevel": "3",
            "MaxChargingProfilesInstalled": "5",
            "ChargingScheduleMaxPeriods": "5",
            "MeterValueSampleInterval": "10",
            "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import",
            "AuthorizationKey": "",
            "DailyReboot": "FALSE",
            # EVC04 v3.118 writes most booleans TRUE/FALSE, but these as True/False.
            "LockableCable": "False",
            "ContinueChargingAfterPowerLoss": "False",
            "ContinueAfterOffPeakHour": "False",
            "SendTotalPowerValue": "FALSE",
            "BootNotificationAfterConnectionLoss": "TRUE",
            "UnlockConnectorOnEVSideDisconnect": "TRUE",
            "AuthorizeRemoteTxRequests": "FALSE",
            "HeartbeatInterval": "300",
            "NumberOfConnectors": "1",
            # Local list and reservations as in the Vestel dump (see _VESTEL_FEATURES).
            "SupportedFeatureProfiles": _VESTEL_FEATURES,
            "LocalAuthListEnabled": "TRUE",
            "LocalAuthListMaxLength": "10000",
            "SendLocalListMaxLength": "10000",
            "LocalAuthorizeOffline": "TRUE",
            "ReserveConnectorZeroSupported": "TRUE",
            # Assumed: that dump (a CPO's configuration) has FALSE; OCPP chargers mostly
            # default to TRUE.
            "StopTransactionOnInvalidId": "TRUE",
        }
    ),
    readonly_keys=_COMMON_READONLY,
    write_only_keys=frozenset({"AuthorizationKey"}),
    allowed_values=MappingProxyType(
        {
            "LedDimmingLevel": ("veryLow", "low", "mid", "high", "timeBased"),
            "CurrentLimiterPhase": ("singlePhase", "threePhase"),
        }
    ),
    lifetime_register=False,
    phases=3,
    max_current_a=32.0,
    pretty_frames=True,
    boot_data_transfers=(VESTEL_METER_CONFIGURATION,),
)

LIVE = Profile(
    name="live",
    vendor="Webasto",
    model="Webasto Live",
    firmware="5.22.1",
    hardware="CC612",
    configuration=MappingProxyType(
        {
            "HeartbeatInterval": "300",
            "MeterValueSampleInterval": "60",
            "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import",
            "GetConfigurationMaxKeys": "20",
            "ChargingScheduleAllowedChargingRateUnit": "Current",
            "ChargeProfileMaxStackLevel": "5",
            "MaxChargingProfilesInstalled": "8",
            "NumberOfConnectors": "1",
            "AuthorizeRemoteTxRequests": "true",
            "LocalAuthorizeOffline": "true",
            "StopTransactionOnEVSideDisconnect": "true",
        }
    ),
    readonly_keys=_COMMON_READONLY,
    energy_unit="kWh",
    power_unit="kW",
    initial_register_wh=98_765.0,
)

GENERIC = Profile(
    name="generic",
    vendor="ACME",
    model="Generic",
    firmware="1.0.0",
    configuration=MappingProxyType(
        {
            "HeartbeatInterval": "300",
            "MeterValueSampleInterval": "60",
            "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import",
            "GetConfigurationMaxKeys": "30",
            "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
            "ChargeProfileMaxStackLevel": "8",
            "MaxChargingProfilesInstalled": "8",
            "NumberOfConnectors": "1",
            "AuthorizeRemoteTxRequests": "false",
        }
    ),
    readonly_keys=_COMMON_READONLY,
)


def with_phases(profile: Profile, phases: int) -> Profile:
    """The profile wired to ``phases`` phases (a Vestel also says so in its configuration)."""
    configuration = dict(profile.configuration)
    if "CurrentLimiterPhase" in configuration:
        configuration["CurrentLimiterPhase"] = "singlePhase" if phases == 1 else "threePhase"
    return replace(profile, phases=phases, configuration=MappingProxyType(configuration))


# A Unite on a single-phase supply (the EVC04 then says CurrentLimiterPhase=singlePhase).
UNITE_SINGLE_PHASE = replace(with_phases(UNITE, 1), name="unite-1p")

PROFILES: dict[str, Profile] = {p.name: p for p in (NEXT, UNITE, UNITE_SINGLE_PHASE, GENERIC, LIVE)}
