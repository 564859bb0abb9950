"""The user's own account: availability switch, notice mail, password change;
and the notices they were sent."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user

from core.access.logins import WrongPassword, change_password
from core.access.passwords import WeakPassword
from core.config.policy import load_policy
from core.mail import staff_notices
from core.tickets.actions import set_availability
from portal.context import db
from portal.auth import STAFF, SessionUser, access
from portal.staff.blueprint import bp, me
from portal.staff.queue_views import forget_counts


@bp.get("/staff/account")
@access(STAFF)
def account():
    with db().read() as session:
        return render_template("staff/account.html", user=me(session), kinds=staff_notices.KINDS,
                               wants_mail=staff_notices.wants_mail)


@bp.post("/staff/account/notices")
@access(STAFF)
def notice_mail():
    with db().begin() as session:
        staff_notices.set_mail(session, me(session), set(request.form.getlist("mail")))
    flash(_("Your notice mail is saved."))
    return redirect(url_for("staff.account"))


@bp.get("/staff/notices")
@access(STAFF)
def notices():
    with db().read() as session:
        return render_template("staff/notices.html", notices=staff_notices.latest(session, me(session)))


@bp.post("/staff/notices/read")
@access(STAFF)
def read_notices():
    with db().begin() as session:
        staff_notices.mark_read(session, me(session).id)
    g.pop("unread_notices", None)
    flash(_("All notices are marked read."))
    return redirect(url_for("staff.notices"))


@bp.post("/staff/availability")
@access(STAFF)
def availability():
    available = request.form.get("available") == "1"
    with db().begin() as session:
        set_availability(session, me(session), available, load_policy(session))
    forget_counts()
    flash(_("You receive new tickets.") if available else _("You receive no new tickets."))
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                    else url_for("staff.home"))


@bp.post("/staff/account/password")
@access(STAFF)
def password():
    new = request.form.get("new", "")
    if new != request.form.get("confirm", ""):
        flash(_("The two new passwords differ."), "error")
        return redirect(url_for("staff.account"))
    problem = None
    with db().begin() as session:
        user = me(session)
        try:
            change_password(session, user, request.form.get("current", ""), new)
            renewed = SessionUser.of(user)
        except WrongPassword:
            problem = _("The current password is wrong.")
        except WeakPassword:
            problem = _("A password needs at least 10 characters.")
    if problem:
        flash(problem, "error")
        return redirect(url_for("staff.account"))
    # The session id carries the password's generation: renew this session, others end.
    login_user(renewed)
    flash(_("Your password is changed."))
    return redirect(url_for("staff.account"))
