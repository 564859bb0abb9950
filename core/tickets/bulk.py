"""One staff action over many tickets: assign, set status, priority or
category, add a note, or reply (with a canned response filled in per ticket).

Each ticket goes through the same action as on its own page, found with
core.tickets.actions.find_actionable (so visibility is the one rule), in its
own savepoint: a ticket is changed completely or not at all, and the refused
ones are reported with the reason (not visible, held by another office,
wrong state). The same functions serve the queue page, the incident reply
(core.tickets.incidents) and the API.

Incidents (core.tickets.incidents) come here for the many-ticket part:
attaching a selection, and the parent's reply sent on to every attached ticket.

A selection becomes a BulkJob, frozen at that moment. `run_job` works
through it in chunks, one transaction per chunk, recording progress and the
report as it goes: the portal runs a small job in the request, and a job over
policy.bulk_inline_max tickets is left for a worker (tasks.bulk), which runs
it at a lower CPU priority and may pace it (Pace: rests between chunks), so
that the staff loading pages meanwhile keep the machine.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.config.policy import Policy, load_policy
from core.config.settings import Settings
from core.models import BulkJob, JobStatus, Message, Status, Ticket, User, utcnow
from core.storage.db import Database
from core.tickets import actions, incidents, triage
from core.tickets.assignment import AssignmentRefused
from core.tickets.actions import ActionRefused, ReadOnly, TicketNotFound
from core.tickets.canned import CannedRefused, UnknownCanned
from core.tickets.lifecycle import ForbiddenTransition
from core.words import N_

KINDS = ("reply", "note", "status", "assign", "priority", "category", "attach")
# Tickets per transaction in a job: progress shows after each, and one
# transaction holds the write lock (SQLite) or row locks no longer than this takes.
CHUNK = 100
# The largest selection one job takes; beyond it a filter must narrow the selection.
MAX_SELECTION = 50_000
# The longest rest between two chunks of a paced job: a chunk slowed by a
# lock wait or a busy machine must not stall the job for as long again.
MAX_REST_SECONDS = 2.0
# A paced job rests only while it is ahead of this many seconds a ticket
# (5,000 tickets in 40 s): on a machine so busy that the work alone takes that
# long it no longer rests, so pacing never makes a wave of replies late.
PACED_SECONDS_PER_TICKET = 0.008

# Reasons a ticket is refused that are not the action's own message.
NOT_VISIBLE = N_("not visible to you")
HELD_ELSEWHERE = N_("held by another office")
UNKNOWN_CANNED = N_("the canned response is not available")
CLOSED = N_("the ticket is closed")


@dataclass(frozen=True)
class BulkAction:
    """What to do to each ticket. `value`: the status name, the id of the
    assignee ("" for nobody), priority or category ("" for none), or the
    reference of the incident to attach to."""
    kind: str
    value: str = ""
    text: str = ""
    canned_id: int | None = None

    def checked(self) -> BulkAction:
        """The action if it can apply to any ticket at all, else ActionRefused (before any ticket is touched)."""
        if self.kind not in KINDS:
            raise ActionRefused(N_("choose an action"))
        if self.kind in ("reply", "note") and not self.text.strip() and not (self.kind == "reply" and self.canned_id):
            raise ActionRefused(N_("a reply needs some text") if self.kind == "reply" else N_("a note needs some text"))
        if self.kind == "status" and self.value not in Status.__members__:
            raise ActionRefused(N_("choose a status"))
        if self.kind == "reply" and self.value and self.value not in Status.__members__:
            raise ActionRefused(N_("choose a status"))
        if self.kind == "attach" and not self.value.strip():
            raise ActionRefused(N_("give the reference of the incident"))
        if self.kind in ("priority",) and not self.value.isdigit():
            raise ActionRefused(N_("choose a priority"))
        if self.kind in ("assign", "category") and self.value and not self.value.isdigit():
            raise ActionRefused(N_("choose a member of staff") if self.kind == "assign" else N_("choose a category"))
        return self


@dataclass
class Report:
    """How a run went: tickets changed, and (ref, reason) of those refused."""
    changed: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Pace:
    """How a job shares the machine: it works `duty` of the time, resting
    after each chunk in proportion to how long the chunk took (0.5: as long
    again; 1: no rest), at most MAX_REST_SECONDS, and only while it keeps
    ahead of `seconds_per_ticket`. `clock` and `sleep` are the real ones
    except in tests."""
    duty: float = 1.0
    seconds_per_ticket: float = PACED_SECONDS_PER_TICKET
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def rest_after(self, worked: float, elapsed: float, done: int) -> float:
        """Seconds to rest after a chunk that took `worked` seconds, when the
        job has run `elapsed` seconds (rests included) for `done` tickets."""
        if self.duty >= 1:
            return 0.0
        ahead = done * self.seconds_per_ticket - elapsed
        return max(0.0, min(worked * (1 - self.duty) / self.duty, MAX_REST_SECONDS, ahead))


# A job in the request (a small selection) runs at full speed: its user waits for it.
FULL_SPEED = Pace()


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _do(session: Session, settings: Settings, policy: Policy, actor: User, ticket: Ticket, action: BulkAction,
        now: datetime) -> None:
    kind = action.kind
    if kind in ("reply", "note", "assign") and ticket.status is Status.closed:
        # One by one, staff see a closed ticket before answering it; in bulk it is left alone.
        raise ActionRefused(CLOSED)
    if kind == "reply":
        actions.reply(session, settings, policy, ticket, actor, action.text, canned_id=action.canned_id, now=now,
                      status=Status(action.value) if action.value else Status.answered)
    elif kind == "note":
        actions.add_note(session, settings, policy, ticket, actor, action.text, now=now)
    elif kind == "status":
        if ticket.status is not Status(action.value):
            actions.change_status(session, settings, policy, ticket, actor, Status(action.value), now=now,
                                  reason=action.text)
    elif kind == "assign":
        actions.assign(session, settings, policy, ticket, actor, _id(action.value), now=now)
    elif kind == "priority":
        triage.set_priority(session, policy, ticket, actor, _id(action.value), now=now)
    elif kind == "category":
        triage.set_category(session, ticket, actor, _id(action.value), now=now)
    else:
        incidents.attach_one(session, actor, incidents.find_incident(session, actor, action.value), ticket, now)


def apply(session: Session, settings: Settings, policy: Policy, actor: User, refs: Sequence[str],
          action: BulkAction, *, now: datetime | None = None) -> Report:
    """The action on each ticket, each in its own savepoint; those refused are reported."""
    action.checked()
    report, now = Report(), now or utcnow()
    for ref in refs:
        reason = apply_one(session, settings, policy, actor, ref, action, now)
        if reason is None:
            report.changed += 1
        else:
            report.refused.append((ref, reason))
    return report


def apply_one(session: Session, settings: Settings, policy: Policy, actor: User, ref: str, action: BulkAction,
              now: datetime, do: Callable | None = None) -> str | None:
    """The action on one ticket in a savepoint: None when done, else why not
    (and nothing of it is kept). `do` replaces the action (incidents attach this way)."""
    try:
        with session.begin_nested():
            ticket = actions.find_actionable(session, actor, ref)
            (do or _do)(session, settings, policy, actor, ticket, action, now)
    except TicketNotFound:
        return NOT_VISIBLE
    except ReadOnly:
        return HELD_ELSEWHERE
    except (UnknownCanned, CannedRefused):
        return UNKNOWN_CANNED
    except (ActionRefused, AssignmentRefused, ForbiddenTransition) as exc:
        return str(exc)
    return None


def create_job(session: Session, actor: User, refs: Sequence[str], action: BulkAction, *,
               now: datetime | None = None) -> BulkJob:
    """A pending job over these tickets (ActionRefused for an empty, too large or impossible one)."""
    action.checked()
    refs = list(dict.fromkeys(r.strip().upper() for r in refs if r and r.strip()))
    if not refs:
        raise ActionRefused(N_("select some tickets"))
    if len(refs) > MAX_SELECTION:
        raise ActionRefused(N_("at most %(most)s tickets at once: narrow the filter") % {"most": MAX_SELECTION})
    job = BulkJob(actor_id=actor.id, action=action.kind, params=json.dumps(asdict(action)), refs=json.dumps(refs),
                  total=len(refs), created_at=now or utcnow(), status=JobStatus.pending)
    session.add(job)
    session.flush()
    return job


def runs_in_worker(policy: Policy, job: BulkJob) -> bool:
    return job.total > policy.bulk_inline_max


def find_job(session: Session, actor: User, job_id: int) -> BulkJob:
    """The actor's own job (TicketNotFound for anyone else's: its report names their tickets)."""
    job = session.get(BulkJob, job_id)
    if job is None or job.actor_id != actor.id:
        raise TicketNotFound(str(job_id))
    return job


def refused_of(job: BulkJob) -> list[tuple[str, str]]:
    return [tuple(pair) for pair in json.loads(job.report or "[]")]


def _claim(database: Database, job_id: int, now: datetime) -> bool:
    """Mark a pending job running; False when another run has it (two workers, or a retry)."""
    with database.begin() as session:
        claimed = session.execute(update(BulkJob).where(BulkJob.id == job_id, BulkJob.status == JobStatus.pending)
                                  .values(status=JobStatus.running, started_at=now))
        return claimed.rowcount == 1


def run_job(database: Database, job_id: int, *, chunk: int = CHUNK, pace: Pace = FULL_SPEED) -> bool:
    """Work through a pending job, a chunk per transaction, resting between
    chunks as `pace` says; False if it was not pending. Each chunk's progress
    and refusals are committed before the rest, so the job's page shows them.

    An error outside any one ticket (the database gone) marks the job failed
    with the error and re-raises; the chunks committed before it stay done.
    """
    if not _claim(database, job_id, utcnow()):
        return False
    try:
        with database.begin() as session:
            job = session.get(BulkJob, job_id)
            refs, action, actor_id = json.loads(job.refs), BulkAction(**json.loads(job.params)), job.actor_id
        rest, started = 0.0, pace.clock()
        for start in range(0, len(refs), chunk):
            if rest:
                pace.sleep(rest)
            began = pace.clock()
            _run_chunk(database, job_id, actor_id, refs[start:start + chunk], action)
            ended = pace.clock()
            rest = pace.rest_after(ended - began, ended - started, min(start + chunk, len(refs)))
    except Exception as exc:
        with database.begin() as session:
            session.execute(update(BulkJob).where(BulkJob.id == job_id).values(
                status=JobStatus.failed, error=str(exc)[:2000], finished_at=utcnow()))
        raise
    with database.begin() as session:
        session.execute(update(BulkJob).where(BulkJob.id == job_id).values(status=JobStatus.done,
                                                                            finished_at=utcnow()))
    return True


def _run_chunk(database: Database, job_id: int, actor_id: int, refs: list[str], action: BulkAction) -> None:
    with database.begin() as session:
        actor = session.get(User, actor_id)
        report = apply(session, database.settings, load_policy(session), actor, refs, action)
        job = session.get(BulkJob, job_id, with_for_update=True)
        job.done += len(refs)
        job.refused += len(report.refused)
        if report.refused:
            job.report = json.dumps(json.loads(job.report or "[]") + [list(pair) for pair in report.refused])


def pending_jobs(session: Session) -> list[int]:
    """Ids of the jobs waiting for a worker, oldest first."""
    return list(session.scalars(select(BulkJob.id).where(BulkJob.status == JobStatus.pending)
                                .order_by(BulkJob.created_at, BulkJob.id)))


def run_pending(database: Database, pace: Pace = FULL_SPEED) -> int:
    """Run every pending job (a worker's pass) at that pace; how many this pass ran."""
    with database.read() as session:
        waiting = pending_jobs(session)
    return sum(run_job(database, job_id, pace=pace) for job_id in waiting)


def attach_to_incident(session: Session, settings: Settings, policy: Policy, actor: User, parent: Ticket,
                       refs: Sequence[str], *, now: datetime | None = None) -> Report:
    """Attach the tickets to the incident (core.tickets.incidents), each in its
    own savepoint; the refused ones (not visible, held elsewhere, closed,
    another incident) are reported."""
    if not parent.is_incident:
        raise ActionRefused(N_("%(ref)s is not an incident") % {"ref": parent.ref})
    return apply(session, settings, policy, actor, list(dict.fromkeys(r.strip().upper() for r in refs if r.strip())),
                 BulkAction("attach", parent.ref), now=now)


def reply_to_incident(session: Session, settings: Settings, policy: Policy, parent: Ticket, actor: User, text: str,
                      *, status: Status = Status.answered, canned_id: int | None = None, uploads=(),
                      now: datetime | None = None) -> tuple[Message, BulkJob | None]:
    """The reply on the incident's parent, and a pending job that sends it to
    every attached ticket not closed, each in its own thread with its own
    placeholders filled (None when none is attached). The caller runs the job
    (run_job) after the commit, or leaves it to a worker."""
    now = now or utcnow()
    message = actions.reply(session, settings, policy, parent, actor, text, uploads=uploads, status=status,
                            canned_id=canned_id, now=now)
    refs = [ref for ref, state, _ in incidents.attached(session, parent) if state is not Status.closed]
    if not refs:
        return message, None
    return message, create_job(session, actor, refs, BulkAction("reply", value=status.value, text=text,
                                                                canned_id=canned_id), now=now)

