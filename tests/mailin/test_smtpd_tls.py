"""STARTTLS on the listener, with a throwaway certificate."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import replace

from sqlalchemy import select

from core.models import RawMail, Ticket
from core.storage.db import Database
from mailin.smtpd import BackgroundServer
from tests.tlscerts import make_certificates

MAIL = b"From: sman1@sekolah.test\r\nSubject: Rapor\r\nMessage-ID: <tls1@sekolah.test>\r\n\r\nMohon bantuan.\r\n"


def test_starttls_is_offered_and_mail_over_it_opens_a_ticket(db, tmp_path):
    certs = make_certificates(tmp_path / "tls")
    tls_db = Database(replace(db.settings, smtp_tls_cert=str(certs.cert), smtp_tls_key=str(certs.key)))
    server = BackgroundServer(tls_db).start()
    try:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.ehlo("client.test")
            assert client.has_extn("starttls")
            context = ssl.create_default_context(cafile=str(certs.ca))
            assert client.starttls(context=context)[0] == 220
            assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
            client.ehlo("client.test")
            assert not client.has_extn("starttls")
            client.sendmail("sman1@sekolah.test", ["helpdesk@helpdesk.test"], MAIL)
    finally:
        server.stop()
    with db.session() as s:
        assert s.scalar(select(RawMail.outcome)) == "new_ticket"
        assert s.scalar(select(Ticket.subject)) == "Rapor"


def test_plain_mail_is_still_taken_when_tls_is_offered(db, tmp_path):
    certs = make_certificates(tmp_path / "tls")
    tls_db = Database(replace(db.settings, smtp_tls_cert=str(certs.cert), smtp_tls_key=str(certs.key)))
    server = BackgroundServer(tls_db).start()
    try:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.sendmail("sman1@sekolah.test", ["helpdesk@helpdesk.test"], MAIL)
    finally:
        server.stop()
    with db.session() as s:
        assert s.scalar(select(RawMail.outcome)) == "new_ticket"


def test_no_starttls_without_a_certificate(smtp_server):
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=30) as client:
        client.ehlo("client.test")
        assert not client.has_extn("starttls")
