"""Archives looked into within fixed budgets, so a zip bomb costs its sender
more than it costs us.

A zip's central directory declares every member's packed and unpacked size,
and zipfile never inflates a member past the size it declares. So the
declared sizes are added up and held against the budget before a byte is
inflated, and whatever is read afterwards can never exceed them. Only what
the checks need is inflated: the first bytes of each member (is it a
program? an archive?), and an archive inside an archive, copied through a
spooled file that stays in memory only while it is small. Office files are
zips too (docx, xlsx, odt ...) or OLE2 compound files (doc, xls); the same
limits apply to them, from their directory alone.

Pure functions on bytes; no database, no threads.
"""
from __future__ import annotations

import io
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

import olefile

from core.content.filenames import extension_of, safe_filename
from core.words import N_

MB = 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one attachment may make us unpack (see core.config.policy)."""
    # Unpacked bytes of every member at every depth, together.
    max_inflated_bytes: int = 200 * MB
    # Entries (files and folders) at every depth, together.
    max_members: int = 10_000
    # Archives inside archives: 1 lets a zip hold zips that hold no zip.
    max_depth: int = 3
    # Unpacked size over packed size of one member (see RATIO_GRACE).
    max_ratio: int = 100


class ArchiveRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# Members smaller than this may pack as tightly as they like: an empty sheet
# or a blank bitmap packs far beyond 100:1 and is harmless at this size.
RATIO_GRACE = 1 * MB
# Enough of a member to tell a program or an archive by its first bytes.
HEAD = 64
# An inner archive stays in memory up to this size, then moves to a temp file.
SPOOL_IN_MEMORY = 1 * MB
_CHUNK = 64 * 1024
# zipfile bounds how much it inflates per read only for these; bzip2 and
# lzma members inflate a whole block at once, so their content is not read
# (their names and declared sizes still are), like an encrypted member's.
_READABLE = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# The end of central directory record, found within its longest comment of
# the end; a count of 0xFFFF says "see the zip64 record".
_END_MAGIC = b"PK\x05\x06"
_END_SEARCH = 22 + 65535
_ZIP64_COUNT = 0xFFFF
# An entry's local header and central directory record, with an empty name.
_MIN_ENTRY_BYTES = 30 + 46
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError, NotImplementedError,
            EOFError, ValueError, zlib.error)

# What Windows runs (or installs, or mounts) on a double click inside an
# archive; the archive's own allowlist check cannot see them.
PROGRAM_EXTENSIONS = frozenset({
    "exe", "com", "scr", "pif", "bat", "cmd", "msi", "msp", "msc", "dll", "cpl", "sys", "ocx",
    "jar", "js", "jse", "vbs", "vbe", "wsf", "wsh", "hta", "ps1", "psm1", "lnk", "url", "reg",
    "inf", "scf", "sh", "apk", "app", "iso", "img", "vhd", "vhdx", "appx", "msix", "application",
})
_EXECUTABLE_MAGIC = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",  # Mach-O, both byte orders
    b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal (also Java class files)
    b"#!",  # scripts run by the interpreter they name
)


def is_program(content: bytes) -> bool:
    """Whether these first bytes start a program a machine would run."""
    return content.startswith(_EXECUTABLE_MAGIC) or _is_dos_program(content)


def _is_dos_program(content: bytes) -> bool:
    # DOS and Windows programs and libraries start "MZ" and a binary header;
    # a text that merely starts with those letters has no NUL in it.
    return content.startswith(b"MZ") and b"\x00" in content[:64]


class _Spent:
    """What one attachment has used of its budget so far, at every depth."""

    def __init__(self) -> None:
        self.members = 0
        self.inflated = 0


def check_zip(content: bytes, limits: ArchiveLimits, *, programs: bool) -> None:
    """Raise ArchiveRefused when the zip is over a limit or, with `programs`,
    holds a program at any depth. A damaged zip is left to its reader: what
    could be read was checked."""
    _check_level(io.BytesIO(content), limits, _Spent(), 0, programs)


def check_declared_count(content: bytes, limits: ArchiveLimits) -> None:
    """Refuse a zip whose end record already declares too many entries,
    before anything parses its central directory (a 5 MB zip can list
    60,000 empty files, and parsing them costs a quarter of a second each
    time). The count read after parsing is the one that binds."""
    if len(content) <= limits.max_members * _MIN_ENTRY_BYTES:
        return  # too small to hold that many entries: nothing to save
    end = content.rfind(_END_MAGIC, max(0, len(content) - _END_SEARCH))
    if end < 0 or end + 12 > len(content):
        return
    count = int.from_bytes(content[end + 10:end + 12], "little")
    if count != _ZIP64_COUNT and count > limits.max_members:
        raise ArchiveRefused(N_("the archive holds more than %(count)s files") % {"count": f"{limits.max_members:,}"})


def _check_level(file: IO[bytes], limits: ArchiveLimits, spent: _Spent, depth: int, programs: bool) -> None:
    try:
        archive = zipfile.ZipFile(file)
    except _DAMAGED:
        return
    with archive:
        members = archive.infolist()
        _spend(members, limits, spent)
        if programs:
            for member in members:
                if not member.is_dir():
                    _check_member(archive, member, limits, spent, depth)


def _spend(members: list[zipfile.ZipInfo], limits: ArchiveLimits, spent: _Spent) -> None:
    """Count one archive's entries and declared sizes against the budget."""
    spent.members += len(members)
    if spent.members > limits.max_members:
        raise ArchiveRefused(N_("the archive holds more than %(count)s files") % {"count": f"{limits.max_members:,}"})
    for member in members:
        if member.file_size > RATIO_GRACE and member.file_size > limits.max_ratio * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise ArchiveRefused(N_("%(name)s in the archive unpacks to %(ratio)s times its packed size "
                                    "(at most %(most)s:1)") % {"name": safe_filename(member.filename), "ratio": f"{ratio:,}", "most": limits.max_ratio})
        spent.inflated += member.file_size
    if spent.inflated > limits.max_inflated_bytes:
        raise ArchiveRefused(N_("the archive unpacks to more than %(size)s")
                             % {"size": describe_size(limits.max_inflated_bytes)})


