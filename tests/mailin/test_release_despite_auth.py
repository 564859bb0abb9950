"""A mail quarantined for its failed sender authentication, released by an
admin who has looked at it: through the real SMTP server and a local DNS
server, then the periodic re-process, as in production."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.mail.quarantine import NotAuthQuarantine, release_despite_auth, request_reprocess
from core.models import Attachment, Event, Message, Office, Outbox, OutboxStatus, Outcome, RawMail, Role, Ticket, User
from mailin.quarantine import reprocess_requested
from tests.bombs import zeros_bomb
from tests.factories import make_user
from tests.mailin.conftest import transcript
from tests.mailin.mails import SCHOOL, mail, with_parts
from tests.mailin.test_sender_auth import OK, STRANGER, publish


def admin_id(db) -> int:
    """An admin of the top office (the one who looks at the quarantine)."""
    with db.begin() as session:
        return make_user(session, session.scalars(select(Office).where(Office.parent_id.is_(None))).one(),
                         Role.admin).id


def last_raw(db) -> RawMail:
    with db.session() as session:
        return session.scalars(select(RawMail).order_by(RawMail.id.desc())).first()


def test_a_spoofed_mail_released_anyway_becomes_a_ticket_without_an_automatic_reply(db, dns, smtp_server):
    publish(dns, "luar.test", spf="fail", dmarc="v=DMARC1; p=reject")
    assert transcript(smtp_server.port, mail(sender=STRANGER, subject="Dana BOS"), mail_from=STRANGER) == OK
    raw_id, admin = last_raw(db).id, admin_id(db)

    with db.begin() as session:  # what the admin had: process again meets the same verdict
        request_reprocess(session, session.get(User, admin), raw_id)
    assert reprocess_requested(db).still_quarantined == 1
    assert last_raw(db).reason.startswith("spoofed: DMARC fails for luar.test")

    with db.begin() as session:
        release_despite_auth(session, session.get(User, admin), raw_id)
    assert reprocess_requested(db).done == 1
    raw = last_raw(db)
    assert raw.outcome is Outcome.new_ticket and raw.auth_waived_by_id == admin
    with db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        event = session.scalars(select(Event).where(Event.kind == "quarantine_released_despite_auth")).one()
        to_sender = session.execute(select(Outbox.template, Outbox.status).where(Outbox.to_address == STRANGER)).all()
    assert ticket.subject == "Dana BOS" and ticket.requester_email == STRANGER
    assert event.actor_id == admin and event.detail.startswith("despite: spoofed: DMARC fails for luar.test")
    # Still no automatic mail to an address that failed authentication: the acknowledgement is withheld.
    assert to_sender == [("ack", OutboxStatus.suppressed)]


def test_a_forged_school_sender_released_anyway_enters_the_schools_ticket(db, dns, smtp_server):
    assert transcript(smtp_server.port, mail(sender=SCHOOL, subject="Rapor"), mail_from=SCHOOL) == OK
    with db.session() as session:
        ref = session.scalars(select(Ticket.ref)).one()
    publish(dns, "sekolah.test", spf="fail", dmarc=None)
    forged = mail(sender=SCHOOL, subject=f"Re: [{ref}] Rapor", body="Server surat kami salah setel.")
    assert transcript(smtp_server.port, forged, mail_from=SCHOOL) == OK
    raw_id = last_raw(db).id
    assert last_raw(db).outcome is Outcome.quarantined
    with db.begin() as session:
        release_despite_auth(session, session.get(User, admin_id(db)), raw_id)
    assert reprocess_requested(db).done == 1
    assert last_raw(db).outcome is Outcome.appended
    with db.session() as session:
        texts = session.scalars(select(Message.text).order_by(Message.id)).all()
    assert texts[-1] == "Server surat kami salah setel."


def test_releasing_anyway_still_refuses_a_bomb_attachment(db, dns, smtp_server):
    publish(dns, "luar.test", spf="fail", dmarc="v=DMARC1; p=quarantine")
    raw = with_parts(sender=STRANGER, files=[("data.zip", "application/zip", zeros_bomb())])
    assert transcript(smtp_server.port, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
                      mail_from=STRANGER) == OK
    raw_id = last_raw(db).id
    with db.begin() as session:
        release_despite_auth(session, session.get(User, admin_id(db)), raw_id)
    assert reprocess_requested(db).done == 1
    with db.session() as session:
        refused = session.scalars(select(Attachment.refused_reason)).one()
    assert refused.startswith("nol.txt in the archive unpacks to ")


def test_only_a_failed_authentication_can_be_released_despite(db, dns, smtp_server):
    assert transcript(smtp_server.port, b"From: helpdesk@helpdesk.test\r\nSubject: loop\r\n\r\nx\r\n",
                      mail_from=STRANGER) == OK
    raw = last_raw(db)
    assert raw.outcome is Outcome.quarantined
    with db.begin() as session, pytest.raises(NotAuthQuarantine):
        release_despite_auth(session, session.get(User, admin_id(db)), raw.id)
