"""Which mails a change causes, queued in the change's own transaction.

Each function takes the ticket (and what changed), decides who is told,
and writes outbox rows through core.mail.outbox.enqueue; mailout renders and sends
them later. Automatic notices pass a loop guard first: no notice to an
autoresponder, a list, a bounce, ourselves or a no-reply address, and at most
policy.auto_mail_per_10min / auto_mail_per_day to one address, counted in the
database so the limit holds across every process. A notice that is held back
is still written, as an outbox row with status `suppressed` and its reason,
and in the ticket's audit trail.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core import audit
from core.access import ratelimit
from core.config.policy import Policy
from core.config.settings import Settings
from core.hooks import chat
from core.mail import copies, outbox
from core.mail.msgids import make_message_id
from core.models import Direction, Message, Office, Outbox, OutboxStatus, Participant, Ticket, User, utcnow
from core.storage.fast import next_keys, read_ahead, select_plain_many
from core.words import N_

_NO_REPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?)(?:[-+_.].*)?$", re.I)
# How many earlier Message-IDs a notice's References carries besides the one it answers.
REFERENCES_KEPT = 9


# Built once: every notice runs it.
_THREAD_IDS = select(Message.message_id, Message.direction).where(
    Message.ticket_id == bindparam("ticket_id"), Message.message_id.is_not(None)).order_by(Message.id)


_PARTICIPANTS = select(Participant.address).where(Participant.ticket_id == bindparam("ticket_id")).order_by(
    Participant.id)


def participant_addresses(session: Session, ticket_id: int) -> list[str]:
    """Who is copied on the ticket's replies (core.tickets.participants keeps the list)."""
    return list(session.scalars(_PARTICIPANTS, {"ticket_id": ticket_id}))


def thread_of(session: Session, ticket: Ticket, leaving_out: str | None = None) -> tuple[str | None, str | None]:
    """(In-Reply-To, References) for a mail about the ticket: the customer's latest
    message, after the ticket's earlier Message-IDs, so it joins their thread.
    `leaving_out`: the Message-ID of the mail itself, when its message is written already."""
    rows = [(mid, direction) for mid, direction in session.execute(_THREAD_IDS, {"ticket_id": ticket.id})
            if mid != leaving_out]
    inbound = [mid for mid, direction in rows if direction is Direction.inbound]
    if not inbound:
        return None, None
    latest = inbound[-1]
    earlier = [mid for mid, _ in rows if mid != latest]
    return latest, " ".join([*earlier[-REFERENCES_KEPT:], latest])


def loop_risk(settings: Settings, address: str, trigger: Message | None = None) -> str | None:
    """Why an automatic mail to this address could start a mail loop, or None."""
    address = (address or "").strip().lower()
    local = address.rpartition("@")[0]
    if not address or "@" not in address:
        return N_("no address")
    if address in settings.own_addresses:
        return N_("our own address")
    if _NO_REPLY.match(local):
        return N_("a no-reply address")
    if trigger is not None and trigger.auto_reply:
        return N_("the message was automatic (auto-reply, list, bulk or bounce)")
    return None


def _limit_reads(session: Session, policy: Policy, address: str, now: datetime) -> tuple[list, bool, bool]:
    """What over_limit reads: the address's counts (if a limit is set) and,
    on PostgreSQL, the next outbox key; and whether each is among them."""
    limited = policy.auto_mail_per_10min > 0 or policy.auto_mail_per_day > 0
    keys = next_keys(session.connection(), Outbox)
    reads = [ratelimit.counts_query(f"auto:{address.lower()}", timedelta(minutes=10), timedelta(days=1), now)] \
        if limited else []
    if keys is not None:
        reads.append((keys, {}))
    return reads, limited, keys is not None


def read_ahead_limit(session: Session, policy: Policy, address: str, now: datetime) -> None:
    """Send over_limit's reads for an automatic mail to `address` at `now`
    with the next reads of this transaction (core.storage.fast.read_ahead):
    a new ticket's acknowledgement then costs no round trip of its own."""
    read_ahead(session.connection(), _limit_reads(session, policy, address, now)[0])


