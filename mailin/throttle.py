"""Per-client limits of the SMTP server: connections and messages per minute.

They are counted in this server process's memory, not in the database: the
checks run on the event loop for every connection and every MAIL command,
and a database round trip there would put every sender's greeting behind
the SQLite write lock, which is the stall the limits are meant to prevent.
The price: with `helpdesk smtpd --processes N`, which deals connections to
the processes in turn, a client gets up to N times the limit, and a restart
forgets the counts. Both only loosen a limit that exists to stop a flood.

Clients in the trusted networks (the relays that hand us mail) are never
counted.
"""
from __future__ import annotations

import ipaddress
import time
from collections import deque
from typing import Callable

from core.config.settings import Settings

MINUTE = 60.0
# Forget idle clients every this many events, so the table does not grow
# with every address that ever connected.
SWEEP_EVERY = 1024
# Hosts whose trust is remembered before the memory starts over.
TRUST_CACHE = 4096

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Window:
    """At most `limit` events per `seconds` for each key (0: no limit), as a
    sliding window of the events' times: exact, and at most `limit` times
    kept per key."""

    def __init__(self, limit: int, seconds: float = MINUTE, clock: Callable[[], float] = time.monotonic):
        self.limit, self.seconds, self.clock = limit, seconds, clock
        self._events: dict[str, deque[float]] = {}
        self._until_sweep = SWEEP_EVERY

    def take(self, key: str) -> bool:
        """Count one event for `key` if it is under the limit; False (and not
        counted, so a client that keeps trying gets in once its window has
        room) when it is over."""
        if self.limit <= 0:
            return True
        now = self.clock()
        times = self._events.get(key)
        if times is None:
            times = self._events[key] = deque()
        while times and times[0] <= now - self.seconds:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._sweep(now)
        return True

    def _sweep(self, now: float) -> None:
        self._until_sweep = SWEEP_EVERY
        stale = [key for key, times in self._events.items() if not times or times[-1] <= now - self.seconds]
        for key in stale:
            del self._events[key]


def parse_networks(networks: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in networks)


def is_trusted(host: str, networks: tuple[Network, ...]) -> bool:
    """Whether `host` (a peer address as the socket gives it) is in one of the networks."""
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(host.partition("%")[0])  # an IPv6 zone is no part of the address
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class Throttle:
    """The SMTP server's per-client limits, from the settings."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.trusted = parse_networks(settings.smtp_trusted_networks)
        self.connections = Window(settings.smtp_connections_per_minute, clock=clock)
        self.messages = Window(settings.smtp_messages_per_minute, clock=clock)
        # Whether a host is trusted, remembered: parsing the address cost 4 us
        # a check, against half a microsecond for counting it.
        self._trust: dict[str, bool] = {}

    def admit_connection(self, peer: object) -> bool:
        host = client_host(peer)
        return self._trusted(host) or self.connections.take(host)

    def admit_message(self, peer: object) -> bool:
        host = client_host(peer)
        return self._trusted(host) or self.messages.take(host)

    def _trusted(self, host: str) -> bool:
        trusted = self._trust.get(host)
        if trusted is None:
            if len(self._trust) >= TRUST_CACHE:
                self._trust.clear()
            trusted = self._trust[host] = is_trusted(host, self.trusted)
        return trusted


def client_host(peer: object) -> str:
    """The address of a peer as asyncio reports it ((host, port, ...) for TCP);
    anything else (a Unix socket) counts as one unnamed client."""
    if isinstance(peer, tuple) and peer and isinstance(peer[0], str):
        return peer[0]
    return "-"
