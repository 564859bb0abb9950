"""Search for staff: a reference jumps straight to its ticket; words search
subjects and message text (SQLite FTS5 on one machine, PostgreSQL full-text
search in production). Every result is scoped by visibility, so search shows
nothing a user could not open.

The work of one search is bounded on a million tickets. Subjects are matched
across the whole scope. Message text is matched through the full-text index
when the words are rare (the index hands over a few hundred messages); when
they are common (thousands of messages, where reading each match is what
costs), only the messages of the newest tickets of the scope (Bounds)
are read, one by one, after a cheap substring test. Results are the newest
first, and counting stops at COUNT_CAP.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal_column, or_, select, text, union
from sqlalchemy.orm import Session

from core.models import Message, Ticket, User
from core.models.fulltext import CONFIG, MESSAGE_CHARS, message_document, ticket_document
from core.policy import Policy
from core.queues import COUNT_CAP, PAGE_SIZE, RecentAnswers, remembered, scope_of, summaries
from core.refs import ALPHABET, LENGTH, PREFIX
from core.visibility import can_read

# Letters and digits: PostgreSQL's parser splits words at "_" as it does at
# spaces, so a query word must too (or "foo_bar" could never match "foo bar").
WORD = re.compile(r"[^\W_]+", re.UNICODE)
REF = re.compile(rf"\[?\s*({PREFIX}-[{ALPHABET}]{{{LENGTH}}})\s*\]?", re.IGNORECASE)
MAX_WORDS = 8


@dataclass(frozen=True)
class Bounds:
    """How much one search may read (see the module's docstring)."""
    rare_messages: int = 2000     # words the planner expects in more messages than this are common
    common_words_scan: int = 500  # for common words, the messages of this many newest tickets are read


@dataclass
class SearchResult:
    query: str
    tickets: list = field(default_factory=list)  # core.queues.SUMMARY rows
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


def _estimated_rows(session: Session, query: Select) -> float:
    """The planner's guess of how many rows `query` returns, from the index statistics
    (most common words and their frequencies): costs a plan, reads no rows."""
    compiled = query.compile(dialect=session.get_bind().dialect)
    plan = session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar()
    return float(plan[0]["Plan"]["Plan Rows"])


def _contains_all(column, words: list[str]) -> ColumnElement[bool]:
    """A substring test per word: far cheaper than building a text's search vector,
    and true of every text whose vector has the words, so it only skips work."""
    return and_(*[func.strpos(func.lower(column), w) > 0 for w in words])


def _postgres_match(session: Session, scope: list, words: list[str], bounds: Bounds,
                    recent: RecentAnswers | None) -> ColumnElement[bool]:
    query = func.to_tsquery(text(CONFIG), " & ".join(words))
    in_subject = and_(_contains_all(Ticket.subject, words), ticket_document().op("@@")(query))
    in_messages = select(Message.ticket_id).where(message_document().op("@@")(query))
    common = remembered(("message matches", tuple(words), bounds.rare_messages),
                        lambda: _estimated_rows(session, in_messages) > bounds.rare_messages, recent)
    if not common:
        return or_(in_subject, Ticket.id.in_(in_messages))
    # correlate(None): this sub-query reads its own tickets, not the outer query's row.
    newest = (select(Ticket.id).where(*scope).order_by(Ticket.updated_at.desc()).limit(bounds.common_words_scan)
              .correlate(None))
    text_head = func.left(Message.text, text(str(MESSAGE_CHARS)))
    in_a_message = exists().where(Message.ticket_id == Ticket.id, _contains_all(text_head, words),
                                  message_document().op("@@")(query))
    return or_(in_subject, and_(Ticket.id.in_(newest), in_a_message))


def search_tickets(session: Session, user: User, query: str, *, page: int = 1,
                   policy: Policy = Policy(), recent: RecentAnswers | None = None,
                   bounds: Bounds = Bounds()) -> SearchResult:
    """`recent` (see core.queues) may keep the scope's offices and which words are common."""
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
    scope = scope_of(session, user, policy, recent=recent)
    if session.get_bind().dialect.name == "sqlite":
        match = _sqlite_match(words)
    else:
        match = _postgres_match(session, scope, words, bounds, recent)
    # One pass over the matches (the costly part) gives both the count and the page.
    ids = list(session.scalars(select(Ticket.id).where(*scope, match)
                               .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(COUNT_CAP + 1)))
    result.total = len(ids)
    wanted = ids[(result.page - 1) * PAGE_SIZE:result.page * PAGE_SIZE]
    by_id = {row.id: row for row in session.execute(summaries([Ticket.id.in_(wanted)]))} if wanted else {}
    result.tickets = [by_id[i] for i in wanted]
    return result