def over_limit(session: Session, policy: Policy, address: str, now: datetime) -> tuple[str | None, int | None]:
    """Why the automatic mail to `address` must not go (None: it may); and,
    on PostgreSQL, the key of the outbox row to come, asked in the same round
    trip, so that its INSERT goes with the next statement (core.storage.fast)."""
    per_10min, per_day = policy.auto_mail_per_10min, policy.auto_mail_per_day
    reads, limited, keyed = _limit_reads(session, policy, address, now)
    rows = select_plain_many(session.connection(), reads) if reads else []
    key = rows[-1][0][0] if keyed else None
    if not limited:
        return None, key
    in_10min, in_day = ratelimit.counted_two(rows[0])
    if not ratelimit.under(per_10min, in_10min):
        return f"rate limit: {per_10min} automatic mails in 10 minutes", key
    if not ratelimit.under(per_day, in_day):
        return f"rate limit: {per_day} automatic mails in a day", key
    return None, key


def notify(session: Session, settings: Settings, policy: Policy, ticket: Ticket | None, *, template: str,
           to: str, context: dict, language: str | None = None, automatic: bool = True,
           trigger: Message | None = None, to_staff: bool = False, now: datetime | None = None,
           thread: tuple[str | None, str | None] | None = None, cc: tuple[str, ...] = (),
           withheld: str | None = None, message_id: str | None = None) -> Outbox:
    """Queue one mail, or record it as suppressed with the reason.

    `to_staff`: the recipient is one of our offices or its staff. The loop
    guard still applies, but not the per-address limit, which exists to stop
    loops with outside autoresponders: an agent with forty tickets breaching
    at once must hear of all forty. `thread`: (In-Reply-To, References) when
    the caller knows them without asking the database. `cc`: copied on
    the same mail (a ticket's participants on a staff reply). `withheld`: a
    reason the mail must not go (core.mail.trust: an unauthenticated sender).
    `message_id`: the mail's Message-ID, when the caller made it already."""
    now = now or utcnow()
    if thread is None:
        thread = thread_of(session, ticket) if ticket is not None else (None, None)
    in_reply_to, references = thread
    key = None  # the row's, when reserved with the limit's counts
    if withheld:
        reason = withheld
    elif automatic:
        reason = loop_risk(settings, to, trigger)
        if reason is None and not to_staff:
            reason, key = over_limit(session, policy, to, now)
    else:  # a person wrote it; only mail to ourselves would loop
        reason = "our own address" if to.lower() in settings.own_addresses else None
    row = outbox.enqueue(session, settings, key=key, template=template, to=to, ticket=ticket, context=context,
                         language=language or _language(ticket, policy), automatic=automatic,
                         in_reply_to=in_reply_to, references=references, now=now, cc=cc, message_id=message_id,
                         suppressed=None if reason is None else f"suppressed: {reason}")
    if reason is not None:
        audit.record(session, ticket, "mail_suppressed", audit.SYSTEM, to_value=to,
                     detail=f"{template}: {reason}", at=now)
    elif automatic and not to_staff:
        ratelimit.hit(session, f"auto:{to.lower()}", now)
    return row


def _language(ticket: Ticket | None, policy: Policy) -> str:
    if ticket is None:
        return policy.default_language
    return ticket.language or (ticket.school.language if ticket.school else None) or policy.default_language


def _customer(ticket: Ticket) -> dict:
    return {"ref": ticket.ref, "subject": ticket.subject, "name": ticket.requester_name}


def ack(session: Session, settings: Settings, policy: Policy, ticket: Ticket, message: Message | None = None,
        *, now: datetime | None = None, withheld: str | None = None) -> Outbox:
    """The acknowledgement of a new ticket: its reference and the private link,
    whether it is being routed to the right office (an unknown sender's),
    and which attachments were not kept and why, so the customer can send them
    again in a form that passes instead of waiting for an answer that needs them."""
    refused = [[a.filename, a.refused_reason] for a in (message.attachments if message else ()) if a.refused_reason]
    # A new ticket's only message is the one acknowledged: its thread is that message.
    thread = (message.message_id, message.message_id) if message is not None else None
    # A sender the directory does not know: the ticket waits at triage for
    # staff to find the right office, and the customer is told so.
    routing = ticket.school_id is None
    row = notify(session, settings, policy, ticket, template="ack", to=ticket.requester_email,
                 context={**_customer(ticket), "refused": refused, "routing": routing}, trigger=message, now=now,
                 thread=thread, withheld=withheld)
    if ticket.whatsapp_consent and not withheld:  # held back as mail (spam): not sent by WhatsApp either
        chat.whatsapp(session, settings, ticket, chat.ACK, now=now)
    return row


def reply_message_id(settings: Settings, ticket: Ticket) -> str:
    """A new Message-ID of ours for a staff message that goes out as mail."""
    return make_message_id(ticket.ref, settings.secret_key, settings.domain)


