"""Categories, priorities and their SLA, the rules (policy) and canned responses."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.config.policy import FIELDS, BadSetting, Policy, load_policy, update_policy
from core.directory.accounts import managed_office
from core.directory.staff import StaffError
from core.tickets.canned import CannedRefused, UnknownCanned, list_all_canned, save_canned
from core.tickets.catalog import CatalogError, PriorityForm, list_categories, list_priorities, save_category, save_priority
from portal.admin.blueprint import bp
from portal.context import db
from portal.auth import SYSTEM, access
from portal.i18n import localize
from portal.staff.blueprint import me


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.lstrip("-").isdigit() else None


def _done(problem: str | None, endpoint: str):
    flash(problem or _("Saved."), "error" if problem else "message")
    return redirect(url_for(endpoint))


@bp.route("/categories", methods=["GET", "POST"])
@access(SYSTEM)
def categories():
    if request.method == "GET":
        with db().begin() as session:
            return render_template("admin/categories.html", categories=list_categories(session))
    problem = None
    try:
        with db().begin() as session:
            form = request.form
            save_category(session, me(session), name=form.get("name", ""), parent_id=_int(form.get("parent")),
                          office_code=form.get("office", ""), active=form.get("active", "1") == "1",
                          category_id=_int(form.get("id")))
    except CatalogError as exc:
        problem = localize(exc)
    return _done(problem, "admin.categories")


@bp.route("/priorities", methods=["GET", "POST"])
@access(SYSTEM)
def priorities():
    if request.method == "GET":
        with db().begin() as session:
            return render_template("admin/priorities.html", priorities=list_priorities(session))
    form, problem = request.form, None
    try:
        with db().begin() as session:
            save_priority(session, me(session), PriorityForm(
                name=form.get("name", ""), level=_int(form.get("level")) or 0,
                first_response_hours=_int(form.get("first_response_hours")),
                resolution_hours=_int(form.get("resolution_hours")),
                escalate_on_breach=form.get("escalate") == "1", is_default=form.get("default") == "1"),
                priority_id=_int(form.get("id")))
    except CatalogError as exc:
        problem = localize(exc)
    return _done(problem, "admin.priorities")


def _policy_value(name: str, raw: str | None):
    kind = type(getattr(Policy(), name))
    if kind is bool:
        return raw == "1"
    if kind is int:
        value = _int(raw)
        if value is None:
            raise BadSetting(name, "must be a whole number")
        return value
    if kind is tuple:
        return tuple(part.strip().lower().lstrip(".") for part in (raw or "").split(",") if part.strip())
    return (raw or "").strip()


@bp.route("/policy", methods=["GET", "POST"])
@access(SYSTEM)
def policy():
    if request.method == "GET":
        with db().begin() as session:
            return render_template("admin/policy.html", policy=load_policy(session), fields=list(FIELDS),
                                   defaults=Policy())
    problem = None
    try:
        with db().begin() as session:
            # Only what the form sent; an unticked box sends nothing, so its marker says it was shown.
            changes = {name: _policy_value(name, request.form.get(name)) for name in FIELDS
                       if name in request.form or f"{name}__shown" in request.form}
            update_policy(session, me(session), **changes)
    except BadSetting as exc:
        problem = localize(exc)
    return _done(problem, "admin.policy")


@bp.route("/canned", methods=["GET", "POST"])
@access(SYSTEM)
def canned():
    if request.method == "GET":
        with db().begin() as session:
            return render_template("admin/canned.html", answers=list_all_canned(session))
    form, problem = request.form, None
    try:
        with db().begin() as session:
            admin = me(session)
            office = managed_office(session, admin, form["office"]) if form.get("office", "").strip() else None
            save_canned(session, admin, form["title"], form["body"], office, canned_id=_int(form.get("id")),
                        active=form.get("active", "1") == "1")
    except (StaffError, UnknownCanned) as exc:
        problem = localize(exc)
    except CannedRefused as exc:
        problem = localize(exc.message) + (f" ({exc.detail})" if exc.detail else "")
    return _done(problem, "admin.canned")
