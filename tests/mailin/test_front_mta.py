"""The production front door, end to end: Postfix as the public MX relays
accepted mail to `helpdesk smtpd`, and our acknowledgement leaves through the
same Postfix (docs/FRONT-MTA.md). A throwaway Postfix instance on loopback
ports, in a temp dir, and a real client (swaks).

Runs once: on SQLite only, since the database plays no part in what it checks."""
from __future__ import annotations

import email
import os
import shutil
import subprocess
import tempfile
from email import policy as email_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from core.models import Outbox, RawMail, Ticket
from mailout.deliver import deliver_due
from mailout.transport import RelayTransport
from tests._shared import wait_for
from tests.conftest import ON_POSTGRES
from tests.mailout.relay import Relay, free_port

pytestmark = pytest.mark.postfix

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"


def _missing() -> str | None:
    if ON_POSTGRES:
        return "runs once, on the SQLite pass"
    for tool, package in ((POSTFIX, "postfix"), (SWAKS, "swaks")):
        if not os.path.exists(tool):
            return f"{tool} is missing (apt-get install -y {package})"
    if os.geteuid() != 0:
        return "a Postfix instance needs root to start"
    return None


class Postfix:
    """A Postfix instance of its own: config, queue and data in `root`,
    listening on `port`, relaying the helpdesk's domain to `helpdesk_port`
    and everything else to `outbound_port`."""

    def __init__(self, root: Path, port: int, helpdesk_port: int, outbound_port: int):
        self.root, self.port = root, port
        self.etc = root / "etc"
        for folder in ("etc", "spool", "data"):
            (root / folder).mkdir(parents=True)
        shutil.chown(root / "data", "postfix")
        master = Path("/etc/postfix/master.cf").read_text().replace(
            "smtp      inet  n       -       y       -       -       smtpd",
            f"127.0.0.1:{port} inet n - n - - smtpd")
        (self.etc / "master.cf").write_text(master)
        (self.etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {root / 'spool'}
data_directory = {root / 'data'}
maillog_file = /dev/stdout
myhostname = mx.helpdesk.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = helpdesk.test
transport_maps = inline:{{ helpdesk.test=smtp:[127.0.0.1]:{helpdesk_port} }}
relayhost = [127.0.0.1]:{outbound_port}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_tls_security_level = none
smtpd_tls_security_level = none
disable_dns_lookups = yes
smtp_host_lookup = native
""")
        self.process: subprocess.Popen | None = None

    def start(self) -> "Postfix":
        self.log = open(self.root / "postfix.log", "wb")
        self.process = subprocess.Popen([POSTFIX, "-c", str(self.etc), "start-fg"], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        wait_for(lambda: b"daemon started" in (self.root / "postfix.log").read_bytes(), timeout=20)
        return self

    def stop(self) -> None:
        subprocess.run([POSTFIX, "-c", str(self.etc), "stop"], capture_output=True, timeout=30)
        if self.process is not None:
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


@pytest.fixture
def postfix(smtp_server):
    why = _missing()
    if why:
        if os.environ.get("CI") == "true" and not ON_POSTGRES:
            pytest.fail(why)
        pytest.skip(why)
    # Postfix's own user must reach its data dir: not under pytest's 0700 folder.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-postfix-"))
    root.chmod(0o755)
    outbound = Relay().start()
    instance = Postfix(root / "postfix", free_port(), smtp_server.port, outbound.port).start()
    try:
        yield instance, outbound
    finally:
        instance.stop()
        outbound.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_mail_through_postfix_becomes_a_ticket_and_the_ack_leaves_through_postfix(db, postfix):
    instance, outbound = postfix
    sent = subprocess.run(
        [SWAKS, "--server", "127.0.0.1", "--port", str(instance.port), "--from", "sman1@sekolah.test",
         "--to", "helpdesk@helpdesk.test", "--helo", "mail.sekolah.test",
         "--header", "Subject: Rapor siswa tidak bisa diunduh",
         "--body", "Selamat pagi, rapor kelas XII tidak bisa diunduh sejak kemarin."],
        capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "Ok: queued as" in sent.stdout  # Postfix took it

    def ticket_ref():
        with db.read() as session:
            return session.scalar(select(Ticket.ref).where(Ticket.subject == "Rapor siswa tidak bisa diunduh"))
    ref = wait_for(ticket_ref, timeout=60)
    with db.read() as session:
        raw = session.scalars(select(RawMail)).one()
        assert raw.envelope_from == "sman1@sekolah.test"
        assert session.scalar(select(Outbox.template).where(Outbox.to_address == "sman1@sekolah.test")) == "ack"

    # Our outgoing mail goes to Postfix, which relays it on (here, to a sink).
    report = deliver_due(db, transport=RelayTransport("127.0.0.1", instance.port))
    assert report.sent >= 1, report
    ack = wait_for(lambda: next((m for m in outbound.messages if "sman1@sekolah.test" in m.recipients), None),
                   timeout=60)
    message = email.message_from_bytes(ack.data, policy=email_policy.default)
    assert f"[{ref}]" in message["Subject"]
    assert message["Auto-Submitted"] == "auto-replied"
    assert "mx.helpdesk.test" in " ".join(message.get_all("Received", []))  # it crossed Postfix
