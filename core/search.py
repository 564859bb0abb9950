"""Search for staff: a reference jumps straight to its ticket; words search
subjects and message text (SQLite FTS5 on one machine, PostgreSQL full-text
search in production). Every result is scoped by visibility, so search shows
nothing a user could not open.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, literal_column, select, text, union
from sqlalchemy.orm import Session, selectinload

from core.models import Message, Ticket, User
from core.models.fulltext import message_document, ticket_document
from core.queues import COUNT_CAP, PAGE_SIZE, capped_count
from core.refs import ALPHABET, LENGTH, PREFIX
from core.visibility import can_read, visible_tickets

WORD = re.compile(r"\w+", re.UNICODE)
REF = re.compile(rf"\[?\s*({PREFIX}-[{ALPHABET}]{{{LENGTH}}})\s*\]?", re.IGNORECASE)
MAX_WORDS = 8


@dataclass
class SearchResult:
    query: str
    tickets: list[Ticket] = field(default_factory=list)
    total: int = 0
    page: int = 1
    exact: Ticket | None = None  # the query was the reference of a ticket the user may see

    @property
    def total_label(self) -> str:
        return f"{COUNT_CAP}+" if self.total > COUNT_CAP else str(self.total)


def words_of(query: str) -> list[str]:
    return WORD.findall(query.lower())[:MAX_WORDS]


def _matching_ids(session: Session, words: list[str]):
    """A selectable of ticket ids whose subject or any message has every word."""
    if session.get_bind().dialect.name == "sqlite":
        # Each word quoted: FTS5 syntax in user input (AND, NEAR, *, -) stays literal.
        match = " ".join(f'"{w}"' for w in words)
        in_subject = select(literal_column("rowid").label("id")).select_from(text("ticket_fts")).where(
            text("ticket_fts MATCH :match"))
        in_text = select(Message.ticket_id.label("id")).where(Message.id.in_(
            select(literal_column("rowid")).select_from(text("message_fts")).where(text("message_fts MATCH :match"))))
        return union(in_subject, in_text).params(match=match)
    query = func.to_tsquery(literal_column("'simple'"), " & ".join(words))
    return union(select(Ticket.id).where(ticket_document().op("@@")(query)),
                 select(Message.ticket_id).where(message_document().op("@@")(query)))


def search_tickets(session: Session, user: User, query: str, *, page: int = 1) -> SearchResult:
    result = SearchResult(query=query, page=max(1, page))
    ref = REF.fullmatch(query.strip())
    if ref is not None:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref.group(1).upper()))
        if ticket is not None and can_read(user, ticket):
            result.exact = ticket
            return result
    words = words_of(query)
    if not words:
        return result
    ids = _matching_ids(session, words).subquery()
    scoped = select(Ticket).where(Ticket.id.in_(select(ids.c[0])), visible_tickets(user))
    result.total = capped_count(session, scoped)
    ordered = scoped.options(selectinload(Ticket.school)).order_by(Ticket.updated_at.desc(), Ticket.id.desc())
    result.tickets = list(session.scalars(
        ordered.limit(PAGE_SIZE).offset((result.page - 1) * PAGE_SIZE)).unique())
    return result
