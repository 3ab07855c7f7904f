"""Forwarding a charger to its original backend (Home Assistant glue for UpstreamLink).

The protocol work is the library's (``chargeconnect.upstream.UpstreamLink``); here the
link gets Home Assistant's HTTP session and a ``Store``, starts and stops with the
entry, pushes its status to the charger's entities, and raises a repair issue when the
backend stays unreachable for long.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util, slugify

from .chargeconnect import Charger
from .chargeconnect.upstream import UpstreamConfig, UpstreamConfigError, UpstreamLink
from .const import (
    CONF_ALLOW_APP_CONTROL,
    CONF_UPSTREAM_PASSWORD,
    CONF_UPSTREAM_URL,
    CONF_UPSTREAM_USERNAME,
    DEFAULT_ALLOW_APP_CONTROL,
    DOMAIN,
    LOGGER,
    UPSTREAM_ISSUE_AFTER,
)

STORAGE_VERSION = 1
# Reconnect back-off towards the backend (doubling, with jitter).
RECONNECT_MIN = timedelta(seconds=5)
RECONNECT_MAX = timedelta(minutes=5)
# How often the repair issue condition is checked besides every status change.
ISSUE_CHECK_INTERVAL = timedelta(minutes=1)
ISSUE_PREFIX = "upstream_unreachable_"


def upstream_store(hass: HomeAssistant, identity: str) -> Store[dict[str, Any]]:
    """The Store that keeps one charger's forwarding queue and transaction id map."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.upstream_{slugify(identity)}")


def upstream_settings(entry: ConfigEntry) -> dict[str, Any]:
    """The effective forwarding settings: options override what the flow stored in data."""
    settings: dict[str, Any] = {}
    for key in (CONF_UPSTREAM_URL, CONF_UPSTREAM_USERNAME, CONF_UPSTREAM_PASSWORD):
        source: Mapping[str, Any] = entry.options if key in entry.options else entry.data
        settings[key] = (str(source.get(key) or "")).strip() or None
    settings[CONF_ALLOW_APP_CONTROL] = bool(
        entry.options.get(CONF_ALLOW_APP_CONTROL, DEFAULT_ALLOW_APP_CONTROL)
    )
    return settings


def issue_id(entry: ConfigEntry) -> str:
    """The repair issue of one entry's forwarding."""
    return f"{ISSUE_PREFIX}{entry.entry_id}"


class Forwarding:
    """One entry's link to the charger's original backend."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        charger: Charger,
        on_change: Callable[[], None],
        link: UpstreamLink,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.charger = charger
        # Tells the entities to refresh (the charger's coordinator).
        self.on_change = on_change
        self.link = link
        self._connection = self._connection_key(upstream_settings(entry))
        self._unsubs: list[CALLBACK_TYPE] = []
        self._issue_raised = False

    @staticmethod
    def _connection_key(settings: Mapping[str, Any]) -> tuple[Any, ...]:
        return (
            settings[CONF_UPSTREAM_URL],
            settings[CONF_UPSTREAM_USERNAME],
            settings[CONF_UPSTREAM_PASSWORD],
        )

    @classmethod
    def create(
        cls,
        hass: HomeAssistant,
        entry: ConfigEntry,
        charger: Charger,
        on_change: Callable[[], None],
    ) -> Forwarding | None:
        """The entry's forwarding, or None when it has no (usable) upstream URL."""
        settings = upstream_settings(entry)
        url = settings[CONF_UPSTREAM_URL]
        if not url:
            return None
        try:
            config = UpstreamConfig(
                url,
                username=settings[CONF_UPSTREAM_USERNAME],
                password=settings[CONF_UPSTREAM_PASSWORD],
                allow_control=settings[CONF_ALLOW_APP_CONTROL],
                reconnect_min=RECONNECT_MIN,
                reconnect_max=RECONNECT_MAX,
            )
        except UpstreamConfigError as err:
            # The flows validate the URL; an entry edited by hand may still hold a bad one.
            LOGGER.error("%s: forwarding is off: %s", charger.identity, err)
            return None
        link = UpstreamLink(
            charger,
            async_get_clientsession(hass),
            config,
            upstream_store(hass, charger.identity),
            logger=LOGGER,
        )
        return cls(hass, entry, charger, on_change, link)

    async def async_start(self) -> None:
        """Load the queue, connect, and report every status change."""
        # An issue left from before a restart: the link starts afresh.
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.entry))
        self._unsubs.append(self.link.add_listener(self._on_change))
        self._unsubs.append(
            async_track_time_interval(self.hass, self._check_issue, ISSUE_CHECK_INTERVAL)
        )
        await self.link.start()

    async def async_stop(self) -> None:
        """Disconnect and write the queue; the repair issue goes with the entry."""
        while self._unsubs:
            self._unsubs.pop()()
        await self.link.stop()
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.entry))
        self._issue_raised = False

    @staticmethod
    def wanted(entry: ConfigEntry) -> bool:
        """The entry asks for forwarding (an upstream URL is set)."""
        return bool(upstream_settings(entry)[CONF_UPSTREAM_URL])

    def needs_reload(self, entry: ConfigEntry) -> bool:
        """The URL or credentials changed (the link is rebuilt with the entry)."""
        return self._connection_key(upstream_settings(entry)) != self._connection

    @callback
    def apply_options(self, entry: ConfigEntry) -> None:
        """Options that apply at once: whether the app may control the charger."""
        allow = upstream_settings(entry)[CONF_ALLOW_APP_CONTROL]
        if allow != self.link.allow_control:
            self.link.allow_control = allow
            LOGGER.info(
                "%s: commands from the backend are %s",
                self.charger.identity,
                "passed to the charger" if allow else "refused",
            )
        self.on_change()

    @callback
    def _on_change(self) -> None:
        self._check_issue()
        self.on_change()

    @callback
    def _check_issue(self, _now: object = None) -> None:
        link = self.link
        down_since = link.down_since
        long_down = (
            not link.connected
            and down_since is not None
            and dt_util.utcnow() - down_since >= UPSTREAM_ISSUE_AFTER
        )
        if long_down and not self._issue_raised:
            assert down_since is not None
            self._issue_raised = True
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id(self.entry),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="upstream_unreachable",
                translation_placeholders={
                    "identity": self.charger.identity,
                    "url": link.display_url,
                    "since": dt_util.as_local(down_since).strftime("%Y-%m-%d %H:%M"),
                    "error": link.last_error or "-",
                },
            )
        elif not long_down and self._issue_raised:
            self._issue_raised = False
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.entry))


async def async_remove_store(hass: HomeAssistant, identity: str) -> None:
    """Forget the forwarding queue of a removed charger."""
    await upstream_store(hass, identity).async_remove()
