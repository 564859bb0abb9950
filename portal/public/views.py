"""The public form (`/`) and the private ticket page (`/t/<token>`).

Each view owns its transaction and calls core; a wrong, revoked or expired
token is the same plain 404 as a ticket that never existed.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request,
                   send_file, session, url_for)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from core.access import limits
from core.access.tokens import link_token
from core.config.policy import Policy, load_policy, policy_at
from core.content import thumbnails
from core.models import Status, utcnow
from core.storage.files import Store
from core.tickets import private_link as public, requester as customer, triage
from core.tickets.intake import open_by_token
from core.content.uploads import CheckedUpload, Upload, UploadRefused, check_uploads
from core.hooks.chat import BadPhone
from core.tickets.requester import UnknownSchool, WebTicket
from core.words import N_
from portal.context import csrf, db, settings
from portal.i18n import localize
from portal.public import spam
from portal.public.forms import ReplyForm, TicketForm, has_files, uploads_of

bp = Blueprint("public", __name__)

STATUS_LABELS = {
    Status.open: N_("Waiting for the helpdesk"),
    Status.answered: N_("Answered: waiting for you"),
    Status.on_hold: N_("On hold"),
    Status.forwarded: N_("Passed to a higher office"),
    Status.closed: N_("Closed"),
}
FILES_NOT_KEPT = N_("For your safety, files are not kept when a form is refused: please choose them again.")


@bp.after_request
def private(response):
    # Pages behind a token are nobody's to cache or index.
    if request.endpoint and request.endpoint.startswith("public.ticket"):
        response.headers.setdefault("Cache-Control", "private, no-cache")
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/", methods=["GET", "POST"])
def new_ticket():
    now = utcnow()
    form = TicketForm()
    with db().begin() as s:
        policy = load_policy(s)
        form.category.choices = [(0, _("Choose a topic"))] + customer.category_choices(s)
        if policy.web_priority_choice:
            form.priority.choices = [(0, _("Normal (as usual)"))] + [
                (p.id, p.name) for p in reversed(triage.priorities(s))]
        else:
            del form.priority
    if not settings().whatsapp_on:
        del form.phone, form.whatsapp
    if request.method == "GET":
        form.stamp.data = spam.new_stamp(settings().secret_key, now)
        return render_template("public/new.html", form=form, file_hint=file_hint(policy))
    try:
        spam.check_honeypot(form.website.data)
        with db().begin() as s:
            spam.count_post(s, policy, request.remote_addr or "-", now)
        nonce = spam.read_stamp(settings().secret_key, form.stamp.data, now)
    except spam.Refusal as refusal:
        return _refused(form, policy, refusal.message, refusal.status, now, restamp=True)
    if not form.validate_on_submit():
        return _refused(form, policy, N_("Please correct the fields marked below."), 400, now)
    if spam.count_links(form.subject.data + " " + form.body.data) > policy.web_max_links:
        form.body.errors.append(_("Please include at most %(n)s links. Describe the page instead, or attach a screenshot.",
                                  n=policy.web_max_links))
        return _refused(form, policy, N_("Please correct the fields marked below."), 400, now)
    try:
        # Before the write transaction: looking into an archive must not hold the write lock.
        uploads = check_uploads(policy, uploads_of(form.attachments))
        with db().begin() as s:
            spam.spend_stamp(s, nonce, now)
            spam.check_address(s, policy, form.email.data, now)
            ticket = customer.submit_web_ticket(s, settings(), policy, WebTicket(
                name=form.name.data, email=form.email.data.strip(), subject=form.subject.data,
                body=form.body.data, language=g.lang, school=form.school.data or "",
                category_id=form.category.data or None,
                priority_id=form.priority.data or None if policy.web_priority_choice else None, uploads=uploads,
                phone=form.phone.data or "" if form.phone else "", whatsapp=bool(form.whatsapp and form.whatsapp.data)),
                now=now)
            spam.count_ticket(s, form.email.data, now)
            ref, email = ticket.ref, ticket.requester_email
    except spam.Refusal as refusal:
        return _refused(form, policy, refusal.message, refusal.status, now, restamp=True)
    except UnknownSchool:
        form.school.errors.append(_("We do not know this school. Check its code or registered address, or leave it empty."))
        return _refused(form, policy, N_("Please correct the fields marked below."), 400, now)
    except UploadRefused as refused:
        form.attachments.errors.append(_("%(name)s was not accepted: %(reason)s.",
                                         name=refused.filename, reason=localize(refused.reason)))
        return _refused(form, policy, N_("Please correct the fields marked below."), 400, now)
    except BadPhone as bad:
        form.phone.errors.append(localize(bad))
        return _refused(form, policy, N_("Please correct the fields marked below."), 400, now)
    session["submitted"] = {"ref": ref, "email": email}
    return redirect(url_for("public.sent"))


def file_hint(policy) -> str:
    return _("Screenshots, PDF or office documents: up to 10 files, %(mb)s MB each.",
             mb=f"{policy.attachment_max_bytes / 1048576:g}")


def _refused(form: TicketForm, policy: Policy, message: str, status: int, now, restamp: bool = False):
    if restamp:
        form.stamp.data = spam.new_stamp(settings().secret_key, now)
    if has_files(form.attachments):
        form.attachments.errors.append(FILES_NOT_KEPT)
    return render_template("public/new.html", form=form, refusal=message, file_hint=file_hint(policy)), status


@bp.get("/sent")
def sent():
    submitted = session.get("submitted")
    if not submitted:
        return redirect(url_for("public.new_ticket"))
    return render_template("public/sent.html", **submitted)


def _ticket_or_404(s, token: str, policy: Policy | None = None):
    opened = open_by_token(s, token, policy or load_policy(s))
    if opened is None:
        abort(404)
    return opened


def _requesters_ticket_or_404(s, token: str):
    """Only the requester closes or reopens their ticket; a participant's link reads and replies."""
    ticket, participant = _ticket_or_404(s, token)
    if participant is not None:
        abort(404)
    return ticket


