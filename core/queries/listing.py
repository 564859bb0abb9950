"""Tickets listed for the API: the staff queues' filters and visibility, in
pages read by keyset rather than by offset, so page 10,000 costs what page 1
does on a million tickets.

The order is the queues' default, most recently updated first, ties by id.
The cursor is the (updated_at, id) of the last ticket of the page; the next
page is the tickets strictly after it in that order. A ticket updated while
a client pages moves to the front and may be seen twice or not at all, as in
any list of live data; `updated_at` says so.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ARRAY, ColumnElement, Integer, Row, Select, any_, func, or_, select
from sqlalchemy.orm import Session

from core.config.policy import Policy
from core.models import Office, Priority, Ticket, User
from core.access.visibility import visible_tickets
from core.queries.queues import (NEWEST, SUMMARY_ASSIGNEE, SUMMARY_CATEGORY, SUMMARY_FROM, SUMMARY_OFFICE,
                                 SUMMARY_PRIORITY, Filters, newest_keys, newest_reader, offices_below, scope_of,
                                 utc_midnight)
from core.queries.search import word_hits, words_of
from core.storage.recent import RecentAnswers


class BadCursor(ValueError):
    """A cursor this code did not make (or made by an older shape)."""


@dataclass(frozen=True)
class Listing:
    filters: Filters = field(default_factory=Filters)
    office: str = ""        # the holding office's code
    assignee_email: str = ""  # "none": unassigned
    priority: str = ""       # a priority's name
    words: str = ""
    created_before: date | None = None  # exclusive (Filters.created_to is inclusive)


@dataclass(frozen=True)
class Cursor:
    updated_at: datetime
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.updated_at.isoformat(), self.id]).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        try:
            stamp, ticket_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            updated = datetime.fromisoformat(stamp)
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
            raise BadCursor(text) from None
        if not isinstance(ticket_id, int) or updated.tzinfo is None:
            raise BadCursor(text)
        return cls(updated, ticket_id)


ROW = (Ticket.id, Ticket.ref, Ticket.status, Ticket.subject, Ticket.requester_email, Ticket.created_at,
       Ticket.updated_at, SUMMARY_OFFICE.code.label("office"), SUMMARY_ASSIGNEE.email.label("assignee"),
       SUMMARY_PRIORITY.name.label("priority"), SUMMARY_CATEGORY.name.label("category"))


def _named(listing: Listing) -> list[ColumnElement[bool]]:
    """The filters given by name (office code, assignee email, priority name) as id tests."""
    terms: list[ColumnElement[bool]] = []
    if listing.office:
        terms.append(Ticket.office_id == select(Office.id).where(Office.code == listing.office.upper())
                     .scalar_subquery())
    if listing.assignee_email.lower() == "none":
        terms.append(Ticket.assignee_id.is_(None))
    elif listing.assignee_email:
        terms.append(Ticket.assignee_id == select(User.id).where(User.email == listing.assignee_email.lower())
                     .scalar_subquery())
    if listing.priority:
        terms.append(Ticket.priority_id == select(Priority.id).where(Priority.name == listing.priority)
                     .scalar_subquery())
    if listing.created_before:
        terms.append(Ticket.created_at < utc_midnight(listing.created_before))
    return terms


def list_tickets(session: Session, user: User, policy: Policy, listing: Listing, *, limit: int,
                 after: Cursor | None = None, recent: RecentAnswers | None = None) -> tuple[list[Row], Cursor | None]:
    """One page of the tickets the user may see, and the cursor of the next page (None: the last)."""
    offices = offices_below(session, user, policy, recent=recent)
    by_office = offices is not None and session.get_bind().dialect.name == "postgresql"
    # On PostgreSQL a short array of ids drives the query (the page's keys, or
    # search hits): the visibility rule alone is what then applies to them.
    scope = [visible_tickets(user)] if by_office else scope_of(session, user, policy, recent=recent)
    where = [*listing.filters.where(), *_named(listing)]
    if after is not None:
        # The first term alone is what an index on updated_at can start from:
        # page 20 reads what page 1 reads, not the 19 pages before it.
        where += [Ticket.updated_at <= after.updated_at,
                  or_(Ticket.updated_at < after.updated_at, Ticket.id < after.id)]
    words = words_of(listing.words)
    if words:
        newest = newest_reader(session, user, offices) if by_office else None
        where.append(_ids_in(session, word_hits(session, scope, words, recent=recent, newest=newest)[0]))
    elif by_office:
        # The page's ids, office by office (see newest_keys); the scope still applies to the rows.
        keys = newest_keys(user, offices, where, limit + 1).scalar_subquery()
        where = [Ticket.id == any_(func.array(keys, type_=ARRAY(Integer)))]
    rows = list(session.execute(select(*ROW).select_from(SUMMARY_FROM).where(*scope, *where)
                                .order_by(*NEWEST).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(last.updated_at, last.id)


def _ids_in(session: Session, ids: Select) -> ColumnElement[bool]:
    """`Ticket.id` among a bounded set of ids (search hits). PostgreSQL reads
    them as one array, worked out first, through the primary key; as an IN
    sub-query its planner read the whole scope and joined (60 ms against a few
    on a million tickets)."""
    if session.get_bind().dialect.name == "postgresql":
        return Ticket.id == any_(func.array(ids.scalar_subquery(), type_=ARRAY(Integer)))
    return Ticket.id.in_(ids)
