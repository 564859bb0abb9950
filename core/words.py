"""The sentences core shows to people, marked for translation and translated
back at the edge.

Core speaks English: refusal reasons and validation messages are raised and
stored (an attachment's `refused_reason`, an audit note) as English text, so
an export or a log reads the same whatever language a visitor picked. Each
such sentence is written `N_("... %(name)s ...") % values`: `N_` does
nothing at run time, but `pybabel extract` (babel.cfg) collects it into the
catalog, where translators give its Indonesian.

The edge, which knows the reader's language (the portal's request, the
mail's language), calls `localize`: a sentence found in the catalog as it
is comes back translated; one built from a template with values is matched
against the catalog's templates and rebuilt in the language with its values
(themselves localized, one level down, for a reason inside a reason; a
value in quotes, '%(kind)s', is quoted data and kept as it is). Text
that matches nothing, such as a name a person typed, comes back unchanged.
Imports nothing of ours and no web framework: core, mailout and the portal
share it.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.messages.mofile import read_mo

CATALOGS = Path(__file__).resolve().parents[1] / "translations"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")
# A placeholder in quotes holds what someone typed (a kind, a code): never translated.
_QUOTED = re.compile(r"['\"\u201c]%\((\w+)\)[sd]['\"\u201d]")
# A template whose fixed words are this short (such as "%(a)s: %(b)s") would
# match nearly any sentence; it is translated only where it is called.
_MIN_FIXED = 4


def N_(message: str) -> str:
    """Mark `message` for extraction; it stays English until `localize`."""
    return message


def catalog_path(language: str) -> Path:
    return CATALOGS / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


@cache
def _table(language: str) -> dict[str, str]:
    """msgid → msgstr of the compiled catalog, singular messages only."""
    path = catalog_path(language)
    if language == SOURCE_LANGUAGE or not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_mo(handle)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string}


def _pattern(template: str) -> re.Pattern[str] | None:
    """A regular expression that matches `template` filled with any values."""
    parts: list[str] = []
    seen: set[str] = set()
    position = fixed = 0
    for match in _PLACEHOLDER.finditer(template):
        literal = template[position:match.start()]
        parts.append(re.escape(literal))
        fixed += len(literal.strip())
        name = match.group(1)
        if name is None:
            parts.append("%")
        elif name in seen:
            parts.append(f"(?P={name})")
        else:
            parts.append(f"(?P<{name}>.+?)")
            seen.add(name)
        position = match.end()
    tail = template[position:]
    fixed += len(tail.strip())
    if not seen or fixed < _MIN_FIXED:
        return None
    return re.compile("".join(parts) + re.escape(tail), re.DOTALL)


@cache
def _templates(language: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The catalog's templates with placeholders, longest fixed wording first."""
    found = [(pattern, msgid) for msgid in _table(language) if (pattern := _pattern(msgid))]
    return tuple(sorted(found, key=lambda item: -len(_PLACEHOLDER.sub("", item[1]))))


def localize(text: str, language: str, depth: int = 1) -> str:
    """`text` (an English sentence from core, perhaps filled in) in `language`."""
    table = _table(language)
    if not table or not text:
        return text
    if text in table:
        return table[text]
    for pattern, msgid in _templates(language):
        if match := pattern.fullmatch(text):
            quoted = set(_QUOTED.findall(msgid))
            values = {name: localize(value, language, depth - 1) if depth > 0 and name not in quoted else value
                      for name, value in match.groupdict().items()}
            return table[msgid] % values
    return text
