"""Tests of the Webasto ChargeConnect integration."""
