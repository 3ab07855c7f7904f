"""Tests of the library and the simulator: no Home Assistant (`hass`) in them."""
