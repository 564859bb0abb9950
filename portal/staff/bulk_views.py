"""Bulk actions from a queue page and their progress and report page.

The selection (ticked tickets, or every ticket matching the queue's filter)
becomes a job (core.tickets.bulk). Up to policy.bulk_inline_max tickets it
runs here, after the job is committed; a larger one waits for a worker
(tasks.bulk). Either way the user lands on the job's page, which refreshes
itself (a meta refresh: no script) until the job is done.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, render_template, url_for
from flask_babel import gettext as _

from core.config.policy import load_policy
from core.queries.queues import QUEUES, matching_refs
from core.tickets import bulk
from core.tickets.actions import ActionRefused, TicketNotFound
from portal.auth import STAFF, access
from portal.context import db
from portal.i18n import localize, number
from portal.staff.blueprint import bp, me
from portal.staff.queue_views import filters_from, forget_counts

# The form's fields that carry each action's value.
VALUE_FIELD = {"reply": "reply_status", "status": "status_to", "assign": "assignee_to", "priority": "priority_to",
               "category": "category_to", "attach": "incident"}
# Seconds between two loads of a running job's page.
REFRESH_SECONDS = 2


def action_from_form() -> bulk.BulkAction:
    kind = request.form.get("action", "")
    canned = request.form.get("canned", "")
    return bulk.BulkAction(kind, value=request.form.get(VALUE_FIELD.get(kind, ""), "").strip()[:32],
                           text=request.form.get("text", "")[:20000], canned_id=int(canned) if canned.isdigit() else None)


def _selection(session, user, policy) -> list[str]:
    if request.form.get("all") != "1":
        return request.form.getlist("ref")
    queue = request.form.get("queue", "")
    if queue not in QUEUES or QUEUES[queue].read_only:
        raise ActionRefused(_("Choose a queue of your office."))
    refs = matching_refs(session, user, queue, policy, filters=filters_from(request.form), limit=bulk.MAX_SELECTION)
    if len(refs) > bulk.MAX_SELECTION:
        raise ActionRefused(_("At most %(n)s tickets at once: narrow the filter.", n=number(bulk.MAX_SELECTION)))
    return refs


def run_inline(job_id: int, in_worker: bool) -> None:
    """Run a committed job now unless it is one for the worker."""
    if not in_worker:
        bulk.run_job(db(), job_id)
        forget_counts()


@bp.post("/staff/bulk")
@access(STAFF)
def bulk_action():
    back = request.form.get("back", "")
    back = back if back.startswith("/staff/") and not back.startswith("//") else url_for("staff.home")
    try:
        with db().begin() as session:
            user = me(session)
            policy = load_policy(session)
            job = bulk.create_job(session, user, _selection(session, user, policy), action_from_form())
            job_id, in_worker = job.id, bulk.runs_in_worker(policy, job)
    except ActionRefused as exc:
        flash(localize(exc), "error")
        return redirect(back)
    run_inline(job_id, in_worker)
    return redirect(url_for("staff.bulk_job", job_id=job_id))


@bp.get("/staff/bulk/<int:job_id>")
@access(STAFF)
def bulk_job(job_id: int):
    with db().read() as session:
        try:
            job = bulk.find_job(session, me(session), job_id)
        except TicketNotFound:
            abort(404)
        running = job.status.value in ("pending", "running")
        return render_template("staff/bulk_job.html", job=job, refused=bulk.refused_of(job), running=running,
                               refresh=REFRESH_SECONDS if running else None)
