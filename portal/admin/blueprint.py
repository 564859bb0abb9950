"""The admin blueprint and what its views share."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from portal.auth import ADMIN, SYSTEM, allowed

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The admin menu: endpoint, English title, rule (the rule is enforced on the view itself).
PAGES = [
    ("admin.users", "Users", ADMIN),
    ("admin.tokens", "API tokens", ADMIN),
    ("admin.directory", "Directory", SYSTEM),
    ("admin.schools", "Schools", ADMIN),
    ("admin.categories", "Categories", SYSTEM),
    ("admin.priorities", "Priorities and SLA", SYSTEM),
    ("admin.policy", "Rules", SYSTEM),
    ("admin.triage_rules", "Triage rules", SYSTEM),
    ("admin.canned", "Canned responses", SYSTEM),
    ("admin.mail_templates", "Mail wording", SYSTEM),
    ("admin.quarantine", "Quarantine", SYSTEM),
    ("admin.sender_rules", "Banned and allowed senders", SYSTEM),
    ("admin.outbox", "Failed mail", SYSTEM),
    ("admin.webhook_list", "Webhooks and chat", SYSTEM),
]


@bp.context_processor
def menu():
    from flask import current_app
    return {"admin_pages": [page for page in PAGES if page[0] in current_app.view_functions
                            and allowed(page[2], current_user)]}
