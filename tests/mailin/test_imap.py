"""The IMAP poller against a real Dovecot and a committing database."""
from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from imapclient import IMAPClient
from sqlalchemy import select

from cli import main
from core.models import ImapCursor, Outcome, RawMail, Ticket
from mailin.imap import poll_forever, poll_once, return_path
from tests._shared import wait_for
from tests.mailin.conftest import impatient, locked
from tests.mailin.dovecot import DOVECOT, PASSWORD, Dovecot
from tests.mailin.mails import mail

pytestmark = pytest.mark.imap
_users = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot():
    if not os.path.exists(DOVECOT):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{DOVECOT} is missing; CI installs dovecot-imapd")
        pytest.skip(f"{DOVECOT} is missing (apt-get install -y dovecot-imapd)")
    # Not under pytest's 0700 tmp dirs: Dovecot's mail processes run as dovecot.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    server = Dovecot(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot, db):
    """A user of its own, and the settings pointing the poller at its INBOX."""
    user = f"helpdesk{next(_users)}"
    return user, replace(db.settings, imap_url=dovecot.url(user))


def connect(dovecot: Dovecot, user: str, folder: str = "INBOX") -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=10)
    client.login(user, PASSWORD)
    client.select_folder(folder)
    return client


def append(dovecot: Dovecot, user: str, *raws: bytes, folder: str = "INBOX", flags=()) -> None:
    with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=10) as client:
        client.login(user, PASSWORD)
        for raw in raws:
            client.append(folder, raw, flags=flags)


def flags_of(dovecot: Dovecot, user: str, folder: str = "INBOX") -> list[set[bytes]]:
    with connect(dovecot, user, folder) as client:
        found = client.get_flags(client.search(["ALL"]))
    # \Recent is the server's own, session-bound flag.
    return [set(found[uid]) - {b"\\Recent"} for uid in sorted(found)]


def tickets(db) -> list[Ticket]:
    with db.session() as session:
        return session.scalars(select(Ticket).order_by(Ticket.id)).all()


def cursor(db) -> ImapCursor | None:
    with db.session() as session:
        return session.scalars(select(ImapCursor)).one_or_none()


def test_new_mail_becomes_tickets_and_is_flagged_seen(dovecot, db, mailbox):
    user, settings = mailbox
    append(dovecot, user, mail(subject="Rapor"), mail(subject="Ijazah"))
    assert flags_of(dovecot, user) == [set(), set()]
    report = poll_once(db, settings)
    assert (report.fetched, report.ingested, report.failed) == (2, 2, 0)
    assert [t.subject for t in tickets(db)] == ["Rapor", "Ijazah"]
    assert all({b"\\Seen", b"$Helpdesk"} <= flags for flags in flags_of(dovecot, user))
    assert cursor(db).mailbox == f"{user}@127.0.0.1/INBOX" and cursor(db).last_uid == 2
    with db.session() as session:
        assert session.scalars(select(RawMail.channel)).all() == ["imap", "imap"]


def test_second_poll_fetches_only_what_arrived_since(dovecot, db, mailbox):
    user, settings = mailbox
    append(dovecot, user, mail())
    poll_once(db, settings)
    assert poll_once(db, settings).fetched == 0
    append(dovecot, user, mail(subject="Lagi"))
    report = poll_once(db, settings)
    assert (report.fetched, report.ingested) == (1, 1)
    assert len(tickets(db)) == 2 and cursor(db).last_uid == 2


def test_mail_a_person_already_read_is_still_ingested(dovecot, db, mailbox):
    user, settings = mailbox
    append(dovecot, user, mail(subject="Sudah dibaca"), flags=[b"\\Seen"])
    assert poll_once(db, settings).ingested == 1
    assert [t.subject for t in tickets(db)] == ["Sudah dibaca"]


