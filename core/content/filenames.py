"""File names as customers send them, made safe to store, show and download."""
import re
import unicodedata

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


def extension_of(name: str) -> str:
    """The lowercase extension of a name, or "" when it has none."""
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""
