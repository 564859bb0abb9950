"""The Flask application factory."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import text

from core.db import Database
from core.settings import Settings, load_settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__, template_folder=str(settings_templates()), static_folder="static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        MAX_CONTENT_LENGTH=settings.max_message_bytes,
    )
    db = Database(settings)
    app.extensions["helpdesk.db"] = db
    app.extensions["helpdesk.settings"] = settings

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.get("/healthz")
    def healthz():
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means unhealthy, with its reason
            return {"status": "unhealthy", "database": type(exc).__name__}, 503
        return {"status": "ok"}

    return app


def settings_templates():
    from pathlib import Path
    return Path(__file__).resolve().parent.parent / "templates"
