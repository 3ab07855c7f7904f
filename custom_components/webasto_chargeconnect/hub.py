"""The integration-wide hub: one OCPP server per port, one Charger per identity.

Config entries (and a config flow that waits for its charger, through a :class:`ChargerClaim`)
borrow servers and chargers from the hub; the last borrower to let go stops them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial
from itertools import count
import os
import ssl
from typing import Any

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.storage import Store
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey

from .chargeconnect import (
    CentralSystem,
    Charger,
    ChargerOptions,
    PersistentIdAllocator,
    ServerStartError,
)
from .chargeconnect.access import AccessControl
from .chargeconnect.ledger import Ledger, highest_transaction_id
from .const import CONF_IDENTITY, DOMAIN, LEDGER_FILE, LOGGER

STORAGE_VERSION = 1
# Where the one hub of this Home Assistant lives (``hass.data``).
HUB: HassKey[ChargeConnectHub] = HassKey(DOMAIN)
# At most this many unknown chargers are offered per run (a flood is not a discovery).
MAX_DISCOVERED = 20


@dataclass
class _ServerSlot:
    server: CentralSystem
    tls: tuple[str | None, str | None]
    users: set[str] = field(default_factory=set)


@dataclass
class _ChargerSlot:
    charger: Charger
    port: int
    users: set[str] = field(default_factory=set)


class TlsMismatchError(ServerStartError):
    """The port is already served with other TLS settings."""

    translation_key = "tls_mismatch"


def charger_store(hass: HomeAssistant, identity: str) -> Store[dict[str, Any]]:
    """The Store that keeps one charger's state."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.charger_{slugify(identity)}")


def _ssl_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


