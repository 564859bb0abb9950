"""Webhooks (admins of the top office, as on the admin page): list, register
(the secret is shown in this answer only), remove. The same core functions
as the admin page and `helpdesk webhook`."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy.orm import Session

from core.hooks import webhooks
from core.hooks.webhooks import EVENTS
from core.models import Role, User
from portal.api.common import errors
from portal.api.guard import ADMIN, me, requires
from portal.api.problems import Problem
from portal.api.schemas import Strict, items_of
from portal.context import db, settings

blp = Blueprint("api_webhooks", __name__, url_prefix="/api/v1", description="Webhooks (top office admins)")
MAX_ID = 2**31 - 1


class WebhookOut(Strict):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    enabled = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    disabled_reason = fields.String(required=True, allow_none=True)


class NewWebhook(Strict):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), required=True,
                         validate=validate.Length(min=1, max=len(EVENTS)))


class Registered(WebhookOut):
    secret = fields.String(required=True, metadata={"description": "signs every delivery; shown this once"})


def _system_admin(session: Session) -> User:
    user = me(session)
    if user.role is not Role.admin or user.office.parent_id is not None:
        raise Problem(403, "Webhooks are managed by the admins of the top office.")
    return user


def _shown(webhook) -> dict:
    return {"id": webhook.id, "url": webhook.url, "events": webhook.events.split(), "enabled": webhook.enabled,
            "created_at": webhook.created_at, "disabled_reason": webhook.disabled_reason}


@blp.get("/webhooks")
@requires(ADMIN)
@blp.response(200, items_of(WebhookOut, "WebhookList"))
@errors(blp, 403)
def webhook_list():
    """Every registered webhook (secrets are never shown again)."""
    with db().read() as session:
        _system_admin(session)
        return {"items": [_shown(webhook) for webhook in webhooks.listed(session)]}


@blp.post("/webhooks")
@requires(ADMIN)
@blp.arguments(NewWebhook())
@blp.response(201, Registered)
@errors(blp, 403, 422)
def webhook_add(body: dict):
    """Register an HTTPS endpoint for these events; the answer holds its secret, once."""
    with db().begin() as session:
        user = _system_admin(session)
        try:
            registered = webhooks.add(session, settings(), body["url"], body["events"], user)
        except webhooks.BadWebhook as exc:
            raise Problem(422, str(exc).capitalize() + ".", kind="refused", errors={"url": [str(exc)]}) from None
        return {**_shown(registered.webhook), "secret": registered.secret}


@blp.delete("/webhooks/<int:webhook_id>")
@requires(ADMIN)
@blp.response(204)
@errors(blp, 403, 404)
def webhook_remove(webhook_id: int):
    """Remove a webhook; deliveries still waiting for it are given up."""
    with db().begin() as session:
        user = _system_admin(session)
        try:
            webhooks.remove(session, min(webhook_id, MAX_ID), user)
        except webhooks.NoSuchWebhook:
            raise Problem(404, "No such webhook.") from None
    return ""
