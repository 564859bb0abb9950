"""The directory of offices and schools: import (upsert by code) and look-ups.

The tier chain is whatever the directory says: each office has a kind and a
parent, and nothing in the code knows how many tiers there are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from core import audit
from core.config.zones import DEFAULT_ZONE
from core.directory.csvrows import Row, RowError
from core.models import Office, User
from core.words import N_

CHUNK = 2000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.errors:
            text += f", {len(self.errors)} rejected"
        if not self.changed and not self.errors:
            text += " (nothing to change)"
        return text


@dataclass
class _Office:
    """An office as it will be after the import: from the database, the file, or both."""
    code: str
    name: str
    kind: str
    parent_code: str
    email: str | None
    timezone: str = DEFAULT_ZONE
    id: int | None = None
    path: str = ""
    old: tuple | None = None  # (name, kind, parent_code, email, path, timezone) in the database

    def now(self) -> tuple:
        return (self.name, self.kind, self.parent_code, self.email, self.path, self.timezone)


def import_directory(session: Session, items: Iterable[Row | RowError], actor: User | str | None = None,
                     progress: Callable[[int], None] | None = None) -> ImportReport:
    report = ImportReport()
    rows: dict[str, Row] = {}
    for item in items:
        if isinstance(item, RowError):
            report.errors.append(item)
        elif item.code in rows:
            report.errors.append(RowError(item.line, item.code,
                                          N_("code already given on line %(line)s") % {"line": rows[item.code].line}))
        else:
            rows[item.code] = item
    offices = _load(session)
    _reject_email_clashes(rows, offices, report)
    _reject_orphans_and_cycles(rows, offices, report)
    _reject_second_root(rows, offices, report)
    for row in rows.values():
        office = offices.get(row.code)
        if office is None:
            office = offices[row.code] = _Office(row.code, row.name, row.kind, row.parent_code, row.email,
                                                 row.timezone or DEFAULT_ZONE)
        else:
            office.name, office.kind, office.parent_code, office.email = (
                row.name, row.kind, row.parent_code, row.email)
            office.timezone = row.timezone or office.timezone
    _compute_paths(offices)
    changed = _write(session, offices, progress)
    report.created = sum(1 for o in offices.values() if o.old is None)
    report.updated = sum(1 for code in changed if code in rows and offices[code].old is not None)
    report.unchanged = len(rows) - report.created - report.updated
    report.errors.sort(key=lambda e: e.line)
    if report.changed or report.errors:
        audit.record(session, None, "directory_import", actor, detail=report.summary())
    return report


def _load(session: Session) -> dict[str, _Office]:
    table = Office.__table__
    found = session.execute(select(table.c.id, table.c.code, table.c.name, table.c.kind,
                                   table.c.parent_id, table.c.email, table.c.path, table.c.timezone)).all()
    code_of = {r.id: r.code for r in found}
    offices = {}
    for r in found:
        parent = code_of.get(r.parent_id, "")
        offices[r.code] = _Office(r.code, r.name, r.kind, parent, r.email, r.timezone, r.id, r.path,
                                  (r.name, r.kind, parent, r.email, r.path, r.timezone))
    return offices


def _reject(rows: dict[str, Row], report: ImportReport, code: str, reason: str) -> None:
    row = rows.pop(code)
    report.errors.append(RowError(row.line, code, reason))


def _reject_email_clashes(rows: dict[str, Row], offices: dict[str, _Office], report: ImportReport) -> None:
    """An address belongs to one office: the one holding it in the database keeps
    it unless it lets it go in this file; otherwise the first line wins."""
    while True:
        claims: dict[str, list[tuple[int, str]]] = {}
        for code, office in offices.items():
            email = rows[code].email if code in rows else office.email
            if email:
                claims.setdefault(email, []).append((0, code))
        for code, row in rows.items():
            if row.email and code not in offices:
                claims.setdefault(row.email, []).append((row.line, code))
        def priority(code: str) -> tuple[int, int]:
            if code not in rows:
                return (0, 0)
            keeps_own = code in offices and offices[code].email == rows[code].email
            return (0 if keeps_own else 1, rows[code].line)

        losers = []
        for email, owners in claims.items():
            if len(owners) > 1:
                keeper, *others = sorted((code for _, code in owners), key=priority)
                losers += [(code, email, keeper) for code in others if code in rows]
        if not losers:
            return
        for code, email, keeper in losers:
            _reject(rows, report, code, N_("email %(email)s is already used by %(code)s") % {"email": email, "code": keeper})


def _reject_orphans_and_cycles(rows: dict[str, Row], offices: dict[str, _Office], report: ImportReport) -> None:
    def parent_of(code: str) -> str:
        return rows[code].parent_code if code in rows else offices[code].parent_code

    rejected_line = {e.code: e.line for e in report.errors}
    changed = True
    while changed:
        changed = False
        for code in list(rows):
            parent = rows[code].parent_code
            if not parent or parent in rows or parent in offices:
                continue
            if parent in rejected_line:
                reason = N_("parent %(code)s was rejected (line %(line)s)") % {"code": parent, "line": rejected_line[parent]}
            else:
                reason = N_("unknown parent %(code)s") % {"code": parent}
            rejected_line[code] = rows[code].line
            _reject(rows, report, code, reason)
            changed = True
    settled: set[str] = set()
    for start in list(rows):
        trail: list[str] = []
        code = start
        while code and code not in settled and code not in trail:
            trail.append(code)
            code = parent_of(code) if (code in rows or code in offices) else ""
        if code and code in trail:
            loop = trail[trail.index(code):]
            text = " -> ".join(loop + [code])
            for member in loop:
                if member in rows:
                    _reject(rows, report, member, N_("cycle of parents: %(cycle)s") % {"cycle": text})
            # Offices hanging below a rejected loop member are rejected on the next pass.
            return _reject_orphans_and_cycles(rows, offices, report)
        settled.update(trail)


def _reject_second_root(rows: dict[str, Row], offices: dict[str, _Office], report: ImportReport) -> None:
    roots = [c for c, o in offices.items() if not (rows[c].parent_code if c in rows else o.parent_code)]
    roots += [c for c, r in rows.items() if not r.parent_code and c not in offices]
    if len(roots) > 1:
        keeper = next((c for c in roots if c in offices and c not in rows), None) or min(
            (c for c in roots if c in rows), key=lambda c: rows[c].line)
        for code in roots:
            if code != keeper and code in rows:
                _reject(rows, report, code, N_("the directory already has a root (%(code)s); give a parent_code")
                        % {"code": keeper})
        _reject_orphans_and_cycles(rows, offices, report)


def _compute_paths(offices: dict[str, _Office]) -> None:
    done: set[str] = set()
    for start in offices:
        chain = []
        code = start
        while code and code not in done:
            chain.append(code)
            code = offices[code].parent_code
        prefix = offices[code].path if code else "/"
        for member in reversed(chain):
            prefix = offices[member].path = f"{prefix}{member}/"
            done.add(member)


def _write(session: Session, offices: dict[str, _Office],
           progress: Callable[[int], None] | None) -> set[str]:
    """Insert the new offices parents first, update the changed; return the changed codes."""
    table = Office.__table__
    ids = {o.code: o.id for o in offices.values() if o.id is not None}
    new = sorted((o for o in offices.values() if o.id is None), key=lambda o: o.path.count("/"))
    changed = [o for o in offices.values() if o.old is not None and o.old != o.now()]
    # Free the addresses that move first, so a swap never trips the unique index.
    moving = [{"b_id": o.id} for o in changed if o.email != o.old[3] and o.old[3]]
    if moving:
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(email=None), moving)
    depth = None
    batch: list[_Office] = []
    for office in new + [None]:
        level = office.path.count("/") if office else None
        if batch and (level != depth or len(batch) >= CHUNK):
            _insert(session, batch, ids)
            if progress:
                progress(len(batch))
            batch = []
        if office:
            depth = level
            batch.append(office)
    for start in range(0, len(changed), CHUNK):
        chunk = changed[start:start + CHUNK]
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            name=bindparam("b_name"), kind=bindparam("b_kind"), parent_id=bindparam("b_parent"),
            email=bindparam("b_email"), path=bindparam("b_path"), timezone=bindparam("b_zone")),
            [{"b_id": o.id, "b_name": o.name, "b_kind": o.kind, "b_parent": ids.get(o.parent_code),
              "b_email": o.email, "b_path": o.path, "b_zone": o.timezone} for o in chunk])
        if progress:
            progress(len(chunk))
    return {o.code for o in changed}


def _insert(session: Session, batch: list[_Office], ids: dict[str, int]) -> None:
    table = Office.__table__
    result = session.execute(
        insert(table).returning(table.c.id, table.c.code, sort_by_parameter_order=True),
        [{"code": o.code, "name": o.name, "kind": o.kind, "parent_id": ids.get(o.parent_code),
          "email": o.email, "path": o.path, "timezone": o.timezone, "active": True} for o in batch])
    for office_id, code in result:
        ids[code] = office_id

