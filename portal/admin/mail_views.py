"""Mail wording, the quarantine of unreadable mail, and outgoing mail that failed."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.mail.quarantine import (
    NotAuthQuarantine, NotFound, discard, failed_authentication, failed_mail, give_up_mail, quarantined,
    quarantined_mail, raw_preview, release_despite_auth, request_reprocess, retry_mail,
)
from core.mail.templates import BadTemplate
from core.mail.templates import NotFound as TemplateNotFound
from core.mail.templates import broken_templates, read_template, restore_template, save_template, template_files
from core.models import utcnow
from core.storage import spool
from portal.admin.blueprint import bp
from portal.context import db, settings
from portal.auth import SYSTEM, access
from portal.i18n import localize
from portal.staff.blueprint import me


@bp.get("/mail-templates")
@access(SYSTEM)
def mail_templates():
    return render_template("admin/mail_templates.html", files=template_files(settings()),
                           broken=broken_templates(settings()))


@bp.route("/mail-templates/<path:name>", methods=["GET", "POST"])
@access(SYSTEM)
def mail_template(name: str):
    try:
        text, own = read_template(settings(), name)
    except TemplateNotFound:
        abort(404)
    if request.method == "GET":
        broken = [b.error for b in broken_templates(settings()) if b.name == name] if own else []
        error = _("This template cannot be used (%(error)s); mail goes out in the shipped wording.",
                  error=broken[0]) if broken else None
        return render_template("admin/mail_template.html", name=name, text=text, own=own, error=error)
    try:
        with db().begin() as session:
            if request.form.get("restore") == "1":
                restore_template(session, settings(), me(session), name)
            else:
                save_template(session, settings(), me(session), name, request.form.get("text", ""))
    except BadTemplate as exc:
        return render_template("admin/mail_template.html", name=name, text=request.form.get("text", ""),
                               own=own, error=_("Not saved: the template has an error (%(error)s).",
                                                error=localize(exc))), 400
    flash(_("Saved."))
    return redirect(url_for("admin.mail_template", name=name))


@bp.get("/quarantine")
@access(SYSTEM)
def quarantine():
    with db().read() as session:
        count, oldest = spool.waiting(session)
        stuck = oldest is not None and utcnow() - oldest > SPOOL_STUCK_AFTER
        return render_template("admin/quarantine.html", mails=quarantined(session),
                               spool_stuck=(count, oldest) if stuck else None)


# The worker moves received mail into the store every few seconds: mail that
# waited longer than this tells the admins that it does not (see the template).
SPOOL_STUCK_AFTER = timedelta(minutes=10)


@bp.get("/quarantine/<int:raw_id>")
@access(SYSTEM)
def quarantined_view(raw_id: int):
    with db().read() as session:
        try:
            raw = quarantined_mail(session, raw_id)
        except NotFound:
            abort(404)
        headers, preview = raw_preview(session, settings(), raw)
        return render_template("admin/quarantined.html", raw=raw, headers=headers, preview=preview,
                               waivable=failed_authentication(raw))


@bp.post("/quarantine/<int:raw_id>/reprocess")
@access(SYSTEM)
def quarantine_reprocess(raw_id: int):
    # The mail processes run the same pipeline as SMTP and IMAP on it, so a
    # message fixed by a new release (or a changed rule) lands exactly as if
    # it had just arrived; the web process only asks.
    try:
        with db().begin() as session:
            request_reprocess(session, me(session), raw_id)
    except NotFound:
        abort(404)
    flash(_("Queued: the message is processed again within a few seconds; the mail log shows the outcome."))
    return redirect(url_for("admin.quarantine"))


@bp.post("/quarantine/<int:raw_id>/release-anyway")
@access(SYSTEM)
def quarantine_release_anyway(raw_id: int):
    # "Process again" alone would meet the same failed authentication and
    # quarantine the mail again; the admin who has judged it waives that verdict.
    try:
        with db().begin() as session:
            release_despite_auth(session, me(session), raw_id)
    except (NotFound, NotAuthQuarantine):
        abort(404)
    flash(_("Released despite its failed sender authentication; the mail log shows the outcome in a few seconds."))
    return redirect(url_for("admin.quarantine"))


@bp.post("/quarantine/<int:raw_id>/discard")
@access(SYSTEM)
def quarantine_discard(raw_id: int):
    try:
        with db().begin() as session:
            discard(session, me(session), raw_id)
    except NotFound:
        abort(404)
    flash(_("The message is discarded; the mail log keeps it."))
    return redirect(url_for("admin.quarantine"))


@bp.get("/outbox")
@access(SYSTEM)
def outbox():
    with db().read() as session:
        return render_template("admin/outbox.html", mails=failed_mail(session))


@bp.post("/outbox/<int:outbox_id>/retry")
@access(SYSTEM)
def outbox_retry(outbox_id: int):
    try:
        with db().begin() as session:
            if request.form.get("give_up") == "1":
                give_up_mail(session, me(session), outbox_id)
            else:
                retry_mail(session, me(session), outbox_id)
    except NotFound:
        abort(404)
    flash(_("Done."))
    return redirect(url_for("admin.outbox"))