class ChargeConnectHub:
    """Owns the OCPP servers and chargers of this Home Assistant."""

    # How long a new connection may take to send BootNotification before we trigger it
    # (the Webasto Next does not resend it on reconnect).
    boot_wait = 5.0
    # The address to listen on: all interfaces (chargers are on the LAN).
    host: str | None = None
    # Websocket ping interval (a charger that stops answering is offline after 1.5x this)
    # and how long a charger may take to answer a command.
    ping_interval = 30.0
    call_timeout = 30.0

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        # Loaded once, before the first id: never below an id the archive holds.
        self.allocator = PersistentIdAllocator(
            Store(hass, STORAGE_VERSION, f"{DOMAIN}.transactions"),
            highest_used=self._async_highest_archived_id,
            logger=LOGGER,
        )
        self._servers: dict[int, _ServerSlot] = {}
        self._chargers: dict[str, _ChargerSlot] = {}
        self._discovered: set[str] = set()
        self._stop_listener: CALLBACK_TYPE | None = None
        # Installation-wide: who may charge (tags, shares, groups, bookings) and the
        # session archive. Opened by the first charger entry, closed with the last.
        self.access: AccessControl | None = None
        self.ledger: Ledger | None = None
        self._owner_users: set[str] = set()
        self._owner_lock = asyncio.Lock()
        # Home Assistant sets up every entry at once: the first to ask for a port starts its
        # server while the others wait, then share it (no "address already in use").
        self._server_lock = asyncio.Lock()
        self._claims = count(1)

    async def async_acquire_owner_data(self, user: str) -> tuple[AccessControl, Ledger]:
        """The access rules and the session archive (opened on first use)."""
        async with self._owner_lock:
            if self.access is None:
                access = AccessControl(Store(self.hass, STORAGE_VERSION, f"{DOMAIN}.access"))
                await access.load()
                self.access = access
            if self.ledger is None:
                folder = self.hass.config.path(DOMAIN)
                await self.hass.async_add_executor_job(partial(os.makedirs, folder, exist_ok=True))
                ledger = Ledger(os.path.join(folder, LEDGER_FILE))
                await ledger.open()
                self.ledger = ledger
            self._owner_users.add(user)
            return self.access, self.ledger

    async def async_release_owner_data(self, user: str) -> None:
        """The last user closes the archive (its thread ends with it)."""
        async with self._owner_lock:
            self._owner_users.discard(user)
            if not self._owner_users and self.ledger is not None:
                ledger, self.ledger = self.ledger, None
                await ledger.close()

    async def _async_highest_archived_id(self) -> int:
        """The highest transaction id in the session archive (read before it is opened)."""
        return await self.hass.async_add_executor_job(
            highest_transaction_id, self.hass.config.path(DOMAIN, LEDGER_FILE)
        )

    def server(self, port: int) -> CentralSystem | None:
        """The running server on a port."""
        slot = self._servers.get(port)
        return slot.server if slot else None

    async def async_acquire_server(
        self,
        port: int,
        user: str,
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> CentralSystem:
        """Start (or share) the server on ``port``."""
        async with self._server_lock:
            return await self._async_acquire_server(port, user, certfile, keyfile)

    async def _async_acquire_server(
        self, port: int, user: str, certfile: str | None, keyfile: str | None
    ) -> CentralSystem:
        slot = self._servers.get(port)
        tls = (certfile or None, keyfile or None)
        if slot is not None:
            if slot.tls != tls:
                raise TlsMismatchError(
                    f"Port {port} is already used with other TLS settings", port=str(port)
                )
            slot.users.add(user)
            return slot.server
        context = None
        if certfile and keyfile:
            try:
                context = await self.hass.async_add_executor_job(_ssl_context, certfile, keyfile)
            except (OSError, ssl.SSLError) as err:
                raise ServerStartError(
                    f"Cannot load the TLS certificate: {err}", port=str(port), error=str(err)
                ) from err
        server = CentralSystem(
            self.host,
            port,
            ssl_context=context,
            on_unknown_charger=lambda identity, remote: self._on_unknown_charger(
                identity, remote, server.port
            ),
            boot_wait=self.boot_wait,
            ping_interval=self.ping_interval,
            call_timeout=self.call_timeout,
            logger=LOGGER,
        )
        await server.start()
        self._servers[server.port] = _ServerSlot(server, tls, {user})
        if self._stop_listener is None:
            self._stop_listener = self.hass.bus.async_listen_once(
                EVENT_HOMEASSISTANT_STOP, self._async_on_stop
            )
        return server

    async def _async_on_stop(self, _event: Event) -> None:
        """Home Assistant stops: save every charger and close every connection."""
        self._stop_listener = None
        servers = list(self._servers.values())
        self._servers.clear()
        self._chargers.clear()
        for slot in servers:
            await slot.server.stop()

    async def async_release_server(self, port: int, user: str) -> None:
        """Let go of a server; the last user stops it."""
        async with self._server_lock:
            slot = self._servers.get(port)
            if slot is None:
                return
            slot.users.discard(user)
            if not slot.users:
                del self._servers[port]
                await slot.server.stop()
                if not self._servers and self._stop_listener is not None:
                    self._stop_listener()
                    self._stop_listener = None

    async def async_acquire_charger(
        self,
        identity: str,
        password: str | None,
        port: int,
        user: str,
        options: ChargerOptions | None = None,
    ) -> Charger:
        """Register a charger with the server on ``port`` (loading its saved state)."""
        slot = self._chargers.get(identity)
        if slot is not None and slot.port != port:
            await self._drop_charger(identity)
            slot = None
        if slot is None:
            charger = Charger(
                identity,
                password=password,
                store=charger_store(self.hass, identity),
                allocator=self.allocator,
                options=options,
                logger=LOGGER,
            )
            await charger.load()
            # Its saved transactions are taken too (the counter may be older than them).
            await self.allocator.note_used(
                charger.highest_transaction_id, f"the saved state of {identity}"
            )
            slot = _ChargerSlot(charger, port)
            self._chargers[identity] = slot
        slot.charger.password = password or None
        if options is not None:
            slot.charger.options = options
        slot.users.add(user)
        server = self.server(port)
        if server is not None:
            server.add_charger(slot.charger)
        self._discovered.discard(identity)
        return slot.charger

    async def async_release_charger(self, identity: str, user: str) -> None:
        """Let go of a charger; the last user disconnects it."""
        slot = self._chargers.get(identity)
        if slot is None:
            return
        slot.users.discard(user)
        if not slot.users:
            await self._drop_charger(identity)

    async def _drop_charger(self, identity: str) -> None:
        slot = self._chargers.pop(identity)
        server = self.server(slot.port)
        if server is not None:
            await server.remove_charger(identity)
        else:
            await slot.charger.shutdown()

    async def async_claim(
        self,
        holder: str,
        identity: str,
        password: str | None,
        port: int,
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> ChargerClaim:
        """Listen on ``port`` and accept ``identity`` there before its entry exists.

        ``holder`` names who claims (a flow), for the logs; every claim borrows under a name of
        its own, so a flow that claims again can take the new claim before it lets go of the
        old one. Raises :class:`ServerStartError` (:class:`TlsMismatchError`) with nothing held.
        """
        user = f"{holder}#{next(self._claims)}"
        server = await self.async_acquire_server(port, user, certfile, keyfile)
        try:
            await self.async_acquire_charger(identity, password, server.port, user)
        except BaseException:
            await self.async_release_server(server.port, user)
            raise
        return ChargerClaim(self, user, identity, password, server.port)

    @callback
    def _on_unknown_charger(self, identity: str, remote: str, port: int) -> None:
        """A charger we do not know connected: offer it to the owner (once per run)."""
        if identity in self._discovered or len(self._discovered) >= MAX_DISCOVERED:
            return
        if self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, identity):
            return  # its entry is still being set up (or failed to): not a new charger
        self._discovered.add(identity)
        discovery_flow.async_create_flow(
            self.hass,
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={CONF_IDENTITY: identity, "remote": remote, "port": port},
        )


class ChargerClaim:
    """A config flow's hold on a port and a charger identity while it waits for the charger.

    While it is held the server listens and the charger may connect and boot; the entry that
    the flow creates borrows the same server and charger under its own name, so letting go of
    the claim afterwards keeps the connection. Releasing is idempotent.
    """

    def __init__(
        self, hub: ChargeConnectHub, user: str, identity: str, password: str | None, port: int
    ) -> None:
        self._hub = hub
        self._user = user
        self.identity = identity
        self.password = password
        # The port really listened on (a port 0 asked for becomes a free one).
        self.port = port
        self._released = False

    @property
    def released(self) -> bool:
        """The claim was let go of."""
        return self._released

    async def async_set_password(self, password: str | None) -> None:
        """Accept the charger with another password from now on (None: without one)."""
        if self._released:
            return
        self.password = password or None
        await self._hub.async_acquire_charger(self.identity, self.password, self.port, self._user)

    async def async_wait_online(self, timeout: float) -> bool:
        """Wait until the charger is connected; False after ``timeout`` (the claim stays held).

        False at once when the claim is released, or when the identity is no longer served on
        this claim's port (a later claim for it on another port took it over).
        """
        server = None if self._released else self._hub.server(self.port)
        charger = server.chargers.get(self.identity) if server else None
        if charger is None:
            return False
        connected = asyncio.Event()

        def check() -> None:
            if charger.online:
                connected.set()

        remove = charger.add_listener(check)
        try:
            check()
            async with asyncio.timeout(timeout):
                await connected.wait()
        except TimeoutError:
            return False
        finally:
            remove()
        return True

    async def async_release(self) -> None:
        """Let go of the charger, then the server (each stops if nobody else holds it)."""
        if self._released:
            return
        self._released = True
        await self._hub.async_release_charger(self.identity, self._user)
        await self._hub.async_release_server(self.port, self._user)


@callback
def async_get_hub(hass: HomeAssistant) -> ChargeConnectHub:
    """The one hub of this Home Assistant (made on first use)."""
    hub = hass.data.get(HUB)
    if hub is None:
        hub = hass.data[HUB] = ChargeConnectHub(hass)
    return hub
