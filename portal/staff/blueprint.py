"""The staff blueprint and what its views share."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import Session

from core import audit
from core.access.logins import active_user
from core.mail import staff_notices
from core.models import User
from core.tickets.lifecycle import STATUS_LABELS
from core.words import N_

bp = Blueprint("staff", __name__)

# English names of statuses (core's, one mapping), history events, roles and sorts; _() gives Indonesian.
LABELS = {
    **{status.value: text for status, text in STATUS_LABELS.items()},
    "created": N_("Created"), "status": N_("Status changed"), "reply": N_("Replied"), "note": N_("Internal note"),
    "assign": N_("Assignee changed"), "forward": N_("Forwarded up"), "dispatch": N_("Dispatched down"),
    "rehome": N_("Moved to the school's office"), "school": N_("School set"), "pull_back": N_("Pulled back"),
    "merged": N_("Merged into"),
    "merged_in": N_("Merged in"), "linked": N_("Linked"), "assigned": N_("Assigned to you"),
    "unstaffed": N_("No agent available"),
    "breach": N_("SLA breached"), "notice_mail": N_("Notice mail changed"),
    "notice:assigned": N_("a ticket is assigned to me"),
    "notice:unstaffed": N_("a ticket arrives at my office and no agent is available (supervisors)"),
    "notice:breach": N_("a ticket of my office breaches its SLA (supervisors)"),
    "participant_added": N_("Participant added"), "participant_removed": N_("Participant removed"),
    "sla_breach": N_("SLA breached"), "sla_warning": N_("SLA warning"), "link_reissued": N_("Private link replaced"),
    "agent": N_("Agent"), "supervisor": N_("Supervisor"), "admin": N_("Administrator"),
    # Who did it, in the history, when it was no member of staff (core.audit's actor words).
    f"actor:{audit.CUSTOMER}": N_("Customer"), f"actor:{audit.SYSTEM}": N_("System"),
    "updated": N_("Recently updated"), "oldest": N_("Least recently updated"), "newest": N_("Newest first"),
    "due": N_("Due soonest"), "priority": N_("Most urgent"),
    "policy:auto_close_days": N_("Days an answered ticket waits before it closes itself"),
    "policy:reopen_days": N_("Days after closing in which the customer's mail reopens the ticket"),
    "policy:attachment_max_bytes": N_("Largest attachment (bytes)"),
    "policy:attachment_extensions": N_("Allowed attachment types (extensions, comma separated)"),
    "policy:archive_max_unpacked_bytes": N_("Most bytes one archive or Office file may unpack to, at every depth together"),
    "policy:archive_max_members": N_("Most files one archive or Office file may hold, at every depth together"),
    "policy:archive_max_depth": N_("Most archives inside archives (1: a zip may hold zips that hold none)"),
    "policy:archive_max_ratio": N_("Most an archive member over 1 MB may unpack to, in times its packed size"),
    "policy:triage_office": N_("Office code that receives mail from unknown senders (empty: the top office)"),
    "policy:agent_cap": N_("Most open tickets the automatic rules give one agent (0: no cap)"),
    "policy:absence_hours": N_("Hours unavailable before an agent's tickets return to the pool"),
    "policy:available_idle_minutes": N_("Minutes without a page loaded after which an agent gets no new tickets (0: never)"),
    "policy:unstaffed_notice_minutes": N_("Minutes between two notices to an office of tickets no agent could "
                                          "take; those in between are counted in one (0: a notice per ticket)"),
    "policy:sla_warning_hours": N_("Hours before an SLA due time at which staff are warned"),
    "policy:sla_business_hours": N_("Working hours the SLA clock runs in, e.g. 08:00-16:00 (empty: around the clock)"),
    "policy:sla_business_days": N_("Working days (mon, tue, ... comma separated)"),
    "policy:sla_holidays": N_("Holidays the SLA clock stops on (YYYY-MM-DD, comma separated)"),
    "policy:sla_timezone": N_("Time zone of the working hours (e.g. Asia/Jakarta)"),
    "policy:default_language": N_("Default language (id or en)"),
    "policy:allow_remote_images": N_("Show remote images in HTML mail"),
    "policy:token_days": N_("Days a customer's private link stays valid (0: forever)"),
    "policy:web_priority_choice": N_("The public form offers a choice of priority"),
    "category": N_("Category changed"), "triaged": N_("Set by a triage rule"), "by_category": N_("By category"),
    "policy:web_replies_per_ticket_minute": N_("Replies to one ticket from its private page per minute (0: no limit)"),
    "policy:web_replies_per_ip_minute": N_("Replies from one client address on private pages per minute (0: no limit)"),
    "policy:web_upload_bytes_per_ticket_hour": N_("Bytes of files one ticket may receive from its private page per hour (0: no limit)"),
    "policy:reset_mails_per_address_hour": N_("Password-reset mails to one address per hour (0: no limit)"),
    "policy:reset_requests_per_ip_hour": N_("Password-reset requests from one client address per hour (0: no limit)"),
    "policy:bulk_inline_max": N_("Most tickets a bulk action handles in the request; more wait for a worker, with progress shown"),
    "bulk:reply": N_("Reply"), "bulk:note": N_("Add an internal note"), "bulk:status": N_("Set the status"),
    "bulk:assign": N_("Assign"), "bulk:priority": N_("Set the priority"), "bulk:category": N_("Set the category"),
    "bulk:attach": N_("Attach to an incident"),
    "job:pending": N_("Waiting for a worker"), "job:running": N_("Running"), "job:done": N_("Done"),
    "job:failed": N_("Failed"),
    "incident": N_("Made an incident"), "incident_attached": N_("Attached to an incident"),
    "incident_detached": N_("Detached from an incident"),
    "opened_for": N_("Opened for the requester"), "satisfaction": N_("Requester's verdict"),
    "bounce": N_("Mail bounced"), "mail_suppressed": N_("Notice mail held back"),
    "policy:rebalance_margin": N_("Tickets above the average at which an agent gives one to a newcomer"),
    "policy:auto_mail_per_10min": N_("Automatic mails to one address per 10 minutes"),
    "policy:auto_mail_per_day": N_("Automatic mails to one address per day"),
    "policy:customer_kind": N_("Kind of office whose registered address opens tickets (e.g. school)"),
    "policy:web_tickets_per_address_hour": N_("Tickets from one address on the public form per hour"),
    "policy:web_posts_per_ip_hour": N_("Posts of the public form from one client address per hour"),
    "policy:web_max_links": N_("Most links a message of the web form may carry"),
}


@bp.app_context_processor
def labels():
    def label(key: object) -> str:
        key = str(key)
        return gettext(LABELS.get(key, key.rpartition(":")[2].replace("_", " ").capitalize()))

    def event_value(kind: str, value: str | None) -> str:
        """A history event's from or to: a status by its label, anything else (an office, a name) as stored."""
        if not value:
            return ""
        return label(value) if kind == "status" else value
    def actor(name: str) -> str:
        """An event's actor: a member of staff by address, the customer and the system by their label."""
        return label(f"actor:{name}") if f"actor:{name}" in LABELS else name
    return {"label": label, "event_value": event_value, "actor": actor}


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
