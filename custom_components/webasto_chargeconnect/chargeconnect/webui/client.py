"""The charger's web-UI API client: login, token lifetime, authenticated calls, public API."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from typing import Any

import aiohttp

from ..exceptions import InvalidArgumentError
from .adapters import Adapter, adapter_for
from .models import (
    MODEL_NEXT,
    MODEL_UNITE,
    ChargerWebInfo,
    WebUiAuthError,
    WebUiConnectionError,
    WebUiError,
    WebUiNotSupportedError,
    WebUiSettings,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0  # the Next can take well over 10 s for /api/sections/system
# Used when a token carries no readable iat/exp (reported lifetime: about an hour).
DEFAULT_TOKEN_LIFETIME = 3600.0


def _token_lifetime(token: str) -> float:
    """Seconds a JWT is valid, from its own iat/exp (not the charger's clock)."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return DEFAULT_TOKEN_LIFETIME
    if not isinstance(claims, dict):
        return DEFAULT_TOKEN_LIFETIME
    issued, expires = claims.get("iat"), claims.get("exp")
    if isinstance(issued, int | float) and isinstance(expires, int | float) and expires > issued:
        return float(expires - issued)
    return DEFAULT_TOKEN_LIFETIME


class WebUiClient:
    """The charger's web-UI API: login, info, backend settings, restart, Next settings."""

    def __init__(
        self,
        host: str,
        password: str,
        session: aiohttp.ClientSession,
        *,
        username: str = "admin",
        port: int = 443,
        verify_ssl: bool = False,
        model: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        logger: logging.Logger | None = None,
    ) -> None:
        self.host = host
        self.username = username
        self._password = password
        self._session = session
        self._verify_ssl = verify_ssl
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._logger = logger or _LOGGER
        url_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        authority = url_host if port == 443 else f"{url_host}:{port}"
        self.base_url = f"https://{authority}/api"
        self._token: str | None = None
        self._token_valid_until = 0.0
        self._login_lock = asyncio.Lock()
        self.logins = 0  # successful logins (diagnostics)
        self._adapter: Adapter | None = None
        if model is not None:
            self._adapter = adapter_for(model, self)

    # ------------------------------------------------------------------ HTTP
    @property
    def model(self) -> str | None:
        """``next`` or ``unite`` once known."""
        return self._adapter.model if self._adapter is not None else None

    def _ssl(self) -> bool:
        return self._verify_ssl

    async def login(self) -> None:
        """Log in (again); raises WebUiAuthError, WebUiConnectionError or WebUiError."""
        async with self._login_lock:
            await self._login()

    async def _login(self) -> None:
        self._token = None
        url = f"{self.base_url}/login"
        body = {"username": self.username, "password": self._password}
        try:
            async with self._session.post(
                url, json=body, ssl=self._ssl(), timeout=self._timeout
            ) as response:
                if response.status in (401, 403):
                    raise WebUiAuthError(self.host)
                if response.status != 200:
                    raise WebUiError(f"The web UI answered the login with HTTP {response.status}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise WebUiConnectionError(self.host, _reason(err)) from err
        except ValueError as err:
            raise WebUiError(
                "The web UI answered the login with something that is not JSON"
            ) from err
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise WebUiError("The web UI's login answer has no access_token")
        lifetime = _token_lifetime(token)
        margin = min(60.0, lifetime / 10)
        loop = asyncio.get_running_loop()
        self._token = token
        self._token_valid_until = loop.time() + lifetime - margin
        self.logins += 1
        self._logger.debug("Logged in to the web UI of %s (token for %.0f s)", self.host, lifetime)

    async def _valid_token(self) -> str:
        async with self._login_lock:
            loop = asyncio.get_running_loop()
            if self._token is None or loop.time() >= self._token_valid_until:
                await self._login()
            assert self._token is not None
            return self._token

    async def _relogin(self, rejected: str) -> str:
        async with self._login_lock:
            if self._token in (rejected, None):
                await self._login()
            assert self._token is not None
            return self._token

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """An authenticated call; one re-login when the token is refused (401)."""
        token = await self._valid_token()
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            try:
                async with self._session.request(
                    method,
                    f"{self.base_url}{path}",
                    json=body,
                    headers=headers,
                    ssl=self._ssl(),
                    timeout=self._timeout,
                ) as response:
                    status = response.status
                    if status == 401:
                        if attempt == 2:
                            raise WebUiAuthError(self.host)
                        self._logger.debug("Web UI token refused; logging in again")
                    elif status == 404:
                        raise WebUiNotSupportedError(f"{method} {path}", self.model or "unknown")
                    elif status >= 400:
                        text = (await response.text())[:200]
                        raise WebUiError(f"{method} {path} answered HTTP {status}: {text}")
                    else:
                        raw = await response.read()
                        if not raw.strip():
                            return None
                        return json.loads(raw)
            except (aiohttp.ClientError, TimeoutError, OSError) as err:
                raise WebUiConnectionError(self.host, _reason(err)) from err
            except ValueError as err:
                raise WebUiError(f"{method} {path} answered something that is not JSON") from err
            token = await self._relogin(token)
        raise WebUiAuthError(self.host)  # pragma: no cover - the loop returns or raises

    async def update(self, updates: list[dict[str, Any]]) -> None:
        """POST /api/configuration-updates."""
        answer = await self.request("POST", "/configuration-updates", updates)
        if isinstance(answer, dict) and answer.get("success") is False:
            raise WebUiError(f"The web UI refused the update: {answer}")

    async def action(self, path: str) -> None:
        """A one-shot action; a connection dropped by a restarting charger is success."""
        try:
            await self.request("POST", path)
        except WebUiConnectionError as err:
            if isinstance(err.__cause__, aiohttp.ServerDisconnectedError | TimeoutError):
                self._logger.debug("The charger dropped the connection while restarting")
                return
            raise

    async def _get_adapter(self) -> Adapter:
        if self._adapter is None:
            self._adapter = await self._detect()
        return self._adapter

    async def _detect(self) -> Adapter:
        """Next: /api/configuration-structure; Unite: /api/configuration-fields/."""
        for model, path in (
            (MODEL_NEXT, "/configuration-structure"),
            (MODEL_UNITE, "/configuration-fields/"),
        ):
            try:
                await self.request("GET", path)
            except WebUiNotSupportedError:
                continue
            self._logger.debug("Web UI of %s is a %s", self.host, model)
            return adapter_for(model, self)
        raise WebUiError("The web UI offers neither the Next nor the Unite API")

    # ------------------------------------------------------------ public API
    async def get_info(self) -> ChargerWebInfo:
        """Model, serial, identity, firmware and the OCPP backend the charger uses."""
        return await (await self._get_adapter()).get_info()

    async def set_backend(self, url: str, password: str | None) -> None:
        """Point the charger at an OCPP backend (and set its password where possible).

        ``password`` None leaves the charger's password as it is. Call
        :meth:`reconnect` afterwards to make the charger use the new settings.
        """
        if not url.lower().startswith(("ws://", "wss://")):
            raise InvalidArgumentError(
                f"An OCPP backend URL starts with ws:// or wss://, not {url!r}", value=url
            )
        await (await self._get_adapter()).set_backend(url, password)

    async def reconnect(self) -> None:
        """Make the charger reconnect its OCPP client (both models: a restart)."""
        await (await self._get_adapter()).reconnect()

    async def get_settings(self) -> WebUiSettings:
        """Free charging and its tag; the Next's LED brightness, the Unite's dimming level."""
        return await (await self._get_adapter()).get_settings()

    async def set_free_charging(self, enabled: bool) -> None:
        """Free charging on or off."""
        await (await self._get_adapter()).set_free_charging(enabled)

    async def set_led_brightness(self, percent: int) -> None:
        """The Next's LED brightness, 0-100 %."""
        if not 0 <= percent <= 100:
            raise InvalidArgumentError(
                f"LED brightness is 0 to 100 %, not {percent}",
                value=str(percent),
                minimum="0",
                maximum="100",
            )
        await (await self._get_adapter()).set_led_brightness(percent)


def _reason(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "no answer in time"
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        return f"certificate not trusted ({err.certificate_error})"
    if isinstance(err, aiohttp.ClientConnectorError):
        return str(err.os_error.strerror or err.os_error)
    return str(err) or type(err).__name__