class PageCache:
    """Rendered private pages of this process, keyed by (token, language, PageState).

    A key holds everything the page shows, read afresh on every request, so
    a hit is never stale: a reply, a status change or a revoked link changes
    or removes the state before the cache is consulted. Customers reload
    their page far more often than anyone writes to it.
    """

    def __init__(self, size: int = 256):
        self.size = size
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: bytes) -> None:
        with self._lock:
            self._pages[key] = page
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


def _pages() -> PageCache:
    """This app's page cache (one app per process in production, one per test)."""
    pages = current_app.extensions.get("helpdesk.public_pages")
    if pages is None:
        pages = current_app.extensions["helpdesk.public_pages"] = PageCache()
    return pages


def _render_ticket(s, state: public.PageState, token: str, reply: ReplyForm, policy: Policy,
                   refusal: str | None = None):
    return render_template(
        "public/ticket.html", ticket=state, token=token, form_token=public.form_token(settings().secret_key, token),
        thread=public.public_thread(s, state.id), status_label=STATUS_LABELS[state.status], reply=reply,
        can_rate=state.participant is None and customer.can_rate(state), file_hint=file_hint(policy),
        refusal=refusal)


def _state_or_404(s, token: str) -> tuple[public.PageState, Policy]:
    """The page's state and the policy, or a plain 404 for a wrong, revoked or expired link."""
    state = public.page_state(s, token)
    if state is None:
        abort(404)
    policy = policy_at(s, state.policy_version)
    if public.link_expired(policy, state.token_issued_at):
        abort(404)
    return state, policy


@bp.get("/t/<token>")
def ticket(token: str):
    # Flashed notices (after a post) belong to one visitor: such a page is
    # rendered for them alone. Any other visit is served from the page cache.
    personal = "_flashes" in session
    pages = _pages()
    with db().read() as s:
        state, policy = _state_or_404(s, token)
        key = (token, g.lang, state)
        page = None if personal else pages.get(key)
        if page is None:
            page = _render_ticket(s, state, token, ReplyForm(meta={"csrf": False}), policy).encode()
            if not personal:
                pages.put(key, page)
    return make_response(page)


def _check_form_token(token: str) -> None:
    """CSRF for the private page's forms (see core.tickets.private_link.form_token)."""
    if not public.form_token_matches(settings().secret_key, token, request.form.get("csrf_token")):
        raise CSRFError("The CSRF token is missing or does not match.")


