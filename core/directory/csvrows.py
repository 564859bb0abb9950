"""Reading the directory CSV (code,name,kind,parent_code,email[,timezone]) into checked rows.

Each row is checked on its own here; core/directory/offices.py checks the rows
against each other and the database (parents, cycles, e-mail owners).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from core.config.zones import is_zone
from core.words import N_

COLUMNS = ("code", "name", "kind", "parent_code", "email")
# Optional: a file without it (or an empty cell) leaves an office's zone as it
# is, and a new office gets the default (core.config.zones.DEFAULT_ZONE).
OPTIONAL = ("timezone",)
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
EMAIL = re.compile(r"[^@\s<>(),;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")


@dataclass(frozen=True)
class Row:
    line: int
    code: str
    name: str
    kind: str
    parent_code: str
    email: str | None
    timezone: str | None = None  # an IANA name; None: not given


@dataclass(frozen=True)
class RowError:
    line: int
    code: str
    reason: str

    def __str__(self) -> str:
        """The CLI's English line; the portal shows the fields, the reason localized."""
        where = f" ({self.code})" if self.code else ""
        return f"line {self.line}{where}: {self.reason}"


class BadDirectory(ValueError):
    """The file as a whole cannot be read (no header, wrong columns, not text)."""


def read_directory(raw: bytes | str | Iterable[str]) -> Iterator[Row | RowError]:
    """Yield a Row or a RowError for every data line, numbered as an editor shows them."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadDirectory(N_("the file is not UTF-8 text (byte %(byte)s)") % {"byte": exc.start}) from None
    lines = io.StringIO(raw, newline="") if isinstance(raw, str) else raw
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise BadDirectory(N_("the file is empty"))
    header = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise BadDirectory(N_("missing column(s) %(missing)s; expected %(columns)s")
                           % {"missing": ", ".join(missing), "columns": ",".join(COLUMNS)})
    index = {c: header.index(c) for c in COLUMNS + OPTIONAL if c in header}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) < len(header):
            fields = fields + [""] * (len(header) - len(fields))
        yield check_row(line, {c: fields[i].strip() for c, i in index.items()})


def check_row(line: int, values: dict[str, str]) -> Row | RowError:
    code, name, kind = values["code"], values["name"], values["kind"]
    parent, email = values["parent_code"], values["email"].lower() or None
    zone = values.get("timezone") or None

    def error(reason: str) -> RowError:
        return RowError(line, code, reason)

    if not code:
        return error(N_("empty code"))
    if not CODE.fullmatch(code):
        return error(N_("code must be 1-32 letters, digits, '.', '_' or '-'"))
    if not name:
        return error(N_("empty name"))
    if len(name) > 200:
        return error(N_("name longer than 200 characters"))
    if not KIND.fullmatch(kind):
        return error(N_("kind '%(kind)s' must be a lowercase word such as school or city") % {"kind": kind})
    if parent == code:
        return error(N_("an office cannot be its own parent"))
    if parent and not CODE.fullmatch(parent):
        return error(N_("parent_code '%(code)s' is not a valid code") % {"code": parent})
    if email and not EMAIL.fullmatch(email):
        return error(N_("email '%(email)s' is not an address") % {"email": email})
    if zone and not is_zone(zone):
        return error(N_("timezone '%(zone)s' is not a known time zone name such as Asia/Makassar") % {"zone": zone})
    return Row(line, code, name, kind, parent, email, zone)
