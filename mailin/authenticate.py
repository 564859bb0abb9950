"""Sender authentication as pipeline steps: the verdict before the write
transaction (its DNS lookups are slow next to everything else), and, inside
it, the rule that a registered school's address which failed authentication
enters none of that school's tickets.

What the verdict means for automatic replies is core.mail.trust's rule; this
module only applies it to the message in hand.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.config.settings import Settings
from core.mail import trust
from core.mail.auth import Client, Verdict, check, from_front_mta, unchecked
from core.mail.dnslookup import lookup_for
from core.models import Status, Ticket
from core.words import N_
from mailin.inbound import IngestStop, MailHeader


class AuthStop(IngestStop):
    """A stop decided by the authentication verdict, which it carries so the
    raw mail records it."""

    def __init__(self, reason: str, verdict: Verdict, ticket_id: int | None = None):
        super().__init__(reason, ticket_id)
        self.verdict = verdict


class AuthPending(AuthStop):
    """A DNS lookup timed out: the mail is kept (quarantined) and checked
    again later; nothing is acknowledged meanwhile."""
    recheck = True


class Spoofed(AuthStop):
    """DMARC fails and the From domain asks for reject or quarantine."""


class ForgedSender(IngestStop):
    """A registered school's address on a mail that failed authentication."""


def authenticate(settings: Settings, raw: bytes, mail: MailHeader, envelope_from: str | None,
                 client: Client | None, *, waived: bool = False) -> Verdict:
    """The verdict for this mail: our front MTA's, when it added one and is
    configured; else our own checks, for an SMTP client; else `none`. Raises
    AuthPending or Spoofed (each with the verdict), unless an admin released
    the mail despite its verdict (`waived`: core.mail.quarantine.release_despite_auth)."""
    lookup = lookup_for(settings.dns_resolver, settings.dns_timeout)
    verdict = from_front_mta(raw, settings.front_mta, mail.from_address, lookup) if settings.front_mta else None
    if verdict is None:
        verdict = check(raw, mail.from_address, envelope_from, client, lookup) if client is not None \
            else unchecked(mail.from_address)
    if waived:
        return verdict
    if verdict.temporary:
        raise AuthPending(N_("authentication pending: a DNS lookup timed out (%(verdict)s); "
                             "kept, and checked again later") % {"verdict": verdict.summary()}, verdict)
    spoofed = trust.spoofed(verdict)
    if spoofed:
        raise Spoofed(spoofed, verdict)
    return verdict


# Built once: the school's ticket a forged mail is linked to, when it named none.
_SCHOOL_OPEN_TICKET = select(Ticket).where(
    Ticket.school_id == bindparam("school"), Ticket.status != Status.closed, Ticket.merged_into_id.is_(None),
).order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(1)


def claimed_ticket(session: Session, verdict: Verdict | None, from_address: str, school_id: int | None,
                   threaded: Ticket | None) -> None:
    """Threading needs more than a From header: a mail claiming a registered
    school's address that failed authentication goes into none of its
    tickets. It is quarantined, linked to the ticket it would have entered
    (the one it threads to, else the school's latest open one)."""
    if school_id is None or not trust.failed(verdict):
        return
    linked = threaded or session.scalar(_SCHOOL_OPEN_TICKET, {"school": school_id})
    values = {"address": from_address, "verdict": verdict.summary()}
    if linked is None:
        raise ForgedSender(N_("forged sender: %(address)s is a registered school's address, but the mail "
                              "failed authentication (%(verdict)s)") % values)
    raise ForgedSender(N_("forged sender: %(address)s is a registered school's address, but the mail "
                          "failed authentication (%(verdict)s); kept out of %(ref)s")
                       % {**values, "ref": linked.ref}, ticket_id=linked.id)
