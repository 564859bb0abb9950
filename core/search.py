"""Search for staff: a reference jumps straight to its ticket; words search
subjects and message text (SQLite FTS5 on one machine, PostgreSQL full-text
search in production). Every result is scoped by visibility, so search shows
nothing a user could not open.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, exists, func, literal_column, or_, select, text, union
from sqlalchemy.orm import Session, selectinload

from core.models import Message, Ticket, User
from core.models.fulltext import CONFIG, message_document, ticket_document
from core.policy import Policy
from core.queues import COUNT_CAP, PAGE_SIZE, capped_count, scope_of
from core.refs import ALPHABET, LENGTH, PREFIX
from core.visibility import can_read

WORD = re.compile(r"\w+", re.UNICODE)
REF = re.compile(rf"\[?\s*({PREFIX}-[{ALPHABET}]{{{LENGTH}}})\s*\]?", re.IGNORECASE)
MAX_WORDS = 8
# Scopes up to this many tickets are searched ticket by ticket (see _postgres_match).
SMALL_SCOPE = 5000


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


def _sqlite_match(words: list[str]) -> ColumnElement[bool]:
    # Each word quoted: FTS5 syntax in user input (AND, NEAR, *, -) stays literal.
    match = " ".join(f'"{w}"' for w in words)
    in_subject = select(literal_column("rowid")).select_from(text("ticket_fts")).where(
        text("ticket_fts MATCH :match").bindparams(match=match))
    in_text = select(Message.ticket_id).where(Message.id.in_(
        select(literal_column("rowid")).select_from(text("message_fts")).where(
            text("message_fts MATCH :match").bindparams(match=match))))
    return Ticket.id.in_(union(in_subject, in_text).subquery().select())


def _postgres_match(words: list[str], small_scope: bool) -> ColumnElement[bool]:
    """Two plans for one question. In a small scope (a City's few thousand
    tickets) checking each ticket is fast whatever the words; in a large one
    the GIN indexes find the few matches of a rare word without reading the
    tickets. The planner cannot tell the two cases apart; the scope's size can."""
    query = func.to_tsquery(text(CONFIG), " & ".join(words))
    if small_scope:
        return or_(ticket_document().op("@@")(query), exists().where(
            Message.ticket_id == Ticket.id, message_document().op("@@")(query)))
    return Ticket.id.in_(union(select(Ticket.id).where(ticket_document().op("@@")(query)),
                               select(Message.ticket_id).where(message_document().op("@@")(query))
                               ).subquery().select())


def search_tickets(session: Session, user: User, query: str, *, page: int = 1,
                   policy: Policy = Policy()) -> SearchResult:
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
    scoped = select(Ticket).where(*scope_of(session, user, policy))
    if session.get_bind().dialect.name == "sqlite":
        match = _sqlite_match(words)
    else:
        match = _postgres_match(words, capped_count(session, scoped, SMALL_SCOPE) < SMALL_SCOPE)
    # One pass over the matches (the costly part) gives both the count and the page.
    ids = list(session.scalars(scoped.where(match).with_only_columns(Ticket.id)
                               .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(COUNT_CAP + 1)))
    result.total = len(ids)
    wanted = ids[(result.page - 1) * PAGE_SIZE:result.page * PAGE_SIZE]
    by_id = {t.id: t for t in session.scalars(
        select(Ticket).where(Ticket.id.in_(wanted)).options(selectinload(Ticket.school))).unique()}
    result.tickets = [by_id[i] for i in wanted]
    return result
