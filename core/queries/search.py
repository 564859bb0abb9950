"""Search for staff: a reference jumps straight to its ticket; words search
subjects and message text (SQLite FTS5 on one machine, PostgreSQL full-text
search in production). Every result is scoped by visibility, so search shows
nothing a user could not open.

The work of one search is bounded on a million tickets. Words the planner's
statistics call rare are looked up in the full-text indexes, which hand over
a few hundred subjects or messages, across the whole scope. For common words
(thousands of matches, where reading each match is what costs) only the
newest tickets of the scope are read, subject and messages, one by one after
a cheap substring test (Bounds). Results are the newest first, and counting
stops at COUNT_CAP, so a common word fills its pages from the newest tickets
either way.

A query may also name the customer: an address finds the tickets of that
requester (ix_ticket_requester_created); a school's code, or words all found
in school names (the office-name full-text index, at most MAX_SCHOOLS
schools), find the tickets of those schools (ix_ticket_school_created).
Those tickets join the words' matches, newest first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import (ARRAY, ColumnElement, Integer, Select, String, and_, any_, bindparam, cast, func,
                        literal_column, select, text, union)
from sqlalchemy.orm import Session

from core.access.visibility import can_read
from core.config.policy import Policy
from core.models import Message, Office, Ticket, User
from core.models.fulltext import CONFIG, MESSAGE_CHARS, message_document, office_document, ticket_document
from core.queries.queues import COUNT_CAP, PAGE_SIZE, newest_reader, offices_below, scope_of, summaries
from core.storage.recent import RecentAnswers, remembered
from core.tickets.refs import ALPHABET, LENGTH, PREFIX

# Letters and digits: PostgreSQL's parser splits words at "_" as it does at
# spaces, so a query word must too (or "foo_bar" could never match "foo bar").
WORD = re.compile(r"[^\W_]+", re.UNICODE)
REF = re.compile(rf"\[?\s*({PREFIX}-[{ALPHABET}]{{{LENGTH}}})\s*\]?", re.IGNORECASE)
MAX_WORDS = 8
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_SCHOOLS = 200


@dataclass(frozen=True)
class Bounds:
    """How much one search may read (see the module's docstring)."""
    rare: int = 2000             # words the planner expects in more subjects (or messages) are common
    newest_subjects: int = 1000  # for common words, the subjects of this many newest tickets are read
    newest_messages: int = 500   # and the messages of this many


@dataclass
class SearchResult:
    query: str
    tickets: list = field(default_factory=list)  # core.queries.queues.SUMMARY rows
    total: int = 0
    page: int = 1
    exact: Ticket | None = None  # the query was the reference of a ticket the user may see
    newest_only: bool = False    # the words were common: only the newest tickets were read


def words_of(query: str) -> list[str]:
    return WORD.findall(query.lower())[:MAX_WORDS]


def _sqlite_hits(words: list[str]) -> Select:
    # Each word quoted: FTS5 syntax in user input (AND, NEAR, *, -) stays literal.
    match = " ".join(f'"{w}"' for w in words)
    in_subject = select(literal_column("rowid")).select_from(text("ticket_fts")).where(
        text("ticket_fts MATCH :match").bindparams(match=match))
    in_text = select(Message.ticket_id).where(Message.id.in_(
        select(literal_column("rowid")).select_from(text("message_fts")).where(
            text("message_fts MATCH :match").bindparams(match=match))))
    return union(in_subject, in_text).subquery().select()


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


def _is_common(session: Session, hits: Select, kind: str, words: list[str], bounds: Bounds,
               recent: RecentAnswers | None) -> bool:
    return remembered((f"{kind} matches", tuple(words), bounds.rare),
                      lambda: _estimated_rows(session, hits) > bounds.rare, recent)


def _newest(session: Session, scope: list, count: int) -> list[int]:
    """The ids of the scope's most recently updated tickets (read from the
    office-updated index alone)."""
    return list(session.scalars(select(Ticket.id).where(*scope).order_by(Ticket.updated_at.desc()).limit(count)))


def _postgres_hits(session: Session, words: list[str], bounds: Bounds, recent: RecentAnswers | None,
                   newest_of: Callable[[int], list[int]]) -> tuple[Select, bool]:
    """The tickets whose subject or one of whose messages has all the words, as
    one set of ids: index hits for rare words, the newest tickets' texts read one
    by one for common words (see the module's docstring); and whether the
    search was bounded to the newest tickets, which the page says."""
    query = func.to_tsquery(text(CONFIG), " & ".join(words))
    subject_hits = select(Ticket.id).where(ticket_document().op("@@")(query))
    message_hits = select(Message.ticket_id).where(message_document().op("@@")(query))
    common_subject = _is_common(session, subject_hits, "subject", words, bounds, recent)
    common_text = _is_common(session, message_hits, "message", words, bounds, recent)
    newest = newest_of(max(bounds.newest_subjects, bounds.newest_messages)) if (
        common_subject or common_text) else []
    if common_subject:
        subject_hits = subject_hits.where(_among(Ticket.id, newest[:bounds.newest_subjects]),
                                          _contains_all(Ticket.subject, words))
    if common_text:
        message_hits = message_hits.where(_among(Message.ticket_id, newest[:bounds.newest_messages]),
                                          _contains_all(func.left(Message.text, text(str(MESSAGE_CHARS))), words))
    return union(subject_hits, message_hits).subquery().select(), common_subject or common_text


def _among(column, ids: list[int]) -> ColumnElement[bool]:
    # One parameter, not thousands of bound values; given as PostgreSQL's text
    # of the array and cast: psycopg dumps a list element by element in Python
    # (0.5 ms for a thousand ids, which common words send twice), the text 15 us.
    array_text = "{" + ",".join(str(int(i)) for i in ids) + "}"
    return column == any_(cast(bindparam("ids", array_text, type_=String, unique=True), ARRAY(Integer)))


def _schools(session: Session, query: str, words: list[str]) -> list[int]:
    """The offices whose code is the query, then those whose name has all the words."""
    by_code = select(Office.id).where(Office.code.in_({query.strip(), query.strip().upper()}))
    if session.get_bind().dialect.name == "sqlite":
        match = " ".join(f'"{w}"' for w in words)
        by_name = select(literal_column("rowid")).select_from(text("office_fts")).where(
            text("office_fts MATCH :office_match").bindparams(office_match=match))
    else:
        by_name = select(Office.id).where(office_document().op("@@")(
            func.to_tsquery(text(CONFIG), " & ".join(words))))
    found = list(session.scalars(by_code)) + list(session.scalars(by_name.limit(MAX_SCHOOLS)))
    return list(dict.fromkeys(found))[:MAX_SCHOOLS]


def _customer_match(session: Session, query: str, words: list[str]) -> ColumnElement[bool] | None:
    """Tickets of the requester the query names, or of the schools it names; None when it names none."""
    if ADDRESS.fullmatch(query.strip()):
        return Ticket.requester_email == query.strip().lower()
    schools = _schools(session, query, words)
    if not schools:
        return None
    if session.get_bind().dialect.name == "sqlite":
        return Ticket.school_id.in_(schools)
    return _among(Ticket.school_id, schools)


def _newest_ids(session: Session, scope: list, match: ColumnElement[bool]) -> list[tuple]:
    return list(session.execute(select(Ticket.updated_at, Ticket.id).where(*scope, match)
                                .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(COUNT_CAP + 1)))


def word_hits(session: Session, scope: list, words: list[str], *, bounds: Bounds = Bounds(),
              recent: RecentAnswers | None = None,
              newest: Callable[[int], list[int]] | None = None) -> tuple[Select, bool]:
    """The ids of the tickets whose subject or a message has all the words, as
    a SELECT (in the scope's newest tickets only, for common words: the bool
    says so). Not scoped itself: the caller applies the scope. `newest`
    gives the scope's newest ids faster where the caller can
    (core.queries.queues.newest_reader)."""
    if session.get_bind().dialect.name == "sqlite":
        return _sqlite_hits(words), False
    return _postgres_hits(session, words, bounds, recent, newest or (lambda count: _newest(session, scope, count)))


def word_match(session: Session, scope: list, words: list[str], *, bounds: Bounds = Bounds(),
               recent: RecentAnswers | None = None,
               newest: Callable[[int], list[int]] | None = None) -> tuple[ColumnElement[bool], bool]:
    """word_hits as a where-clause on Ticket."""
    hits, newest_only = word_hits(session, scope, words, bounds=bounds, recent=recent, newest=newest)
    return Ticket.id.in_(hits), newest_only


def search_tickets(session: Session, user: User, query: str, *, page: int = 1,
                   policy: Policy = Policy(), recent: RecentAnswers | None = None,
                   bounds: Bounds = Bounds()) -> SearchResult:
    """`recent` (see core.queries.queues) may keep the scope's offices and which words are common."""
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
    offices = offices_below(session, user, policy, recent=recent)
    newest = newest_reader(session, user, offices) if (
        offices is not None and session.get_bind().dialect.name == "postgresql") else None
    customer = _customer_match(session, query, words)
    found = _newest_ids(session, scope, customer) if customer is not None else []
    if not ADDRESS.fullmatch(query.strip()):
        match, result.newest_only = word_match(session, scope, words, bounds=bounds, recent=recent, newest=newest)
        # One pass over the matches (the costly part) gives both the count and the page.
        found += _newest_ids(session, scope, match)
    ids = list(dict.fromkeys(i for _at, i in sorted(found, reverse=True)))[:COUNT_CAP + 1]
    result.total = len(ids)
    wanted = ids[(result.page - 1) * PAGE_SIZE:result.page * PAGE_SIZE]
    by_id = {row.id: row for row in session.execute(summaries([Ticket.id.in_(wanted)]))} if wanted else {}
    result.tickets = [by_id[i] for i in wanted]
    return result
