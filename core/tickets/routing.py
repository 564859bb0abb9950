"""Moving a ticket along the tier chain.

A ticket goes up one tier at a time, to the parent of the office holding it,
with a reason; never sideways, never past a tier. At the root there is no
office above, so forwarding hands the ticket to a fellow admin. An office
may dispatch a ticket it holds down to any office in its subtree (a Province
to one of its Cities), and the triage office to any office, with a reason.
A supervisor may pull a ticket back down to the office that forwarded it.
A ticket from an unknown sender re-homes to a school's City once staff
confirm the sender as that school's contact. The higher office picking the
ticket up (its first action, or taking ownership) moves it from `forwarded`
to `open`. Every move is audited with the office codes it went from and to,
and the office a ticket left keeps reading it (a Handoff row: see
core.access.visibility).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.access.visibility import was_handed_off
from core.config.policy import Policy
from core.config.settings import Settings
from core.directory import contacts
from core.mail import notices, staff_notices
from core.models import Event, Handoff, Office, Role, Status, Ticket, User, utcnow
from core.tickets import assignment, lifecycle
from core.words import N_

# The audit kinds of a move that hands the ticket to another office.
HANDED_ON = ("forward", "dispatch", "rehome")


class RouteRefused(ValueError):
    """The move breaks the chain's rules (no reason, closed ticket, not allowed to)."""


