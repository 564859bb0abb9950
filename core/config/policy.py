"""Rules admins change at run time, stored in the `setting` table as JSON.

Each field has a working default, so a fresh installation behaves sensibly
before anyone opens the admin pages.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Iterable

from sqlalchemy import Connection, Select, select
from sqlalchemy.orm import Session

from core import audit
from core.models import Setting, User
from core.storage.db import Database
from core.config import hours

DEFAULT_EXTENSIONS = (
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "txt",
    "csv", "jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "zip",
)


@dataclass(frozen=True)
class Policy:
    # Days a ticket may wait in `answered` before it closes itself (seed 000).
    auto_close_days: int = 7
    # Days after closing in which a customer's mail reopens the ticket;
    # later mail opens a new ticket linked to the old one.
    reopen_days: int = 14
    # Largest single attachment, in bytes (seed 000: 5 MB).
    attachment_max_bytes: int = 5 * 1024 * 1024
    attachment_extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    # What one attachment (a zip, or an Office file, which is a zip or an
    # OLE2 container) may make the check unpack: a 4.7 MB zip can hold
    # 4.6 GB. Bytes and entries count every depth together; the ratio is
    # unpacked over packed size of one member over 1 MB; depth counts
    # archives inside archives.
    archive_max_unpacked_bytes: int = 200 * 1024 * 1024
    archive_max_members: int = 10_000
    archive_max_depth: int = 3
    archive_max_ratio: int = 100
    # Office code that receives mail from unknown senders; empty: the root.
    triage_office: str = ""
    # Most open tickets the automatic rules give one agent; 0: no cap.
    agent_cap: int = 0
    # An agent above the average by more than this gives a ticket to a newcomer.
    rebalance_margin: int = 1
    # Hours an agent may be unavailable before their tickets return to the pool.
    absence_hours: int = 48
    # Minutes without a page loaded after which an available agent gets no new
    # tickets (they closed the browser); 0: availability never lapses.
    available_idle_minutes: int = 30
    # Hours before an SLA due time at which staff are warned.
    sla_warning_hours: int = 2
    # SLA clocks count only working time: opening hours "HH:MM-HH:MM" (empty:
    # around the clock), in this time zone, on these days, except holidays
    # (YYYY-MM-DD). See core.config.hours.
    sla_business_hours: str = ""
    sla_business_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    sla_holidays: tuple[str, ...] = ()
    sla_timezone: str = "Asia/Jakarta"
    # An office with no available agent hears of its first unstaffed ticket at
    # once, then at most once per this many minutes, in one notice saying how
    # many more arrived: a wave of mail must not mail its supervisors per
    # ticket. 0: a notice per ticket. At most a day (core.mail.pacing).
    unstaffed_notice_minutes: int = 15
    # Automatic mails to one address: at most this many per 10 minutes and per day.
    auto_mail_per_10min: int = 5
    auto_mail_per_day: int = 30
    # Language of mail and pages when nothing more specific is known.
    default_language: str = "id"
    # Show remote images in HTML mail; off by default (tracking pixels).
    allow_remote_images: bool = False
    # Kind of office whose rows are customers (their registered email opens tickets).
    customer_kind: str = "school"
    # Days a customer's private link stays valid after it is issued; 0: forever.
    token_days: int = 0
    # The public web form, per hour: tickets from one address, posts from one IP.
    web_tickets_per_address_hour: int = 5
    web_posts_per_ip_hour: int = 30
    # Most links a web form message may carry; spam carries many.
    web_max_links: int = 3
    # The public form lets the customer pick a priority; off, every web
    # ticket starts at the default and only staff or triage rules raise it.
    web_priority_choice: bool = False
    # Replies on customers' private pages per minute: to one ticket, and from
    # one client address over every ticket (a school behind a shared address
    # still has room); and the bytes of files one ticket may receive from the
    # page per hour (two replies of the largest size the web accepts).
    web_replies_per_ticket_minute: int = 20
    web_replies_per_ip_minute: int = 60
    web_upload_bytes_per_ticket_hour: int = 50 * 1024 * 1024
    # Password-reset requests per hour: mails to one address, and requests
    # from one client address (whatever address they name).
    reset_mails_per_address_hour: int = 5
    reset_requests_per_ip_hour: int = 20
    # A bulk action (or an incident reply) over more tickets than this runs in
    # a worker, its progress on a page, at a lower CPU priority; up to it,
    # in the request itself, at full speed, holding one of the web's threads
    # (about 5 ms a reply: 200 is about a second).
    bulk_inline_max: int = 200

    def __reduce_ex__(self, protocol):
        """Pickled as the setting rows it was made of, when it was read from
        them: the mail writer process (mailin.writer) then gets back the one
        Policy object it made of the same rows (see _policy_of), and what is
        kept per policy there (the compiled triage rules, core.tickets.rules)
        is kept from mail to mail instead of read again for each. A policy
        made otherwise pickles field by field, as any dataclass."""
        rows = self.__dict__.get("_rows")
        if rows is None:
            return super().__reduce_ex__(protocol)
        return _policy_of, (rows,)


FIELDS = {f.name: f for f in fields(Policy)}


_SETTINGS = select(Setting.key, Setting.value)  # built once: every mail reads the policy


def load_policy(session: Session | Connection) -> Policy:
    return _policy_of(session.execute(_SETTINGS))


def read_policy(db: Database) -> Policy:
    """load_policy, read outside any transaction: the mail pipeline reads the
    policy for every mail, before its write transaction."""
    return _policy_of(db.read_plain(_SETTINGS))


def read_policy_beside(db: Database, statement: Select, params: dict) -> tuple[list[tuple], Policy]:
    """Another plain query's rows (as Database.read_plain gives them) and
    read_policy, in one round trip on PostgreSQL: the API's guard reads its
    caller's user so, for every request."""
    rows, settings = db.read_plain_many([(statement, params), (_SETTINGS, None)])
    return rows, _policy_of(settings)


