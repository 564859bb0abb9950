"""Process settings, read once from HELPDESK_* environment variables.

Nothing else in the project reads os.environ: everything receives a Settings.
Settings that admins change at run time (auto-close days, attachment rules,
...) are not here; they live in the database (core/config/policy.py).
"""
from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    # Everything the process writes: database, attachments, raw mail,
    # outgoing mail folder. One folder is one installation.
    data_dir: Path
    # SQLite in the data dir on one machine, PostgreSQL in production.
    database_url: str
    # Empty means the embedded broker (a folder under the data dir), so one
    # machine needs no server; redis://... in production.
    broker_url: str
    # host:port of the outgoing relay; empty writes .eml files to
    # data_dir/outgoing so a demo never sends real mail.
    smtp_relay: str
    # The address customers write to and replies come from.
    address: str
    # Links in mail point here.
    base_url: str
    # Signs sessions, CSRF tokens and our Message-IDs.
    secret_key: str
    # Further addresses the SMTP server accepts as the helpdesk's own.
    aliases: tuple[str, ...]
    # Largest message the SMTP server accepts (bytes); larger gets 552.
    max_message_bytes: int
    # Mailbox the IMAP poller reads, as imap://user:password@host:port/FOLDER.
    imap_url: str
    # Reverse proxies in front of the portal whose X-Forwarded-For/-Proto the
    # portal believes (0: none, the peer address is the client's).
    trusted_proxies: int = 0
    # --- The mail front door's transport: TLS, DKIM, spam scoring. ---
    # PEM certificate chain and key of the SMTP listener; both set: it offers
    # STARTTLS (not required: a sender without TLS is still taken).
    smtp_tls_cert: str = ""
    smtp_tls_key: str = ""
    # A CA file (PEM) the relay's certificate is checked against, besides the
    # system's: for a private relay with its own CA. Verification stays on.
    smtp_relay_ca_file: str = ""
    # PEM private key and selector that DKIM-sign every mail we send, for the
    # domain of `address`; either unset: mail goes out unsigned.
    dkim_key: str = ""
    dkim_selector: str = ""
    # rspamd's normal worker (http://host:11333); empty: no spam scoring.
    rspamd_url: str = ""
    # Seconds the SMTP server waits for rspamd before taking the mail unscored.
    rspamd_timeout: float = 10.0
    # host:port of the DNS server the SPF, DKIM and DMARC lookups ask; empty:
    # the system resolver (tests point it at a local server of their own).
    dns_resolver: str = ""
    # Seconds one of those lookups may take before the check is a temporary
    # error (the mail is kept and checked again later).
    dns_timeout: float = 5.0
    # The authserv-id of our own front MTA: its Authentication-Results header
    # is believed for mail that reaches us without a client IP of its own
    # (IMAP, `helpdesk ingest`) or through that MTA. Empty: believe none.
    front_mta: str = ""
    # Webhooks and chat notices must use https; http is accepted only for a
    # loopback host, or anywhere when this is set (tests, a private network).
    webhook_allow_http: bool = False
    # WhatsApp Business Cloud API: the access token and the sending number's
    # id (both unset: no WhatsApp messages), the API's base URL with its
    # version (tests point it at a local server), and the names of the
    # message templates approved for the acknowledgement and a staff reply.
    whatsapp_token: str = ""
    whatsapp_phone_id: str = ""
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_template_ack: str = "helpdesk_ack"
    whatsapp_template_reply: str = "helpdesk_staff_replied"
    # Most recipients one SMTP transaction may name; beyond it RCPT gets 452
    # and the client sends the rest in another transaction. RFC 5321 asks a
    # server to take at least 100; the helpdesk has one address (and its
    # aliases), so more is an attack or a broken client, never a school.
    smtp_max_recipients: int = 100
    # Connections, and messages (MAIL commands), one client address may open
    # per minute; over it the server answers 421 at connect or 451 at MAIL,
    # both temporary, so a real sender retries and loses nothing. Counted in
    # each SMTP server process's memory, as they are on the hot path; 0: no limit.
    smtp_connections_per_minute: int = 60
    smtp_messages_per_minute: int = 120
    # Client addresses or networks (CIDR) never limited: the relays that hand
    # us mail. Loopback by default, as Postfix's mynetworks: a process on this
    # host can write the database anyway, and `helpdesk run` and a local
    # relay send from it. "none" limits every client.
    smtp_trusted_networks: tuple[str, ...] = ("127.0.0.0/8", "::1")
    # The share of the time a bulk job in the worker spends working: after
    # each chunk of tickets it rests so long that it works this fraction of
    # the time (0.5: it rests as long as the chunk took), instead of running
    # at a lower CPU priority (tasks.bulk). 1, the default: no rest; the lower
    # priority lets the web go first and the job ends sooner (bench/RESULTS.md).
    # Below 1 where that priority cannot reach the web: the worker and the web
    # in different cgroups (systemd services).
    bulk_duty: float = 1.0

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "localhost"

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset(a.lower() for a in (self.address, *self.aliases))

    @property
    def whatsapp_on(self) -> bool:
        return bool(self.whatsapp_token and self.whatsapp_phone_id)

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    def path(self, *parts: str) -> Path:
        return self.data_dir.joinpath(*parts)


