"""The SMTP server over a real socket: whole transcripts of reply codes."""
from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.models import Message, Outbox, OutboxStatus, Outcome, RawMail, Setting, Ticket
from mailin.smtpd import BackgroundServer
from core.storage import spool
from core.storage.files import Store
from tests.factories import raw_of
from tests.mailin.conftest import impatient, locked, transcript
from tests.mailin.mails import HELPDESK, PDF, delivery_report, mail, message_id_of, with_parts

ROOT = Path(__file__).resolve().parents[2]
OK = [250, 250, 250, 250, 221]


def count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_mail_for_the_helpdesk_opens_a_ticket_and_is_answered_250_after_commit(db, smtp_server):
    raw = mail(subject="Dapodik tidak bisa sinkron")
    assert transcript(smtp_server.port, raw) == OK
    with db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        raw_mail = session.scalars(select(RawMail)).one()
        assert ticket.subject == "Dapodik tidak bisa sinkron"
        assert ticket.office.code == "C3171"
        assert (raw_mail.outcome, raw_mail.ticket_id, raw_mail.channel) == (Outcome.new_ticket, ticket.id, "smtp")
        assert raw_mail.envelope_to == HELPDESK
    assert raw_of(db, raw_mail) == raw


def test_recipient_case_and_aliases_are_accepted(db):
    db.settings = replace(db.settings, aliases=("bantuan@helpdesk.test",))
    server = BackgroundServer(db).start()
    try:
        codes = transcript(server.port, mail(), rcpt=("HelpDesk@HELPDESK.test", "Bantuan@helpdesk.test"))
    finally:
        server.stop()
    assert codes == [250, 250, 250, 250, 250, 221]


def test_foreign_recipient_is_refused_550(db, smtp_server):
    assert transcript(smtp_server.port, mail(), rcpt=("someone@elsewhere.test",)) == [250, 250, 550, 221]
    assert count(db, RawMail) == 0


def test_foreign_recipient_beside_ours_is_refused_alone(db, smtp_server):
    codes = transcript(smtp_server.port, mail(), rcpt=("someone@elsewhere.test", HELPDESK))
    assert codes == [250, 250, 550, 250, 250, 221]
    with db.session() as session:
        assert session.scalars(select(RawMail.envelope_to)).one() == HELPDESK


def test_oversized_message_is_refused_552_and_not_recorded(db):
    db.settings = replace(db.settings, max_message_bytes=2000)
    server = BackgroundServer(db).start()
    try:
        codes = transcript(server.port, mail(body=("x" * 70 + "\n") * 80))
        small = transcript(server.port, mail(body="kecil"))
    finally:
        server.stop()
    assert codes == [250, 250, 250, 552, 221]
    assert small == OK
    assert count(db, RawMail) == 1


def test_sessions_run_concurrently_and_every_mail_gets_its_ticket(db, smtp_server):
    raws = [mail(sender=f"guru{n}@sekolah.test", subject=f"Soal {n}") for n in range(12)]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda raw: transcript(smtp_server.port, raw), raws))
    assert results == [OK] * 12
    assert count(db, Ticket) == 12


def test_a_mail_that_breaks_processing_is_quarantined_250_and_the_server_serves_the_next(db, smtp_server):
    # An unreadable attachment rule in the database makes the attachment
    # check raise: the bytes are already recorded, so the sender gets 250.
    with db.begin() as session:
        session.add(Setting(key="attachment_max_bytes", value=json.dumps("lots")))
    broken = with_parts(files=[("surat.pdf", "application/pdf", PDF)])
    assert transcript(smtp_server.port, broken) == OK
    assert transcript(smtp_server.port, mail(subject="Berikutnya")) == OK
    with db.session() as session:
        first, second = session.scalars(select(RawMail).order_by(RawMail.id)).all()
        assert first.outcome is Outcome.quarantined and first.reason.startswith("error: TypeError")
        assert first.ticket_id is None
        assert second.outcome is Outcome.new_ticket


def test_a_session_that_sends_no_data_does_not_disturb_others(db, smtp_server):
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as idle:
        idle.ehlo("idle.test")
        idle.mail("a@sekolah.test")
        assert transcript(smtp_server.port, mail()) == OK
    assert count(db, Message) == 1


def test_locked_database_answers_451_and_the_senders_retry_makes_exactly_one_ticket(db):
    server = BackgroundServer(impatient(db)).start()
    raw = mail(subject="Coba lagi nanti")
    try:
        with locked(db):
            assert transcript(server.port, raw) == [250, 250, 250, 451, 221]
        assert transcript(server.port, raw) == OK
        assert transcript(server.port, raw) == OK  # a sender that retries once too often
    finally:
        server.stop()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        outcomes = session.scalars(select(RawMail.outcome).order_by(RawMail.id)).all()
    assert outcomes == [Outcome.new_ticket, Outcome.duplicate]


def test_reply_with_the_tag_over_smtp_lands_on_the_ticket(db, smtp_server):
    assert transcript(smtp_server.port, mail()) == OK
    with db.session() as session:
        ref = session.scalars(select(Ticket.ref)).one()
    assert transcript(smtp_server.port, mail(subject=f"Re: [{ref}] Rapor")) == OK
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_bounce_from_the_null_sender_is_matched_to_the_outbox_row(db, smtp_server):
    assert transcript(smtp_server.port, mail()) == OK
    with db.session() as session:
        ack = session.scalars(select(Outbox)).one()
    assert transcript(smtp_server.port, delivery_report(ack.message_id), mail_from="") == OK
    with db.session() as session:
        assert session.get(Outbox, ack.id).status is OutboxStatus.bounced
        bounce = session.scalars(select(RawMail).order_by(RawMail.id.desc())).first()
        assert (bounce.outcome, bounce.envelope_from, bounce.ticket_id) == (Outcome.bounce, "<>", ack.ticket_id)


