"""The guest page's views on Home Assistant's HTTP server (``requires_auth = False``).

The guest has no Home Assistant account: each view checks the person itself (the cookie,
the CSRF token, the ``Origin`` of a POST) through :class:`~.portal.GuestPortal`. Every answer
carries the security headers and is sent from the view itself, so that Home Assistant's
header middleware (``X-Frame-Options: SAMEORIGIN``) cannot weaken them afterwards. The page's
files are small: they are read off the event loop and sent whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import mimetypes
from pathlib import Path
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.translation import async_get_translations

from ..const import DOMAIN
from .portal import BASE_PATH, COOKIE, COOKIE_MAX_AGE, GuestError, GuestPortal, Visitor

STATIC_DIR = Path(__file__).parent / "static"
LANGUAGES = ("en", "nl", "de")
MAX_BODY = 4096
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)+$")


def language(request: web.Request) -> str:
    """The first of our languages the browser asks for (by q), English otherwise."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        lang = tag.strip().split("-")[0].lower()
        if lang in LANGUAGES and quality > 0:
            choices.append((-quality, index, lang))
    return min(choices)[2] if choices else "en"


async def _send(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Answer now, with the security headers (nothing after this can change them)."""
    response.headers.update(SECURITY_HEADERS)
    await response.prepare(request)
    await response.write_eof()
    return response


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


class GuestView(HomeAssistantView):
    """Base of the guest views: no Home Assistant login, our own checks."""

    requires_auth = False
    cors_allowed = False

    def __init__(self, portal: GuestPortal) -> None:
        self.portal = portal

    async def texts(self, lang: str) -> dict[str, str]:
        """The page's server-side sentences (``exceptions.guest_*``) in ``lang``."""
        strings = await async_get_translations(self.portal.hass, lang, "exceptions", [DOMAIN])
        prefix = f"component.{DOMAIN}.exceptions.guest_"
        return {
            key.removeprefix(prefix).removesuffix(".message"): text
            for key, text in strings.items()
            if key.startswith(prefix)
        }

    async def error(self, request: web.Request, err: GuestError) -> web.StreamResponse:
        """The JSON of a refusal, in the request's language."""
        texts = await self.texts(language(request))
        body: dict[str, Any] = {"error": err.code, "message": texts.get(err.code, err.code)}
        headers: dict[str, str] = {}
        if err.retry_after is not None:
            body["retry_after"] = err.retry_after
            headers["Retry-After"] = str(err.retry_after)
        return await _send(request, web.json_response(body, status=err.status, headers=headers))

    async def ok(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """A 200 with a JSON body."""
        return await _send(request, web.json_response(body))


class PageView(GuestView):
    """The page: the same index.html for a personal link and for a charger link."""

    url = BASE_PATH
    extra_urls = [f"{BASE_PATH}/c/{{code}}"]
    name = f"{DOMAIN}:guest:page"

    async def get(self, request: web.Request, code: str | None = None) -> web.StreamResponse:
        """Serve index.html (404 while no charger entry is loaded)."""
        return await _static(self.portal, request, "index.html")


class StaticView(GuestView):
    """The page's own files, from ``guest/static`` only."""

    url = f"{BASE_PATH}/static/{{name}}"
    name = f"{DOMAIN}:guest:static"

    async def get(self, request: web.Request, name: str) -> web.StreamResponse:
        """Serve one file of the folder (no paths, no hidden files)."""
        return await _static(self.portal, request, name)


async def _static(portal: GuestPortal, request: web.Request, name: str) -> web.StreamResponse:
    path = STATIC_DIR / name
    try:
        portal.access()
    except GuestError:
        return await _send(request, web.Response(status=404, text="Not found"))
    content = await portal.hass.async_add_executor_job(_read, path) if _NAME.match(name) else None
    if content is None:
        return await _send(request, web.Response(status=404, text="Not found"))
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    charset = "utf-8" if kind.startswith("text/") or kind.endswith(("json", "xml")) else None
    return await _send(request, web.Response(body=content, content_type=kind, charset=charset))


def _read(path: Path) -> bytes | None:
    """A file of the static folder (None when there is none by that name); blocking."""
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


class MeView(GuestView):
    """What this person sees: their chargers, invitations, sessions."""

    url = f"{BASE_PATH}/api/me"
    name = f"{DOMAIN}:guest:me"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """The person's data (401 with the reason when the cookie gives no access now)."""
        try:
            visitor = await self.portal.visitor(request.cookies.get(COOKIE), _client(request))
            lang = language(request)
            data = await self.portal.me(visitor, await self.texts(lang), lang)
            return await self.ok(request, data)
        except GuestError as err:
            return await self.error(request, err)


class ChargerNameView(GuestView):
    """The name of the charger a Scan & Charge code names (before the access code)."""

    url = f"{BASE_PATH}/api/charger/{{code}}"
    name = f"{DOMAIN}:guest:charger"

    async def get(self, request: web.Request, code: str) -> web.StreamResponse:
        """``{"name": ...}`` or 404."""
        try:
            name = self.portal.charger_name(code, _client(request))
            return await self.ok(request, {"name": name})
        except GuestError as err:
            return await self.error(request, err)


class PostView(GuestView):
    """A POST: same origin only, a JSON object body, the CSRF token unless logging in."""

    needs_csrf = True

    async def handle(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """The view's own work, after the checks."""
        raise NotImplementedError

    async def visitor(self, request: web.Request) -> Visitor:
        """The person of the request's cookie, with the CSRF token checked."""
        visitor = await self.portal.visitor(request.cookies.get(COOKIE), _client(request))
        await self.portal.check_csrf(visitor, request.headers.get("X-CSRF-Token"))
        return visitor

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Check origin and body, then :meth:`handle`."""
        try:
            return await self.handle(request, await _body(request))
        except GuestError as err:
            return await self.error(request, err)


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object of a same-origin POST."""
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise GuestError("csrf")
    if (request.content_length or 0) > MAX_BODY:
        raise GuestError("bad_request")
    try:
        body = await request.json()
    except ValueError:
        raise GuestError("bad_request") from None
    if not isinstance(body, dict):
        raise GuestError("bad_request")
    return body


def _with_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=COOKIE_MAX_AGE,
        path=BASE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


class LoginView(PostView):
    """A personal link was opened: its token becomes the cookie."""

    url = f"{BASE_PATH}/api/login"
    name = f"{DOMAIN}:guest:login"

    async def handle(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """Check the token; set the cookie."""
        cookie = await self.portal.login(body.get("token"), _client(request))
        response = web.json_response({"ok": True})
        _with_cookie(request, response, cookie)
        return await _send(request, response)


class CodeView(PostView):
    """Scan & Charge: the access code at a charger."""

    url = f"{BASE_PATH}/api/code"
    name = f"{DOMAIN}:guest:code"

    async def handle(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """Check the code; set the cookie of a session for that tag at that charger."""
        cookie = await self.portal.code_login(
            body.get("charger"), body.get("access_code"), _client(request)
        )
        response = web.json_response({"ok": True})
        _with_cookie(request, response, cookie)
        return await _send(request, response)


class LogoutView(PostView):
    """Forget the person on this phone."""

    url = f"{BASE_PATH}/api/logout"
    name = f"{DOMAIN}:guest:logout"

    async def handle(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """Clear the cookie."""
        await self.visitor(request)
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path=BASE_PATH)
        return await _send(request, response)


def _action(
    path: str, run: Callable[[GuestPortal, Visitor, dict[str, Any]], Awaitable[None]]
) -> type[PostView]:
    class ActionView(PostView):
        url = f"{BASE_PATH}/api/{path}"
        name = f"{DOMAIN}:guest:{path}"

        async def handle(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
            await run(self.portal, await self.visitor(request), body)
            return await self.ok(request, {"ok": True})

    ActionView.__name__ = f"{path.capitalize()}View"
    ActionView.__doc__ = f"POST /api/{path}."
    return ActionView


VIEWS: tuple[type[GuestView], ...] = (
    PageView,
    StaticView,
    MeView,
    ChargerNameView,
    LoginView,
    CodeView,
    LogoutView,
    _action("start", GuestPortal.start),
    _action("stop", GuestPortal.stop),
    _action("accept", GuestPortal.accept),
)
