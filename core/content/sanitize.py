"""Sanitise untrusted HTML from mail for display in the portal.

This is the only module that imports bleach: bleach gets no more releases,
so a swap to another sanitiser (nh3) must stay a change to this file alone.

bleach parses with html5lib, strips what is not allowed and hands the token
stream to the filters below, which drop dangerous elements with their
content, hold back remote images and harden links.
"""
import re
from functools import partial
from html import escape, unescape
from urllib.parse import unquote

import tinycss2
from bleach.css_sanitizer import CSSSanitizer
from bleach.html5lib_shim import Filter
from bleach.sanitizer import Cleaner

from core.content.htmltext import html_to_text

_TAGS = frozenset({
    "a", "abbr", "b", "big", "blockquote", "br", "caption", "center", "code",
    "col", "colgroup", "dd", "div", "dl", "dt", "em", "font", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s",
    "small", "span", "strike", "strong", "sub", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "u", "ul",
})

# Elements whose content is code, a document of its own or a control, never
# text to read. bleach would strip the tags but keep the content as text
# (a script would show as source), so they pass bleach and _DropElements
# removes them whole.
_DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed",
    "applet", "form", "noscript", "template", "title", "svg", "math",
    "textarea", "select", "button",
})

_ATTRIBUTES = {
    "*": frozenset({"title", "dir", "lang", "style", "align"}),
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "font": frozenset({"color", "face", "size"}),
    "table": frozenset({"width", "border", "cellpadding", "cellspacing", "bgcolor"}),
    "td": frozenset({"width", "colspan", "rowspan", "valign", "bgcolor"}),
    "th": frozenset({"width", "colspan", "rowspan", "valign", "bgcolor"}),
    "tr": frozenset({"valign", "bgcolor"}),
    "col": frozenset({"width", "span"}),
    "ol": frozenset({"start", "type"}),
}

# No position, margin, display or background images: mail must not be able
# to overlay or hide the portal around it, or fetch anything.
_CSS_PROPERTIES = frozenset({
    "color", "background-color", "font-family", "font-size", "font-style",
    "font-weight", "font-variant", "text-align", "text-decoration",
    "text-indent", "line-height", "vertical-align", "white-space",
    "border", "border-collapse", "border-color", "border-style",
    "border-width", "padding", "list-style-type",
})
_CSS_FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla"})

_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,", re.I)
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_LINK_REL = "noopener noreferrer nofollow"


class _ValueCheckingCSSSanitizer(CSSSanitizer):
    """bleach checks property names only; a value can still hold url() or
    IE's expression(), so declarations with any function but a colour are
    dropped too."""

    def sanitize_css(self, style: str) -> str:
        kept = [
            declaration
            for declaration in tinycss2.parse_declaration_list(
                style, skip_comments=True, skip_whitespace=True
            )
            if declaration.type == "declaration"
            and declaration.lower_name in self.allowed_css_properties
            and _is_plain_css_value(declaration.value)
        ]
        return " ".join(
            f"{d.lower_name}: {tinycss2.serialize(d.value).strip()};" for d in kept
        )


def _is_plain_css_value(tokens) -> bool:
    for token in tokens:
        if token.type == "function" and token.lower_name not in _CSS_FUNCTIONS:
            return False
        if token.type in ("url", "() block", "[] block", "{} block", "error"):
            return False
    return True


def _scheme(uri: str) -> str | None:
    """The scheme a browser would see, after the same normalisation bleach
    applies (entities, control characters, blanks and case)."""
    normalised = re.sub(r"[`\x00-\x20\x7f-\xa0\s]+", "", unescape(uri))
    match = _SCHEME.match(normalised.lower())
    return match.group(1) if match else None


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    if name not in _ATTRIBUTES.get(tag, ()) and name not in _ATTRIBUTES["*"]:
        return False
    if tag in _DROPPED_WITH_CONTENT:
        return False
    if (tag, name) == ("a", "href"):
        # Relative links would resolve into the portal itself.
        return _scheme(value) in _LINK_SCHEMES
    if (tag, name) == ("img", "src"):
        scheme = _scheme(value)
        if scheme == "data":
            return bool(_DATA_IMAGE.match(value.strip()))
        return scheme in ("http", "https", "cid")
    return True


