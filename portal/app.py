"""The Flask application factory.

Blueprints are registered in `create_app`; views reach the database through
`portal.app.db()` and the settings through `portal.app.settings()`, and hold
no SQL of their own: they call core services.
"""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from core.access.redaction import Redactor
from core.config.settings import Settings, load_settings
from core.storage.db import Database
from core.words import N_
from portal import auth, i18n
from portal.context import csrf, db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# No inline script or style anywhere: the second wall behind sanitising.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
def create_app(config: Settings | None = None, database: Database | None = None) -> Flask:
    config = config or load_settings()
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder="static")
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.base_url.startswith("https://"),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=config.base_url.startswith("https://"),
        MAX_CONTENT_LENGTH=config.max_message_bytes,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead of the clock
    )
    _trust_proxies(app, config.trusted_proxies)
    app.extensions["helpdesk.db"] = database or Database(config)
    app.extensions["helpdesk.settings"] = config
    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    _security_headers(app)
    _error_pages(app)
    _mask_secrets_in_logs(app)
    from portal.admin import bp as admin_bp
    from portal.staff import bp as staff_bp
    app.register_blueprint(staff_bp)
    app.register_blueprint(admin_bp)
    from portal.public import bp as public_bp
    app.register_blueprint(public_bp)
    from portal import api
    api.init_app(app)

    @app.get("/healthz")
    def healthz():
        try:
            with db().engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means unhealthy, with its reason
            return {"status": "unhealthy", "database": type(exc).__name__}, 503
        return {"status": "ok"}

    return app


def _trust_proxies(app: Flask, count: int) -> None:
    """Behind `count` reverse proxies, take the client's address and scheme from
    their X-Forwarded-For/-Proto (the per-IP limits need the client, not the
    proxy). Never without the setting: a client could claim any address."""
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def _mask_secrets_in_logs(app: Flask) -> None:
    """An exception is logged "on /t/<token>", and werkzeug's own server (the
    tests' live server) logs each request line: both with tokens masked."""
    for logger in (app.logger, logging.getLogger("werkzeug")):
        if not any(isinstance(f, Redactor) for f in logger.filters):
            logger.addFilter(Redactor())


def _security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response


ERRORS = {
    403: (N_("Not allowed"), N_("You may not open this page or do this action.")),
    404: (N_("Page not found"), N_("The page does not exist, or you may not see it.")),
    500: (N_("Something went wrong"), N_("Something went wrong on our side. Please try again in a moment.")),
}


def _error_pages(app: Flask) -> None:
    """403, 404 and 500 in the site's layout and the visitor's language.

    Signed-in staff keep the staff header on staff and admin paths; a 500
    uses the plain layout, which asks the database nothing (the database may
    be why the request failed)."""
    from portal.api.app import api_error

    def page(code: int, error):
        if (problem := api_error(error)) is not None:  # the API answers problem documents
            return problem
        title, message = ERRORS[code]
        staff = (code != 500 and current_user.is_authenticated
                 and request.path.startswith(("/staff", "/admin")))
        return render_template("error.html", layout="staff/layout.html" if staff else "base.html",
                               code=code, title=gettext(title), message=gettext(message)), code

    for code in ERRORS:
        app.register_error_handler(code, lambda error, code=code: page(code, error))
