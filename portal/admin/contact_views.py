"""A school's page in the directory: its registered address and the contacts
staff confirmed for it, each removable."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.config.policy import load_policy
from core.directory import contacts
from portal.admin.blueprint import bp
from portal.context import db
from portal.auth import ADMIN, access
from portal.staff.blueprint import me


@bp.get("/schools")
@access(ADMIN)
def schools():
    """Look a school up by code; its page lists its confirmed contacts."""
    code = request.args.get("code", "").strip()
    if not code:
        return render_template("admin/school.html", school=None, contacts=[], code="")
    with db().read() as session:
        school = contacts.school_in_reach(session, me(session), code, load_policy(session).customer_kind)
        if school is None:
            return render_template("admin/school.html", school=None, contacts=[], code=code,
                                   error=_("No school %(code)s in your part of the directory.", code=code)), 404
        return render_template("admin/school.html", school=school, code=school.code,
                               contacts=contacts.contacts_of(session, school))


@bp.post("/contacts/<int:contact_id>/remove")
@access(ADMIN)
def remove_contact(contact_id: int):
    with db().begin() as session:
        user = me(session)
        contact = contacts.contact_in_reach(session, user, contact_id)
        if contact is None:
            abort(404)
        address, code = contact.email, contact.school.code
        contacts.remove(session, contact, user)
    flash(_("Removed %(address)s: its next mail goes to triage.", address=address))
    return redirect(url_for("admin.schools", code=code))
