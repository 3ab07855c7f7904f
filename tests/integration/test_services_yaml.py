"""services.yaml as Home Assistant's validator (hassfest, run by the HACS action) checks it.

hassfest validates each field's ``selector`` with ``selector.validate_selector`` and the file with
the services schema of ``homeassistant.helpers.service``; both are Home Assistant's own code, so
this runs on every tested Home Assistant version with that version's rules (for example: a number
selector's ``step`` is ``any`` or at least 0.001).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, selector, service
from homeassistant.util.yaml import load_yaml_dict
import pytest
import voluptuous as vol

from custom_components.webasto_chargeconnect.const import DOMAIN

SERVICES_YAML = Path(__file__).parents[2] / "custom_components" / DOMAIN / "services.yaml"

# hassfest's field schema for a custom integration's action that has no target (ours take a
# device_id or config_entry field instead), and the service and file schemas around it.
FIELD_SCHEMA = vol.Schema(
    {
        vol.Optional("example"): vol.All(vol.NotIn([None])),
        vol.Optional("default"): vol.All(vol.NotIn([None])),
        vol.Optional("required"): bool,
        vol.Optional("advanced"): bool,
        vol.Optional("selector"): selector.validate_selector,
        vol.Optional("name"): str,
        vol.Optional("description"): str,
    }
)
SERVICE_SCHEMA = vol.Schema(
    {
        vol.Optional("fields"): vol.Schema({str: FIELD_SCHEMA}),
        vol.Optional("name"): str,
        vol.Optional("description"): str,
    }
)
SERVICES_SCHEMA = vol.Schema({cv.slug: vol.Any(SERVICE_SCHEMA, None)})


def _services() -> dict[str, Any]:
    return load_yaml_dict(str(SERVICES_YAML))


def test_file_passes_the_validators_schema() -> None:
    """The whole file, as hassfest validates a custom integration's services.yaml."""
    SERVICES_SCHEMA(_services())


def test_file_passes_home_assistants_runtime_schema() -> None:
    """Home Assistant's own loader schema (what it applies when it reads the file)."""
    service._SERVICES_SCHEMA(_services())


@pytest.mark.parametrize(
    ("name", "field"),
    [
        (name, field)
        for name, spec in load_yaml_dict(str(SERVICES_YAML)).items()
        for field in (spec or {}).get("fields", {})
    ],
)
def test_every_field_selector_is_valid(name: str, field: str) -> None:
    """Each field's selector on its own, so a failure names the field."""
    spec = _services()[name]["fields"][field]
    assert "selector" in spec, f"{name}.{field} has no selector"
    selector.validate_selector(spec["selector"])


def test_a_too_fine_step_is_refused() -> None:
    """The validator refuses what hassfest refused (step 0.0001), so the tests above can fail."""
    with pytest.raises(vol.Invalid):
        selector.validate_selector({"number": {"min": 0, "max": 1, "step": 0.0001}})
    assert selector.validate_selector({"number": {"min": 0, "max": 1, "step": "any"}})


async def test_descriptions_load_in_home_assistant(hass: HomeAssistant) -> None:
    """Home Assistant builds the action descriptions (the UI's action editor) from the file."""
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    descriptions = await service.async_get_all_descriptions(hass)
    ours = descriptions[DOMAIN]
    assert set(ours) == set(_services())
    assert set(ours) == set(hass.services.async_services_for_domain(DOMAIN))
    price = ours["set_tariff"]["fields"]["price_per_kwh"]["selector"]["number"]
    assert price["step"] == "any"