def _check(ticket: Ticket, actor: User | str, reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RouteRefused(N_("say why the ticket moves"))
    if ticket.status is Status.closed:
        raise RouteRefused(N_("a closed ticket does not move; reopen it first"))
    if isinstance(actor, User) and actor.office_id != ticket.office_id:
        raise RouteRefused(N_("only the office holding a ticket may move it"))
    return reason


def forward_to_parent(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User | str,
                      reason: str, now: datetime | None = None) -> Ticket:
    """Send the ticket to the parent of its holding office (at the root: to a fellow admin),
    tell the customer and the receiving office, and assign it there."""
    reason = _check(ticket, actor, reason)
    now = now or utcnow()
    parent = ticket.office.parent
    if parent is None:
        return hand_to_admin(session, settings, policy, ticket, actor, reason, now=now)
    below = ticket.office
    _move(session, ticket, actor, parent, "forward", reason, now)
    notices.forwarded(session, settings, policy, ticket, below, note=reason, now=now)
    _arrived(session, settings, policy, ticket, now)
    return ticket


def _arrived(session: Session, settings: Settings, policy: Policy, ticket: Ticket, now: datetime) -> None:
    """A ticket moved to a new office: assigned there if an agent is free, and
    the agent (or, with nobody free, the office's supervisors) told."""
    staff_notices.arrived(session, settings, policy, ticket, assignment.assign_new(session, ticket, policy, now),
                          now=now)


def _move(session: Session, ticket: Ticket, actor: User | str, to: Office, kind: str, reason: str,
          now: datetime) -> None:
    audit.record(session, ticket, kind, actor, from_value=ticket.office.code, to_value=to.code,
                 detail=reason, at=now)
    if kind in HANDED_ON and not was_handed_off(session, ticket, ticket.office_id):
        session.add(Handoff(ticket_id=ticket.id, office_id=ticket.office_id, at=now))
    ticket.office = to
    ticket.assignee = None
    ticket.assigned_at = None
    ticket.updated_at = now
    wanted = Status.forwarded if kind == "forward" else Status.open
    if ticket.status is not wanted:
        lifecycle.move(session, ticket, wanted, actor, now=now, detail=reason)
    session.flush()


def hand_to_admin(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User | str,
                  reason: str, *, to: User | None = None, now: datetime | None = None) -> Ticket:
    """At the root: give the ticket to another admin there (`to`, or the fairest choice)."""
    reason = _check(ticket, actor, reason)
    if ticket.office.parent_id is not None:
        raise RouteRefused(N_("only the root office hands tickets to admins; forward it instead"))
    now = now or utcnow()
    me = actor.id if isinstance(actor, User) else ticket.assignee_id
    if to is None:
        admins = [u for u in assignment.lock_staff(session, ticket.office_id)
                  if u.role is Role.admin and u.active and u.id != me]
        ranked = assignment.loads(session, [u.id for u in admins])
        available = [u for u in admins if u.available] or admins
        to = min(available, key=lambda u: (ranked[u.id], u.last_assigned_at or assignment.NEVER, u.id),
                 default=None)
    if to is None or to.role is not Role.admin or to.id == me:
        raise RouteRefused(N_("there is no fellow admin to hand the ticket to"))
    assignment.assign_to(session, ticket, actor, to, now=now, detail=reason)
    if ticket.status is not Status.forwarded:
        lifecycle.move(session, ticket, Status.forwarded, actor, now=now, detail=reason)
    audit.record(session, ticket, "forward", actor, from_value=ticket.office.code, to_value=ticket.office.code,
                 detail=f"to {to.email}: {reason}", at=now)
    staff_notices.assigned(session, settings, policy, ticket, to, actor=actor if isinstance(actor, User) else None,
                           now=now)
    session.flush()
    return ticket


def came_from(session: Session, ticket: Ticket) -> Office | None:
    """The office that forwarded the ticket to its holder, from the audit trail."""
    code = session.scalar(select(Event.from_value).where(
        Event.ticket_id == ticket.id, Event.kind == "forward", Event.to_value == ticket.office.code,
        Event.from_value != ticket.office.code).order_by(Event.id.desc()).limit(1))
    if code is None:
        return None
    office = session.scalar(select(Office).where(Office.code == code))
    # The directory may have changed since: only a child of the holder qualifies.
    return office if office is not None and office.parent_id == ticket.office_id else None


def pull_back(session: Session, policy: Policy, ticket: Ticket, actor: User, reason: str,
              now: datetime | None = None) -> Ticket:
    """A supervisor of the holding office sends the ticket back to the office it came from
    (no mail: the customer's contact does not change tiers, and the office finds it in its queue)."""
    if actor.role not in (Role.supervisor, Role.admin):
        raise RouteRefused(N_("only supervisors pull tickets back"))
    reason = _check(ticket, actor, reason)
    below = came_from(session, ticket)
    if below is None:
        raise RouteRefused(N_("the ticket was not forwarded here from an office below"))
    now = now or utcnow()
    _move(session, ticket, actor, below, "pull_back", reason, now)
    assignment.assign_new(session, ticket, policy, now)
    return ticket


def pick_up(session: Session, ticket: Ticket, actor: User, now: datetime | None = None) -> bool:
    """The holding office's first action on a forwarded ticket opens it again; True if it did."""
    if ticket.status is not Status.forwarded or actor.office_id != ticket.office_id:
        return False
    lifecycle.move(session, ticket, Status.open, actor, now=now or utcnow(), detail="picked up")
    return True


def take_ownership(session: Session, ticket: Ticket, actor: User, now: datetime | None = None) -> None:
    """Take the ticket for oneself (and pick it up if it was forwarded here)."""
    now = now or utcnow()
    assignment.assign_to(session, ticket, actor, actor, now=now, detail="took ownership")
    pick_up(session, ticket, actor, now)


def is_triage(policy: Policy, office: Office) -> bool:
    """The office that takes unknown senders' mail (the root when none is set)."""
    return office.code == policy.triage_office if policy.triage_office else office.parent_id is None


def dispatch_targets(session: Session, policy: Policy, office: Office) -> list[Office]:
    """Where `office` may dispatch a ticket it holds: the active offices of its
    subtree below it (every office, for the triage office), never a customer
    office (schools hold no tickets), in path order."""
    query = select(Office).where(Office.active.is_(True), Office.kind != policy.customer_kind,
                                 Office.id != office.id)
    if not is_triage(policy, office):
        query = query.where(Office.path.startswith(office.path, autoescape=True))
    return list(session.scalars(query.order_by(Office.path)))


def dispatch(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User | str,
             to: Office | None, reason: str, now: datetime | None = None) -> Ticket:
    """Send the ticket down to an office in the holder's subtree (from triage: anywhere),
    tell the customer and the receiving office, and assign it there."""
    reason = _check(ticket, actor, reason)
    if to is None:
        raise RouteRefused(N_("choose the office to send the ticket to"))
    if to.id == ticket.office_id:
        raise RouteRefused(N_("the ticket is already there"))
    if to.kind == policy.customer_kind or not to.active:
        raise RouteRefused(N_("that office does not take tickets"))
    if not (is_triage(policy, ticket.office) or to.path.startswith(ticket.office.path)):
        raise RouteRefused(N_("an office dispatches only to offices below it; forward the ticket up instead"))
    now = now or utcnow()
    came = ticket.office
    _move(session, ticket, actor, to, "dispatch", reason, now)
    notices.forwarded(session, settings, policy, ticket, came, note=reason, now=now)
    _arrived(session, settings, policy, ticket, now)
    return ticket


def rehome(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User, school: Office,
           reason: str, now: datetime | None = None) -> Ticket:
    """The ticket is the school's after all: it becomes the school's and moves
    to the school's parent, where its own mail starts (no mail to the customer:
    the acknowledgement said it was being routed)."""
    reason = _check(ticket, actor, reason)
    home = school.parent
    if school.kind != policy.customer_kind or home is None:
        raise RouteRefused(N_("%(code)s is not a school in the directory") % {"code": school.code})
    now = now or utcnow()
    audit.record(session, ticket, "school", actor, from_value=ticket.school.code if ticket.school else None,
                 to_value=school.code, detail=reason, at=now)
    ticket.school = school
    if home.id != ticket.office_id:
        _move(session, ticket, actor, home, "rehome", reason, now)
        _arrived(session, settings, policy, ticket, now)
    return ticket


def went_to(session: Session, ticket: Ticket, office: Office) -> Event | None:
    """The latest move by which `office` handed the ticket on (to_value: where it went,
    detail: why), from the audit trail; None if it never did."""
    return session.scalar(select(Event).where(
        Event.ticket_id == ticket.id, Event.kind.in_(HANDED_ON), Event.from_value == office.code,
        Event.to_value != office.code).order_by(Event.id.desc()).limit(1))


def confirm_sender(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User,
                   school: Office | None, now: datetime | None = None) -> Ticket:
    """"This sender belongs to school S": the requester's address becomes a
    confirmed contact of S, and the ticket re-homes to S's City. The
    address's next mail routes there directly."""
    if school is None or school.kind != policy.customer_kind or not school.active:
        raise RouteRefused(N_("no school with that code or address in the directory"))
    if actor.office_id != ticket.office_id:
        raise RouteRefused(N_("only the office holding a ticket may move it"))
    now = now or utcnow()
    try:
        contacts.confirm(session, ticket.requester_email, school, actor, now=now)
    except contacts.ContactRefused as exc:
        raise RouteRefused(str(exc)) from None
    return rehome(session, settings, policy, ticket, actor, school,
                  f"{ticket.requester_email} confirmed as a contact of {school.code}", now=now)
