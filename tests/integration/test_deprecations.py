"""The deprecation_reports fixture (tests/integration/conftest.py) really sees Home Assistant's
reports."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame
from homeassistant.loader import async_get_custom_components

from custom_components.webasto_chargeconnect.const import DOMAIN

from .conftest import DeprecationReports


async def test_frame_report_is_caught(
    hass: HomeAssistant, deprecation_reports: DeprecationReports
) -> None:
    """A real frame.report_usage naming this integration is collected (the fixture would fail)."""
    await async_get_custom_components(hass)
    frame.report_usage(
        "uses a self-test API (tests/integration/test_deprecations.py)",
        breaks_in_ha_version="2099.1",
        integration_domain=DOMAIN,
    )
    assert len(deprecation_reports.reports) == 1
    assert f"custom integration '{DOMAIN}'" in deprecation_reports.reports[0]
    assert "will stop working in Home Assistant 2099.1" in deprecation_reports.reports[0]
    deprecation_reports.reports.clear()  # Expected here: do not fail this test.


def test_only_reports_about_this_integration_are_collected(
    deprecation_reports: DeprecationReports,
) -> None:
    """Reports about other integrations, and our own ordinary warnings, are left alone."""
    logging.getLogger("homeassistant.helpers.frame").warning(
        "Detected that custom integration 'other' uses X. This will stop working in Home "
        "Assistant 2099.1, please report it"
    )
    logging.getLogger(f"custom_components.{DOMAIN}").warning("charger %s went offline", DOMAIN)
    logging.getLogger("homeassistant.const").warning(
        "FOO was used from %s, this is a deprecated constant which will be removed in HA Core "
        "2099.1. Use BAR instead",
        DOMAIN,
    )
    assert deprecation_reports.reports == [
        f"homeassistant.const: FOO was used from {DOMAIN}, this is a deprecated constant which "
        "will be removed in HA Core 2099.1. Use BAR instead"
    ]
    deprecation_reports.reports.clear()
