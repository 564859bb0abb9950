"""Log in, log out, and reset a forgotten password by mail."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user, current_user

from core.access import limits
from core.access.logins import BadResetToken, LoginRefused, request_reset, reset_password, user_of_reset, verify_login
from core.access.passwords import WeakPassword
from core.config.policy import load_policy
from core.mail import outbox
from core.tickets.actions import set_availability
from portal.context import db, settings
from portal.auth import PUBLIC, STAFF, SessionUser, access
from portal.staff.blueprint import bp, me, safe_next
from portal.staff.queue_views import forget_counts


@bp.route("/login", methods=["GET", "POST"])
@access(PUBLIC)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("staff.home"))
    if request.method == "GET":
        return render_template("staff/login.html", email="")
    email = request.form.get("email", "")
    refused = None
    with db().begin() as session:
        try:
            user = verify_login(session, email, request.form.get("password", ""))
            # Logging in means being at work: the agent receives tickets from now on.
            set_availability(session, user, True, load_policy(session))
            session_user = SessionUser.of(user)
        except LoginRefused as exc:  # the failure count must commit, so it is caught inside
            refused = exc
    if refused is not None:
        message = _("Wrong email or password.")
        if refused.locked_until is not None:
            message = _("Too many failed attempts. Try again after %(time)s UTC.",
                        time=refused.locked_until.strftime("%H:%M"))
        return render_template("staff/login.html", email=email, error=message), 401
    login_user(session_user)
    forget_counts()  # being available may have brought tickets
    return redirect(safe_next(request.args.get("next"), url_for("staff.home")))


@bp.post("/logout")
@access(STAFF)
def logout():
    with db().begin() as session:
        set_availability(session, me(session), False, load_policy(session))
    forget_counts()
    logout_user()
    flash(_("You are logged out."))
    return redirect(url_for("staff.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@access(PUBLIC)
def forgot_password():
    if request.method == "GET":
        return render_template("staff/forgot.html")
    email = request.form.get("email", "")
    with db().begin() as session:
        # Over a limit, no mail goes, and the answer below stays the same.
        admitted = limits.admit_reset(session, load_policy(session), email, request.remote_addr or "-")
        issued = request_reset(session, email) if admitted else None
        if issued is not None:
            user, token = issued
            outbox.enqueue(session, settings(), template="password_reset", to=user.email,
                           language=user.language or "id", automatic=False,
                           context={"name": user.name, "link": settings().base_url + url_for(
                               "staff.reset_password_form", token=token)})
    # The same answer whether or not the address exists.
    flash(_("If the address belongs to an account, a link to set a new password is on its way."))
    return redirect(url_for("staff.login"))


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@access(PUBLIC)
def reset_password_form(token: str):
    error = None
    with db().begin() as session:
        try:
            if request.method == "POST":
                reset_password(session, token, request.form.get("password", ""))
            else:
                user_of_reset(session, token)
        except BadResetToken:
            return render_template("error.html", title=_("Link expired"),
                                   message=_("This link is used or expired. Ask for a new one.")), 404
        except WeakPassword:
            error = _("A password needs at least 10 characters.")
    if request.method == "POST" and error is None:
        flash(_("Your password is set. Log in with it."))
        return redirect(url_for("staff.login"))
    return render_template("staff/reset.html", token=token, error=error), 400 if error else 200
