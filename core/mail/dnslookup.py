"""The DNS lookups of sender authentication (SPF, DKIM, DMARC), with a brief
per-process cache.

One `Lookup` per resolver setting: the system resolver, or the `host:port`
of Settings.dns_resolver. Answers (found, empty or no such name) are kept for
their TTL, at most CACHE_SECONDS, so a burst of mail from one domain asks
once; a timeout or an unreachable server is never cached: it raises
DnsTemporary, which the checks record as `temperror`.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from functools import lru_cache

import dns.exception
import dns.resolver

# How long an answer is kept at most, and how many are kept.
CACHE_SECONDS = 300
CACHE_ENTRIES = 10_000


class DnsTemporary(Exception):
    """The DNS gave no answer in time (or no server answered): try again later."""


class Lookup:
    """TXT and address lookups through one resolver, cached briefly."""

    def __init__(self, server: str = "", timeout: float = 5.0):
        if server:
            host, _, port = server.rpartition(":")
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [host.strip("[]") or "127.0.0.1"]
            resolver.port = int(port)
        else:
            resolver = dns.resolver.Resolver()
        resolver.lifetime = resolver.timeout = timeout
        self.resolver = resolver
        self._cache: OrderedDict[tuple[str, str], tuple[float, list]] = OrderedDict()
        self._lock = threading.Lock()

    def txt(self, name: str) -> list[bytes]:
        """Each TXT record of `name`, its strings joined; [] when there is none."""
        return [b"".join(strings) for strings in self.records(name, "TXT")]

    def records(self, name: str, rdtype: str) -> list:
        """The answer's values: TXT as tuples of byte strings, A/AAAA as
        address text, MX as (preference, exchange), PTR as text."""
        key = (name.lower().rstrip("."), rdtype)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        values, ttl = self._ask(key[0], rdtype)
        with self._lock:
            self._cache[key] = (now + min(ttl, CACHE_SECONDS), values)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return values

    def _ask(self, name: str, rdtype: str) -> tuple[list, int]:
        try:
            answer = self.resolver.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
            return [], CACHE_SECONDS
        except dns.name.EmptyLabel:
            return [], CACHE_SECONDS
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout, OSError) as error:
            raise DnsTemporary(f"{rdtype} {name}: {type(error).__name__}") from error
        ttl = answer.rrset.ttl if answer.rrset is not None else CACHE_SECONDS
        return [_value(rdata, rdtype) for rdata in answer], ttl


def _value(rdata, rdtype: str):
    if rdtype in ("TXT", "SPF"):
        return tuple(rdata.strings)
    if rdtype in ("A", "AAAA"):
        return rdata.address
    if rdtype == "MX":
        return rdata.preference, rdata.exchange
    if rdtype == "PTR":
        return rdata.target.to_text(True)
    return rdata.to_text()


@lru_cache(maxsize=8)
def lookup_for(server: str, timeout: float) -> Lookup:
    """One Lookup (and its cache) per resolver setting, for the whole process."""
    return Lookup(server, timeout)
