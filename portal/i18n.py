"""Indonesian and English for the portal, from gettext catalogs (Flask-Babel).

Templates and views write English and call `_("...")`, `ngettext(...)` with
`%(name)s` placeholders; `pybabel extract` (babel.cfg, `make messages`)
collects them into translations/messages.pot and the Indonesian catalog
translations/id/LC_MESSAGES/messages.po. Sentences that come from core as
text (refusal reasons, validation messages) go through `localize`. The
language is the one the visitor picked (a cookie, set by ?lang=), else the
browser's preference, else Indonesian.
"""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, format_decimal, get_translations, gettext

from core import words
from core.config.zones import show as show_time
from core.queries.queues import COUNT_CAP

LANGUAGES = ("id", "en")
COOKIE = "lang"


def pick_language() -> str:
    chosen = request.args.get("lang") or request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "id"


def current_language() -> str:
    """The request's language; Indonesian outside a request, as the site's default."""
    if not has_request_context():
        return "id"
    if "lang" not in g:
        g.lang = pick_language()
    return g.lang


def localize(text: object) -> str:
    """A sentence core made (a refusal reason, a validation message) in the request's language."""
    return words.localize(str(text), current_language())


def number(value: int | float, pattern: str | None = None) -> str:
    """A count (or, with a CLDR `pattern` such as "#,##0.0", a figure) as the
    reader's language writes it: 1.000 and 2,5 in Indonesian, 1,000 and 2.5 in English."""
    return format_decimal(value, pattern)


def count(total: int) -> str:
    """A count the queries stop at COUNT_CAP (core.queries.queues): beyond it, "1.000+"."""
    return f"{number(COUNT_CAP)}+" if total > COUNT_CAP else number(total)


def ngettext(singular: str, plural: str, num: int, **variables: object) -> str:
    """Flask-Babel's ngettext, with %(num)s written as `number` writes it
    (Flask-Babel's own fills in the bare int: 1000 in Indonesian too)."""
    variables.setdefault("num", number(num))
    return get_translations().ungettext(singular, plural, num) % variables


def filesize(size: int) -> str:
    """A file's size as both portals show it: 58 B, 1.2 KB, 3.4 MB (1,2 KB in Indonesian)."""
    if size < 1024:
        return f"{number(size)} B"
    unit, step = ("MB", 1024 * 1024) if size >= 1024 * 1024 else ("KB", 1024)
    return f"{number(round(size / step, 1), '#,##0.#')} {unit}"


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(words.CATALOGS)
    app.config["BABEL_DEFAULT_LOCALE"] = "id"
    # Jinja's own i18n extension would mark every translated sentence safe
    # HTML and trust it; `_` here returns plain text that autoescape escapes,
    # as every other value on the page is.
    Babel(app, locale_selector=current_language, configure_jinja=False)

    @app.before_request
    def choose_language():
        g.lang = pick_language()

    @app.after_request
    def remember_language(response):
        if request.args.get("lang") in LANGUAGES:
            # Secure exactly when the session cookie is: under an https base URL.
            response.set_cookie(COOKIE, request.args["lang"], max_age=365 * 86400, samesite="Lax",
                                httponly=True, secure=current_app.config["SESSION_COOKIE_SECURE"])
        return response

    app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext, localize=localize,
                                 languages=LANGUAGES)
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["count"] = count
    # {{ moment | localtime(office.timezone) }}: "2024-05-01 14:30 WITA", never bare UTC.
    app.jinja_env.filters["localtime"] = show_time

    @app.context_processor
    def language():
        return {"lang": current_language()}