def test_new_uidvalidity_reads_the_folder_again_without_duplicating_tickets(dovecot, db):
    user = f"helpdesk{next(_users)}"
    settings = replace(db.settings, imap_url=dovecot.url(user, "Helpdesk"))
    first, second = mail(subject="Satu"), mail(subject="Dua")
    with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=10) as client:
        client.login(user, PASSWORD)
        client.create_folder("Helpdesk")
    append(dovecot, user, first, second, folder="Helpdesk")
    poll_once(db, settings)
    old = cursor(db).uidvalidity
    with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=10) as client:
        client.login(user, PASSWORD)
        client.delete_folder("Helpdesk")
        client.create_folder("Helpdesk")
    append(dovecot, user, first, second, folder="Helpdesk")
    report = poll_once(db, settings)
    assert (report.fetched, report.ingested) == (2, 2)
    assert cursor(db).uidvalidity != old and cursor(db).last_uid == 2
    assert len(tickets(db)) == 2
    with db.session() as session:
        outcomes = session.scalars(select(RawMail.outcome).order_by(RawMail.id)).all()
    assert outcomes == [Outcome.new_ticket, Outcome.new_ticket, Outcome.duplicate, Outcome.duplicate]


def test_unavailable_database_leaves_the_message_unread_for_the_next_poll(dovecot, db, mailbox):
    user, settings = mailbox
    append(dovecot, user, mail(subject="Nanti"))
    with locked(db):
        report = poll_once(impatient(db), settings)
    assert (report.ingested, report.failed) == (0, 1)
    assert flags_of(dovecot, user) == [set()]
    assert cursor(db) is None or cursor(db).last_uid == 0
    assert poll_once(db, settings).ingested == 1
    assert [t.subject for t in tickets(db)] == ["Nanti"]
    assert b"\\Seen" in flags_of(dovecot, user)[0]


def test_database_failing_mid_ingest_leaves_the_cursor_where_it_was(dovecot, db, mailbox):
    user, settings = mailbox
    append(dovecot, user, mail(subject="Pertama"))
    poll_once(db, settings)
    append(dovecot, user, mail(subject="Kedua"))
    with locked(db):
        report = poll_once(impatient(db), settings)
    assert report.failed == 1 and cursor(db).last_uid == 1
    assert flags_of(dovecot, user)[1] == set()
    assert poll_once(db, settings).ingested == 1
    assert [t.subject for t in tickets(db)] == ["Pertama", "Kedua"]


def test_poll_forever_survives_the_server_going_away(dovecot, db, mailbox, caplog):
    user, settings = mailbox
    stop = threading.Event()
    poller = threading.Thread(target=poll_forever, args=(db, settings),
                              kwargs={"interval": 0.1, "stop_event": stop, "backoff": 0.1, "max_backoff": 0.2})
    caplog.set_level(logging.WARNING, logger="helpdesk.mailin.imap")
    poller.start()
    try:
        append(dovecot, user, mail(subject="Sebelum"))
        wait_for(lambda: len(tickets(db)) == 1)
        dovecot.stop()
        wait_for(lambda: any("imap poll failed" in r.getMessage() for r in caplog.records))
        dovecot.start()
        append(dovecot, user, mail(subject="Sesudah"))
        wait_for(lambda: len(tickets(db)) == 2)
    finally:
        stop.set()
        poller.join(10)
        if not dovecot.running():
            dovecot.start()  # the next test needs it back
    assert not poller.is_alive()
    assert [t.subject for t in tickets(db)] == ["Sebelum", "Sesudah"]


def test_return_path_is_the_envelope_sender_and_empty_for_bounces():
    assert return_path(b"Return-Path: <a@b.test>\r\nSubject: x\r\n\r\nbody") == "a@b.test"
    assert return_path(b"Return-Path: <>\r\n\r\n") == "<>"
    assert return_path(b"Subject: x\r\n\r\nReturn-Path: <a@b.test>\r\n") is None


def helpdesk(db, *args, imap_url: str):
    env = {"HELPDESK_DATA_DIR": str(db.settings.data_dir), "HELPDESK_DATABASE_URL": db.settings.database_url,
           "HELPDESK_SECRET_KEY": db.settings.secret_key, "HELPDESK_ADDRESS": db.settings.address,
           "HELPDESK_IMAP_URL": imap_url}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_imap_poll_once_prints_what_it_took(dovecot, db, mailbox):
    user, settings = mailbox
    append(dovecot, user, mail())
    result = helpdesk(db, "imap-poll", "--once", imap_url=settings.imap_url)
    assert result.exit_code == 0, result.output
    assert "fetched 1, ingested 1, failed 0" in result.output
    assert len(tickets(db)) == 1


def test_imap_poll_without_a_url_says_what_to_set(db):
    result = helpdesk(db, "imap-poll", "--once", imap_url="")
    assert result.exit_code == 1
    assert "HELPDESK_IMAP_URL is not set" in result.output
