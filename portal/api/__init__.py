"""The REST API v1 under /api/v1: JSON in and out, bearer tokens, errors as
application/problem+json, described by /api/v1/openapi.json (flask-smorest)
with interactive docs at /api/v1/docs.

To add endpoints: make a `flask_smorest.Blueprint` in a module here, mark
each view with `@requires(READ|WRITE|ADMIN|PUBLIC)` (portal.api.guard) and
`@documented(...)` for its error responses, and add the module's `blp` to
BLUEPRINTS in portal.api.app.
"""
from portal.api.app import init_app

__all__ = ["init_app"]
