"""The domain's tables. Import from here: `from core.models import Ticket`."""
from core.models.base import Base, utcnow
from core.models.directory import Office, Role, User
from core.models.mail import ImapCursor, Outbox, OutboxStatus, Outcome, RateEvent, RawMail, Setting, UsedStamp
from core.models.tickets import (
    Attachment, Category, Direction, Event, Message, Priority, Status, Ticket, TicketLink,
)

__all__ = [
    "Attachment", "Base", "Category", "Direction", "Event", "ImapCursor", "Message",
    "Office", "Outbox", "OutboxStatus", "Outcome", "Priority", "RateEvent", "RawMail",
    "Role", "Setting", "Status", "Ticket", "TicketLink", "UsedStamp", "User", "utcnow",
]
