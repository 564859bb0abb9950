"""The part of a customer's reply worth showing: quoted history and signature cut.

Mail clients top-post: the reply sits above an attribution ("On ... wrote:",
"Pada ... menulis:"), an Outlook header block ("From:/Sent:", "Dari:/Dikirim:")
or a "-----Original Message-----" rule, and everything below is history.
Some clients (Thunderbird, mailing-list habits) bottom-post or answer inline
between '>' lines; then the '>' lines go and the answers stay. The full text
is stored elsewhere; this only decides what a reader sees first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.content.htmltext import html_to_text
from core.content.quote_lines import (
    field_kind,
    is_attribution,
    is_forward,
    is_separator,
    is_tagline,
    opens_attribution,
)

# Attributions wrap: Gmail splits "On <date> <name> <\n<addr>> wrote:" over up to five lines.
_ATTRIBUTION_LINES = 5
# Outlook wraps long field values; a header block tolerates this many non-field lines in a row.
_FIELD_GAP = 2
_FIELD_WINDOW = 12
# A client that rewraps quoted text leaves the tail of a long '>' line unmarked.
_WRAP_WIDTH = 60
_SIGNATURE = re.compile(r"^\s*--\s*$")  # RFC 3676 "-- ", and the common "--"
_FOOTER_RULE = re.compile(r"^\s*_{2,}\s*$")  # mailing-list and disclaimer footers
_RULE = re.compile(r"^\s*(?:[-_=*~#]\s?){3,}$")


@dataclass(frozen=True)
class _Marker:
    kind: str  # "header": history follows; "quote": a '>' block; "tagline": device advert
    begin: int
    end: int  # last line of the marker, inclusive


def display_text(text: str, *, html: str | None = None) -> str:
    """The visible reply of a message body, without quoted history or signature."""
    text = text or ""  # a caller's None must not cost the message its display
    if not text.strip() and html:
        text = html_to_text(html)
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = [line.rstrip() for line in text.split("\n")]
    visible = _trim(_strip_signature(_strip_quotes(lines)))
    if not visible:
        # All of it looked like history: showing it beats showing nothing.
        visible = _without_blank_ends(lines)
    return "\n".join(visible).rstrip()


def _strip_quotes(lines: list[str]) -> list[str]:
    kept: list[str] = []
    pos, replied = 0, False
    while (marker := _first_marker(lines, pos)) is not None:
        before = lines[pos : marker.begin]
        after = marker.end + 1
        replied = replied or _has_text(before)
        if marker.kind == "quote" or (replied and _opens_quote(lines, after)):
            # Answers written between or below '>' blocks are part of the reply.
            _extend(kept, before)
        elif replied:
            _extend(kept, before)
            return kept
        # Otherwise nothing was above the marker: a bottom-posted reply follows the quote.
        pos = _quote_end(lines, after)
    _extend(kept, lines[pos:])
    return kept


def _first_marker(lines: list[str], start: int) -> _Marker | None:
    for j in range(start, len(lines)):
        line = lines[j]
        if is_forward(line):
            return None
        begin = _attribution_begin(lines, j, start)
        if begin is not None:
            return _Marker("header", begin, j)
        if is_separator(line):
            return _Marker("header", j, j)
        block_end = _header_block_end(lines, j)
        if block_end is not None:
            return _Marker("header", j, block_end)
        if _is_quoted(line):
            return _Marker("quote", j, _quote_end(lines, j) - 1)
        if is_tagline(line):
            return _Marker("tagline", j, j)
    return None


def _attribution_begin(lines: list[str], end: int, floor: int) -> int | None:
    """First line of an attribution ending at line `end`, if there is one.

    The shortest wrapped attribution whose first line opens like one wins;
    failing that, the last line alone ("Name <addr> wrote:").
    """
    if not lines[end].rstrip().lower().endswith((":", "：", "-", "wrote")):
        return None  # every attribution ends so; most lines are spared the patterns
    for begin in range(end, max(floor - 1, end - _ATTRIBUTION_LINES), -1):
        line = lines[begin]
        if begin < end and (
            _is_quoted(line) or (not line.strip() and not _is_address_start(lines[begin + 1]))
        ):
            break
        if opens_attribution(line) and is_attribution(" ".join(lines[begin : end + 1])):
            return begin
    return end if is_attribution(lines[end]) else None


def _is_address_start(line: str) -> bool:
    # Gmail may wrap "<addr>" onto a line of its own, after a blank line.
    return line.lstrip().startswith(("<", "("))


def _header_block_end(lines: list[str], start: int) -> int | None:
    """Last field line of an Outlook-style header block starting at `start`, if one does."""
    first = field_kind(lines[start])
    if first is None:
        return None
    kinds, dated, last, gap = set(), False, start, 0
    for k in range(start, min(len(lines), start + _FIELD_WINDOW)):
        field = field_kind(lines[k])
        if field is None:
            gap += 1
            if gap > _FIELD_GAP:
                break
            continue
        kind, value = field
        kinds.add(kind)
        dated = dated or (kind == "date" and any(ch.isdigit() for ch in value))
        last, gap = k, 0
    # A sender and a date together: a body that merely says "Date: ..." or "To: ..." stays.
    return last if "from" in kinds and dated else None


def _opens_quote(lines: list[str], start: int) -> bool:
    """Whether the first non-blank line from `start` on is a '>' line."""
    for k in range(start, len(lines)):
        if lines[k].strip():
            return _is_quoted(lines[k])
    return False


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _quote_end(lines: list[str], start: int) -> int:
    """Index after the '>' block at `start`, blank lines and rewrapped quote lines included."""
    k = start
    while k < len(lines):
        line = lines[k]
        rewrapped = (
            0 < k < len(lines) - 1
            and _is_quoted(lines[k + 1])
            and _is_quoted(lines[k - 1])
            and len(lines[k - 1]) >= _WRAP_WIDTH
        )
        if not (_is_quoted(line) or not line.strip() or rewrapped):
            break
        k += 1
    return k


def _strip_signature(lines: list[str]) -> list[str]:
    """Cut at the first "-- " delimiter or footer rule that has text above it."""
    seen_text = False
    for k, line in enumerate(lines):
        if seen_text and (_SIGNATURE.match(line) or _FOOTER_RULE.match(line)):
            return lines[:k]
        seen_text = seen_text or bool(line.strip())
    return lines


def _trim(lines: list[str]) -> list[str]:
    """Drop rules and device taglines left at the bottom, and blank lines at both ends."""
    end = len(lines)
    while end and (not lines[end - 1].strip() or _RULE.match(lines[end - 1]) or is_tagline(lines[end - 1])):
        end -= 1
    return _without_blank_ends(lines[:end])


def _without_blank_ends(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _extend(kept: list[str], lines: list[str]) -> None:
    """Append `lines`, not doubling the blank line where a quote was cut out."""
    if kept and lines and not kept[-1].strip() and not lines[0].strip():
        lines = lines[1:]
    kept.extend(lines)


def _has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)
