"""Triage rules: list, add and remove the rules that set a new ticket's category and priority."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.config.policy import load_policy
from core.tickets import rules, triage
from core.tickets.requester import category_choices
from portal.admin.blueprint import bp
from portal.context import db
from portal.auth import SYSTEM, access
from portal.i18n import localize
from portal.staff.blueprint import me


def _id(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    return int(value) if value.isdigit() else None


@bp.get("/triage-rules")
@access(SYSTEM)
def triage_rules():
    with db().read() as session:
        return render_template("admin/triage_rules.html", rules=rules.list_rules(session),
                               categories=category_choices(session), priorities=triage.priorities(session))


@bp.post("/triage-rules")
@access(SYSTEM)
def add_triage_rule():
    problem = None
    try:
        with db().begin() as session:
            rules.add_rule(session, me(session), keyword=request.form.get("keyword", ""),
                           school_code=request.form.get("school", ""), category_id=_id("when_category"),
                           set_category_id=_id("category"), set_priority_id=_id("priority"),
                           customer_kind=load_policy(session).customer_kind)
    except rules.RuleRefused as exc:
        problem = localize(exc)
    flash(problem or _("Rule added."), "error" if problem else "message")
    return redirect(url_for("admin.triage_rules"))


@bp.post("/triage-rules/<int:rule_id>/remove")
@access(SYSTEM)
def remove_triage_rule(rule_id: int):
    problem = None
    try:
        with db().begin() as session:
            rules.remove_rule(session, me(session), rule_id)
    except rules.RuleRefused as exc:
        problem = localize(exc)
    flash(problem or _("Rule removed."), "error" if problem else "message")
    return redirect(url_for("admin.triage_rules"))
