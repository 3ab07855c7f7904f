"""HACS and hassfest requirements on manifest.json, hacs.json and the brand icons."""

from __future__ import annotations

import json
from pathlib import Path
import re

from PIL import Image

from custom_components.webasto_chargeconnect.const import DOMAIN

ROOT = Path(__file__).parents[2]
COMPONENT = ROOT / "custom_components" / DOMAIN


def test_manifest() -> None:
    """The keys hassfest and HACS require, with sane values."""
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    assert manifest["domain"] == DOMAIN
    for key in ("name", "documentation", "issue_tracker", "codeowners", "version"):
        assert manifest[key], key
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "local_push"
    assert manifest["integration_type"] == "device"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert all(c.startswith("@") for c in manifest["codeowners"])
    # Requirements are pinned and the same pins the test stack installs.
    tests = (ROOT / "requirements_test.txt").read_text()
    for requirement in manifest["requirements"]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", requirement), requirement
        assert requirement in tests


def test_hacs_json() -> None:
    """hacs.json names the integration and the minimum Home Assistant version."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == "Webasto ChargeConnect"
    assert re.fullmatch(r"20\d\d\.\d+\.\d+", hacs["homeassistant"])
    assert set(hacs) <= {"name", "homeassistant", "render_readme", "content_in_root", "zip_release"}


def test_brand_icons() -> None:
    """256 and 512 px square PNGs, ready for the brands repository."""
    folder = ROOT / "docs" / "brands" / DOMAIN
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        with Image.open(folder / name) as image:
            assert image.format == "PNG"
            assert image.size == (size, size)
            assert image.mode in ("RGBA", "LA", "P")


def test_quality_scale_is_structured() -> None:
    """Each rule is a status, or {status, comment}; every exemption says why (hassfest's form)."""
    import yaml

    rules = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text())["rules"]
    # The rules of the scale's Bronze tier as of 2026-07 are all answered, the new ones included.
    assert {"docs-triggers", "docs-conditions", "action-setup", "runtime-data"} <= set(rules)
    for rule, value in rules.items():
        if isinstance(value, str):
            assert value in {"done", "todo"}, f"{rule}: an exemption needs a comment"
            continue
        assert set(value) == {"status", "comment"}, rule
        assert value["status"] in {"done", "todo", "exempt"}, rule
        assert value["comment"].strip(), rule
