"""The IMAP poller: mail in a mailbox becomes mail in the pipeline.

Messages are taken by UID, never by the \\Seen flag, so mail a person has
already opened in the mailbox is still ingested. Bodies are fetched with
BODY.PEEK[] and a message is flagged \\Seen only after `ingest` has returned,
and the cursor (ImapCursor.last_uid) is committed after that: a crash in
between ingests the message again, which the pipeline's duplicate screen
records as a duplicate. A new UIDVALIDITY means the server renumbered the
folder, so the cursor starts over from 0.
"""
from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from core.config.settings import Settings
from core.models import ImapCursor
from core.storage.db import Database
from mailin.inbound import TemporaryFailure
from mailin.pipeline import ingest

log = logging.getLogger("helpdesk.mailin.imap")
BATCH = 50
KEYWORD = "$Helpdesk"
TIMEOUT = 60
# What a lost server or network raises; poll_forever reconnects after these.
CONNECTION_ERRORS = (OSError, socket.timeout, ssl.SSLError, IMAPClientError)


class MissingImapUrl(ValueError):
    """HELPDESK_IMAP_URL is not set."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str
    use_ssl: bool

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}/{self.folder}"


@dataclass(frozen=True)
class PollReport:
    fetched: int = 0
    ingested: int = 0
    failed: int = 0


def mailbox_of(url: str) -> Mailbox:
    """imap://user:password@host:port/FOLDER (imaps:// for TLS); FOLDER defaults to INBOX."""
    if not url:
        raise MissingImapUrl("HELPDESK_IMAP_URL is not set (imap://user:password@host:port/FOLDER)")
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ValueError(f"not an imap:// or imaps:// URL with a user and host: {parts.scheme}://{parts.hostname}")
    use_ssl = parts.scheme == "imaps"
    return Mailbox(host=parts.hostname, port=parts.port or (993 if use_ssl else 143),
                   user=unquote(parts.username), password=unquote(parts.password or ""),
                   folder=unquote(parts.path.lstrip("/")) or "INBOX", use_ssl=use_ssl)


def poll_once(db: Database, settings: Settings) -> PollReport:
    """Connect, take every message past the cursor, and log out."""
    mailbox = mailbox_of(settings.imap_url)
    client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.use_ssl, timeout=TIMEOUT)
    try:
        client.login(mailbox.user, mailbox.password)
        return take_new(db, client, mailbox)
    finally:
        try:
            client.logout()
        except CONNECTION_ERRORS:
            pass  # the connection is gone already; nothing is left to close


def take_new(db: Database, client: IMAPClient, mailbox: Mailbox) -> PollReport:
    uidvalidity = client.select_folder(mailbox.folder)[b"UIDVALIDITY"]
    fetched = ingested = 0
    try:
        last_uid = load_cursor(db, mailbox.key, uidvalidity)
    except TemporaryFailure as failure:
        log.warning("imap %s: cursor unavailable, retrying next poll: %s", mailbox.key, failure)
        return PollReport(failed=1)
    # "N:*" always matches the highest UID, even below N: filter again.
    uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
    for start in range(0, len(uids), BATCH):
        batch = uids[start:start + BATCH]
        bodies = client.fetch(batch, ["BODY.PEEK[]"])
        for uid in batch:
            if uid not in bodies:
                continue  # expunged since the search
            raw = bodies[uid][b"BODY[]"]
            fetched += 1
            try:
                result = ingest(db, raw, return_path(raw), (), channel="imap")
                client.add_flags([uid], [b"\\Seen", KEYWORD.encode()], silent=True)
                save_cursor(db, mailbox.key, uidvalidity, uid)
            except TemporaryFailure as failure:
                log.warning("imap %s: uid %s not taken, retrying next poll: %s", mailbox.key, uid, failure)
                return PollReport(fetched, ingested, failed=1)
            ingested += 1
            log.info("imap %s uid %s: %s %s", mailbox.key, uid, result.outcome, result.ticket_ref or "-")
    return PollReport(fetched, ingested)


def load_cursor(db: Database, key: str, uidvalidity: int) -> int:
    """The last UID taken; a new UIDVALIDITY resets it to 0 (and is recorded)."""
    try:
        with db.begin() as session:
            cursor = session.scalars(select(ImapCursor).where(ImapCursor.mailbox == key)).one_or_none()
            if cursor is None:
                session.add(ImapCursor(mailbox=key, uidvalidity=uidvalidity, last_uid=0))
                return 0
            if cursor.uidvalidity != uidvalidity:
                log.warning("imap %s: UIDVALIDITY %s -> %s, reading the folder again",
                            key, cursor.uidvalidity, uidvalidity)
                cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
            return cursor.last_uid
    except sa_exc.SQLAlchemyError as error:
        raise TemporaryFailure(f"could not read the IMAP cursor: {error}") from error


def save_cursor(db: Database, key: str, uidvalidity: int, uid: int) -> None:
    try:
        with db.begin() as session:
            cursor = session.scalars(select(ImapCursor).where(ImapCursor.mailbox == key)).one()
            cursor.uidvalidity, cursor.last_uid = uidvalidity, max(cursor.last_uid, uid)
    except sa_exc.SQLAlchemyError as error:
        # The message is ingested; taking it again next poll is a recorded duplicate.
        raise TemporaryFailure(f"could not advance the IMAP cursor: {error}") from error


def return_path(raw: bytes) -> str | None:
    """The envelope sender the delivering server wrote down ("<>" for bounces)."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    found = re.search(rb"^return-path:[ \t]*<([^>\r\n]*)>", head, re.IGNORECASE | re.MULTILINE)
    if found is None:
        return None
    return found.group(1).decode("utf-8", "replace").strip() or "<>"


def poll_forever(db: Database, settings: Settings, interval: float = 30, stop_event: threading.Event | None = None,
                 backoff: float = 5, max_backoff: float = 300) -> None:
    """Poll every `interval` seconds until `stop_event` is set; a lost
    connection or database is logged in one line and retried after a
    growing pause."""
    mailbox_of(settings.imap_url)  # a missing or malformed URL is fatal, not retried
    stop_event = stop_event or threading.Event()
    pause = backoff
    while not stop_event.is_set():
        try:
            poll_once(db, settings)
        except (*CONNECTION_ERRORS, sa_exc.SQLAlchemyError) as error:
            log.warning("imap poll failed, retrying in %.0f s: %s: %s", pause, type(error).__name__, error)
            stop_event.wait(pause)
            pause = min(pause * 2, max_backoff)
            continue
        pause = backoff
        stop_event.wait(interval)
