"""What every test needs, the library tests (tests/library/) and the integration tests
(tests/integration/) alike. Nothing here may need Home Assistant's ``hass``: fixtures that do
belong in tests/integration/conftest.py. Shared helpers are in tests/common.py.
"""

from __future__ import annotations

# Import before the plugin's testing_config shadows the package ("Integration not found").
import custom_components.webasto_chargeconnect  # noqa: F401
