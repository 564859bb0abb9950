"""A DNS server on a free loopback UDP port that answers from records a test
sets (dnslib), so the sender authentication checks never ask the real DNS.

Every name it has no record for is NXDOMAIN; a name in `silent` gets no
answer at all, as a server that times out.
"""
from __future__ import annotations

import base64
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, TXT, A
from dnslib.dns import DNSError
from dnslib.server import BaseResolver, DNSServer

from core.mail.dnslookup import lookup_for


class Records(BaseResolver):
    def __init__(self):
        self.txt: dict[str, list[str]] = {}
        self.a: dict[str, list[str]] = {}
        self.silent: set[str] = set()
        self.asked: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.asked.append((name, qtype))
            if name in self.silent:
                raise DNSError(f"{name}: no answer, on purpose")  # dnslib logs it and sends nothing
            texts, addresses = list(self.txt.get(name, ())), list(self.a.get(name, ()))
        reply = request.reply()
        if qtype == "TXT" and texts:
            for text in texts:
                chunks = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
                reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        elif qtype == "A" and addresses:
            for address in addresses:
                reply.add_answer(RR(name, QTYPE.A, rdata=A(address), ttl=60))
        elif name not in self.txt and name not in self.a:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class _QuietLogger:
    def log_recv(self, *a): pass
    def log_send(self, *a): pass
    def log_request(self, *a): pass
    def log_reply(self, *a): pass
    def log_truncated(self, *a): pass
    def log_error(self, *a): pass
    def log_data(self, *a): pass



class LocalDns:
    """The server and its records; `address` is what HELPDESK_DNS_RESOLVER takes."""

    def __init__(self):
        self.records = Records()
        port = _free_udp_port()
        self.server = DNSServer(self.records, port=port, address="127.0.0.1", logger=_QuietLogger())
        self.address = f"127.0.0.1:{port}"

    def start(self) -> "LocalDns":
        self.server.start_thread()
        return self

    def stop(self) -> None:
        self.server.stop()

    def clear(self) -> None:
        with self.records.lock:
            self.records.txt.clear()
            self.records.a.clear()
            self.records.silent.clear()
            self.records.asked.clear()
        lookup_for.cache_clear()  # the process's cached answers belong to the old records

    def txt(self, name: str, *texts: str) -> None:
        with self.records.lock:
            self.records.txt.setdefault(name.lower(), []).extend(texts)
        lookup_for.cache_clear()

    def silence(self, name: str) -> None:
        with self.records.lock:
            self.records.silent.add(name.lower())
        lookup_for.cache_clear()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_shared: LocalDns | None = None
_shared_lock = threading.Lock()


def shared_dns() -> LocalDns:
    """One server for the whole test process, started on first use: every
    test's settings point at it (tests.conftest.make_settings)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LocalDns().start()
        return _shared


@dataclass(frozen=True)
class DkimKey:
    """An RSA key made for a test, and its DNS record."""
    private_pem: bytes
    record: str


def make_dkim_key(folder: Path) -> DkimKey:
    """A fresh 1024-bit RSA key (openssl), PKCS#1 as dkimpy reads it."""
    key = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key), "1024"], check=True,
                   capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                            capture_output=True).stdout
    return DkimKey(key.read_bytes(), f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}")
