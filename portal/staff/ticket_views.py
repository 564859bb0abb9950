"""One ticket: its thread and history, and every action on it, each one POST."""
from __future__ import annotations

from functools import wraps

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.config.policy import load_policy, read_policy
from core.content import thumbnails
from core.mail import staff_notices
from core.queries.history import history
from core.models import Status
from core.queries.export import auth_of_messages
from core.queries.queues import Choice
from core.storage.files import Store
from core.tickets import actions, bulk, incidents, links, participants, requester, routing, triage
from core.tickets.actions import ActionRefused, ReadOnly, TicketNotFound
from core.tickets import canned as canned_answers
from core.tickets.canned import CannedRefused, UnknownCanned
from core.tickets.lifecycle import ALLOWED, ForbiddenTransition
from core.tickets.private_link import has_thumbnail
from core.content.uploads import CheckedUpload, Upload, UploadRefused, check_uploads
from core.tickets.requester import category_choices
from portal.context import db, recent, settings
from portal.auth import STAFF, access
from portal.i18n import localize, ngettext
from portal.staff.blueprint import bp, me, unread_notices
from portal.staff.bulk_views import run_inline
from portal.staff.queue_views import canned_choices, forget_counts

REPLY_STATUSES = (Status.answered, Status.open, Status.on_hold, Status.closed)


def _checked_uploads() -> list[CheckedUpload]:
    """The posted files as the attachment rules accept them, or UploadRefused."""
    uploads = [Upload(f.filename or "attachment", f.read()) for f in request.files.getlist("files") if f.filename]
    return check_uploads(read_policy(db()), uploads) if uploads else []


def ticket_action(view):
    """Run an action on a ticket the user's office holds: 404 if unseen, 403 if read-only.

    The view gets (session, user, ticket) inside one transaction and returns a
    flash message, or (message, URL) when the ticket leaves the user's sight;
    refusals roll back and are shown on the ticket page.
    """
    return _ticket_action(view, files=False)


def ticket_action_with_files(view):
    """ticket_action for a view that also takes the posted files, as
    (session, user, ticket, uploads). They are checked before the
    transaction opens: looking into an archive must not hold the write lock."""
    return _ticket_action(view, files=True)


def _ticket_action(view, files: bool):
    @wraps(view)
    def run(ref: str):
        problem = None
        try:
            uploads = (_checked_uploads(),) if files else ()
            with db().begin() as session:
                user = me(session)
                ticket = actions.find_actionable(session, user, ref)
                done = view(session, user, ticket, *uploads)
        except TicketNotFound:
            abort(404)
        except ReadOnly:
            abort(403)
        except UploadRefused as exc:
            problem = _("%(name)s was refused: %(reason)s", name=exc.filename, reason=localize(exc.reason))
        except (ActionRefused, ForbiddenTransition) as exc:
            problem = localize(exc)
        except (UnknownCanned, CannedRefused) as exc:
            problem = canned_problem(exc)
        if problem:
            flash(problem, "error")
            return redirect(url_for("staff.ticket", ref=ref.upper()))
        forget_counts()
        if "bulk_job" in g:  # a job the view made (an incident's reply): it runs now that it is committed
            run_inline(*g.bulk_job)
        done, target = done if isinstance(done, tuple) else (done, url_for("staff.ticket", ref=ref.upper()))
        flash(done)
        return redirect(target)
    return run


def canned_problem(exc: UnknownCanned | CannedRefused) -> str:
    """What the page says when a canned response cannot be used or saved."""
    if isinstance(exc, UnknownCanned):
        return _("That canned response is not offered to your office.")
    return localize(exc.message) + (f" ({exc.detail})" if exc.detail else "")


@bp.get("/staff/tickets/<ref>")
@access(STAFF)
def ticket(ref: str):
    _read_notices(ref)
    return _page(ref)


@bp.post("/staff/tickets/<ref>/compose")
@access(STAFF)
def compose(ref: str):
    """Put the chosen canned response, filled in for this ticket, into the
    reply box above what was typed, for the agent to read and edit before
    sending: the page again, with nothing saved (a form round trip, no script)."""
    text = request.form.get("text", "")
    chosen = request.form.get("canned", "")
    with db().read() as session:
        user = me(session)
        try:
            found = actions.find_actionable(session, user, ref)
            if chosen.isdigit():
                text = canned_answers.fill(session, user, int(chosen), text, found)
        except TicketNotFound:
            abort(404)
        except ReadOnly:
            abort(403)
        except (UnknownCanned, CannedRefused) as exc:
            flash(canned_problem(exc), "error")
    return _page(ref, draft=text)


