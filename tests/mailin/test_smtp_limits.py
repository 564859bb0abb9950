"""The SMTP server's limits over a real socket: recipients per message, and
connections and messages per client address per minute, never for a
trusted relay."""
from __future__ import annotations

import smtplib
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from core.models import RawMail
from mailin.smtpd import BackgroundServer
from tests.mailin.conftest import transcript
from tests.mailin.mails import HELPDESK, mail

OK = [250, 250, 250, 250, 221]


def raw_mails(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(RawMail))


@pytest.fixture
def serve(db):
    """Start the real server with some settings changed; stopped after the test."""
    servers = []

    def start(**settings) -> BackgroundServer:
        db.settings = replace(db.settings, **settings)
        servers.append(BackgroundServer(db).start())
        return servers[-1]
    yield start
    for server in servers:
        server.stop()


def test_the_101st_recipient_gets_452_and_the_first_100_are_delivered_once(db, serve):
    server = serve()
    codes = transcript(server.port, mail(body="Seratus satu penerima"), rcpt=(HELPDESK,) * 101)
    assert codes[:2] == [250, 250]
    assert codes[2:102] == [250] * 100
    assert codes[102:] == [452, 250, 221]  # the 101st refused; DATA for the hundred taken
    assert raw_mails(db) == 1


def test_the_recipient_cap_is_a_setting_and_its_reply_says_why(db, serve):
    server = serve(smtp_max_recipients=2)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.ehlo("client.test")
        client.mail("sender@sekolah.test")
        assert client.rcpt(HELPDESK)[0] == client.rcpt(HELPDESK)[0] == 250
        assert client.rcpt(HELPDESK) == (452, b"4.5.3 Too many recipients")
        assert client.rcpt("someone@elsewhere.test")[0] == 452  # the cap comes first, whatever the address


def test_connections_over_the_limit_get_421_at_once(db, serve):
    server = serve(smtp_trusted_networks=(), smtp_connections_per_minute=3)
    for _ in range(3):
        assert transcript(server.port, mail()) == OK
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("127.0.0.1", server.port, timeout=30)
    assert refused.value.smtp_code == 421
    assert b"Too many connections from your address" in refused.value.smtp_error
    assert raw_mails(db) == 3


def test_messages_over_the_limit_get_451_at_mail_and_nothing_is_recorded(db, serve):
    server = serve(smtp_trusted_networks=(), smtp_messages_per_minute=2)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        for number in range(2):
            client.sendmail("sender@sekolah.test", [HELPDESK], mail(subject=f"Pesan {number}"))
        client.ehlo("client.test")
        code, text = client.mail("sender@sekolah.test")
        assert (code, text) == (451, b"4.7.1 Too many messages from your address; try again in a minute")
        assert client.rcpt(HELPDESK)[0] == 503  # no transaction was opened
    assert raw_mails(db) == 2


def test_a_trusted_relay_is_never_refused(db, serve):
    server = serve(smtp_trusted_networks=("10.9.0.0/16", "127.0.0.1"), smtp_connections_per_minute=1,
                   smtp_messages_per_minute=1)
    for number in range(3):
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            for part in range(2):
                client.sendmail("sender@sekolah.test", [HELPDESK], mail(subject=f"Relai {number}.{part}"))
    assert raw_mails(db) == 6


def test_loopback_is_trusted_by_default_so_the_all_in_one_install_is_never_refused(db, serve):
    server = serve(smtp_connections_per_minute=1, smtp_messages_per_minute=1)
    assert transcript(server.port, mail(subject="Satu")) == OK
    assert transcript(server.port, mail(subject="Dua")) == OK
