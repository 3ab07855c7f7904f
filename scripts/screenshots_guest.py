"""The script behind scripts/screenshots_guest: the README's pictures of the guest page.

The pictures come from the browser test itself:
``tests/integration/test_guest_browser.py::test_screenshots`` sets up Home Assistant with its
real HTTP server and a simulated Webasto NEXT, shares the charger, and drives Debian's headless
Chromium (through tests/integration/browser.py, the same steps the
other browser tests check) on a 390 x 844 phone viewport, in English and Dutch:

    docs/screenshots/guest-en-chargers.png   the chargers this person may use
    docs/screenshots/guest-en-session.png    their running session (power, energy, cost)
    docs/screenshots/guest-nl-*.png          the same in Dutch
    docs/screenshots/guest-qr-sticker.png    the A6 sticker of get_charger_qr, from its PDF

The test writes the sticker's PDF next to them; this script renders it to PNG with pdftoppm
(poppler-utils) and removes the PDF. Run it through scripts/screenshots_guest, which creates
the venv first.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "docs" / "screenshots"
TEST = "tests/integration/test_guest_browser.py::test_screenshots"
STICKER = "guest-qr-sticker"
APT = ["apt-get", "install", "-y", "--no-install-recommends"]


class ScreenshotError(Exception):
    """Something went wrong; printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/screenshots_guest",
        description=(
            "Take the README's screenshots of the guest page (docs/screenshots/guest-*.png) "
            f"with the browser test {TEST}: Home Assistant's HTTP server, a simulated charger "
            "and Debian's headless Chromium on a phone viewport."
        ),
    )
    parser.add_argument(
        "--ha",
        choices=["2025.4", "newest"],
        default=os.environ.get("WCC_HA", "2025.4"),
        help="the Home Assistant to run the test on (as scripts/test --ha; default 2025.4)",
    )
    parser.add_argument(
        "--install",
        action="store_true",
        help="install Chromium and poppler-utils (pdftoppm) with apt-get if they are missing",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT_DIR,
        help="where to save the PNGs (default docs/screenshots)",
    )
    return parser


def ensure(binary: str, package: str, install: bool) -> str:
    """The path of a Debian tool; installs its package only when --install was given."""
    found = shutil.which(binary)
    if found:
        return found
    command = [*APT, package] if os.geteuid() == 0 else ["sudo", *APT, package]
    if not install:
        raise ScreenshotError(
            f"{binary} is missing. Install it with:\n    {' '.join(command)}\n"
            "or run scripts/screenshots_guest --install to have it run that command."
        )
    print(f"{binary} is missing; installing it: {' '.join(command)}", flush=True)
    if subprocess.run(command, check=False).returncode != 0 or not shutil.which(binary):
        raise ScreenshotError(f"installing {package} failed ({' '.join(command)})")
    return shutil.which(binary) or binary


def take(out: Path) -> list[Path]:
    """Run the screenshot test into a scratch folder, then move the pictures to ``out``."""
    with tempfile.TemporaryDirectory(prefix="wcc-guest-shots-") as scratch:
        env = {**os.environ, "WCC_GUEST_SCREENSHOTS": scratch}
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:sugar",
            "-q",
            "-n",
            "0",
            "--no-cov",
            TEST,
        ]
        print("$ " + " ".join(command), flush=True)
        if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode != 0:
            raise ScreenshotError(f"{TEST} failed; no screenshots were saved")
        folder = Path(scratch)
        pdf = folder / f"{STICKER}.pdf"
        if pdf.is_file():
            pdftoppm = ensure("pdftoppm", "poppler-utils", install=False)
            subprocess.run(
                [pdftoppm, "-png", "-r", "110", "-singlefile", str(pdf), str(folder / STICKER)],
                check=True,
            )
            pdf.unlink()
        out.mkdir(parents=True, exist_ok=True)
        saved = []
        for picture in sorted(folder.glob("guest-*.png")):
            target = out / picture.name
            shutil.copyfile(picture, target)
            saved.append(target)
    return saved


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        ensure("chromium", "chromium", args.install)
        ensure("pdftoppm", "poppler-utils", args.install)
        saved = take(args.out.resolve())
    except ScreenshotError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in saved:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"saved {shown} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