class _DropElements(Filter):
    def __iter__(self):
        depth = 0
        for token in super().__iter__():
            dropped = token.get("name") in _DROPPED_WITH_CONTENT
            if token["type"] == "StartTag" and dropped:
                depth += 1
            elif token["type"] == "EndTag" and dropped and depth:
                depth -= 1
            elif depth == 0 and not dropped:
                yield token


class _Images(Filter):
    """Remote images would tell the sender when and where the mail is read,
    so they are shown as their alt text unless the reader asked for them;
    data-blocked-src keeps the address for a later "show images"."""

    def __init__(self, source, *, allow_remote: bool, cid_map: dict[str, str]):
        super().__init__(source)
        self.allow_remote = allow_remote
        self.cid_map = cid_map

    def __iter__(self):
        for token in super().__iter__():
            if token.get("name") != "img":
                yield token
                continue
            attrs = dict(token["data"])
            src = self._resolve(attrs.get((None, "src"), "").strip())
            if src is None:
                yield from _placeholder(attrs.get((None, "alt")), attrs.get((None, "src")))
                continue
            attrs[(None, "src")] = src
            yield {**token, "data": attrs}

    def _resolve(self, src: str) -> str | None:
        """The address to show the image from, or None to hold it back."""
        scheme = _scheme(src)
        if scheme == "cid":
            return self.cid_map.get(unquote(src[4:]).strip().strip("<>"))
        if scheme == "data" or (scheme == "https" and self.allow_remote):
            return src
        return None


def _placeholder(alt: str | None, src: str | None):
    """Only remote addresses are kept for "show images": an unknown cid: or
    a src bleach removed has nothing to show later."""
    alt = (alt or "").strip()
    remote = src if src and _scheme(src) in ("http", "https") else None
    if not alt and remote is None:
        return
    attrs = {(None, "class"): "blocked-image"}
    if remote is not None:
        attrs[(None, "data-blocked-src")] = remote
    yield {"type": "StartTag", "name": "span", "namespace": None, "data": attrs}
    yield {"type": "Characters", "data": f"[image: {alt}]" if alt else "[image]"}
    yield {"type": "EndTag", "name": "span", "namespace": None}


class _Links(Filter):
    def __iter__(self):
        for token in super().__iter__():
            if token["type"] == "StartTag" and token["name"] == "a":
                data = dict(token["data"])
                data[(None, "rel")] = _LINK_REL
                data[(None, "target")] = "_blank"
                token = {**token, "data": data}
            yield token


def sanitize_html(
    html: str, *, allow_remote_images: bool = False, cid_map: dict[str, str] | None = None
) -> str:
    """Return HTML safe to embed in a portal page.

    cid_map maps a Content-ID (with or without angle brackets) to the URL the
    portal serves that inline part at; cid: images not in it are dropped.
    """
    if _too_complex(html):
        return f"<pre>{escape(html_to_text(html))}</pre>"
    cids = {key.strip().strip("<>"): url for key, url in (cid_map or {}).items()}
    cleaner = Cleaner(
        tags=_TAGS | _DROPPED_WITH_CONTENT,
        attributes=_allow_attribute,
        protocols=_LINK_SCHEMES | {"cid", "data"},
        strip=True,
        strip_comments=True,
        css_sanitizer=_ValueCheckingCSSSanitizer(allowed_css_properties=_CSS_PROPERTIES),
        filters=[
            _DropElements,
            partial(_Images, allow_remote=allow_remote_images, cid_map=cids),
            _Links,
        ],
    )
    return cleaner.clean(html)


# html5lib builds its tree in time that grows with the square of the nesting
# depth: 50,000 nested <div>s (250 KB) take minutes, a denial of service by
# mail. No real message nests so deep or is so large; such HTML is shown as
# its text (a linear parse) instead. Elements the parser closes by itself
# (<p>, <li>, table cells) and void elements do not count towards the depth.
MAX_DEPTH = 200
MAX_CHARS = 2_000_000
_TAG_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")
_NOT_NESTING = frozenset(
    "p li td th tr dt dd option colgroup col br hr img wbr input meta link base area source track".split())


def _too_complex(html: str) -> bool:
    if len(html) > MAX_CHARS:
        return True
    depth = 0
    for closing, name, self_closing in _TAG_TOKEN.findall(html):
        if self_closing or name.lower() in _NOT_NESTING:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        if depth > MAX_DEPTH:
            return True
    return False