def staff_reply(session: Session, settings: Settings, policy: Policy, ticket: Ticket, message: Message, *,
                now: datetime | None = None) -> Outbox:
    """Staff's answer as a mail in the customer's thread, with its attachments.
    Not automatic (a person wrote it), so neither guarded nor rate-limited.
    The mail goes out with the message's Message-ID (reply_message_id, given
    before the message is written, so no UPDATE follows), so the customer's
    reply threads. Each of the ticket's participants gets a copy of their
    own, carrying their own private link (core.mail.copies), never the
    requester's."""
    author = message.author
    context = {**_customer(ticket), "text": message.text, "message_id": message.id,
               "staff_name": author.name if author else message.from_name,
               "office": ticket.office.name if ticket.office else None,
               "attachments": [a.id for a in message.attachments if a.refused_reason is None]}
    row = notify(session, settings, policy, ticket, template="staff_reply", to=ticket.requester_email,
                 automatic=False, now=now, context=context, message_id=message.message_id,
                 thread=thread_of(session, ticket, leaving_out=message.message_id))
    copied = [a for a in participant_addresses(session, ticket.id) if a not in settings.own_addresses]
    if copied:
        copies.issue_missing(session, settings, ticket.id, now or utcnow())
    for address in copied:
        notify(session, settings, policy, ticket, template="staff_reply", to=address, automatic=False, now=now,
               thread=(row.in_reply_to, row.references), context={**context, copies.COPY: True})
    if ticket.whatsapp_consent:
        chat.whatsapp(session, settings, ticket, chat.STAFF_REPLIED, now=now)
    return row


def forwarded(session: Session, settings: Settings, policy: Policy, ticket: Ticket, from_office: Office, *,
              note: str = "", now: datetime | None = None) -> list[Outbox]:
    """The ticket went up a tier (ticket.office is already the new holder): the
    customer is told who handles it now, and the receiving office's staff are told
    it arrived (its shared mailbox if it has one, else each of its active staff)."""
    moved = {"office_from": from_office.name, "office_to": ticket.office.name}
    rows = [notify(session, settings, policy, ticket, template="forwarded_customer", to=ticket.requester_email,
                   context={**_customer(ticket), **moved}, now=now)]
    staff_context = {**_customer(ticket), **moved, "note": note.strip(), "requester": ticket.requester_email}
    for address, language in _office_recipients(session, ticket.office, policy):
        rows.append(notify(session, settings, policy, ticket, template="forwarded_staff", to=address, to_staff=True,
                           language=language, context=staff_context, now=now))
    return rows


def _office_recipients(session: Session, office: Office, policy: Policy) -> list[tuple[str, str]]:
    if office.email:
        return [(office.email, office.language or policy.default_language)]
    users = session.scalars(select(User).where(User.office_id == office.id, User.active.is_(True))
                            .order_by(User.id))
    return [(u.email, u.language or policy.default_language) for u in users]


def assigned(session: Session, settings: Settings, policy: Policy, ticket: Ticket, assignee: User, *,
             actor: User | None = None, now: datetime | None = None,
             thread: tuple[str | None, str | None] | None = None) -> Outbox | None:
    """Tell an agent a ticket is theirs; None when they took it themselves.
    (core.mail.staff_notices.assigned also keeps it for the portal and
    heeds the agent's choice of mail.)"""
    if actor is not None and actor.id == assignee.id:
        return None
    return notify(session, settings, policy, ticket, template="assigned", to=assignee.email, to_staff=True,
                  language=assignee.language or policy.default_language, now=now, thread=thread, context={
                      **_customer(ticket), "assigned_by": actor.name if actor else None,
                      "requester": ticket.requester_email})


def customer_replied(session: Session, settings: Settings, policy: Policy, ticket: Ticket, message: Message, *,
                     reopened: bool = False, now: datetime | None = None) -> Outbox | None:
    """Tell the agent who holds a ticket that the customer wrote again (by mail
    or from the private page); None when nobody holds it: an unassigned ticket
    waits in its office's queue, where every colleague sees it."""
    agent = ticket.assignee
    if agent is None or not agent.active:
        return None
    return notify(session, settings, policy, ticket, template="customer_reply", to=agent.email, to_staff=True,
                  language=agent.language or policy.default_language, trigger=message, now=now, context={
                      **_customer(ticket), "requester": ticket.requester_email, "reopened": reopened,
                      "excerpt": _excerpt(message.text)})


