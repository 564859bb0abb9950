"""The attachment policy: which files a ticket keeps, under what name and type.

Pure functions: the pipeline and the portal pass bytes in and get a verdict;
storing the file is someone else's job.
"""
import codecs
import csv
import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

import filetype
import olefile

# rar and 7z are left out: their members cannot be listed here without a
# non-free tool (rar) or a heavy one (7z), so a program inside would pass
# unseen; zip archives are opened and checked (see _refuse_programs_inside),
# and every school machine makes zips. Admins may add 7z per site.
# html (and svg) are left out because a browser runs the scripts inside them.
# eml is left out because the mail inside it carries attachments of its own
# that none of these checks would see. Admins may widen the set per site.
DEFAULT_EXTENSIONS = frozenset({
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp",
    "rtf", "txt", "csv", "jpg", "jpeg", "png", "gif", "webp", "bmp", "tif",
    "tiff", "zip",
})


@dataclass(frozen=True)
class AttachmentRules:
    max_bytes: int = 5 * 1024 * 1024
    allowed_extensions: frozenset[str] = DEFAULT_EXTENSIONS


class Refused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_OOXML = "application/vnd.openxmlformats-officedocument."
# Office 2007+ files saved with a password are OLE2 containers, not zips.
ENCRYPTED_OOXML = "application/x-ooxml-encrypted"
_ODF = "application/vnd.oasis.opendocument."
# What each known extension is, and the sniffed types its content may have.
# A generic sniff (a zip, an OLE2 container, text) cannot tell a docx from an
# xlsx or a list from prose, so for those the extension names the type.
_KNOWN = {
    "pdf": ("application/pdf", {"application/pdf"}),
    "doc": ("application/msword", {"application/msword"}),
    "xls": ("application/vnd.ms-excel", {"application/vnd.ms-excel"}),
    "ppt": ("application/vnd.ms-powerpoint", {"application/vnd.ms-powerpoint"}),
    "docx": (_OOXML + "wordprocessingml.document",
             {"application/zip", _OOXML + "wordprocessingml.document", ENCRYPTED_OOXML}),
    "xlsx": (_OOXML + "spreadsheetml.sheet", {"application/zip", _OOXML + "spreadsheetml.sheet", ENCRYPTED_OOXML}),
    "pptx": (_OOXML + "presentationml.presentation",
             {"application/zip", _OOXML + "presentationml.presentation", ENCRYPTED_OOXML}),
    "odt": (_ODF + "text", {"application/zip", _ODF + "text"}),
    "ods": (_ODF + "spreadsheet", {"application/zip", _ODF + "spreadsheet"}),
    "odp": (_ODF + "presentation", {"application/zip", _ODF + "presentation"}),
    "rtf": ("application/rtf", {"application/rtf"}),
    "txt": ("text/plain", {"text/plain", "text/csv"}),
    "csv": ("text/csv", {"text/plain", "text/csv"}),
    "zip": ("application/zip", {"application/zip"}),
    "7z": ("application/x-7z-compressed", {"application/x-7z-compressed"}),
}
_IMAGE_EXTENSIONS = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "webp": "image/webp", "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff",
}
_RASTER_IMAGES = frozenset(_IMAGE_EXTENSIONS.values())
for _ext, _type in _IMAGE_EXTENSIONS.items():
    # A jpeg named .png is still a picture; its real type is reported.
    _KNOWN[_ext] = (_type, _RASTER_IMAGES)
_GENERIC = frozenset({"application/zip", ENCRYPTED_OOXML, "text/plain", "text/csv"})
_INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

EXECUTABLE = "application/x-executable"
_EXECUTABLE_MAGIC = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",  # Mach-O, both byte orders
    b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal (also Java class files)
    b"#!",  # scripts run by the interpreter they name
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)}
)
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_MAX_NAME = 150
_MAX_EXTENSION = 16


