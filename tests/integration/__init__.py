"""Tests of the integration: Home Assistant with a real OCPP server and simulated chargers."""
