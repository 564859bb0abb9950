"""The staff blueprint and what its views share."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g
from flask_login import current_user
from sqlalchemy.orm import Session

from core.access.logins import active_user
from core.mail import staff_notices
from core.models import User

bp = Blueprint("staff", __name__)

# English names of statuses, history events, roles and sorts; _() gives Indonesian.
LABELS = {
    "open": "Open", "answered": "Answered", "on_hold": "On hold", "forwarded": "Forwarded", "closed": "Closed",
    "created": "Created", "status": "Status changed", "reply": "Replied", "note": "Internal note",
    "assign": "Assignee changed", "forward": "Forwarded up", "dispatch": "Dispatched down",
    "rehome": "Moved to the school's office", "school": "School set", "pull_back": "Pulled back", "merged": "Merged into",
    "merged_in": "Merged in", "linked": "Linked", "assigned": "Assigned to you", "unstaffed": "No agent available",
    "breach": "SLA breached", "notice_mail": "Notice mail changed",
    "notice:assigned": "a ticket is assigned to me",
    "notice:unstaffed": "a ticket arrives at my office and no agent is available (supervisors)",
    "notice:breach": "a ticket of my office breaches its SLA (supervisors)",
    "participant_added": "Participant added", "participant_removed": "Participant removed",
    "sla_breach": "SLA breached", "sla_warning": "SLA warning", "link_reissued": "Private link replaced",
    "agent": "Agent", "supervisor": "Supervisor", "admin": "Administrator",
    "updated": "Recently updated", "oldest": "Least recently updated", "newest": "Newest first",
    "due": "Due soonest", "priority": "Most urgent",
    "policy:auto_close_days": "Days an answered ticket waits before it closes itself",
    "policy:reopen_days": "Days after closing in which the customer's mail reopens the ticket",
    "policy:attachment_max_bytes": "Largest attachment (bytes)",
    "policy:attachment_extensions": "Allowed attachment types (extensions, comma separated)",
    "policy:archive_max_unpacked_bytes": "Most bytes one archive or Office file may unpack to, at every depth together",
    "policy:archive_max_members": "Most files one archive or Office file may hold, at every depth together",
    "policy:archive_max_depth": "Most archives inside archives (1: a zip may hold zips that hold none)",
    "policy:archive_max_ratio": "Most an archive member over 1 MB may unpack to, in times its packed size",
    "policy:triage_office": "Office code that receives mail from unknown senders (empty: the top office)",
    "policy:agent_cap": "Most open tickets the automatic rules give one agent (0: no cap)",
    "policy:absence_hours": "Hours unavailable before an agent's tickets return to the pool",
    "policy:available_idle_minutes": "Minutes without a page loaded after which an agent gets no new tickets (0: never)",
    "policy:sla_warning_hours": "Hours before an SLA due time at which staff are warned",
    "policy:sla_business_hours": "Working hours the SLA clock runs in, e.g. 08:00-16:00 (empty: around the clock)",
    "policy:sla_business_days": "Working days (mon, tue, ... comma separated)",
    "policy:sla_holidays": "Holidays the SLA clock stops on (YYYY-MM-DD, comma separated)",
    "policy:sla_timezone": "Time zone of the working hours (e.g. Asia/Jakarta)",
    "policy:default_language": "Default language (id or en)",
    "policy:allow_remote_images": "Show remote images in HTML mail",
    "policy:token_days": "Days a customer's private link stays valid (0: forever)",
    "policy:web_priority_choice": "The public form offers a choice of priority",
    "category": "Category changed", "triaged": "Set by a triage rule", "by_category": "By category",
    "policy:web_replies_per_ticket_minute": "Replies to one ticket from its private page per minute (0: no limit)",
    "policy:web_replies_per_ip_minute": "Replies from one client address on private pages per minute (0: no limit)",
    "policy:web_upload_bytes_per_ticket_hour": "Bytes of files one ticket may receive from its private page per hour (0: no limit)",
    "policy:reset_mails_per_address_hour": "Password-reset mails to one address per hour (0: no limit)",
    "policy:reset_requests_per_ip_hour": "Password-reset requests from one client address per hour (0: no limit)",
    "policy:bulk_inline_max": "Most tickets a bulk action handles in the request; more wait for a worker, with progress shown",
    "bulk:reply": "Reply", "bulk:note": "Add an internal note", "bulk:status": "Set the status",
    "bulk:assign": "Assign", "bulk:priority": "Set the priority", "bulk:category": "Set the category",
    "bulk:attach": "Attach to an incident",
    "job:pending": "Waiting for a worker", "job:running": "Running", "job:done": "Done", "job:failed": "Failed",
    "incident": "Made an incident", "incident_attached": "Attached to an incident",
    "incident_detached": "Detached from an incident",
}


@bp.app_context_processor
def labels():
    from portal.i18n import translate

    def label(key: object) -> str:
        key = str(key)
        return translate(LABELS.get(key, key.rpartition(":")[2].replace("_", " ").capitalize()))
    return {"label": label}


def unread_notices() -> int:
    """The header's count of the user's unread notices: one indexed count, at most once a request."""
    if not current_user.is_authenticated:
        return 0
    if "unread_notices" not in g:
        with current_app.extensions["helpdesk.db"].read() as session:
            g.unread_notices = staff_notices.unread_count(session, current_user.id)
    return g.unread_notices


@bp.app_context_processor
def notice_counter():
    return {"unread_notices": unread_notices}


def me(session: Session) -> User:
    """The logged-in user's row in this session (the account may have been switched off)."""
    user = active_user(session, current_user.id)
    if user is None:
        abort(403)
    return user


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: a `next` of //evil.example or https://... goes home."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
