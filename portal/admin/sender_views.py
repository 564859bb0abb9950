"""The ban and allow lists of senders: list, add, remove (core.mail.senders)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.mail import senders
from core.models import SenderRuleKind
from portal.admin.blueprint import bp
from portal.auth import SYSTEM, access
from portal.context import db
from portal.staff.blueprint import me


@bp.get("/senders")
@access(SYSTEM)
def sender_rules():
    with db().read() as session:
        return render_template("admin/senders.html", rules=senders.rules(session))


@bp.post("/senders")
@access(SYSTEM)
def add_sender_rule():
    kind = request.form.get("kind", "")
    if kind not in {k.value for k in SenderRuleKind}:
        flash(_("Choose ban or allow."), "error")
        return redirect(url_for("admin.sender_rules"))
    try:
        with db().begin() as session:
            senders.add_rule(session, me(session), SenderRuleKind(kind), request.form.get("pattern", ""),
                             request.form.get("reason", ""))
    except senders.BadPattern:
        flash(_("Give an address (name@domain) or a domain (domain.example)."), "error")
    else:
        flash(_("Sender rule saved."), "message")
    return redirect(url_for("admin.sender_rules"))


@bp.post("/senders/<int:rule_id>/remove")
@access(SYSTEM)
def remove_sender_rule(rule_id: int):
    try:
        with db().begin() as session:
            senders.remove_rule(session, me(session), rule_id)
    except senders.NotFound:
        flash(_("That rule is gone already."), "error")
    else:
        flash(_("Rule removed."), "message")
    return redirect(url_for("admin.sender_rules"))
