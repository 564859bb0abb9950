"""A directory in a committing database, and the real SMTP server on a free
loopback port in front of it."""
from __future__ import annotations

import smtplib

import pytest

from core.demo import seed_defaults
from mailin.smtpd import BackgroundServer
from tests.factories import load_directory


@pytest.fixture
def db(database):
    """`database` with the test directory and default priorities committed."""
    with database.begin() as session:
        load_directory(session)
        seed_defaults(session)
    return database


@pytest.fixture
def smtp_server(db):
    server = BackgroundServer(db).start()
    yield server
    server.stop()


def transcript(port: int, raw: bytes, *, mail_from: str = "sender@sekolah.test",
               rcpt: tuple[str, ...] = ("helpdesk@helpdesk.test",)) -> list[int]:
    """The reply codes of one whole SMTP session: EHLO, MAIL, each RCPT, DATA (if
    any recipient was taken), QUIT."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        codes = [client.ehlo("client.test")[0], client.mail(mail_from)[0]]
        accepted = False
        for address in rcpt:
            code = client.rcpt(address)[0]
            codes.append(code)
            accepted |= code == 250
        if accepted:
            codes.append(client.data(raw)[0])
        codes.append(client.quit()[0])
    return codes
