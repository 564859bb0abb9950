"""The screen alone: automatic mail, loops and duplicates."""
from __future__ import annotations

import pytest

from core.mail.msgids import make_message_id
from core.models import Outcome, RawMail
from mailin.inbound import Duplicate, FromOurselves, InboundMail
from mailin.screen import auto_reply_reason, check_duplicate, check_loop, wants_no_auto_reply


def inbound(headers=(), sender="sman1@sekolah.test", envelope_from="sman1@sekolah.test", message_id=None):
    return InboundMail(from_address=sender, from_name=None, subject="s", headers=tuple(headers),
                       envelope_from=envelope_from, message_id=message_id)


@pytest.mark.parametrize("headers, envelope_from, sender, reason", [
    ([("auto-submitted", "auto-replied")], "a@s.test", "a@s.test", "Auto-Submitted: auto-replied"),
    ([("auto-submitted", "auto-generated; owner-email=x@y")], "a@s.test", "a@s.test",
     "Auto-Submitted: auto-generated; owner-email=x@y"),
    ([("x-autoreply", "yes")], "a@s.test", "a@s.test", "x-autoreply header"),
    ([("x-autorespond", "1")], "a@s.test", "a@s.test", "x-autorespond header"),
    ([("precedence", "Junk")], "a@s.test", "a@s.test", "Precedence: junk"),
    ([("precedence", "list")], "a@s.test", "a@s.test", "Precedence: list"),
    ([("list-id", "<guru.list>")], "a@s.test", "a@s.test", "mailing list (List-Id)"),
    ([("return-path", "<>")], "a@s.test", "a@s.test", "empty return path"),
    ([], "<>", "a@s.test", "empty return path"),
    ([], "mailer-daemon@mx.test", "MAILER-DAEMON@mx.test", "from a mailer daemon"),
])
def test_machine_sent_mail_is_named_with_its_reason(headers, envelope_from, sender, reason):
    assert auto_reply_reason(inbound(headers, sender.lower(), envelope_from)) == reason


@pytest.mark.parametrize("headers", [[], [("auto-submitted", "no")], [("precedence", "first-class")],
                                     [("x-auto-response-suppress", "All")]])
def test_a_person_s_mail_is_not_automatic(headers):
    assert auto_reply_reason(inbound(headers)) is None


def test_suppress_header_asks_for_no_acknowledgement():
    assert wants_no_auto_reply(inbound([("x-auto-response-suppress", "DR, OOF")]))
    assert not wants_no_auto_reply(inbound([("x-auto-response-suppress", "DR, RN, NRN")]))


def test_own_address_and_own_message_ids_are_loops(settings):
    with pytest.raises(FromOurselves):
        check_loop(inbound(sender="helpdesk@helpdesk.test"), settings)
    ours = make_message_id("HD-ABCDEF", settings.secret_key, settings.domain)
    with pytest.raises(FromOurselves):
        check_loop(inbound(message_id=ours), settings)
    check_loop(inbound(message_id="<x@sekolah.test>"), settings)


def raw_row(session, outcome, message_id="<d@s.test>", sha256="a" * 64):
    row = RawMail(channel="smtp", message_id=message_id, sha256=sha256, size=1, outcome=outcome)
    session.add(row)
    session.flush()
    return row


@pytest.mark.parametrize("earlier, duplicate", [
    (Outcome.new_ticket, True), (Outcome.appended, True), (Outcome.auto_reply, True), (Outcome.bounce, True),
    (Outcome.quarantined, False), (None, False), (Outcome.duplicate, False)])
def test_only_an_ingested_earlier_copy_makes_a_duplicate(session, earlier, duplicate):
    raw_row(session, earlier)
    current = raw_row(session, None)
    mail = inbound(message_id="<d@s.test>")
    if duplicate:
        with pytest.raises(Duplicate):
            check_duplicate(session, current.id, current.sha256, mail)
    else:
        assert current.id in [row.id for row in check_duplicate(session, current.id, current.sha256, mail)]


def test_without_message_id_the_hash_decides(session):
    raw_row(session, Outcome.new_ticket, message_id=None, sha256="b" * 64)
    current = raw_row(session, None, message_id=None, sha256="c" * 64)
    check_duplicate(session, current.id, "c" * 64, inbound())
    with pytest.raises(Duplicate):
        check_duplicate(session, current.id, "b" * 64, inbound())
