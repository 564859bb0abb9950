"""Supervisors and admins keep their office's canned responses (the rules are
in core.tickets.canned; the system admin's page for every office is in
portal.admin)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.tickets.canned import PLACEHOLDERS, CannedRefused, UnknownCanned, can_manage, list_canned, list_managed, \
    save_office_canned
from portal.auth import STAFF, access
from portal.context import db, recent
from portal.staff.blueprint import bp, me
from portal.staff.ticket_views import canned_problem


@bp.get("/staff/canned")
@access(STAFF)
def canned():
    with db().read() as session:
        user = me(session)
        if not can_manage(user):
            abort(403)
        mine = list_managed(session, user)
        inherited = [c for c in list_canned(session, user) if c.id not in {m.id for m in mine}]
        return render_template("staff/canned.html", user=user, answers=mine, inherited=inherited,
                               placeholders=PLACEHOLDERS)


@bp.post("/staff/canned")
@access(STAFF)
def save_canned():
    form, problem = request.form, None
    try:
        with db().begin() as session:
            save_office_canned(session, me(session), form.get("title", ""), form.get("body", ""),
                               office_code=form.get("office", ""),
                               canned_id=int(form["id"]) if form.get("id", "").isdigit() else None,
                               active=form.get("active", "1") == "1")
    except (CannedRefused, UnknownCanned) as exc:
        problem = canned_problem(exc)
    if problem is None:
        recent("directory").forget()  # the ticket page's list of answers is kept a while
    flash(problem or _("Saved."), "error" if problem else "message")
    return redirect(url_for("staff.canned"))
