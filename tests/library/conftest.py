"""The library tests: the library (``chargeconnect/``) and the simulator, without Home Assistant.

No test here may request Home Assistant's ``hass`` fixture, directly or through another fixture:
such a test belongs in tests/integration/. The hook below fails it before it starts.

(The pytest-homeassistant-custom-component plugin imports ``homeassistant`` when pytest loads
it, and importing anything under ``custom_components.webasto_chargeconnect`` runs the
integration's ``__init__``, which imports Home Assistant too. So the ``homeassistant`` package is
always imported; what is guaranteed here is that Home Assistant is never started.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
FORBIDDEN = "hass"


def hass_requests(items: list[pytest.Item]) -> list[str]:
    """The library tests among ``items`` that would start Home Assistant."""
    return [
        item.nodeid
        for item in items
        if item.path.is_relative_to(HERE) and FORBIDDEN in getattr(item, "fixturenames", ())
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse the run if a library test requests ``hass`` (move it to tests/integration/)."""
    offenders = hass_requests(items)
    if offenders:
        raise pytest.UsageError(
            "tests/library/ runs without Home Assistant, but these tests request the `hass` "
            "fixture (move them to tests/integration/):\n" + "\n".join(offenders)
        )