def _page(ref: str, errors: dict[str, str] | None = None, status: int = 200, draft: str = ""):
    """The ticket page; `errors` (field name -> message) are shown next to their fields,
    `draft` is put in the reply box."""
    with db().read() as session:
        user = me(session)
        try:
            found = actions.find_visible(session, user, ref, thread=True)
        except TicketNotFound:
            abort(404)
        acting = actions.can_act(user, found)
        return render_template(
            "staff/ticket.html", ticket=found, user=user, acting=acting, draft=draft,
            auth=auth_of_messages(session, found.messages),
            history=history(session, user, found), has_thumbnail=has_thumbnail,
            linked=links.linked(session, user, found), participants=participants.listed(session, found.id),
            canned=canned_choices(session, user) if acting else [],
            attached=incidents.attached(session, found) if found.is_incident else [],
            incident_parent=incidents.parent_ref(session, found),
            assignable=_assignable(session, found) if acting else [],
            priorities=_priorities(session) if acting else [],
            categories=_categories(session) if acting else [],
            dispatch_to=_dispatch_targets(session, user) if acting else [],
            went=None if acting else routing.went_to(session, found, user.office),
            errors=errors or {}, form=request.form if errors else {},
            reply_statuses=REPLY_STATUSES, next_statuses=[s for s in Status if s in ALLOWED[found.status]
                                                          and s is not Status.forwarded]), status


def _dispatch_targets(session, user) -> list[Choice]:
    """The offices the dispatch form offers, kept a while (dispatching checks the office afresh)."""
    policy = load_policy(session)
    return recent("directory").get(("dispatch", user.office_id, user.office.path, policy.triage_office), lambda: [
        Choice(o.id, f"{o.code} · {o.name}") for o in routing.dispatch_targets(session, policy, user.office)])


def _read_notices(ref: str) -> None:
    """Opening a ticket reads the user's notices about it; the write happens
    only when the header's count (kept for the page) says some are unread."""
    if not unread_notices():
        return
    with db().begin() as session:
        g.unread_notices -= staff_notices.mark_read_ref(session, current_user.id, ref)


def _priorities(session) -> list[Choice]:
    """The priorities the form offers, most urgent first, kept a while (setting one reads it afresh)."""
    return recent("directory").get(("priorities",), lambda: [
        Choice(p.id, p.name) for p in triage.priorities(session)])


def _categories(session) -> list[Choice]:
    """The category tree as "Group › Category › Sub" choices, kept a while."""
    return recent("directory").get(("categories",), lambda: [
        Choice(*pair) for pair in category_choices(session)])


def _assignable(session, ticket) -> list[Choice]:
    """Who the form offers as assignee, kept a while (assigning checks the person afresh)."""
    return recent("directory").get(("assignable", ticket.office_id), lambda: [
        Choice(u.id, u.name) for u in actions.assignable(session, ticket)])


@bp.post("/staff/tickets/<ref>/reply")
@access(STAFF)
@ticket_action_with_files
def reply(session, user, ticket, uploads):
    status = request.form.get("status", "answered")
    status = Status(status) if status in Status.__members__ else Status.answered
    canned_id = int(request.form["canned"]) if request.form.get("canned", "").isdigit() else None
    policy = load_policy(session)
    if not ticket.is_incident:
        actions.reply(session, settings(), policy, ticket, user, request.form.get("text", ""),
                      uploads=uploads, status=status, canned_id=canned_id)
        return _("Reply sent.")
    job = bulk.reply_to_incident(session, settings(), policy, ticket, user, request.form.get("text", ""),
                          uploads=uploads, status=status, canned_id=canned_id)[1]
    if job is None:
        return _("Reply sent.")
    g.bulk_job = (job.id, bulk.runs_in_worker(policy, job))
    return ngettext("Reply sent; it goes to the attached ticket too.",
                    "Reply sent; it goes to the %(num)s attached tickets too.", job.total), \
        url_for("staff.bulk_job", job_id=job.id)