def _excerpt(text: str, limit: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rsplit(None, 1)[0] + " …"


def on_hold(session: Session, settings: Settings, policy: Policy, ticket: Ticket, *, reason: str = "",
            now: datetime | None = None) -> Outbox:
    return notify(session, settings, policy, ticket, template="on_hold", to=ticket.requester_email,
                  context={**_customer(ticket), "reason": reason.strip()}, now=now)


def auto_closed(session: Session, settings: Settings, policy: Policy, ticket: Ticket, *,
                now: datetime | None = None) -> Outbox:
    """The notice of a ticket closed after policy.auto_close_days without an answer."""
    return notify(session, settings, policy, ticket, template="auto_closed", to=ticket.requester_email,
                  context={**_customer(ticket), "days": policy.auto_close_days}, now=now)


def closed(session: Session, settings: Settings, policy: Policy, ticket: Ticket, *, actor: User | None = None,
           now: datetime | None = None) -> Outbox:
    """Staff closed the ticket: tell the customer and ask whether it is solved."""
    return notify(session, settings, policy, ticket, template="closed", to=ticket.requester_email,
                  context={**_customer(ticket), "staff_name": actor.name if actor else None}, now=now)


def link_reissued(session: Session, settings: Settings, policy: Policy, ticket: Ticket, *,
                  now: datetime | None = None) -> Outbox:
    """Staff revoked the private link: the customer gets the new one (mailout
    derives it from the ticket's key when the mail leaves). Not automatic: a
    person asked for it, so neither guarded nor rate-limited."""
    return notify(session, settings, policy, ticket, template="link_reissued", to=ticket.requester_email,
                  context=_customer(ticket), automatic=False, now=now)


def sla_warning(session: Session, settings: Settings, policy: Policy, ticket: Ticket, clock: str,
                due: datetime, *, now: datetime | None = None) -> list[Outbox]:
    """A due time is near: tell whoever works the ticket (see _sla_recipients)."""
    return _sla_notice(session, settings, policy, ticket, "sla_warning", clock, due, now)


def sla_breached(session: Session, settings: Settings, policy: Policy, ticket: Ticket, clock: str,
                 due: datetime, *, now: datetime | None = None) -> list[Outbox]:
    """A due time has passed: tell whoever works the ticket (see _sla_recipients)."""
    return _sla_notice(session, settings, policy, ticket, "sla_breached", clock, due, now)


def _sla_notice(session: Session, settings: Settings, policy: Policy, ticket: Ticket, template: str, clock: str,
                due: datetime, now: datetime | None) -> list[Outbox]:
    return [row for address, language in _sla_recipients(session, ticket, policy)
            for row in sla_notice_to(session, settings, policy, ticket, template, clock, due, address, language, now)]


def sla_notice_to(session: Session, settings: Settings, policy: Policy, ticket: Ticket, template: str, clock: str,
                  due: datetime, address: str, language: str, now: datetime | None) -> list[Outbox]:
    """One SLA notice to one address."""
    context = {**_customer(ticket), "requester": ticket.requester_email, "clock": clock,
               "due": due.strftime("%Y-%m-%d %H:%M UTC"), "office": ticket.office.name,
               "priority": ticket.priority.name if ticket.priority else None}
    return [notify(session, settings, policy, ticket, template=template, to=address, language=language,
                   context=context, to_staff=True, now=now)]


def _sla_recipients(session: Session, ticket: Ticket, policy: Policy) -> list[tuple[str, str]]:
    """The assignee while they are active; else the holding office, as for a
    forwarded ticket (its shared mailbox, or each of its active staff)."""
    person = ticket.assignee
    if person is not None and person.active:
        return [(person.email, person.language or policy.default_language)]
    return _office_recipients(session, ticket.office, policy)


def mark_bounced(session: Session, original_message_id: str, reason: str, *,
                 now: datetime | None = None) -> Outbox | None:
    """A delivery status report came back for one of our mails: mark the outbox row
    bounced and note it on the ticket. None when the Message-ID is not one we sent."""
    now = now or utcnow()
    mid = (original_message_id or "").strip()
    if mid and not mid.startswith("<"):
        mid = f"<{mid}>"
    row = session.scalar(select(Outbox).where(Outbox.message_id == mid))
    if row is None:
        return None
    row.status, row.bounced_at, row.bounce_reason = OutboxStatus.bounced, now, (reason or "")[:2000]
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
    audit.record(session, ticket, "bounce", audit.SYSTEM, to_value=row.to_address,
                 detail=f"{row.template}: {reason}"[:2000], at=now)
    session.flush()
    return row