@csrf.exempt
@bp.post("/t/<token>/reply")
def ticket_reply(token: str):
    form = ReplyForm(meta={"csrf": False})
    with db().read() as s:
        policy = load_policy(s)
        ticket_id = _ticket_or_404(s, token, policy)[0].id
        _check_form_token(token)
        valid = form.validate_on_submit()
    files = uploads_of(form.attachments) if valid else []
    try:
        # Counted, in a short write of its own, before the files are looked
        # into: that look is the cost the limits bound.
        if valid:
            with db().begin() as s:
                limits.admit_reply(s, policy, ticket_id, request.remote_addr or "-",
                                   sum(len(upload.content) for upload in files))
    except limits.LimitReached as reached:
        with db().read() as s:
            response = _refused_reply(s, token, form, reached.message, 429)
        response.headers["Retry-After"] = str(reached.retry_after)
        return response
    # The files are checked outside any transaction: looking into an
    # archive takes a moment, and the database must not wait for it.
    uploads = _checked_uploads(form, policy, files) if valid else None
    if uploads is None:
        with db().read() as s:
            return _refused_reply(s, token, form)
    with db().begin() as s:
        ticket, participant = _ticket_or_404(s, token, policy)
        landed = customer.customer_reply(s, settings(), policy, ticket, form.body.data, uploads,
                                         participant=participant)
        if landed is not ticket:
            token = link_token(settings().secret_key, landed.id, landed.token_nonce)
            flash(_("Your earlier ticket was closed, so your message opened this new ticket (%(ref)s).",
                    ref=landed.ref), "info")
        else:
            flash(_("Thank you: your reply was added."), "info")
    return redirect(url_for("public.ticket", token=token) + "#latest")


def _checked_uploads(form: ReplyForm, policy: Policy, files: list[Upload]) -> list[CheckedUpload] | None:
    """The reply's files as the rules accept them; None, with the reason on the form, when one is refused."""
    try:
        return check_uploads(policy, files)
    except UploadRefused as refused:
        form.attachments.errors.append(_("%(name)s was not accepted: %(reason)s.",
                                         name=refused.filename, reason=localize(refused.reason)))
        return None


def _refused_reply(s, token: str, form: ReplyForm, refusal: str | None = None, status: int = 400):
    """The page again with the reply's text and errors, and `refusal` (English)
    above the form; nothing of the reply was written."""
    if has_files(form.attachments):
        form.attachments.errors.append(FILES_NOT_KEPT)
    state, policy = _state_or_404(s, token)
    return make_response(_render_ticket(s, state, token, form, policy, refusal), status)


@csrf.exempt
@bp.post("/t/<token>/solved")
def ticket_solved(token: str):
    return _rate(token, solved=True)


@csrf.exempt
@bp.post("/t/<token>/unsolved")
def ticket_unsolved(token: str):
    return _rate(token, solved=False)


def _rate(token: str, solved: bool):
    # The buttons carry only the page's form token, checked like the reply's.
    with db().begin() as s:
        ticket = _requesters_ticket_or_404(s, token)
        _check_form_token(token)
        if customer.can_rate(ticket):
            if solved:
                customer.mark_satisfied(s, ticket)
                flash(_("Thank you. We are glad it is solved; the ticket is now closed."), "info")
            else:
                customer.mark_unsatisfied(s, ticket)
                flash(_("Sorry it is not solved yet. The ticket is open again: tell us below what is still wrong."), "info")
    return redirect(url_for("public.ticket", token=token) + ("" if solved else "#reply"))


@bp.get("/t/<token>/a/<int:attachment_id>")
def ticket_attachment(token: str, attachment_id: int):
    attachment = _attachment_or_404(token, attachment_id)
    kind, inline = public.serving(attachment)
    path = Store(settings().path("store")).path(attachment.sha256)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=kind, as_attachment=not inline, download_name=attachment.filename,
                         max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/t/<token>/a/<int:attachment_id>/thumb")
def ticket_thumbnail(token: str, attachment_id: int):
    attachment = _attachment_or_404(token, attachment_id)
    store = Store(settings().path("store"))
    if not public.has_thumbnail(attachment) or not store.exists(attachment.sha256):
        abort(404)
    try:
        path = thumbnails.thumbnail(settings().path("thumbs"), attachment.sha256, store.path(attachment.sha256))
    except thumbnails.NoThumbnail:
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


def _attachment_or_404(token: str, attachment_id: int):
    with db().read() as s:
        state, _policy = _state_or_404(s, token)
        attachment = public.attachment_of(s, state.id, attachment_id)
    if attachment is None:
        abort(404)
    return attachment
