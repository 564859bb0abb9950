"""Interactive docs at /api/v1/docs: Swagger UI from the flask-swagger-ui
package's own files (no CDN: the servers may have no internet) and our init
script from portal/static, so the page runs under the CSP `script-src 'self'`
with no inline script."""
from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, abort, render_template, send_from_directory

from portal.api.guard import PUBLIC, requires

# A plain Flask blueprint: the docs page is not part of the API it documents.
blp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs")
SWAGGER_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png")


@blp.get("")
@requires(PUBLIC)
def docs():
    return render_template("api/docs.html")


@blp.get("/assets/<name>")
@requires(PUBLIC)
def asset(name: str):
    if name not in ASSETS:
        abort(404)
    return send_from_directory(SWAGGER_DIST, name, max_age=86400)
