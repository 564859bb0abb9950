"""One transport interface, two backends: an SMTP relay, or a folder of .eml
files for one machine and demos (nothing real is ever sent from there).

A transport is used as a context manager for one delivery pass, so the relay
backend keeps a single SMTP connection for every message of the pass.
"""
from __future__ import annotations

import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, Sequence
from urllib.parse import unquote, urlsplit

from core.config.settings import Settings
from mailout.render import OutgoingMail


class DeliveryFailure(Exception):
    """A message did not go out. `permanent`: the relay refused it for good (5xx).
    `unreachable`: no connection at all, so the rest of the pass need not try."""

    def __init__(self, reason: str, *, permanent: bool = False, unreachable: bool = False):
        super().__init__(reason)
        self.permanent, self.unreachable = permanent, unreachable


class Transport(Protocol):
    def __enter__(self) -> "Transport": ...

    def __exit__(self, *exc) -> None: ...

    def send(self, mail: OutgoingMail, sender: str, recipient: str, *, cc: Sequence[str] = ()) -> None:
        """Send to the recipient and those copied; a refusal of the recipient is a DeliveryFailure."""


Security = Literal["plain", "starttls", "tls"]


@dataclass(frozen=True)
class RelayTarget:
    """Where HELPDESK_SMTP_RELAY sends, and how: `host:port` as plain SMTP (a
    relay on the same host or network), `smtp://user:password@host:port`
    with STARTTLS (port 587 by default) and `smtps://...` over implicit TLS
    (465). The user and password are optional; percent-escape `@` or `:` in them."""
    host: str
    port: int
    security: Security = "plain"
    user: str = ""
    password: str = ""


def relay_target(value: str) -> RelayTarget:
    """HELPDESK_SMTP_RELAY read; ValueError names what is wrong with it."""
    if "://" not in value:
        host, _, port = value.rpartition(":")
        return RelayTarget(host or value, int(port) if host else 25)
    parts = urlsplit(value)
    security: Security | None = {"smtp": "starttls", "smtps": "tls"}.get(parts.scheme)
    if security is None or not parts.hostname:
        raise ValueError(f"HELPDESK_SMTP_RELAY: expected smtp://[user:password@]host[:port] or smtps://..., "
                         f"not {parts.scheme}://")
    return RelayTarget(parts.hostname, parts.port or (587 if security == "starttls" else 465), security,
                       unquote(parts.username or ""), unquote(parts.password or ""))


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """Certificates verified, host names checked: the system's CAs, and
    `ca_file` too when given (a private relay's own CA)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class RelayTransport:
    def __init__(self, host: str, port: int, timeout: float = 30.0, *, security: Security = "plain",
                 user: str = "", password: str = "", ca_file: str = ""):
        self.host, self.port, self.timeout = host, port, timeout
        self.security, self.user, self.password, self.ca_file = security, user, password, ca_file
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "RelayTransport":
        return self

    def __exit__(self, *exc) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except smtplib.SMTPAuthenticationError as exc:
                raise DeliveryFailure(f"relay {self.host}:{self.port} refused the login: "
                                      f"{_reply(exc.smtp_code, exc.smtp_error)}", unreachable=True) from None
            except smtplib.SMTPNotSupportedError as exc:
                raise DeliveryFailure(f"relay {self.host}:{self.port}: {exc}", unreachable=True) from None
            except (OSError, smtplib.SMTPException) as exc:  # ssl.SSLError (a bad certificate) is an OSError
                raise DeliveryFailure(f"relay {self.host}:{self.port} unreachable: {exc}", unreachable=True) from None
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        """A connection ready for MAIL: TLS as configured, logged in when a user is given."""
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=tls_context(self.ca_file))
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=tls_context(self.ca_file))  # raises SMTPNotSupportedError when not offered
            if self.user:
                smtp.login(self.user, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, mail: OutgoingMail, sender: str, recipient: str, *, cc: Sequence[str] = ()) -> None:
        try:
            self._send(mail, sender, recipient, cc)
        except smtplib.SMTPServerDisconnected:
            # A relay may drop an idle or long-lived connection; one fresh try.
            self._smtp = None
            self._send(mail, sender, recipient, cc)

    def _send(self, mail: OutgoingMail, sender: str, recipient: str, cc: Sequence[str]) -> None:
        smtp = self._connection()
        try:
            refused = smtp.sendmail(sender, [recipient, *cc], mail.as_bytes())
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(recipient, (450, b"refused"))
            raise DeliveryFailure(_reply(code, text), permanent=code >= 500) from None
        except smtplib.SMTPServerDisconnected:
            raise
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailure(_reply(exc.smtp_code, exc.smtp_error), permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._smtp = None
            raise DeliveryFailure(f"relay error: {exc}", unreachable=True) from None
        if recipient in refused:
            # Those copied took it; the retry re-sends it to them with the same
            # Message-ID, which mail clients de-duplicate. A copy refused alone
            # is theirs to fix: the customer's mail went out.
            code, text = refused[recipient]
            raise DeliveryFailure(_reply(code, text), permanent=code >= 500)


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {text}"


class FolderTransport:
    """Each message as <Message-ID>.eml; written under a temporary name, fsynced and
    renamed, so a reader never sees half a file. A retry of the same message
    replaces its file rather than adding a second one."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def __enter__(self) -> "FolderTransport":
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc) -> None:
        return None

    def send(self, mail: OutgoingMail, sender: str, recipient: str, *, cc: Sequence[str] = ()) -> None:
        name = re.sub(r"[^A-Za-z0-9._@-]", "", mail.message_id) or "message"
        target = self.folder / f"{name}.eml"
        tmp = self.folder / f".{name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(mail.as_bytes())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise DeliveryFailure(f"cannot write {target}: {exc}") from None


def transport_for(settings: Settings) -> Transport:
    """The relay when HELPDESK_SMTP_RELAY is set (see RelayTarget), else the outgoing folder."""
    if settings.smtp_relay:
        target = relay_target(settings.smtp_relay)
        return RelayTransport(target.host, target.port, security=target.security, user=target.user,
                              password=target.password, ca_file=settings.smtp_relay_ca_file)
    return FolderTransport(settings.path("outgoing"))
