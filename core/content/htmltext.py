"""HTML mail bodies to plain text, keeping what quote stripping needs.

Only the line structure and the quoting matter here: block elements become
line breaks and <blockquote> becomes "> " prefixes, so that an HTML-only
reply goes through the same rules as a plain one. Display sanitising is
bleach's job elsewhere; this text is never rendered as HTML.
"""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt footer form h1 h2 h3 h4 h5 h6 header hr li"
    " main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_INVISIBLE = frozenset("head script style title template xml".split())
_SPACES = re.compile(r"[ \t\r\n\f\u00a0\u200b\u200e\u200f]+")
_TAG = re.compile(r"<[^>]*>")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._words: list[str] = []
        self._depth = 0  # blockquote nesting
        self._line_depth = 0
        self._hidden = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
        elif tag in _BLOCKS:
            self._break()
            if tag == "blockquote":
                self._depth += 1
            elif tag == "pre":
                self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self._break()
            if tag == "blockquote":
                self._depth = max(0, self._depth - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            first, *rest = data.split("\n")
            self._add(first)
            for part in rest:
                self._break(force=True)
                self._add(part)
            return
        self._add(_SPACES.sub(" ", data))

    def _add(self, text: str) -> None:
        if not self._words:
            self._line_depth = self._depth
        self._words.append(text)

    def _break(self, force: bool = False) -> None:
        line = "".join(self._words)
        line = line.rstrip() if self._pre else line.strip()  # preformatted text keeps its indent
        self._words = []
        if line or force:
            self.lines.append("> " * self._line_depth + line)
        elif self.lines and self.lines[-1] != "":
            self.lines.append("")

    def text(self) -> str:
        self._break()
        return "\n".join(self.lines).strip("\n")


def html_to_text(html: str) -> str:
    """Plain text of an HTML body: blocks on their own lines, blockquotes as '>' lines."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except AssertionError:
        # html.parser (before Python 3.13) asserts on some malformed "<!" markup;
        # a crude tag strip still gives the reader the words.
        return _SPACES.sub(" ", unescape(_TAG.sub(" ", html))).strip()
    return collector.text()
