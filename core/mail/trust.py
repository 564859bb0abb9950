"""Whom the helpdesk believes a mail is from, and whom it may answer
automatically: the one rule against backscatter (DESIGN.md, "Decisions").

A spammer forging a sender makes every automatic answer land on the forged,
innocent address; so an acknowledgement (or any automatic mail a message
causes) goes only to a sender whose address passed authentication, or to one
the helpdesk knows (a registered school; confirmed contacts and participants
plug in through the same `known_sender` flag). Every channel asks here.
"""
from __future__ import annotations

from core.mail.auth import FAIL, PASS, SOFTFAIL, Verdict
from core.words import N_

_SPF_FAILED = (FAIL, SOFTFAIL)


def authenticated(verdict: Verdict | None) -> bool:
    """The From address passed: DMARC pass, or, where its domain publishes no
    DMARC record, an SPF or DKIM pass aligned with it."""
    if verdict is None:
        return False
    return verdict.dmarc == PASS or (verdict.dmarc == "none" and verdict.aligned)


def failed(verdict: Verdict | None) -> bool:
    """The From address is shown not to be the sender's: DMARC fails, or,
    with no DMARC record, SPF fails (or soft-fails) or a signature of the From
    domain is broken, and nothing aligned passes. A domain that publishes
    nothing has not failed: it is merely unauthenticated."""
    if verdict is None or verdict.aligned:
        return False
    if verdict.dmarc == FAIL:
        return True
    if verdict.dmarc != "none":
        return False
    own_signature_broken = any(s.domain == verdict.from_domain and s.result == FAIL for s in verdict.signatures)
    return verdict.spf in _SPF_FAILED and verdict.spf_domain == verdict.from_domain or own_signature_broken


def spoofed(verdict: Verdict | None) -> str | None:
    """Why the mail is to be quarantined as spoofed (DMARC fails and the
    domain asks for reject or quarantine), or None."""
    if verdict is not None and verdict.dmarc == FAIL and verdict.dmarc_policy in ("reject", "quarantine"):
        return N_("spoofed: DMARC fails for %(domain)s (p=%(policy)s; %(verdict)s)") % {
            "domain": verdict.from_domain, "policy": verdict.dmarc_policy, "verdict": verdict.summary()}
    return None


def may_auto_reply(verdict: Verdict | None, known_sender: bool) -> bool:
    """May an automatic mail (the acknowledgement, a notice the message
    causes) go to this mail's sender? Only to an authenticated sender, or to
    a known one (registered school, confirmed contact, participant) whose
    mail did not fail authentication; never while the verdict is pending
    (a DNS timeout) or for a spoofed mail."""
    if verdict is None or spoofed(verdict) or verdict.temporary:
        return False
    if authenticated(verdict):
        return True
    return known_sender and not failed(verdict)


def withheld_reason(verdict: Verdict | None) -> str:
    """The reason an automatic mail not allowed by may_auto_reply is recorded with."""
    if verdict is None:
        return "sender not authenticated (not checked)"
    return f"sender not authenticated ({verdict.summary()})"
