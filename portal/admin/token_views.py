"""API tokens: admins see the tokens of the staff they manage (made with
`helpdesk create-token`), when each was last used, and revoke them."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from core.access import apitokens
from portal.admin.blueprint import bp
from portal.auth import ADMIN, access
from portal.context import db
from portal.staff.blueprint import me


@bp.get("/tokens")
@access(ADMIN)
def tokens():
    with db().read() as session:
        return render_template("admin/tokens.html", tokens=apitokens.listed(session, me(session)))


@bp.post("/tokens/<int:token_id>/revoke")
@access(ADMIN)
def revoke_token(token_id: int):
    with db().begin() as session:
        try:
            apitokens.revoke(session, me(session), token_id)
        except LookupError:
            abort(404)
    flash(_("Token revoked: it no longer works."))
    return redirect(url_for("admin.tokens"))
