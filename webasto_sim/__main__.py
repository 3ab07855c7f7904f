"""`python -m webasto_sim`: run simulated chargers against an OCPP 1.6J central system."""

import sys

from .cli import main

sys.exit(main())
