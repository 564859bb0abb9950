"""core.mail.trust: whom an automatic mail may go to, across the matrix of
verdicts and known or unknown senders."""
from __future__ import annotations

import pytest

from core.mail.auth import Signature, Verdict
from core.mail.trust import authenticated, failed, may_auto_reply, spoofed


def verdict(spf="none", dkim="none", dmarc="none", policy=None, aligned=False, dkim_domain="luar.test"):
    signatures = (Signature(dkim_domain, "s1", dkim),) if dkim != "none" else ()
    return Verdict(source="checked", spf=spf, spf_domain="luar.test", dkim=dkim, signatures=signatures,
                   dmarc=dmarc, dmarc_policy=policy, from_domain="luar.test", aligned=aligned)


# verdict -> (authenticated, failed, spoofed, answered if unknown, answered if known)
MATRIX = [
    (verdict(dmarc="pass", policy="reject", aligned=True), True, False, False, True, True),
    (verdict(spf="pass", aligned=True), True, False, False, True, True),
    (verdict(dkim="pass", aligned=True), True, False, False, True, True),
    (verdict(), False, False, False, False, True),
    (verdict(spf="neutral"), False, False, False, False, True),
    (verdict(spf="fail"), False, True, False, False, False),
    (verdict(spf="softfail"), False, True, False, False, False),
    (verdict(dkim="fail"), False, True, False, False, False),
    (verdict(dkim="fail", dkim_domain="relay.test"), False, False, False, False, True),
    (verdict(dmarc="fail", policy="none"), False, True, False, False, False),
    (verdict(dmarc="fail", policy="quarantine"), False, True, True, False, False),
    (verdict(dmarc="fail", policy="reject"), False, True, True, False, False),
    (verdict(spf="temperror", dmarc="temperror"), False, False, False, False, False),
    (verdict(spf="pass", dmarc="temperror", aligned=True), False, False, False, False, True),
    (Verdict(source="none"), False, False, False, False, True),
    (None, False, False, False, False, False),
]


@pytest.mark.parametrize("given, is_authenticated, is_failed, is_spoofed, unknown_answered, known_answered", MATRIX)
def test_the_rule(given, is_authenticated, is_failed, is_spoofed, unknown_answered, known_answered):
    assert authenticated(given) is is_authenticated
    assert failed(given) is is_failed
    assert (spoofed(given) is not None) is is_spoofed
    assert may_auto_reply(given, known_sender=False) is unknown_answered
    assert may_auto_reply(given, known_sender=True) is known_answered