def _check_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: ArchiveLimits, spent: _Spent,
                  depth: int) -> None:
    """Refuse a program by name or by its first bytes; look into an inner archive."""
    name = safe_filename(member.filename)
    if extension_of(name) in PROGRAM_EXTENSIONS:
        raise ArchiveRefused(N_("the archive holds a program: %(name)s") % {"name": name})
    if member.flag_bits & 0x1 or member.compress_type not in _READABLE:
        return
    try:
        with archive.open(member) as stream:
            head = stream.read(HEAD)
            if is_program(head):
                raise ArchiveRefused(N_("the archive holds a program: %(name)s") % {"name": name})
            if not head.startswith(ZIP_MAGIC):
                return
            if depth >= limits.max_depth:
                raise ArchiveRefused(N_("archives are nested more than %(depth)s deep") % {"depth": limits.max_depth})
            with _spooled(head, stream) as inner:
                _check_level(inner, limits, spent, depth + 1, programs=True)
    except _DAMAGED:
        return  # a damaged member: its name was checked


def _spooled(head: bytes, stream: IO[bytes]) -> tempfile.SpooledTemporaryFile:
    """The rest of a member after its head, copied a chunk at a time; zipfile
    stops at the size the member declares, which the budget has counted."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    spool.write(head)
    while chunk := stream.read(_CHUNK):
        spool.write(chunk)
    spool.seek(0)
    return spool


def check_ole(content: bytes, limits: ArchiveLimits) -> None:
    """Raise ArchiveRefused when an OLE2 compound file (doc, xls, msg ...)
    holds more entries than an archive may. Its streams are not packed, so
    the bytes it holds are bounded by its own size."""
    try:
        with olefile.OleFileIO(content) as ole:
            entries = len(ole.listdir(streams=True, storages=True))
    except Exception:  # olefile raises many kinds on damaged containers
        return
    if entries > limits.max_members:
        raise ArchiveRefused(N_("the document holds more than %(count)s parts") % {"count": f"{limits.max_members:,}"})


def describe_size(limit: int) -> str:
    """A byte count as people read it: 5 MB, 200 KB, 12 bytes."""
    for unit, size in (("MB", MB), ("KB", 1024)):
        if limit >= size:
            return f"{limit / size:g} {unit}"
    return f"{limit} bytes"
