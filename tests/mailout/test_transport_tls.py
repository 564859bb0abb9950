"""The relay connection: STARTTLS or implicit TLS, AUTH, and certificate
verification, against a real aiosmtpd relay on loopback that requires them."""
from __future__ import annotations

import ssl
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.storage.db import Database
from mailout.deliver import deliver_due
from mailout.transport import RelayTarget, relay_target, transport_for
from tests.factories import load_directory
from tests.mailout.relay import Sink, free_port
from tests.mailout.world import open_with_ack
from tests.tlscerts import make_certificates


def test_relay_setting_forms():
    assert relay_target("127.0.0.1:2526") == RelayTarget("127.0.0.1", 2526)
    assert relay_target("relay.example") == RelayTarget("relay.example", 25)
    assert relay_target("smtp://helpdesk:s%40cret@relay.example:2587") == RelayTarget(
        "relay.example", 2587, "starttls", "helpdesk", "s@cret")
    assert relay_target("smtps://relay.example") == RelayTarget("relay.example", 465, "tls")
    assert relay_target("smtp://relay.example") == RelayTarget("relay.example", 587, "starttls")
    with pytest.raises(ValueError, match="smtp://"):
        relay_target("http://relay.example")


class AuthRelay:
    """An aiosmtpd relay that takes mail only from `helpdesk`/`s3cret`, and
    only over TLS: STARTTLS required, or implicit TLS."""

    def __init__(self, certs, implicit: bool):
        self.sink, self.logins = Sink(), []
        self.port = free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certs.cert, certs.key)
        tls = {"ssl_context": context} if implicit else {"tls_context": context, "require_starttls": True}
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port, authenticator=self.check,
                                     auth_required=True, auth_require_tls=not implicit, **tls)
        # aiosmtpd counts only STARTTLS as TLS for auth_require_tls; over
        # implicit TLS `check` records that the login came encrypted.

    def check(self, server, session, envelope, mechanism, data) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, server.transport.get_extra_info("ssl_object") is not None))
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=(data.login, data.password) == (b"helpdesk", b"s3cret"), handled=False)

    def __enter__(self) -> "AuthRelay":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


@pytest.fixture
def certs(tmp_path):
    return make_certificates(tmp_path / "tls")


def with_ack(database: Database, relay_url: str, **changes) -> Database:
    db = Database(replace(database.settings, smtp_relay=relay_url, **changes))
    with db.begin() as s:
        load_directory(s)
        open_with_ack(s, db.settings)
    return db


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("scheme,implicit", [("smtp", False), ("smtps", True)])
def test_ack_goes_out_over_tls_with_login(database, certs, scheme, implicit):
    with AuthRelay(certs, implicit) as relay:
        db = with_ack(database, f"{scheme}://helpdesk:s3cret@localhost:{relay.port}",
                      smtp_relay_ca_file=str(certs.ca))
        report = deliver_due(db)
    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
    assert relay.logins == [(b"helpdesk", True)]
    [got] = relay.sink.messages
    assert got.recipients == ["sman1@sekolah.test"] and b"Subject: [HD-" in got.data


def test_wrong_password_keeps_the_mail_for_a_retry(database, certs):
    with AuthRelay(certs, implicit=False) as relay:
        db = with_ack(database, f"smtp://helpdesk:wrong@localhost:{relay.port}", smtp_relay_ca_file=str(certs.ca))
        report = deliver_due(db)
    assert (report.sent, report.retrying) == (0, 1)
    assert relay.sink.messages == []
    assert "refused the login: 535" in last_error(db)


def test_certificate_is_verified_by_default(database, certs):
    """Without the private CA the relay's certificate is not trusted: nothing
    is sent, not even the password."""
    with AuthRelay(certs, implicit=False) as relay:
        db = with_ack(database, f"smtp://helpdesk:s3cret@localhost:{relay.port}")
        report = deliver_due(db)
    assert (report.sent, report.retrying) == (0, 1)
    assert relay.logins == [] and relay.sink.messages == []
    assert "CERTIFICATE_VERIFY_FAILED" in last_error(db)


def test_starttls_relay_that_offers_no_tls_is_refused(database, relay):
    """smtp:// promises TLS: a relay without STARTTLS (a downgrade) gets no mail and no password."""
    db = with_ack(database, f"smtp://helpdesk:s3cret@{relay.address}")
    report = deliver_due(db)
    assert (report.sent, report.retrying) == (0, 1)
    assert relay.messages == []
    assert "STARTTLS" in last_error(db)


def test_plain_host_port_still_sends_without_tls(database, relay):
    db = with_ack(database, relay.address)
    assert transport_for(db.settings).security == "plain"
    assert deliver_due(db).sent == 1 and len(relay.messages) == 1


def last_error(db: Database) -> str:
    from sqlalchemy import select

    from core.models import Outbox
    with db.session() as s:
        return s.scalar(select(Outbox.last_error))