def safe_filename(name: str | None, *, fallback: str = "attachment") -> str:
    """A name safe to store, show and offer for download on any system."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc are control characters, Cf invisible ones such as the right-to-left
    # override that makes "x\u202egpj.exe" look like "xexe.jpg".
    name = "".join(
        " " if c.isspace() else c
        for c in name
        if c.isspace() or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co")
    )
    name = _WINDOWS_FORBIDDEN.sub("_", " ".join(name.split()))
    # Windows drops trailing dots and blanks, so "x.exe." would open as x.exe.
    name = name.strip().lstrip(". ").rstrip(". ")
    if not name:
        return fallback
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > _MAX_EXTENSION or not stem:
        stem, extension = name, ""
    if stem.split(".", 1)[0].rstrip().upper() in _RESERVED_NAMES:
        stem = "_" + stem
    suffix = "." + extension if extension else ""
    return stem[: _MAX_NAME - len(suffix)].rstrip(". ") + suffix


def sniff(content: bytes) -> str | None:
    """The content type the bytes themselves show, or None when unknown."""
    if _is_program(content):
        return EXECUTABLE
    if content.startswith(b"MZ"):
        return _sniff_text(content)
    if content.startswith(_OLE2):
        return _sniff_ole(content)
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"PK\x03\x04"):
        return _sniff_zip(content)
    kind = filetype.guess_mime(content)
    if kind is not None:
        return kind
    return _sniff_text(content)


def _is_program(content: bytes) -> bool:
    return content.startswith(_EXECUTABLE_MAGIC) or _is_dos_program(content)


def _is_dos_program(content: bytes) -> bool:
    # DOS and Windows programs and libraries start "MZ" and a binary header;
    # a text that merely starts with those letters has no NUL in it.
    return content.startswith(b"MZ") and b"\x00" in content[:64]


def _sniff_zip(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            # OpenDocument names its type in a first, tiny, stored member.
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                if declared.startswith(_ODF):
                    return declared
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError,
            EOFError, ValueError, zlib.error):
        # Truncated, encrypted or oddly compressed: still a zip archive.
        return "application/zip"
    if "[Content_Types].xml" in names:
        for folder, kind in (("word/", "wordprocessingml.document"),
                             ("xl/", "spreadsheetml.sheet"),
                             ("ppt/", "presentationml.presentation")):
            if any(n.startswith(folder) for n in names):
                return _OOXML + kind
    return "application/zip"


OLE_STORAGE = "application/x-ole-storage"
# Word, Excel and PowerPoint 97-2003 share the OLE2 container with Windows
# installers (.msi), Outlook messages (.msg) and more; the streams inside tell
# them apart, so an installer renamed .doc is not taken for a document.
_OLE_STREAMS = (
    ("worddocument", "application/msword"),
    ("workbook", "application/vnd.ms-excel"),
    ("book", "application/vnd.ms-excel"),
    ("powerpoint document", "application/vnd.ms-powerpoint"),
    ("encryptedpackage", ENCRYPTED_OOXML),
    ("__properties_version1.0", "application/vnd.ms-outlook"),
)


def _sniff_ole(content: bytes) -> str:
    try:
        with olefile.OleFileIO(content) as ole:
            streams = {path[0].lower() for path in ole.listdir(streams=True, storages=True)}
    except Exception:  # olefile raises many kinds on damaged containers
        return OLE_STORAGE
    for stream, kind in _OLE_STREAMS:
        if stream in streams:
            return kind
    return OLE_STORAGE


def _sniff_text(content: bytes) -> str | None:
    head = content[:8192]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows tools save "Unicode" text as UTF-16, full of NUL bytes.
        text = head.decode("utf-16", "replace")
    elif not head or b"\x00" in head:
        return None
    else:
        text = _decode_sample(head)
    printable = sum(c.isprintable() or c in "\r\n\t\f" for c in text)
    if printable < 0.95 * len(text):
        return None
    if text.lstrip("\ufeff \r\n\t").startswith("{\\rtf"):
        return "application/rtf"
    return "text/csv" if _looks_like_csv(text) else "text/plain"


def _decode_sample(head: bytes) -> str:
    try:
        # A multi-byte character may be cut at the end of the sample.
        return head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:
            return head[: error.start].decode("utf-8")
        return head.decode("cp1252", "replace")


def _looks_like_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        return False
    counts = {len(row) for row in csv.reader(lines, dialect)}
    return len(counts) == 1 and counts.pop() > 1


def check(filename: str, content: bytes, rules: AttachmentRules) -> tuple[str, str]:
    """Return (safe filename, content type), or raise Refused saying why."""
    if len(content) > rules.max_bytes:
        raise Refused(f"larger than {_size(rules.max_bytes)}")
    if not content:
        raise Refused("the file is empty")
    name = safe_filename(filename)
    sniffed = sniff(content)
    if sniffed == EXECUTABLE:
        extension = _extension(name)
        raise Refused(
            f"content is an executable but the name says .{extension}"
            if extension else "content is an executable"
        )
    extension = _extension(name)
    if not extension and sniffed is not None:
        # Inline images often come without a name; the content names them.
        extension = _extension_for(sniffed)
        name = f"{name}.{extension}" if extension else name
    if not extension:
        raise Refused("the file name has no extension")
    allowed = {e.lower().lstrip(".") for e in rules.allowed_extensions}
    if extension not in allowed:
        raise Refused(f"extension .{extension} is not allowed")
    if extension not in _KNOWN:
        # An extension an admin added: nothing to compare the content with.
        return name, sniffed or "application/octet-stream"
    declared, accepted = _KNOWN[extension]
    if sniffed not in accepted:
        found = f"is {sniffed}" if sniffed else "is of an unknown kind"
        raise Refused(f"content {found} but the name says .{extension}")
    if sniffed == "application/zip":
        _refuse_programs_inside(content)
    return name, declared if sniffed in _GENERIC else sniffed


# What Windows runs (or installs, or mounts) on a double click inside an
# archive; the archive's own allowlist check cannot see them.
PROGRAM_EXTENSIONS = frozenset({
    "exe", "com", "scr", "pif", "bat", "cmd", "msi", "msp", "msc", "dll", "cpl", "sys", "ocx",
    "jar", "js", "jse", "vbs", "vbe", "wsf", "wsh", "hta", "ps1", "psm1", "lnk", "url", "reg",
    "inf", "scf", "sh", "apk", "app", "iso", "img", "vhd", "vhdx", "appx", "msix", "application",
})
_MAX_MEMBERS = 10_000
_NESTED_LIMIT = 20 * 1024 * 1024


def _refuse_programs_inside(content: bytes, depth: int = 0) -> None:
    """Refuse a zip holding a program, by member name or by content, one archive deep."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()][:_MAX_MEMBERS]
            for member in members:
                inner = safe_filename(member.filename)
                if _extension(inner) in PROGRAM_EXTENSIONS:
                    raise Refused(f"the archive holds a program: {inner}")
                head = _member_head(archive, member, _NESTED_LIMIT if depth == 0 else 64)
                if head is None:
                    continue
                if _is_program(head):
                    raise Refused(f"the archive holds a program: {inner}")
                if depth == 0 and head.startswith(b"PK\x03\x04"):
                    _refuse_programs_inside(head, depth + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError,
            EOFError, ValueError, zlib.error):
        # Damaged or encrypted: the names above were still checked where readable.
        return


def _member_head(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> bytes | None:
    """A member's first bytes, or the whole member when it may be an archive
    small enough to open; None when it cannot be read (encrypted)."""
    if member.flag_bits & 0x1:
        return None
    whole = member.file_size <= limit and _extension(member.filename) in {"zip", ""}
    with archive.open(member) as stream:
        return stream.read(limit if whole else 64)


def is_safe_inline_image(content_type: str) -> bool:
    """Only these are served inline: never svg, which can carry scripts."""
    return content_type.split(";", 1)[0].strip().lower() in _INLINE_IMAGES


def _extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def _extension_for(content_type: str) -> str:
    for extension, (declared, _) in _KNOWN.items():
        if declared == content_type:
            return extension
    return ""


def _size(limit: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= size:
            return f"{limit / size:g} {unit}"
    return f"{limit} bytes"
