"""A guest's phone in tests: the guest page's API over Home Assistant's real HTTP server."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.webasto_chargeconnect.const import DOMAIN

BASE = "/webasto_chargeconnect/guest"
EXTERNAL_URL = "https://ha.example.org"


async def setup_http(hass: HomeAssistant) -> None:
    """Home Assistant's HTTP server, trusting 127.0.0.1 as a proxy (so a test can speak for
    several client addresses with X-Forwarded-For), and an external URL for the links."""
    assert await async_setup_component(
        hass,
        "http",
        {"http": {"use_x_forwarded_for": True, "trusted_proxies": ["127.0.0.1"]}},
    )
    await hass.config.async_update(external_url=EXTERNAL_URL)


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = True
) -> Any:
    """Call one of the integration's actions (as an automation: no user)."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=response
    )


def token_of(link: str) -> str:
    """The token in a personal link's fragment."""
    base, _, token = link.partition("#")
    assert base == f"{EXTERNAL_URL}{BASE}"
    return token


class Phone:
    """One browser: its own cookie jar, its own client address."""

    def __init__(self, client: Any, address: str = "192.0.2.10", lang: str = "en") -> None:
        self.client = client
        self.address = address
        self.lang = lang
        self.csrf: str | None = None

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.address, "Accept-Language": self.lang}
        if self.csrf is not None:
            headers["X-CSRF-Token"] = self.csrf
        headers.update(extra)
        return headers

    async def get(self, path: str, **headers: str) -> ClientResponse:
        response: ClientResponse = await self.client.get(
            f"{BASE}{path}", headers=self.headers(**headers)
        )
        return response

    async def post(self, path: str, body: Any, **headers: str) -> ClientResponse:
        response: ClientResponse = await self.client.post(
            f"{BASE}{path}", json=body, headers=self.headers(**headers)
        )
        return response

    async def login(self, token: str) -> ClientResponse:
        return await self.post("/api/login", {"token": token})

    async def me(self, status: int = 200) -> dict[str, Any]:
        response = await self.get("/api/me")
        data: dict[str, Any] = await response.json()
        assert response.status == status, data
        if status == 200:
            self.csrf = data["csrf"]
        return data

    async def action(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        response = await self.post(f"/api/{path}", body)
        data: dict[str, Any] = await response.json()
        assert response.status == status, data
        return data
