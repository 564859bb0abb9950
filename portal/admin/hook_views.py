"""Webhooks and chat notices: register and remove webhooks (the secret is shown
once, on the page that answers the registration), and set an office's Slack
and Teams incoming-webhook URLs."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.hooks import chat, webhooks
from portal.admin.blueprint import bp
from portal.auth import SYSTEM, access
from portal.context import db, settings
from portal.i18n import localize
from portal.staff.blueprint import me


def _page(status: int = 200, **extra):
    with db().read() as session:
        return render_template("admin/webhooks.html", webhooks=webhooks.listed(session), events=webhooks.EVENTS,
                               offices=chat.offices_with_chat(session), **extra), status


@bp.get("/webhooks")
@access(SYSTEM)
def webhook_list():
    return _page()


@bp.post("/webhooks")
@access(SYSTEM)
def add_webhook():
    try:
        with db().begin() as session:
            registered = webhooks.add(session, settings(), request.form.get("url", ""),
                                      request.form.getlist("events"), me(session))
            shown = (registered.webhook.id, registered.secret)
    except webhooks.BadWebhook as exc:
        flash(localize(exc), "error")
        return _page(400, url=request.form.get("url", ""))
    # Rendered, not flashed: a flash would keep the secret in the session cookie.
    return _page(new_webhook=shown)


@bp.post("/webhooks/<int:webhook_id>/remove")
@access(SYSTEM)
def remove_webhook(webhook_id: int):
    try:
        with db().begin() as session:
            webhooks.remove(session, webhook_id, me(session))
        flash(_("Webhook removed."), "message")
    except webhooks.NoSuchWebhook:
        flash(_("No such webhook."), "error")
    return redirect(url_for("admin.webhook_list"))


@bp.post("/webhooks/chat")
@access(SYSTEM)
def set_office_chat():
    try:
        with db().begin() as session:
            chat.set_office_urls(session, settings(), request.form.get("office", ""), request.form.get("slack_url", ""),
                                 request.form.get("teams_url", ""), me(session))
    except webhooks.BadWebhook as exc:
        flash(localize(exc), "error")
        return _page(400)
    flash(_("Chat notices saved."), "message")
    return redirect(url_for("admin.webhook_list"))
