"""Staff accounts: list, add, change role/office/active, send a password-reset link."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.access.logins import request_reset
from core.access.passwords import WeakPassword
from core.directory.accounts import UserNotFound, add_user, list_users, managed_user, update_user
from core.directory.staff import StaffError
from core.mail import outbox
from core.models import Role
from portal.admin.blueprint import bp
from portal.context import db, settings
from portal.auth import ADMIN, access
from portal.i18n import localize
from portal.staff.blueprint import me


@bp.get("/users")
@access(ADMIN)
def users():
    with db().read() as session:
        return render_template("admin/users.html", users=list_users(session, me(session)), roles=list(Role))


@bp.post("/users")
@access(ADMIN)
def add_user_view():
    form = request.form
    try:
        with db().begin() as session:
            add_user(session, me(session), email=form.get("email", ""), name=form.get("name", ""),
                     office_code=form.get("office", ""), role=form.get("role", "agent"),
                     password=form.get("password", ""))
    except (StaffError, WeakPassword, ValueError) as exc:
        flash(localize(exc), "error")
    else:
        flash(_("User added."))
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@access(ADMIN)
def user(user_id: int):
    problem = None
    with db().begin() as session:
        admin = me(session)
        try:
            found = managed_user(session, admin, user_id)
        except UserNotFound:
            abort(404)
        if request.method == "GET":
            return render_template("admin/user.html", person=found, roles=list(Role))
        try:
            with session.begin_nested():
                update_user(session, admin, user_id, name=request.form.get("name", ""),
                            office_code=request.form.get("office", ""), role=request.form.get("role", "agent"),
                            active=request.form.get("active") == "1")
        except (StaffError, ValueError) as exc:
            problem = localize(exc)
    flash(problem or _("Saved."), "error" if problem else "message")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/reset")
@access(ADMIN)
def send_reset(user_id: int):
    with db().begin() as session:
        try:
            found = managed_user(session, me(session), user_id)
        except UserNotFound:
            abort(404)
        issued = request_reset(session, found.email)
        if issued is not None:
            outbox.enqueue(session, settings(), template="password_reset", to=found.email,
                           language=found.language or "id", automatic=False,
                           context={"name": found.name, "link": settings().base_url + url_for(
                               "staff.reset_password_form", token=issued[1])})
    flash(_("A link to set a new password was mailed."))
    return redirect(url_for("admin.user", user_id=user_id))
