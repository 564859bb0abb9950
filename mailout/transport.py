"""One transport interface, two backends: an SMTP relay, or a folder of .eml
files for one machine and demos (nothing real is ever sent from there).

A transport is used as a context manager for one delivery pass, so the relay
backend keeps a single SMTP connection for every message of the pass.
"""
from __future__ import annotations

import os
import re
import smtplib
from pathlib import Path
from typing import Protocol, Sequence

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


class RelayTransport:
    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
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
                self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            except (OSError, smtplib.SMTPException) as exc:
                raise DeliveryFailure(f"relay {self.host}:{self.port} unreachable: {exc}", unreachable=True) from None
        return self._smtp

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
    """The relay when HELPDESK_SMTP_RELAY is host:port, else the outgoing folder."""
    if settings.smtp_relay:
        host, _, port = settings.smtp_relay.rpartition(":")
        return RelayTransport(host or settings.smtp_relay, int(port) if host else 25)
    return FolderTransport(settings.path("outgoing"))
