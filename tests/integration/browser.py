"""Headless Chromium for the guest page: start it, open a phone, drive the page.

Debian's Chromium (/usr/bin/chromium; scripts/_chromium.sh installs it), driven with
playwright's Python package pointed at that binary: nothing downloads a browser. Shared by
tests/test_guest_browser.py and scripts/screenshots_guest, so the screenshots in the README come
from the same steps the test checks.

The page's own texts come from its i18n.json, so a step can find a button by the words a person
sees in any of the page's languages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import json
import os
from pathlib import Path
import re
from typing import Any

from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]
PHONE = {"width": 390, "height": 844}  # a current phone, CSS pixels
STATIC = (
    Path(__file__).resolve().parent.parent.parent
    / "custom_components"
    / "webasto_chargeconnect"
    / "guest"
    / "static"
)
TIMEOUT_MS = 20_000  # for every wait, expect() included: the page polls every 3 s, CI is busy
expect.set_options(timeout=TIMEOUT_MS)


class ChromiumMissing(RuntimeError):
    """Chromium is not installed: say how to get it."""


def strings(lang: str) -> dict[str, str]:
    """The page's strings in one language (its i18n.json)."""
    table: dict[str, dict[str, str]] = json.loads((STATIC / "i18n.json").read_text("utf-8"))
    return table[lang]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's headless Chromium, closed at the end."""
    if not os.access(CHROMIUM, os.X_OK):
        raise ChromiumMissing(
            f"{CHROMIUM} is missing: run scripts/_chromium.sh (as root) or "
            "apt-get install -y --no-install-recommends chromium"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def phone(
    browser: Browser, locale: str = "en-GB", color_scheme: str = "light", scale: float = 1
) -> AsyncIterator[GuestPhone]:
    """A fresh phone (its own cookies) in a language, with the guest page's driver."""
    context = await browser.new_context(
        viewport=PHONE,  # type: ignore[arg-type]
        device_scale_factor=scale,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        color_scheme=color_scheme,  # type: ignore[arg-type]
        reduced_motion="reduce",
        service_workers="block",
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        yield GuestPhone(context, page, locale.split("-", maxsplit=1)[0])
    finally:
        await context.close()


class GuestPhone:
    """The guest page in one phone's browser, driven as a person would: by what it shows."""

    def __init__(self, context: BrowserContext, page: Page, lang: str) -> None:
        self.context = context
        self.page = page
        self.lang = lang
        self.text = strings(lang)
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message: Any) -> None:
        # A 4xx answer is how the API says "log in first"; the browser logs it as an error.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(f"console: {message.text}")

    def t(self, key: str, **values: Any) -> str:
        text = self.text[key]
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    # ------------------------------------------------------------------ reading
    def card(self, name: str) -> Locator:
        """A charger's card, by the name it shows."""
        return self.page.locator("article.charger").filter(
            has=self.page.get_by_role("heading", name=name, exact=True)
        )

    def field(self, name: str, field: str) -> Locator:
        return self.card(name).locator(f'[data-field="{field}"]')

    async def wait_screen(self, screen: str) -> None:
        await expect(self.page.locator(f'main [data-screen="{screen}"]').first).to_be_visible()

    # ------------------------------------------------------------------ doing
    async def open(self, url: str) -> None:
        await self.page.goto(url)
        await expect(self.page.locator("main")).to_have_attribute("aria-busy", "false")
        await expect(self.page.locator("#loading")).to_have_count(0)

    async def wait_chargers(self, *names: str) -> None:
        for name in names:
            await expect(self.card(name)).to_be_visible()

    async def start(
        self, name: str, odometer: int | None = None, vehicle: str | None = None
    ) -> None:
        card = self.card(name)
        if odometer is not None or vehicle is not None:
            await card.get_by_text(self.t("drivers_log")).click()
            if odometer is not None:
                await card.get_by_label(self.t("odometer")).fill(str(odometer))
            if vehicle is not None:
                await card.get_by_label(self.t("vehicle")).fill(vehicle)
        await card.get_by_role("button", name=self.t("start")).click()

    async def wait_session(self, name: str) -> None:
        await expect(self.field(name, "power")).to_be_visible()

    async def wait_above(self, name: str, field: str, value: float) -> float:
        """Wait (on the page's own polling) until a session figure shows more than ``value``
        (in the unit the page shows: kW, kWh, the currency); returns the figure."""
        await self.wait_session(name)
        # Looked up afresh on every try: the page rebuilds a card when its status changes.
        await self.page.wait_for_function(
            """([name, field, value]) => {
                const card = [...document.querySelectorAll("article.charger")].find(
                    (el) => el.querySelector("h3")?.textContent === name);
                const el = card?.querySelector(`[data-field="${field}"]`);
                if (!el) return false;
                const number = el.textContent.replace(/[^\\d,.]/g, "").replace(",", ".");
                return parseFloat(number) > value;
            }""",
            arg=[name, field, value],
        )
        text = await self.field(name, field).inner_text()
        return float(re.sub(r"[^\d,.]", "", text).replace(",", "."))

    async def wait_power_above(self, name: str, watts: float) -> float:
        """Wait until the running session shows more than ``watts``; returns what it shows, W."""
        return await self.wait_above(name, "power", watts / 1000) * 1000

    async def stop(self, name: str) -> None:
        await self.card(name).get_by_role("button", name=self.t("stop")).click()

    async def wait_startable(self, name: str) -> None:
        await expect(self.card(name).get_by_role("button", name=self.t("start"))).to_be_enabled()

    async def enter_code(self, code: str) -> None:
        await self.page.get_by_label(self.t("code_label")).fill(code)
        await self.page.get_by_role("button", name=self.t("code_submit")).click()

    async def accept(self) -> None:
        await self.page.get_by_role("button", name=self.t("accept")).first.click()

    async def screenshot(self, path: Path, full_page: bool = True) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path