def policy_at(session: Session, version: tuple) -> Policy:
    """The policy, with no query while the settings' version is the one it was
    last read at. `version` (the table's row count and last change) comes with
    a page's own query, so a changed setting is seen at once and an unchanged
    one costs nothing (the customer's private page reads it this way)."""
    cached = _last_read
    if cached is not None and cached[1] == version:
        return cached[2]
    policy = load_policy(session)
    _remember(_last_read[0] if _last_read is not None else None, version, policy)
    return policy


def _policy_of(rows: Iterable) -> Policy:
    rows = tuple(sorted(tuple(row) for row in rows))
    cached = _last_read
    if cached is not None and cached[0] == rows:
        return cached[2]  # every mail reads the policy; it seldom changes
    stored = {key: json.loads(value) for key, value in rows}
    values = {name: tuple(value) if isinstance(value, list) else value
              for name, value in stored.items() if name in FIELDS}
    policy = Policy(**values)
    object.__setattr__(policy, "_rows", rows)  # not a field: equality and the hash ignore it
    _remember(rows, None, policy)
    return policy


def _remember(rows: tuple | None, version: tuple | None, policy: Policy) -> None:
    global _last_read
    _last_read = (rows, version, policy)


# The one cache of the policy in a process: the stored rows last read, the
# settings' version they were read at (when known), and the policy made of
# them (Policy is frozen, so it is shared safely). Every reader goes through
# it: the mail path (read_policy), pages and actions (load_policy), the
# private page (policy_at), and the triage rules compiled per policy.
_last_read: tuple[tuple | None, tuple | None, Policy] | None = None


class BadSetting(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name


def update_policy(session: Session, actor: User | str | None = None, **changes) -> Policy:
    current = load_policy(session)
    for name, value in changes.items():
        if name not in FIELDS:
            raise BadSetting(name, "no such setting")
        expected = type(getattr(Policy(), name))
        if expected is tuple and isinstance(value, (list, tuple)):
            value = tuple(value)
        elif expected is int and not isinstance(value, bool) and isinstance(value, int):
            if value < 0:
                raise BadSetting(name, "must not be negative")
        elif not isinstance(value, expected):
            raise BadSetting(name, f"must be {expected.__name__}")
        _check_format(name, value)
        old = getattr(current, name)
        if old == value:
            continue
        row = session.get(Setting, name) or Setting(key=name)
        row.value = json.dumps(list(value) if isinstance(value, tuple) else value)
        session.add(row)
        audit.record(session, None, "setting", actor, from_value=f"{name}={old}", to_value=value)
    session.flush()
    return replace(current, **{k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()})


# Settings whose text must parse, checked before they are stored.
_FORMATS = {"sla_business_hours": lambda v: v.strip() and hours.parse_hours(v),
            "sla_business_days": hours.parse_days, "sla_holidays": hours.parse_holidays,
            "sla_timezone": hours.parse_zone}


def _check_format(name: str, value: object) -> None:
    try:
        _FORMATS.get(name, lambda v: None)(value)
    except ValueError as exc:
        raise BadSetting(name, str(exc)) from None


def as_dict(policy: Policy) -> dict:
    return asdict(policy)
