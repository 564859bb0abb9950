"""The `helpdesk` command as an operator runs it: real processes, a real database."""
from __future__ import annotations

import json
import os
import re
import signal
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.models import Office, User
from core.storage import schema
from tests.factories import DIRECTORY

ROOT = Path(__file__).resolve().parent.parent


def helpdesk(database, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from cli import main; main()", *args], cwd=ROOT,
                          env=_env(database), input=stdin, capture_output=True, text=True, timeout=120)


def _env(database) -> dict[str, str]:
    s = database.settings
    return {**os.environ, "HELPDESK_DATA_DIR": str(s.data_dir), "HELPDESK_DATABASE_URL": s.database_url,
            "HELPDESK_SECRET_KEY": s.secret_key, "HELPDESK_ADDRESS": s.address,
            "HELPDESK_BROKER_URL": s.broker_url}


@pytest.fixture
def empty(database):
    """A database with no tables yet, as on a fresh installation."""
    from core.models import Base
    Base.metadata.drop_all(database.engine)
    return database


def test_init_db_creates_the_schema_once_and_then_says_up_to_date(empty):
    first = helpdesk(empty, "init-db")
    assert first.returncode == 0, first.stderr
    assert "upgraded empty -> " in first.stdout and "default priorities" in first.stdout
    again = helpdesk(empty, "init-db")
    assert again.stdout.strip() == "database up to date"


def test_the_migrations_build_exactly_the_models(empty):
    schema.upgrade(empty.engine)
    assert schema.drift(empty.engine) == []


def test_import_directory_reports_bad_rows_by_line_and_keeps_the_good(database, tmp_path):
    csv = tmp_path / "dir.csv"
    csv.write_text(DIRECTORY + "S009,Orphan,school,NOPE,orphan@sekolah.test\n")
    result = helpdesk(database, "import-directory", str(csv))
    assert result.returncode == 1
    assert f"{csv}:line 12 (S009): unknown parent NOPE" in result.stderr
    assert "10 created, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    again = helpdesk(database, "import-directory", str(csv))
    assert "0 created, 0 updated, 10 unchanged, 1 rejected" in again.stdout
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Office)) == 10


def test_import_directory_refuses_a_file_without_the_columns(database, tmp_path):
    csv = tmp_path / "dir.csv"
    csv.write_text("kode,nama\nA,B\n")
    result = helpdesk(database, "import-directory", str(csv))
    assert result.returncode == 1 and "missing column(s) code, name" in result.stderr


def test_create_user_reads_the_password_from_stdin_and_hashes_it(database, tmp_path):
    (tmp_path / "d.csv").write_text(DIRECTORY)
    helpdesk(database, "import-directory", str(tmp_path / "d.csv"))
    result = helpdesk(database, "create-user", "Agent@Dinas.test", "--name", "Agen", "--office", "C3171",
                      "--role", "agent", stdin="a long enough secret\n")
    assert result.returncode == 0, result.stderr
    with database.session() as s:
        user = s.scalar(select(User))
        assert user.email == "agent@dinas.test" and user.password_hash.startswith("$argon2id$")
    short = helpdesk(database, "create-user", "b@dinas.test", "--name", "B", "--office", "C3171",
                     "--role", "agent", stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    unknown = helpdesk(database, "create-user", "c@dinas.test", "--name", "C", "--office", "X",
                       "--role", "admin", stdin="a long enough secret\n")
    assert "no office with code 'X'" in unknown.stderr


def test_demo_and_export_print_the_tickets_in_the_contract_shape(database):
    assert "demo loaded" in helpdesk(database, "demo").stdout
    assert "already loaded" in helpdesk(database, "demo").stdout
    lines = helpdesk(database, "export", "--format", "jsonl").stdout.splitlines()
    tickets = [json.loads(line) for line in lines]
    assert len(tickets) == 12
    assert {t["status"] for t in tickets} == {"open", "answered", "forwarded", "closed", "on_hold"}
    # A ticket forwarded up is no longer held by the city agent who sent it.
    assert all(t["assignee"] is None for t in tickets if t["status"] == "forwarded")
    for ticket in tickets:
        assert {"ref", "status", "office", "assignee", "priority", "requester", "subject", "created_at",
                "messages", "events"} <= set(ticket)
        message = ticket["messages"][0]
        assert {"direction", "from", "message_id", "text", "full_text", "html", "attachments",
                "refused"} <= set(message)
        assert {"at", "actor", "kind", "from", "to"} <= set(ticket["events"][0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_run(database, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int, int, list[str]]:
    """`helpdesk run --demo` on free ports, once it says READY: the process,
    the web and SMTP ports, and what it printed (its log too) up to and with
    the banner. What it prints after that is kept in `proc.lines`."""
    web, smtp = _free_port(), _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "run", "--demo", "--web-port", str(web),
         "--smtp-port", str(smtp)], cwd=ROOT, env=env or _env(database), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if line.startswith("READY") or not line:
            break
    if not any(line.startswith("READY") for line in seen):
        proc.terminate()
        proc.wait(timeout=60)
        raise AssertionError(seen)
    while seen[-1].strip() != "stop with Ctrl-C":
        seen.append(proc.stdout.readline())
    proc.lines = list(seen)
    # Read on, so the parts never block on a full pipe, and the test can look.
    threading.Thread(target=lambda: proc.lines.extend(proc.stdout), daemon=True).start()
    return proc, web, smtp, seen


def test_run_starts_every_part_prints_ready_and_takes_mail(empty):
    database = empty
    proc, web, smtp, seen = start_run(database)
    try:
        assert not any("imap" in line for line in seen)  # no mailbox configured, no poller
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/healthz", timeout=10) as response:
            assert response.status == 200
        with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as client:
            client.sendmail("sekolah01@sekolah.demo", [database.settings.address],
                            b"From: sekolah01@sekolah.demo\r\nTo: " + database.settings.address.encode()
                            + b"\r\nSubject: Tes dari run\r\nMessage-ID: <run-test@sekolah.demo>\r\n\r\nHalo\r\n")
        exported = helpdesk(database, "export").stdout
        assert "Tes dari run" in exported
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0


def test_run_polls_the_imap_mailbox_too_when_one_is_configured(empty):
    from imapclient import IMAPClient

    from tests.mailin.dovecot import DOVECOT, PASSWORD, Dovecot

    if not os.path.exists(DOVECOT):
        pytest.skip(f"{DOVECOT} is missing (apt-get install -y dovecot-imapd)")
    database = empty
    # Not under pytest's 0700 tmp dirs: Dovecot's mail processes run as dovecot.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    dovecot = Dovecot(root).start()
    try:
        with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=10) as client:
            client.login("runpoll", PASSWORD)
            client.append("INBOX", b"From: sekolah02@sekolah.demo\r\nTo: " + database.settings.address.encode()
                          + b"\r\nSubject: Dari kotak surat\r\nMessage-ID: <run-imap@sekolah.demo>\r\n\r\nHalo\r\n")
        proc, _web, _smtp, seen = start_run(database, {**_env(database),
                                                      "HELPDESK_IMAP_URL": dovecot.url("runpoll")})
        try:
            banner = "".join(seen)
            assert "imap runpoll@127.0.0.1/INBOX" in banner and PASSWORD not in banner
            deadline = time.monotonic() + 60
            while "Dari kotak surat" not in helpdesk(database, "export").stdout:
                assert time.monotonic() < deadline, "the mailbox's mail never became a ticket"
                time.sleep(1)
        finally:
            proc.terminate()
            assert proc.wait(timeout=60) == 0
    finally:
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.2)
    return found


