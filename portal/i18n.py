"""Indonesian and English for the portal, with no build step.

Templates write English and call `_("...")`; Indonesian comes from
portal/messages_id.py. The language is the one the visitor picked (a
cookie, set by ?lang=), else the browser's preference, else Indonesian.
"""
from __future__ import annotations

from flask import Flask, current_app, g, request

from core.config.zones import show as show_time
from portal.messages_id import MESSAGES

LANGUAGES = ("id", "en")
COOKIE = "lang"


def pick_language() -> str:
    chosen = request.args.get("lang") or request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "id"


def translate(text: str, **values) -> str:
    if getattr(g, "lang", "id") == "id":
        text = MESSAGES.get(text, text)
    return text.format(**values) if values else text


def filesize(size: int) -> str:
    """A file's size as both portals show it: 58 B, 1.2 KB, 3.4 MB."""
    if size < 1024:
        return f"{size} B"
    unit, step = ("MB", 1024 * 1024) if size >= 1024 * 1024 else ("KB", 1024)
    return f"{size / step:.1f} {unit}".replace(".0 ", " ")


def init_app(app: Flask) -> None:
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

    app.jinja_env.globals.update(_=translate, languages=LANGUAGES)
    app.jinja_env.filters["filesize"] = filesize
    # {{ moment | localtime(office.timezone) }}: "2024-05-01 14:30 WITA", never bare UTC.
    app.jinja_env.filters["localtime"] = show_time

    @app.context_processor
    def language():
        return {"lang": getattr(g, "lang", "id")}