@bp.post("/staff/tickets/<ref>/incident")
@access(STAFF)
@ticket_action
def declare_incident(session, user, ticket):
    incidents.declare(session, ticket, user)
    return _("This ticket is now an incident: attach the others to it.")


@bp.post("/staff/tickets/<ref>/incident/attach")
@access(STAFF)
@ticket_action
def attach_incident(session, user, ticket):
    refs = request.form.get("refs", "").split()
    if request.form.get("q", "").strip():
        refs += incidents.search(session, user, ticket, request.form["q"][:200])
    if not refs:
        raise ActionRefused(_("Type some words to search for, or references."))
    report = bulk.attach_to_incident(session, settings(), load_policy(session), user, ticket, refs)
    refused = "; ".join(f"{ref}: {localize(reason)}" for ref, reason in report.refused[:20])
    return ngettext("%(num)s ticket attached.", "%(num)s tickets attached.", report.changed) + (" " + _("Refused:") + " " + refused if refused else "")


@bp.post("/staff/tickets/<ref>/incident/detach")
@access(STAFF)
@ticket_action
def detach_incident(session, user, ticket):
    detached = incidents.detach(session, user, ticket, request.form.get("ticket", ""))
    return _("%(ref)s is no longer attached.", ref=detached.ref), url_for("staff.ticket", ref=detached.ref)


@bp.post("/staff/tickets/<ref>/note")
@access(STAFF)
@ticket_action_with_files
def note(session, user, ticket, uploads):
    actions.add_note(session, settings(), load_policy(session), ticket, user, request.form.get("text", ""),
                     uploads=uploads)
    return _("Note saved.")


@bp.post("/staff/tickets/<ref>/status")
@access(STAFF)
@ticket_action
def status(session, user, ticket):
    wanted = request.form.get("status", "")
    if wanted not in Status.__members__:
        raise ActionRefused(_("Choose a status."))
    actions.change_status(session, settings(), load_policy(session), ticket, user, Status(wanted),
                          reason=request.form.get("reason", ""))
    return _("Status changed.")


@bp.post("/staff/tickets/<ref>/assign")
@access(STAFF)
@ticket_action
def assign(session, user, ticket):
    value = request.form.get("assignee", "")
    actions.assign(session, settings(), load_policy(session), ticket, user, int(value) if value.isdigit() else None)
    return _("Assignee changed.")


@bp.post("/staff/tickets/<ref>/priority")
@access(STAFF)
@ticket_action
def priority(session, user, ticket):
    value = request.form.get("priority", "")
    if not triage.set_priority(session, load_policy(session), ticket, user, int(value) if value.isdigit() else None):
        return _("Nothing changed.")
    return _("Priority set to %(name)s; the due times moved.", name=ticket.priority.name)


@bp.post("/staff/tickets/<ref>/category")
@access(STAFF)
@ticket_action
def category(session, user, ticket):
    value = request.form.get("category", "")
    if not triage.set_category(session, ticket, user, int(value) if value.isdigit() else None):
        return _("Nothing changed.")
    return _("Category changed.")


@bp.post("/staff/tickets/<ref>/take")
@access(STAFF)
@ticket_action
def take(session, user, ticket):
    actions.take(session, ticket, user)
    return _("The ticket is yours.")


@bp.post("/staff/tickets/<ref>/forward")
@access(STAFF)
@ticket_action
def forward(session, user, ticket):
    parent = ticket.office.parent
    actions.forward(session, settings(), load_policy(session), ticket, user, request.form.get("note", ""))
    if parent is None:
        return _("Handed to %(name)s.", name=ticket.assignee.name), url_for("staff.home")
    return _("Forwarded to %(office)s.", office=parent.name), url_for("staff.home")


@bp.post("/staff/tickets/<ref>/pull-back")
@access(STAFF)
@ticket_action
def pull_back(session, user, ticket):
    actions.pull_back(session, load_policy(session), ticket, user, request.form.get("reason", ""))
    return _("Sent back to %(office)s.", office=ticket.office.name), url_for("staff.home")


def _other(session, user, field: str):
    try:
        return actions.find_actionable(session, user, request.form.get(field, ""))
    except (TicketNotFound, ReadOnly):
        raise ActionRefused(_("No ticket %(ref)s that your office holds.", ref=request.form.get(field, ""))) from None