def _started_pid(proc: subprocess.Popen, part: str) -> int | None:
    """The pid `helpdesk run` last said it started `part` with."""
    found = [re.search(rf"helpdesk\.supervise\[{proc.pid}\] INFO started {part} \(pid (\d+)\)", line)
             for line in list(proc.lines)]
    pids = [int(match.group(1)) for match in found if match]
    return pids[-1] if pids else None


def _restarted(proc: subprocess.Popen, part: str, killed: int) -> int:
    """Wait until `helpdesk run` has started `part` again after its pid `killed`; the new pid."""
    new = _wait_for(lambda: (pid := _started_pid(proc, part)) != killed and pid, 60, f"{part} started again")
    assert any(f"{part} (pid {killed}) ended: signal SIGKILL" in line for line in proc.lines)
    return new


def _send(port: int, to: str, sender: str, subject: str, message_id: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.sendmail(sender, [to], (
            f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{message_id}>\r\n\r\nMohon bantuan.\r\n").encode())


def _answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            return client.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_bytes().rpartition(b")")[2].split()[1])
            except (OSError, IndexError):
                continue
    found, todo = set(), [pid]
    while todo:
        children = {child for child, parent in parents.items() if parent == todo[-1]}
        todo.pop()
        todo.extend(children - found)
        found |= children
    return found


def _runs(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False


def _new_tickets(database) -> dict[str, str]:
    """Message-ID to ticket reference of the mails that opened a ticket, from `helpdesk mail-log`."""
    rows = [json.loads(line) for line in helpdesk(database, "mail-log", "--format", "jsonl").stdout.splitlines()]
    return {row["message_id"]: row["ticket_ref"] for row in rows if row["outcome"] == "new_ticket"}


def test_run_starts_a_killed_part_again_and_sigterm_stops_every_process(empty):
    """The one-machine install survives a crash of its SMTP server or its
    worker: `helpdesk run` starts the part again; SIGTERM still stops all."""
    database = empty
    address = database.settings.address
    proc, _web, smtp, _seen = start_run(database)
    try:
        _send(smtp, address, "sekolah01@sekolah.demo", "Sebelum", "before@sekolah.demo")
        killed = _started_pid(proc, "smtp")
        os.kill(killed, signal.SIGKILL)
        _restarted(proc, "smtp", killed)
        _wait_for(lambda: _answers(smtp), 60, "the SMTP port answering again")
        _send(smtp, address, "sekolah02@sekolah.demo", "Sesudah", "after@sekolah.demo")
        tickets = _new_tickets(database)
        assert tickets.keys() >= {"<before@sekolah.demo>", "<after@sekolah.demo>"}, tickets

        killed = _started_pid(proc, "worker")
        os.kill(killed, signal.SIGKILL)
        _restarted(proc, "worker", killed)
        _send(smtp, address, "sekolah03@sekolah.demo", "Setelah pekerja mati", "worker@sekolah.demo")
        ref = _new_tickets(database)["<worker@sekolah.demo>"]
        # Only the new worker can deliver this mail's acknowledgement.
        outgoing = database.settings.path("outgoing")
        _wait_for(lambda: any(ref in path.read_text(errors="replace") for path in outgoing.glob("*.eml")),
                  90, "the acknowledgement written by the restarted worker")
        everything = _descendants(proc.pid)
        assert everything
    finally:
        proc.terminate()
        assert proc.wait(timeout=90) == 0
    assert [pid for pid in everything if _runs(pid)] == []
