"""The domain's tables. Import from here: `from core.models import Ticket`."""
from core.models.api import ApiToken, RefreshToken
from core.models.base import Base, utcnow
from core.models.directory import Office, PasswordReset, Role, User
from core.models.hooks import Channel, HookDelivery, Webhook
from core.models.mail import (
    ImapCursor, Outbox, OutboxStatus, Outcome, RateEvent, RawContent, RawMail, SenderRule, SenderRuleKind, Setting,
    UsedStamp,
)
from core.models.routing import Contact, Handoff
from core.models.participants import Participant, StaffNotice
from core.models.tickets import (
    Attachment, CannedResponse, Category, Direction, Event, Message, Priority, Status, Ticket, TicketLink,
)
from core.models.triage import TriageRule
from core.models.waves import BulkJob, JobStatus
from core.models import fulltext  # noqa: E402,F401  (search indexes and tables join the schema)

__all__ = [
    "ApiToken", "Attachment", "Base", "BulkJob", "CannedResponse", "Category", "Channel", "Contact", "Direction",
    "Event", "Handoff", "HookDelivery", "ImapCursor", "JobStatus", "Message", "Office", "Outbox", "OutboxStatus",
    "Outcome", "Participant", "PasswordReset", "Priority", "RateEvent", "RawContent", "RawMail", "RefreshToken", "Role",
    "SenderRule", "SenderRuleKind", "Setting",
    "StaffNotice", "Status", "Ticket", "TicketLink", "TriageRule", "UsedStamp", "User", "Webhook", "utcnow",
]