def _secret_key(data_dir: Path, given: str) -> str:
    """The given key, or one generated on first start and kept in the data dir."""
    if given:
        return given
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str, default: str = "") -> str:
        return env.get(f"HELPDESK_{name}", "").strip() or default

    data_dir = Path(get("DATA_DIR", "./var")).resolve()
    return Settings(
        data_dir=data_dir,
        database_url=get("DATABASE_URL", f"sqlite:///{data_dir / 'helpdesk.db'}"),
        broker_url=get("BROKER_URL"),
        smtp_relay=get("SMTP_RELAY"),
        address=get("ADDRESS", "helpdesk@localhost").lower(),
        base_url=get("BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        secret_key=_secret_key(data_dir, get("SECRET_KEY")),
        aliases=tuple(a.strip().lower() for a in get("ALIASES").split(",") if a.strip()),
        max_message_bytes=int(get("MAX_MESSAGE_BYTES", str(25 * 1024 * 1024))),
        imap_url=get("IMAP_URL"),
        trusted_proxies=int(get("TRUSTED_PROXIES", "0")),
        smtp_tls_cert=get("SMTP_TLS_CERT"),
        smtp_tls_key=get("SMTP_TLS_KEY"),
        smtp_relay_ca_file=get("SMTP_RELAY_CA_FILE"),
        dkim_key=get("DKIM_KEY"),
        dkim_selector=get("DKIM_SELECTOR"),
        rspamd_url=get("RSPAMD_URL").rstrip("/"),
        rspamd_timeout=float(get("RSPAMD_TIMEOUT", "10")),
        dns_resolver=get("DNS_RESOLVER"),
        dns_timeout=float(get("DNS_TIMEOUT", "5")),
        front_mta=get("FRONT_MTA").lower(),
        webhook_allow_http=get("WEBHOOK_ALLOW_HTTP", "0").lower() in ("1", "true", "yes"),
        whatsapp_token=get("WHATSAPP_TOKEN"),
        whatsapp_phone_id=get("WHATSAPP_PHONE_ID"),
        whatsapp_api_url=get("WHATSAPP_API_URL", "https://graph.facebook.com/v21.0").rstrip("/"),
        whatsapp_template_ack=get("WHATSAPP_TEMPLATE_ACK", "helpdesk_ack"),
        whatsapp_template_reply=get("WHATSAPP_TEMPLATE_REPLY", "helpdesk_staff_replied"),
        smtp_max_recipients=int(get("SMTP_MAX_RECIPIENTS", "100")),
        smtp_connections_per_minute=int(get("SMTP_CONNECTIONS_PER_MINUTE", "60")),
        smtp_messages_per_minute=int(get("SMTP_MESSAGES_PER_MINUTE", "120")),
        smtp_trusted_networks=_networks(get("SMTP_TRUSTED_NETWORKS", "127.0.0.0/8,::1")),
        bulk_duty=_fraction("BULK_DUTY", get("BULK_DUTY", "1")),
    )


def _fraction(name: str, value: str) -> float:
    """A share of the time, over 0 and at most 1, checked now so that a typo
    stops the start with its name instead of a job that never rests or never works."""
    try:
        fraction = float(value)
    except ValueError:
        fraction = -1.0
    if not 0 < fraction <= 1:
        raise ValueError(f"HELPDESK_{name}: {value!r} is not a fraction over 0 and at most 1")
    return fraction


def _networks(value: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks, checked now so a typo stops
    the start with its name rather than failing open later; "none": empty."""
    if value.lower() == "none":
        return ()
    networks = tuple(part.strip() for part in value.split(",") if part.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"HELPDESK_SMTP_TRUSTED_NETWORKS: {network!r} is not an address or network") from None
    return networks
