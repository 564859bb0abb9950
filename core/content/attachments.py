"""The attachment policy: which files a ticket keeps, under what name and type.

Pure functions: the pipeline and the portal pass bytes in and get a verdict;
storing the file is someone else's job.
"""
import codecs
import csv
import io
import zipfile
import zlib
from dataclasses import dataclass, field

import filetype
import olefile

from core.config.policy import Policy
from core.content.archives import (
    ZIP_MAGIC, ArchiveLimits, ArchiveRefused, check_declared_count, check_ole, check_zip, describe_size, is_program,
)
from core.content.filenames import extension_of as _extension
from core.content.filenames import safe_filename
from core.words import N_

__all__ = ["AttachmentRules", "Refused", "check", "is_safe_inline_image", "rules_for", "safe_filename", "sniff"]

# rar and 7z are left out: their members cannot be listed here without a
# non-free tool (rar) or a heavy one (7z), so a program inside would pass
# unseen; zip archives are opened and checked (see core.content.archives),
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
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)


def rules_for(policy: Policy) -> AttachmentRules:
    """The admins' rules, which every channel checks attachments against."""
    return AttachmentRules(
        max_bytes=policy.attachment_max_bytes, allowed_extensions=frozenset(policy.attachment_extensions),
        archives=ArchiveLimits(max_inflated_bytes=policy.archive_max_unpacked_bytes,
                               max_members=policy.archive_max_members, max_depth=policy.archive_max_depth,
                               max_ratio=policy.archive_max_ratio))


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
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
def sniff(content: bytes) -> str | None:
    """The content type the bytes themselves show, or None when unknown."""
    if is_program(content):
        return EXECUTABLE
    if content.startswith(b"MZ"):
        return _sniff_text(content)
    if content.startswith(_OLE2):
        return _sniff_ole(content)
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(ZIP_MAGIC):
        return _sniff_zip(content)
    kind = filetype.guess_mime(content)
    if kind is not None:
        return kind
    return _sniff_text(content)


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
        raise Refused(N_("larger than %(size)s") % {"size": describe_size(rules.max_bytes)})
    if not content:
        raise Refused(N_("the file is empty"))
    name = safe_filename(filename)
    if content.startswith(ZIP_MAGIC):
        try:
            check_declared_count(content, rules.archives)
        except ArchiveRefused as refused:
            raise Refused(refused.reason) from None
    sniffed = sniff(content)
    if sniffed == EXECUTABLE:
        extension = _extension(name)
        raise Refused(
            N_("content is an executable but the name says .%(extension)s") % {"extension": extension}
            if extension else N_("content is an executable")
        )
    extension = _extension(name)
    if not extension and sniffed is not None:
        # Inline images often come without a name; the content names them.
        extension = _extension_for(sniffed)
        name = f"{name}.{extension}" if extension else name
    if not extension:
        raise Refused(N_("the file name has no extension"))
    allowed = {e.lower().lstrip(".") for e in rules.allowed_extensions}
    if extension not in allowed:
        raise Refused(N_("extension .%(extension)s is not allowed") % {"extension": extension})
    if extension not in _KNOWN:
        # An extension an admin added: nothing to compare the content with.
        _check_container(content, sniffed, rules.archives)
        return name, sniffed or "application/octet-stream"
    declared, accepted = _KNOWN[extension]
    if sniffed not in accepted:
        if sniffed:
            raise Refused(N_("content is %(kind)s but the name says .%(extension)s")
                          % {"kind": sniffed, "extension": extension})
        raise Refused(N_("content is of an unknown kind but the name says .%(extension)s") % {"extension": extension})
    _check_container(content, sniffed, rules.archives)
    return name, declared if sniffed in _GENERIC else sniffed


def _check_container(content: bytes, sniffed: str | None, limits: ArchiveLimits) -> None:
    """Hold zips and Office containers to the archive limits; in a plain zip
    (not an Office file, whose parts are its own) refuse programs too."""
    try:
        if content.startswith(ZIP_MAGIC):
            check_zip(content, limits, programs=sniffed == "application/zip")
        elif content.startswith(_OLE2):
            check_ole(content, limits)
    except ArchiveRefused as refused:
        raise Refused(refused.reason) from None


def is_safe_inline_image(content_type: str) -> bool:
    """Only these are served inline: never svg, which can carry scripts."""
    return content_type.split(";", 1)[0].strip().lower() in _INLINE_IMAGES


def _extension_for(content_type: str) -> str:
    for extension, (declared, _) in _KNOWN.items():
        if declared == content_type:
            return extension
    return ""