@bp.post("/staff/tickets/<ref>/merge")
@access(STAFF)
@ticket_action
def merge(session, user, ticket):
    target = _other(session, user, "into")
    actions.merge(session, ticket, target, user)
    return _("Merged into %(ref)s.", ref=target.ref)


@bp.post("/staff/tickets/<ref>/link")
@access(STAFF)
@ticket_action
def link(session, user, ticket):
    other = _other(session, user, "other")
    links.link(session, ticket, other, user)
    return _("Linked to %(ref)s.", ref=other.ref)


@bp.post("/staff/tickets/<ref>/participants")
@access(STAFF)
@ticket_action
def add_participant(session, user, ticket):
    address = participants.add(session, settings(), ticket, user, request.form.get("address", ""))
    return _("%(address)s is copied on the replies.", address=address)


@bp.post("/staff/tickets/<ref>/participants/remove")
@access(STAFF)
@ticket_action
def remove_participant(session, user, ticket):
    participants.remove(session, ticket, user, request.form.get("address", ""))
    return _("%(address)s is no longer copied.", address=request.form.get("address", "").strip().lower())


@bp.post("/staff/tickets/<ref>/private-link")
@access(STAFF)
@ticket_action
def reissue_link(session, user, ticket):
    requester.replace_link(session, settings(), load_policy(session), ticket, user)
    return _("The customer's old private link no longer works; the new one is on its way by mail.")


@bp.get("/staff/tickets/<ref>/attachments/<int:attachment_id>")
@access(STAFF)
def attachment(ref: str, attachment_id: int):
    with db().read() as session:
        try:
            found = actions.find_attachment(session, me(session), ref, attachment_id)
        except TicketNotFound:
            abort(404)
        name, kind, sha256 = found.filename, found.content_type, found.sha256
    path = Store(settings().path("store")).path(sha256)
    if not path.exists():
        abort(404)
    # Always a download: a file from a stranger is never rendered in our origin.
    return send_file(path, mimetype=kind or "application/octet-stream", as_attachment=True, download_name=name)


def _refusable(field: str, action):
    """Run `action(session, user, ticket)` on a ticket the user's office holds; a
    refusal re-renders the page (400) with the reason next to `field`."""
    try:
        with db().begin() as session:
            user = me(session)
            done = action(session, user, actions.find_actionable(session, user, request.view_args["ref"]))
    except TicketNotFound:
        abort(404)
    except ReadOnly:
        abort(403)
    except ActionRefused as exc:
        return _page(request.view_args["ref"], {field: localize(exc)}, 400)
    forget_counts()
    flash(done)
    # The office that sent the ticket on still reads it, and sees where it went.
    return redirect(url_for("staff.ticket", ref=request.view_args["ref"].upper()))


@bp.post("/staff/tickets/<ref>/dispatch")
@access(STAFF)
def dispatch(ref: str):
    def send(session, user, ticket):
        value = request.form.get("office", "")
        actions.dispatch(session, settings(), load_policy(session), ticket, user,
                         int(value) if value.isdigit() else None, request.form.get("reason", ""))
        return _("Sent to %(office)s.", office=ticket.office.name)
    return _refusable("dispatch", send)


@bp.post("/staff/tickets/<ref>/confirm-sender")
@access(STAFF)
def confirm_sender(ref: str):
    def confirm(session, user, ticket):
        actions.confirm_sender(session, settings(), load_policy(session), ticket, user,
                               request.form.get("school", ""))
        return _("%(address)s is now a contact of %(school)s; the ticket went to %(office)s.",
                 address=ticket.requester_email, school=ticket.school.name, office=ticket.office.name)
    return _refusable("school", confirm)


@bp.get("/staff/tickets/<ref>/attachments/<int:attachment_id>/thumb")
@access(STAFF)
def attachment_thumbnail(ref: str, attachment_id: int):
    """A small JPEG made on the server from an attached picture (as the
    customer's page shows them): only our own re-encoding reaches the browser."""
    with db().read() as session:
        try:
            found = actions.find_attachment(session, me(session), ref, attachment_id)
        except TicketNotFound:
            abort(404)
        wanted, sha256 = has_thumbnail(found), found.sha256
    store = Store(settings().path("store"))
    if not wanted or not store.exists(sha256):
        abort(404)
    try:
        path = thumbnails.thumbnail(settings().path("thumbs"), sha256, store.path(sha256))
    except thumbnails.NoThumbnail:
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