def test_attachments_that_cannot_be_stored_are_answered_451_and_the_server_keeps_serving(db, smtp_server):
    """A message's own bytes are written with its row, in the database; its
    kept attachments go to the store before that. While the store cannot be
    written, a mail with an attachment is answered 451 (its sender keeps it)
    and a plain one is taken, its bytes spooled until the store is back."""
    folder = db.settings.path("store")
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the store's folder should be")
    with_pdf = with_parts(files=[("jadwal.pdf", "application/pdf", PDF)])
    assert transcript(smtp_server.port, with_pdf) == [250, 250, 250, 451, 221]
    assert transcript(smtp_server.port, mail()) == OK
    with pytest.raises(OSError):
        spool.move(db, Store(folder))
    assert spool.spooled(db) == 1
    folder.unlink()
    assert transcript(smtp_server.port, with_pdf) == OK
    assert spool.move(db, Store(folder)) == 2 and spool.spooled(db) == 0
    assert count(db, RawMail) == 2


def start_smtpd(db, *options: str) -> tuple[subprocess.Popen, int]:
    """`helpdesk smtpd` as an operator starts it, on a free port; returns it and the port."""
    s = db.settings
    env = {**os.environ, "HELPDESK_DATA_DIR": str(s.data_dir), "HELPDESK_DATABASE_URL": s.database_url,
           "HELPDESK_SECRET_KEY": s.secret_key, "HELPDESK_ADDRESS": s.address}
    proc = subprocess.Popen([sys.executable, "-c", "from cli import main; main()", "smtpd", "--port", "0",
                             *options], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    proc.startup_log = ""  # what it said before listening
    for line in proc.stderr:
        proc.startup_log += line
        found = re.search(r"smtpd listening on [\d.]+:(\d+)", line)
        if found:
            return proc, int(found.group(1))
    raise AssertionError(f"smtpd exited with {proc.wait()} before listening")


def test_two_processes_on_one_port_record_every_mail_exactly_once(db):
    proc, port = start_smtpd(db, "--processes", "2")
    raws = [mail(sender=f"guru{n}@sekolah.test", subject=f"Soal {n}") for n in range(80)]
    try:
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda raw: transcript(port, raw), raws))
    finally:
        proc.terminate()
        log = proc.communicate(timeout=60)[1]
    assert proc.returncode == 0
    assert results == [OK] * 80
    with db.session() as session:
        recorded = session.execute(select(RawMail.message_id, RawMail.outcome)).all()
        tickets = session.scalar(select(func.count()).select_from(Ticket))
    assert sorted(message_id for message_id, _ in recorded) == sorted(map(message_id_of, raws))
    assert {outcome for _, outcome in recorded} == {Outcome.new_ticket} and tickets == 80
    # Both processes took mail: the connections were dealt out.
    assert len(set(re.findall(r"smtpd\[(\d+)\] INFO 250 ", log))) == 2


def test_long_lived_connections_are_dealt_evenly_between_the_processes(db):
    """A relay keeps a few connections open and sends mail after mail on each:
    each process must get its share of them, not what a hash of ports gives."""
    proc, port = start_smtpd(db, "--processes", "2")

    def send_five(number: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            for n in range(5):
                client.sendmail(f"guru{number}@sekolah.test", [HELPDESK],
                                mail(sender=f"guru{number}@sekolah.test", subject=f"Soal {number}-{n}"))

    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(send_five, range(8)))
    finally:
        proc.terminate()
        log = proc.communicate(timeout=60)[1]
    assert proc.returncode == 0
    per_process = sorted(collections.Counter(re.findall(r"smtpd\[(\d+)\] INFO 250 ", log)).values())
    assert per_process == [20, 20]


@pytest.mark.parametrize("victim", ["server", "writer"])
def test_the_parent_exits_non_zero_when_a_server_process_or_the_writer_dies(db, victim):
    proc, port = start_smtpd(db, "--processes", "2")
    try:
        assert transcript(port, mail()) == OK
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        ours = [pid for pid in children if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]
        writers = re.findall(r"helpdesk\.writer\[(\d+)\] INFO writer ready", proc.startup_log)
        # On SQLite one process makes the writes for both server processes.
        assert len(writers) == (1 if db.is_sqlite else 0) and len(ours) == 2 + len(writers)
        if victim == "writer" and not writers:
            pytest.skip("PostgreSQL takes no writer process")
        servers = [pid for pid in ours if pid not in writers]
        killed = writers[0] if victim == "writer" else servers[0]
        os.kill(int(killed), signal.SIGKILL)
        log = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    # The log says which process died and how.
    name = "smtpd-writer" if victim == "writer" else r"smtpd-\d"
    assert re.search(rf"{name} \(pid {killed}\) ended: signal SIGKILL; stopping the others", log), log


def test_smtpd_without_processes_is_one_process_that_stops_on_sigterm(db):
    proc, port = start_smtpd(db)
    try:
        assert transcript(port, mail()) == OK
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0 and count(db, Ticket) == 1
